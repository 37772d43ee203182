package web

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/labstack/echo/v4"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/views"
)

// ceremonyAdd is the kind of ceremony that adds a passkey to a signed-in
// account. It differs from enrolment's "register", so a ceremony begun on one
// page can never be finished on the other.
const ceremonyAdd = "add"

// ceremonyCarer is the kind of ceremony that makes a carer's account with
// their first passkey. It differs from enrolment's "register" too, so a
// session part way through both never finishes one with the other's data.
const ceremonyCarer = "carer"

// ceremonySignIn is a sign-in, and ceremonyCarerSignIn one begun from a
// carer's invitation the session holds, which the new session takes along.
const (
	ceremonySignIn      = "login"
	ceremonyCarerSignIn = "carer-login"
)

// signedInAccount is the account the request is signed in to (requireSignIn guarantees one).
func signedInAccount(c echo.Context) store.Account {
	return c.Get(ctxAccount).(store.Account)
}

// startPasskeyRegistration starts creating a discoverable, user-verified
// passkey for user, excluding the credentials the user already has, so an
// authenticator that holds one says so instead of making a second: it keeps
// the ceremony with the session and answers the browser's script.
func (s *Server) startPasskeyRegistration(c echo.Context, user passkeyUser, ceremony string) error {
	required := true
	exclude := make([]protocol.CredentialDescriptor, 0, len(user.creds))
	for _, cred := range user.creds {
		exclude = append(exclude, cred.Descriptor())
	}
	creation, data, err := s.webauthn.BeginRegistration(user,
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			RequireResidentKey: &required,
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			UserVerification:   protocol.VerificationRequired,
		}),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation),
		webauthn.WithExclusions(exclude),
	)
	if err != nil {
		return fmt.Errorf("begin registration: %w", err)
	}
	if err := s.saveCeremony(c, sessionOf(c), ceremony, data); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, creation)
}

// passkeyOf is the stored form of a newly registered credential.
func passkeyOf(cred *webauthn.Credential, nickname string) store.Passkey {
	pk := store.Passkey{
		CredentialID:    cred.ID,
		PublicKey:       cred.PublicKey,
		AttestationType: cred.AttestationType,
		SignCount:       cred.Authenticator.SignCount,
		AAGUID:          cred.Authenticator.AAGUID,
		BackupEligible:  cred.Flags.BackupEligible,
		BackupState:     cred.Flags.BackupState,
		UserVerified:    cred.Flags.UserVerified,
		Nickname:        nickname,
	}
	for _, t := range cred.Transport {
		pk.Transports = append(pk.Transports, string(t))
	}
	return pk
}

// accountUser is the signed-in account as a WebAuthn user, with its passkeys.
func (s *Server) accountUser(c echo.Context) (passkeyUser, error) {
	acct := signedInAccount(c)
	pks, err := s.db.Passkeys(c.Request().Context(), acct.ID)
	if err != nil {
		return passkeyUser{}, err
	}
	return passkeyUser{handle: acct.UserHandle, name: acct.DisplayName, creds: toCredentials(pks), existing: true}, nil
}

// recentSignIn is how long after signing in, or confirming it is them, a
// person may add or remove passkeys: someone who finds a browser left signed
// in cannot give themselves a passkey of their own, nor take the owner's
// away, without the owner's passkey.
const recentSignIn = 10 * time.Minute

// signedInRecently says whether this session began (at sign-in or "Confirm
// it's you") within recentSignIn.
func (s *Server) signedInRecently(c echo.Context) bool {
	return s.db.Now().Sub(sessionOf(c).CreatedAt) < recentSignIn
}

// errConfirmFirst refuses a passkey change from a session that did not sign in recently.
func errConfirmFirst() error {
	return store.Errorf(store.EFORBIDDEN, "You signed in more than 10 minutes ago. Reload this page, then confirm it's you with one of your passkeys before you add one.")
}

// accountPage shows the account's passkeys and sessions.
func (s *Server) accountPage(c echo.Context) error {
	ctx := c.Request().Context()
	acct := signedInAccount(c)
	pks, err := s.db.Passkeys(ctx, acct.ID)
	if err != nil {
		return err
	}
	others, err := s.db.OtherSessions(ctx, acct.ID, sessionOf(c).ID, s.cfg.SessionPolicy)
	if err != nil {
		return err
	}
	v := views.AccountView{Passkeys: pks, OtherSessions: others, Done: doneOf(c), Recent: s.signedInRecently(c)}
	// Only what holds now: the address is anyone's to write (a review).
	if (v.Done == views.DoneSignedOutOthers && others > 0) || (v.Done == views.DoneConfirmed && !v.Recent) {
		v.Done = ""
	}
	return s.render(c, http.StatusOK, views.Account(s.page(c, "Your account"), v))
}

func (s *Server) addPasskeyBegin(c echo.Context) error {
	if !s.signedInRecently(c) {
		return errConfirmFirst()
	}
	user, err := s.accountUser(c)
	if err != nil {
		return err
	}
	return s.startPasskeyRegistration(c, user, ceremonyAdd)
}

// addPasskeyFinish is not held to recentSignIn: the ceremony began within
// it, and is itself good for ceremonyTimeout and once only; refusing here
// would leave a passkey in the person's password manager that never works.
func (s *Server) addPasskeyFinish(c echo.Context) error {
	data, err := s.takeCeremony(c, sessionOf(c), ceremonyAdd)
	if err != nil {
		return err
	}
	user, err := s.accountUser(c)
	if err != nil {
		return err
	}
	if !bytes.Equal(user.handle, data.UserID) {
		return store.Errorf(store.EINVALID, "Your passkey request has expired. Try again.")
	}
	cred, err := s.webauthn.FinishRegistration(user, data, c.Request())
	if err != nil {
		s.log.Info("passkey registration refused", "err", err)
		return store.Errorf(store.EINVALID, "We could not save your passkey. Try again.")
	}
	pk := passkeyOf(cred, "Passkey added "+time.Now().In(store.UKZone()).Format("2 January 2006"))
	if err := s.db.AddPasskey(c.Request().Context(), signedInAccount(c).ID, pk); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"redirect": "/account?done=" + views.DoneAdded})
}

// accountPasskey is the signed-in account's passkey named in the address;
// anything else, including another account's passkey, is not found.
func (s *Server) accountPasskey(c echo.Context) (store.Passkey, error) {
	id, err := idParam(c, "id", "We could not find that passkey in your account.")
	if err != nil {
		return store.Passkey{}, err
	}
	return s.db.AccountPasskey(c.Request().Context(), signedInAccount(c).ID, id)
}

func (s *Server) renamePasskeyPage(c echo.Context) error {
	pk, err := s.accountPasskey(c)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.RenamePasskey(s.page(c, "Rename your passkey"), pk, views.RenameForm{Nickname: pk.Nickname}))
}

func (s *Server) renamePasskey(c echo.Context) error {
	pk, err := s.accountPasskey(c)
	if err != nil {
		return err
	}
	form := views.RenameForm{Nickname: c.FormValue("nickname")}
	err = s.db.RenamePasskey(c.Request().Context(), pk.AccountID, pk.ID, form.Nickname)
	switch store.ErrorCode(err) {
	case "":
		return c.Redirect(http.StatusSeeOther, "/account?done="+views.DoneRenamed)
	case store.EINVALID:
		form.Errors = []views.FieldError{{Field: "nickname", Message: store.ErrorMessage(err)}}
		return s.render(c, http.StatusBadRequest, views.RenamePasskey(s.page(c, "Rename your passkey"), pk, form))
	default:
		return err
	}
}

// removePasskeyPage asks for confirmation before a passkey goes, saying more
// when it is the last.
func (s *Server) removePasskeyPage(c echo.Context) error {
	pk, err := s.accountPasskey(c)
	if err != nil {
		return err
	}
	if !s.signedInRecently(c) {
		return c.Redirect(http.StatusSeeOther, confirmURL)
	}
	pks, err := s.db.Passkeys(c.Request().Context(), pk.AccountID)
	if err != nil {
		return err
	}
	if len(pks) > 1 {
		return s.render(c, http.StatusOK, views.RemovePasskey(s.page(c, "Remove this passkey?"), pk, sessionOf(c).PasskeyID == pk.ID))
	}
	return s.render(c, http.StatusOK, views.RemoveLastPasskey(s.page(c, "Remove your only passkey?"), pk))
}

// removePasskey removes a passkey, and with it every session it signed in
// (store/migrations/0024), this one too if it did. The last one goes only
// once confirmed, and then every session of the account ends with it.
func (s *Server) removePasskey(c echo.Context) error {
	ctx := c.Request().Context()
	pk, err := s.accountPasskey(c)
	if err != nil {
		return err
	}
	if !s.signedInRecently(c) {
		return c.Redirect(http.StatusSeeOther, confirmURL)
	}
	left, err := s.db.RemovePasskey(ctx, pk.AccountID, pk.ID, c.FormValue("confirm") == "yes")
	switch {
	case store.ErrorCode(err) == store.ECONFLICT:
		return c.Redirect(http.StatusSeeOther, "/account/passkeys/"+strconv.FormatInt(pk.ID, 10)+"/remove")
	case err != nil:
		return err
	case left == 0:
		s.clearSessionCookie(c)
		return c.Redirect(http.StatusSeeOther, "/account/removed")
	}
	if _, err := s.db.Session(ctx, sessionOf(c).ID, s.cfg.SessionPolicy); store.ErrorCode(err) == store.ENOTFOUND {
		s.clearSessionCookie(c) // signed in here with the passkey removed
		return c.Redirect(http.StatusSeeOther, "/signed-out")
	}
	return c.Redirect(http.StatusSeeOther, "/account?done="+views.DoneRemoved)
}

// passkeysRemoved is where a person lands, signed out, after removing their last passkey.
func (s *Server) passkeysRemoved(c echo.Context) error {
	return s.render(c, http.StatusOK, views.PasskeysRemoved(s.page(c, "You have removed your passkey")))
}

func (s *Server) signOutOthers(c echo.Context) error {
	if _, err := s.db.DeleteOtherSessions(c.Request().Context(), signedInAccount(c).ID, sessionOf(c).ID); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/account?done="+views.DoneSignedOutOthers)
}

func (s *Server) accessibility(c echo.Context) error {
	return s.render(c, http.StatusOK, views.Accessibility(s.page(c, "Accessibility statement")))
}

// help says where to get help; every page's footer links to it.
func (s *Server) help(c echo.Context) error {
	return s.render(c, http.StatusOK, views.Help(s.page(c, "Get help")))
}

// confirmURL is the "Confirm it's you" page, where a session that signed in
// a while ago answers a passkey challenge before changing passkeys.
const confirmURL = "/account/confirm"

// ceremonyConfirm is the kind of ceremony "Confirm it's you" runs.
const ceremonyConfirm = "confirm"

func (s *Server) confirmPage(c echo.Context) error {
	return s.render(c, http.StatusOK, views.ConfirmItsYou(s.page(c, "Confirm it's you")))
}

// confirmBegin asks for one of the signed-in account's own passkeys.
func (s *Server) confirmBegin(c echo.Context) error {
	user, err := s.accountUser(c)
	if err != nil {
		return err
	}
	assertion, data, err := s.webauthn.BeginLogin(user, webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return fmt.Errorf("begin confirming: %w", err)
	}
	if err := s.saveCeremony(c, sessionOf(c), ceremonyConfirm, data); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, assertion)
}

// confirmFinish checks the answer came from one of the account's passkeys
// and starts the session again from now, as a sign-in does, so the passkey
// pages open for recentSignIn.
func (s *Server) confirmFinish(c echo.Context) error {
	ctx := c.Request().Context()
	sess := sessionOf(c)
	data, err := s.takeCeremony(c, sess, ceremonyConfirm)
	if err != nil {
		return err
	}
	user, err := s.accountUser(c)
	if err != nil {
		return err
	}
	cred, err := s.webauthn.FinishLogin(user, data, c.Request())
	if err != nil {
		s.log.Info("passkey confirmation refused", "err", err)
		return store.Errorf(store.EINVALID, "We could not confirm it's you with that passkey. Try again with one of the passkeys listed on your account page.")
	}
	acct := signedInAccount(c)
	if err := s.passkeyUsed(ctx, cred, acct.ID, "This passkey may have been copied, so we could not confirm it's you. Remove it, or contact your GP practice for a new enrolment code."); err != nil {
		return err
	}
	// An invitation the person was part way through accepting stays theirs to
	// accept, and a carer stays with the person they were acting for:
	// newSession passes both on.
	if _, err := s.newSession(c, sess, acct.ID, cred.ID, false); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"redirect": "/account?done=" + views.DoneConfirmed})
}

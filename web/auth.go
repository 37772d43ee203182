package web

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/labstack/echo/v4"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/views"
)

// passkeyUser adapts an account to what go-webauthn asks of a user.
type passkeyUser struct {
	handle   []byte
	name     string
	creds    []webauthn.Credential
	existing bool // an account already holds this handle
}

func (u passkeyUser) WebAuthnID() []byte                         { return u.handle }
func (u passkeyUser) WebAuthnName() string                       { return u.name }
func (u passkeyUser) WebAuthnDisplayName() string                { return u.name }
func (u passkeyUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

func toCredentials(pks []store.Passkey) []webauthn.Credential {
	out := make([]webauthn.Credential, 0, len(pks))
	for _, p := range pks {
		cred := webauthn.Credential{
			ID:              p.CredentialID,
			PublicKey:       p.PublicKey,
			AttestationType: p.AttestationType,
			Flags: webauthn.CredentialFlags{
				UserPresent:    true,
				UserVerified:   p.UserVerified,
				BackupEligible: p.BackupEligible,
				BackupState:    p.BackupState,
			},
			Authenticator: webauthn.Authenticator{AAGUID: p.AAGUID, SignCount: p.SignCount},
		}
		for _, t := range p.Transports {
			cred.Transport = append(cred.Transport, protocol.AuthenticatorTransport(t))
		}
		out = append(out, cred)
	}
	return out
}

// ceremony is what the server keeps between the two steps of a passkey ceremony.
type ceremony struct {
	Kind string               `json:"kind"` // "register" or "login": one kind's data never finishes the other
	Data webauthn.SessionData `json:"data"`
	// Account and Credential are a passkey's answer waiting for the person
	// to confirm what it is for (ceremonyLinkConfirm).
	Account    int64  `json:"account,omitempty"`
	Credential []byte `json:"credential,omitempty"`
}

func (s *Server) saveCeremony(c echo.Context, sess *requestSession, kind string, data *webauthn.SessionData) error {
	return s.keepCeremony(c, sess, ceremony{Kind: kind, Data: *data})
}

// keepCeremony keeps cer with the session, in place of any other.
func (s *Server) keepCeremony(c echo.Context, sess *requestSession, cer ceremony) error {
	b, err := json.Marshal(cer)
	if err != nil {
		return err
	}
	return s.db.SetSessionCeremony(c.Request().Context(), sess.ID, b, cer.Account)
}

// readCeremony reads a ceremony as kept (none when b is empty).
func readCeremony(b []byte) (ceremony, error) {
	var cer ceremony
	if len(b) == 0 {
		return cer, nil
	}
	if err := json.Unmarshal(b, &cer); err != nil {
		return ceremony{}, fmt.Errorf("read ceremony: %w", err)
	}
	return cer, nil
}

// ceremonyOf reads the session's in-flight ceremony, leaving it in place.
func (s *Server) ceremonyOf(c echo.Context, sess *requestSession) (ceremony, error) {
	b, err := s.db.SessionCeremony(c.Request().Context(), sess.ID)
	if err != nil {
		return ceremony{}, err
	}
	return readCeremony(b)
}

// takeCeremony returns the session's in-flight ceremony of that kind and clears
// it, so a challenge can be answered once only, even by requests sent
// together: the one that clears it gets it (not the copy each request read
// with its session).
func (s *Server) takeCeremony(c echo.Context, sess *requestSession, kind string) (webauthn.SessionData, error) {
	cer, err := s.takeWhole(c, sess, kind)
	return cer.Data, err
}

// takeWhole is takeCeremony, returning all the ceremony holds.
func (s *Server) takeWhole(c echo.Context, sess *requestSession, kind string) (ceremony, error) {
	b, err := s.db.TakeSessionCeremony(c.Request().Context(), sess.ID)
	if err != nil {
		return ceremony{}, err
	}
	cer, err := readCeremony(b)
	if err != nil {
		return ceremony{}, err
	}
	if cer.Kind != kind {
		return ceremony{}, store.Errorf(store.EINVALID, "Your passkey request has expired. Try again.")
	}
	return cer, nil
}

func (s *Server) start(c echo.Context) error {
	if _, ok := c.Get(ctxAccount).(store.Account); ok {
		return c.Redirect(http.StatusSeeOther, "/record")
	}
	return s.render(c, http.StatusOK, views.Start(s.page(c, "My Care Record")))
}

func (s *Server) signInPage(c echo.Context) error {
	if _, ok := c.Get(ctxAccount).(store.Account); ok {
		return c.Redirect(http.StatusSeeOther, "/record")
	}
	if _, err := s.ensureSession(c); err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.SignIn(s.page(c, "Sign in"), safeNext(c.QueryParam("next"))))
}

// signInBegin starts a discoverable passkey sign-in: no username, the browser offers the person's passkeys.
func (s *Server) signInBegin(c echo.Context) error { return s.beginSignIn(c, ceremonySignIn) }

func (s *Server) signInFinish(c echo.Context) error { return s.finishSignIn(c, ceremonySignIn, false) }

// beginSignIn starts a sign-in ceremony of the kind with any passkey.
func (s *Server) beginSignIn(c echo.Context, kind string) error {
	assertion, data, err := s.webauthn.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return fmt.Errorf("begin sign-in: %w", err)
	}
	if err := s.saveCeremony(c, sessionOf(c), kind, data); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, assertion)
}

// finishSignIn checks the answer to a sign-in ceremony of the kind and
// signs in (signIn; invitation as there).
func (s *Server) finishSignIn(c echo.Context, kind string, invitation bool) error {
	sess := sessionOf(c)
	data, err := s.takeCeremony(c, sess, kind)
	if err != nil {
		return err
	}
	acct, cred, err := s.finishDiscoverable(c, data)
	if err != nil {
		return err
	}
	next := "/record"
	if n := safeNext(c.QueryParam("next")); n != "" && kind == ceremonySignIn {
		next = n // the page asked for before signing in (requireSignIn)
	}
	if err := s.signInTo(c, sess, acct.ID, cred.ID, next, invitation); err != nil {
		return err
	}
	// The record the new session opens: of the person it still acts for,
	// when signing in again while acting for someone (a review: the carer's
	// own was queued), or the account's own.
	if s.cfg.Sync != nil {
		whose := acct.PersonID
		if ns := sessionOf(c); ns != nil && ns.ActingGrantID != 0 {
			if g, err := s.db.Grant(c.Request().Context(), ns.ActingGrantID); err == nil {
				whose = g.PersonID
			}
		}
		if whose != 0 {
			s.cfg.Sync.EnqueueIfStale(c.Request().Context(), whose)
		}
	}
	return nil
}

// finishDiscoverable checks an answer to a discoverable sign-in ceremony
// (data) and returns the account whose passkey gave it, the use recorded.
func (s *Server) finishDiscoverable(c echo.Context, data webauthn.SessionData) (store.Account, *webauthn.Credential, error) {
	ctx := c.Request().Context()
	var acct store.Account
	findUser := func(rawID, userHandle []byte) (webauthn.User, error) {
		a, pks, err := s.db.AccountByUserHandle(ctx, userHandle)
		if err != nil {
			return nil, err
		}
		acct = a
		return passkeyUser{handle: a.UserHandle, name: a.DisplayName, creds: toCredentials(pks)}, nil
	}
	_, cred, err := s.webauthn.FinishPasskeyLogin(findUser, data, c.Request())
	if err != nil {
		s.log.Info("passkey sign-in refused", "err", err)
		return store.Account{}, nil, store.Errorf(store.EINVALID, "We could not sign you in with that passkey. Try again, or set up your account again with a new enrolment code from your GP practice. If you only help someone else with their record, ask them to invite you again.")
	}
	if err := s.passkeyUsed(ctx, cred, acct.ID, "This passkey may have been copied, so we did not sign you in. Contact your GP practice for a new enrolment code."); err != nil {
		return store.Account{}, nil, err
	}
	return acct, cred, nil
}

// passkeyUsed refuses an answer from a passkey whose counter went backwards
// (two copies of the key may exist), saying copied, and otherwise records the use.
func (s *Server) passkeyUsed(ctx context.Context, cred *webauthn.Credential, accountID int64, copied string) error {
	if cred.Authenticator.CloneWarning {
		s.log.Warn("passkey sign count went backwards", "account", accountID)
		return store.Errorf(store.EFORBIDDEN, "%s", copied)
	}
	return s.db.PasskeyUsed(ctx, cred.ID, cred.Authenticator.SignCount, cred.Flags.BackupState)
}

// newSession replaces the session with a new one for the account (a new id
// defeats fixation), signed in with the passkey credentialID, and sets its
// cookie; invitation says the sign-in was begun from the carer's invitation
// the old session holds, which passes to the new one (store.RotateSession).
// It returns whether the new session holds a carer's invitation.
func (s *Server) newSession(c echo.Context, sess *requestSession, accountID int64, credentialID []byte, invitation bool) (bool, error) {
	rotate := s.db.RotateSession
	if invitation {
		rotate = s.db.RotateSessionKeepingInvitation
	}
	id, ns, held, err := rotate(c.Request().Context(), sess.ID, accountID, credentialID, s.cfg.SessionPolicy)
	if err != nil {
		return false, err
	}
	if _, err := s.useSession(c, id, ns); err != nil {
		return false, err
	}
	return held, nil
}

// signIn starts a new session for the account (newSession) and says where to go.
func (s *Server) signIn(c echo.Context, sess *requestSession, accountID int64, credentialID []byte, invitation bool) error {
	return s.signInTo(c, sess, accountID, credentialID, "/record", invitation)
}

// signInTo is signIn, going on to next.
func (s *Server) signInTo(c echo.Context, sess *requestSession, accountID int64, credentialID []byte, next string, invitation bool) error {
	held, err := s.newSession(c, sess, accountID, credentialID, invitation)
	if err != nil {
		return err
	}
	// Someone part way through accepting a carer's invitation goes back to it (web/carers.go).
	if held {
		return c.JSON(http.StatusOK, map[string]string{"redirect": "/carers/accept/confirm"})
	}
	return c.JSON(http.StatusOK, map[string]string{"redirect": next})
}

func (s *Server) signOut(c echo.Context) error {
	if sess := sessionOf(c); sess != nil {
		if err := s.db.DeleteSession(c.Request().Context(), sess.ID); err != nil {
			return err
		}
	}
	s.clearSessionCookie(c)
	return c.Redirect(http.StatusSeeOther, "/signed-out")
}

// extendSession keeps the session going for someone warned that it was
// ending for want of use (views.sessionTimeout). It answers 204 No Content, so
// the page stays as it is, with anything typed in it, whether the page's
// script sent it or the warning's form was sent without it; X-Session-Left
// says how many seconds the session now has, which is less than the idle time
// near a session's absolute end.
func (s *Server) extendSession(c echo.Context) error {
	left, err := s.db.TouchSession(c.Request().Context(), sessionOf(c).ID, s.cfg.SessionPolicy)
	if err != nil {
		return err
	}
	c.Response().Header().Set("X-Session-Left", views.SecondsLeft(left))
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) signedOut(c echo.Context) error {
	return s.render(c, http.StatusOK, views.SignedOut(s.page(c, "You have signed out")))
}

func (s *Server) enrolPage(c echo.Context) error {
	if _, err := s.ensureSession(c); err != nil {
		return err
	}
	form := views.EnrolForm{Code: strings.TrimSpace(c.QueryParam("code"))}
	return s.render(c, http.StatusOK, views.Enrol(s.page(c, "Set up your account"), form))
}

// enrolSubmit checks the enrolment code and date of birth together.
func (s *Server) enrolSubmit(c echo.Context) error {
	form := views.EnrolForm{
		Code:  strings.TrimSpace(c.FormValue("code")),
		Day:   strings.TrimSpace(c.FormValue("day")),
		Month: strings.TrimSpace(c.FormValue("month")),
		Year:  strings.TrimSpace(c.FormValue("year")),
	}
	dob, errs := validateEnrolForm(form)
	form.Errors = errs
	if len(errs) == 0 {
		sess := sessionOf(c)
		_, id, err := s.db.RedeemEnrolmentCode(c.Request().Context(), sess.ID, form.Code, dob)
		switch store.ErrorCode(err) {
		case "":
			if _, err := s.useSession(c, id, signedOut(sess.Session)); err != nil {
				return err
			}
			return c.Redirect(http.StatusSeeOther, "/enrol/passkey")
		case store.EINVALID, store.EEXPIRED, store.ELOCKED:
			field := "code"
			if strings.Contains(store.ErrorMessage(err), "date of birth") {
				field = "dob-day"
			}
			form.Errors = []views.FieldError{{Field: field, Message: store.ErrorMessage(err)}}
		default:
			return err
		}
	}
	return s.render(c, http.StatusBadRequest, views.Enrol(s.page(c, "Set up your account"), form))
}

// validateEnrolForm checks the form's shape and returns the date of birth as YYYY-MM-DD.
func validateEnrolForm(f views.EnrolForm) (string, []views.FieldError) {
	var errs []views.FieldError
	if f.Code == "" {
		errs = append(errs, views.FieldError{Field: "code", Message: "Enter your enrolment code"})
	} else if len(f.Code) > 40 {
		errs = append(errs, views.FieldError{Field: "code", Message: "Enrolment code must be 12 letters and numbers, like ABCD-EFGH-JKMN"})
	}
	dob, dobErrs := birthDate(f.Day, f.Month, f.Year, "your")
	if errs = append(errs, dobErrs...); len(errs) > 0 {
		return "", errs
	}
	return dob, nil
}

// birthDate reads a date of birth typed in the NHS date input (ids dob-…) as
// "2006-01-02", or says what is wrong with it. whose is "your" or "their".
func birthDate(d, m, y, whose string) (string, []views.FieldError) {
	name := "Date of birth"
	if whose != "your" {
		name = strings.ToUpper(whose[:1]) + whose[1:] + " date of birth"
	}
	wrong := func(field, msg string) (string, []views.FieldError) {
		return "", []views.FieldError{{Field: field, Message: msg}}
	}
	if d == "" && m == "" && y == "" {
		return wrong("dob-day", "Enter "+whose+" date of birth")
	}
	day, derr := strconv.Atoi(d)
	month, merr := strconv.Atoi(m)
	year, yerr := strconv.Atoi(y)
	// Every box that is wrong is named at once, so one sending puts them all
	// right; the message goes on the first (views: the others it names are
	// marked too).
	var fields, parts []string
	for _, p := range []struct {
		bad         bool
		field, part string
	}{
		{derr != nil || day < 1 || day > 31, "dob-day", "a day between 1 and 31"},
		{merr != nil || month < 1 || month > 12, "dob-month", "a month between 1 and 12"},
		{yerr != nil || len(y) != 4, "dob-year", "a year with 4 numbers"},
	} {
		if p.bad {
			fields, parts = append(fields, p.field), append(parts, p.part)
		}
	}
	switch {
	case len(parts) == 1 && fields[0] == "dob-year":
		return wrong("dob-year", "Year must include 4 numbers, like 1984")
	case len(parts) > 0:
		return wrong(fields[0], name+" must include "+strings.Join(parts, " and "))
	}
	t := time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
	if t.Day() != day || t.Month() != time.Month(month) {
		return wrong("dob-day", name+" must be a real date")
	}
	// Today, in the UK, is in the past: whoever was born today is one day old.
	if now := time.Now().In(store.UKZone()); t.After(time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)) || year < 1900 {
		return wrong("dob-year", name+" must be in the past")
	}
	return t.Format("2006-01-02"), nil
}

// enrolPerson is the person this session proved it may enrol for.
func (s *Server) enrolPerson(c echo.Context) (store.Person, error) {
	sess := sessionOf(c)
	if sess == nil || sess.EnrolPersonID == 0 {
		return store.Person{}, store.Errorf(store.EFORBIDDEN, "Enter your enrolment code and date of birth first.")
	}
	return s.db.Person(c.Request().Context(), sess.EnrolPersonID)
}

func (s *Server) enrolPasskeyPage(c echo.Context) error {
	person, err := s.enrolPerson(c)
	if store.ErrorCode(err) == store.EFORBIDDEN {
		return c.Redirect(http.StatusSeeOther, "/enrol")
	}
	if err != nil {
		return err
	}
	if acct, ok := c.Get(ctxAccount).(store.Account); ok && acct.PersonID == person.ID {
		return c.Redirect(http.StatusSeeOther, "/record") // theirs already
	}
	return s.renderEnrolPasskey(c, http.StatusOK, person, views.EnrolProblem{})
}

// renderEnrolPasskey shows the enrolment page, with a problem, if any, in
// its error summary: someone who helps others may add the record to that
// account, unless the record has one (a code for a lost passkey adds a
// passkey to it).
func (s *Server) renderEnrolPasskey(c echo.Context, status int, person store.Person, problem views.EnrolProblem) error {
	_, err := s.db.AccountByPerson(c.Request().Context(), person.ID)
	if err != nil && store.ErrorCode(err) != store.ENOTFOUND {
		return err
	}
	p := s.settingUpPage(c, "Create a passkey", "enrolment")
	p.HasErrors = problem.Message != ""
	return s.render(c, status, views.EnrolPasskey(p, person, err != nil, problem))
}

// enrolLinkBegin starts a passkey sign-in on the enrolment page, for someone
// who helps others to add the record this session's code proved to the
// account they help with (enrolLinkFinish).
func (s *Server) enrolLinkBegin(c echo.Context) error {
	if _, err := s.enrolPerson(c); err != nil {
		return err
	}
	assertion, data, err := s.webauthn.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return fmt.Errorf("begin adding a record: %w", err)
	}
	if err := s.saveCeremony(c, sessionOf(c), ceremonyLink, data); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, assertion)
}

// ceremonyLink is the kind of ceremony that adds an enrolment's record to
// the account whose passkey answers it.
const ceremonyLink = "link"

// ceremonyLinkConfirm holds a passkey's answer on the enrolment page while
// the person confirms, on the next page, that the record is to be added to
// that passkey's account.
const ceremonyLinkConfirm = "link-confirm"

// enrolLinkFinish checks the passkey's answer and whether the record could
// be added to its account (store.LinkEnrolment, checking only), and keeps
// the answer for the page that asks the person to confirm (enrolLinkPage):
// the account's name and whom it helps are shown before anything is added,
// so a helper who used their own passkey by mistake sees whose account it
// is. It is one ceremony begun on this session's enrolment page, so no other
// sign-in, by someone else at the same computer, ever takes the enrolment
// up (found by reviews).
func (s *Server) enrolLinkFinish(c echo.Context) error {
	if _, err := s.enrolPerson(c); err != nil {
		return err
	}
	sess := sessionOf(c)
	data, err := s.takeCeremony(c, sess, ceremonyLink)
	if err != nil {
		return err
	}
	acct, cred, err := s.finishDiscoverable(c, data)
	if err != nil {
		return err
	}
	if err := s.db.CheckLinkEnrolment(c.Request().Context(), sess.ID, acct.ID); err != nil {
		return err
	}
	if err := s.keepCeremony(c, sess, ceremony{Kind: ceremonyLinkConfirm, Account: acct.ID, Credential: cred.ID}); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"redirect": "/enrol/link"})
}

// enrolLinkPage asks the person to confirm that the record is to be added
// to the account whose passkey just answered, naming it and whom it helps.
func (s *Server) enrolLinkPage(c echo.Context) error {
	ctx := c.Request().Context()
	person, err := s.enrolPerson(c)
	if store.ErrorCode(err) == store.EFORBIDDEN {
		return c.Redirect(http.StatusSeeOther, "/enrol")
	}
	if err != nil {
		return err
	}
	cer, err := s.ceremonyOf(c, sessionOf(c))
	if err != nil {
		return err
	}
	if cer.Kind != ceremonyLinkConfirm {
		return c.Redirect(http.StatusSeeOther, "/enrol/passkey")
	}
	acct, err := s.db.Account(ctx, cer.Account)
	if err != nil {
		return err
	}
	grants, err := s.db.ActiveGrantsForAccount(ctx, acct.ID)
	if err != nil {
		return err
	}
	var helps []string
	for _, g := range grants {
		helps = append(helps, g.Person.Name())
	}
	return s.render(c, http.StatusOK, views.EnrolLinkConfirm(s.settingUpPage(c, "Add "+person.Name()+"'s record to this account?", "enrolment"), person, acct, helps))
}

// enrolLinkConfirm adds the record to the account the person confirmed
// (store.LinkEnrolment) and signs that account in, at the record.
func (s *Server) enrolLinkConfirm(c echo.Context) error {
	ctx := c.Request().Context()
	enrolling, err := s.enrolPerson(c)
	if err != nil {
		return err
	}
	sess := sessionOf(c)
	cer, err := s.takeWhole(c, sess, ceremonyLinkConfirm)
	if err != nil {
		return err
	}
	// The account the page showed: a passkey used again in another tab since
	// has put another in the session's place (found by a review).
	if c.FormValue("account") != strconv.FormatInt(cer.Account, 10) {
		return s.renderEnrolPasskey(c, http.StatusConflict, enrolling, views.EnrolProblem{Message: `The page you confirmed on was out of date: you used a passkey again in another window. Nothing was added. Select "Add this record to my account" and use your passkey again.`, UseOwn: true,
			Otherwise: `The page you confirmed on was out of date, and this record has an account of its own now. Nothing was added. Select "Create a passkey": it will be added to that account.`})
	}
	person, id, ns, err := s.db.LinkEnrolment(ctx, sess.ID, cer.Account, cer.Credential, s.cfg.SessionPolicy)
	if code := store.ErrorCode(err); code == store.ECONFLICT || code == store.EFORBIDDEN {
		// What changed since the page was shown, said on the page to go on
		// from: a passkey removed since is put right with another of the
		// account's (EFORBIDDEN), the rest by creating a passkey.
		return s.renderEnrolPasskey(c, http.StatusConflict, enrolling, views.EnrolProblem{Message: store.ErrorMessage(err), UseOwn: code == store.EFORBIDDEN})
	}
	if err != nil {
		return err
	}
	if _, err := s.useSession(c, id, ns); err != nil {
		return err
	}
	if s.cfg.Sync != nil {
		s.cfg.Sync.EnqueueIfStale(ctx, person.ID)
	}
	return c.Redirect(http.StatusSeeOther, "/record")
}

// newPasskeyUser is a WebAuthn user for an account not yet made: 64 random
// bytes as its user handle, never anything that identifies the person.
func newPasskeyUser(name string) (passkeyUser, error) {
	handle := make([]byte, 64)
	if _, err := rand.Read(handle); err != nil {
		return passkeyUser{}, err
	}
	return passkeyUser{handle: handle, name: name}, nil
}

// enrolUser is the WebAuthn user for the person: their existing account, or a new random user handle.
func (s *Server) enrolUser(c echo.Context, person store.Person) (passkeyUser, error) {
	acct, err := s.db.AccountByPerson(c.Request().Context(), person.ID)
	switch store.ErrorCode(err) {
	case "":
		pks, err := s.db.Passkeys(c.Request().Context(), acct.ID)
		if err != nil {
			return passkeyUser{}, err
		}
		return passkeyUser{handle: acct.UserHandle, name: acct.DisplayName, creds: toCredentials(pks), existing: true}, nil
	case store.ENOTFOUND:
		return newPasskeyUser(person.Name())
	default:
		return passkeyUser{}, err
	}
}

func (s *Server) enrolPasskeyBegin(c echo.Context) error {
	person, err := s.enrolPerson(c)
	if err != nil {
		return err
	}
	user, err := s.enrolUser(c, person)
	if err != nil {
		return err
	}
	return s.startPasskeyRegistration(c, user, "register")
}

func (s *Server) enrolPasskeyFinish(c echo.Context) error {
	ctx := c.Request().Context()
	person, err := s.enrolPerson(c)
	if err != nil {
		return err
	}
	sess := sessionOf(c)
	data, err := s.takeCeremony(c, sess, "register")
	if err != nil {
		return err
	}
	user, err := s.enrolUser(c, person)
	if err != nil {
		return err
	}
	switch {
	case !user.existing:
		// No account yet: the handle is the random one made when the ceremony began.
		user.handle = data.UserID
	case string(user.handle) != string(data.UserID):
		// An account was made for this person by another session since this ceremony began.
		return store.Errorf(store.ECONFLICT, "Your account changed while you were setting up. Try again.")
	}
	cred, err := s.webauthn.FinishRegistration(user, data, c.Request())
	if err != nil {
		s.log.Info("passkey registration refused", "err", err)
		return store.Errorf(store.EINVALID, "We could not save your passkey. Try again.")
	}
	pk := passkeyOf(cred, "Passkey created "+time.Now().In(store.UKZone()).Format("2 January 2006"))
	acct, err := s.db.EnrolSessionPasskey(ctx, sess.ID, user.handle, person.Name(), pk) // still held, for the same account, checked as it is stored
	if err != nil {
		return err
	}
	if s.cfg.Sync != nil {
		s.cfg.Sync.EnqueueIfStale(ctx, person.ID)
	}
	next := "/record"
	if user.existing {
		// A code to set up an account that has passkeys already is most often
		// for a lost phone or computer: the account page says to remove its
		// passkey and sign out elsewhere, which the new session may do now.
		next = "/account?done=" + views.DoneEnrolledAgain
	}
	return s.signInWithNew(c, sess, acct.ID, cred, next, false)
}

// signInWithNew signs in with a passkey just created. Creating it took the
// person's fingerprint, face or screen lock, and the session it starts is
// signed in with it, so it is recorded as used now: their account page
// must not say it has not been used to sign in.
func (s *Server) signInWithNew(c echo.Context, sess *requestSession, accountID int64, cred *webauthn.Credential, next string, invitation bool) error {
	if err := s.db.PasskeyUsed(c.Request().Context(), cred.ID, cred.Authenticator.SignCount, cred.Flags.BackupState); err != nil {
		return err
	}
	return s.signInTo(c, sess, accountID, cred.ID, next, invitation)
}

package web

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/views"
)

// Carers: a person invites someone to act for them (/carers), the carer
// accepts (/carers/accept), chooses whom to act for (/acting-for) and can
// give their access up (/caring).

// actingForPage lets the account choose between its own record and those it may act for.
func (s *Server) actingForPage(c echo.Context) error {
	return s.showActingFor(c, http.StatusOK, nil)
}

// showActingFor shows the whose-record form, with its errors if any.
func (s *Server) showActingFor(c echo.Context, status int, errs []views.FieldError) error {
	acct := signedInAccount(c)
	grants, err := s.db.ActiveGrantsForAccount(c.Request().Context(), acct.ID)
	if err != nil {
		return err
	}
	var current int64
	if g, ok := actingGrant(c); ok {
		current = g.ID
		if !g.Active() {
			// The grant has ended: this page shows no banner and no choice made. The session
			// stops acting under it when a choice is sent, never on a GET, which changes nothing.
			c.Set(ctxGrant, nil)
			current = 0
		}
	}
	if len(grants) == 0 && errs != nil {
		// Nothing left to choose (the access ended while the form was open): the page
		// says so, with no form, so no error either; its title said "Error: " (a review).
		errs = nil
	}
	if current == 0 && acct.PersonID == 0 && len(grants) == 1 && errs == nil {
		current = grants[0].ID // the one choice there is, chosen already
	}
	return s.render(c, status, views.ActingFor(s.page(c, "Whose record do you want to use?"), acct.PersonID != 0, grants, current, errs))
}

// actingForSubmit switches whom the session acts for. The grant is checked
// here and again on every request that follows.
func (s *Server) actingForSubmit(c echo.Context) error {
	acct := signedInAccount(c)
	var grantID int64
	switch who := c.FormValue("who"); who {
	case "none":
		// From the page saying an access has ended: stop acting under it, then choose.
		if err := s.db.SetActingFor(c.Request().Context(), sessionOf(c).ID, acct.ID, 0); err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, "/acting-for")
	case "self":
		if acct.PersonID == 0 {
			return store.Errorf(store.EINVALID, "There is no health record linked to your account.")
		}
	default:
		id, err := strconv.ParseInt(who, 10, 64)
		if err != nil || id <= 0 {
			return s.showActingFor(c, http.StatusBadRequest, []views.FieldError{
				{Field: views.ActingField(acct.PersonID != 0), Message: "Choose whose record you want to use"}})
		}
		grantID = id
	}
	if err := s.db.SetActingFor(c.Request().Context(), sessionOf(c).ID, acct.ID, grantID); err != nil {
		return err
	}
	if s.cfg.Sync != nil && grantID != 0 {
		if g, err := s.db.Grant(c.Request().Context(), grantID); err == nil {
			s.cfg.Sync.EnqueueIfStale(c.Request().Context(), g.PersonID)
		}
	}
	return c.Redirect(http.StatusSeeOther, "/record")
}

// carersPage lists everyone the person has invited to act for them.
func (s *Server) carersPage(c echo.Context) error {
	person, err := s.recordPerson(c)
	if err != nil {
		return err
	}
	grants, err := s.db.GrantsForPerson(c.Request().Context(), person.ID)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.Carers(s.page(c, "People who can act for you"), grants, carersDone(doneOf(c), doneGrant(c, grants))))
}

// doneGrant is the grant the confirmation after a change is about (its id
// in "grant" of the address), among the page's own, or none: only a grant
// the page lists is named.
func doneGrant(c echo.Context, grants []store.Grant) *store.Grant {
	id, err := strconv.ParseInt(c.QueryParam("grant"), 10, 64)
	if err != nil {
		return nil
	}
	for i := range grants {
		if grants[i].ID == id {
			return &grants[i]
		}
	}
	return nil
}

// carersDone is the confirmation after a change to a grant, naming the
// carer (to the person) or the person (to the carer). It says only what the
// grant as stored bears out: the address is anyone's to write (a review: a
// link saying "You have stopped John Smith's access" on a grant still active
// was a false reassurance a carer could send).
func carersDone(done string, g *store.Grant) string {
	switch {
	case done == "sent-before":
		return "You have already made this invitation, so we have not made another. Its code was shown once. If you did not keep it, stop this invitation and make a new one."
	case g == nil:
		return ""
	case done == "changed" && g.Open():
		return "You have changed " + g.CarerName + "'s access. It applies from their next click."
	case done == "revoked" && !g.RevokedAt.IsZero() && g.AcceptedAt.IsZero():
		return "You have cancelled the invitation to " + g.CarerName + ". The code you gave them no longer works."
	case done == "revoked" && !g.RevokedAt.IsZero():
		return "You have stopped " + g.CarerName + "'s access. They can no longer see your record."
	case done == "gave-up" && !g.GivenUpAt.IsZero():
		return "You have given up your access to " + g.Person.Name() + "'s record. You can no longer see it."
	}
	return ""
}

func (s *Server) invitePage(c echo.Context) error {
	person, err := s.recordPerson(c)
	if err != nil {
		return err
	}
	f := views.InviteForm{Ends: "12m", Once: rand.Text()}
	if q := c.QueryParams(); q.Has("name") {
		// Back from "Check your answers": the form as it was sent, to change.
		f = views.InviteForm{Name: q.Get("name"), Relationship: q.Get("relationship"), Scopes: q["scope"], Ends: q.Get("ends"),
			Day: q.Get("ends-day"), Month: q.Get("ends-month"), Year: q.Get("ends-year"), Parental: q.Get("parental") == "yes", Once: q.Get("once")}
		if f.Ends != "date" && f.Ends != "never" {
			f.Ends = "12m"
		}
		if f.Once == "" {
			f.Once = rand.Text()
		}
	} else if again := c.QueryParam("again"); again != "" {
		// Inviting someone again (a parent after the 16th birthday): start from what they had.
		if id, err := strconv.ParseInt(again, 10, 64); err == nil {
			if g, err := s.db.PersonGrant(c.Request().Context(), person.ID, id); err == nil {
				f.Name, f.Relationship, f.Scopes = g.CarerName, g.Relationship, g.Scopes
			}
		}
	}
	f.Child = s.db.IsChild(person)
	return s.render(c, http.StatusOK, views.Invite(s.page(c, "Invite someone to act for you"), f))
}

// readTerms reads the scopes and end date of the invite and change forms;
// shown is the end date the form's boxes were filled with (the change
// form's: the access's end now), zero for none.
func readTerms(c echo.Context, f *views.InviteForm, shown time.Time) time.Time {
	form, _ := c.FormParams()
	f.Scopes = form["scope"]
	f.Ends = c.FormValue("ends")
	f.Day, f.Month, f.Year = strings.TrimSpace(c.FormValue("ends-day")), strings.TrimSpace(c.FormValue("ends-month")), strings.TrimSpace(c.FormValue("ends-year"))
	if len(f.Scopes) == 0 {
		f.Errors = append(f.Errors, views.FieldError{Field: "scope-" + store.CarerScopes()[0], Message: "Choose at least one part of your record they can see"})
	}
	if f.Ends != "date" && f.Day+f.Month+f.Year != "" && !sameDay(f.Day, f.Month, f.Year, shown) {
		// Without script the date boxes are always shown: a date typed in under
		// another choice is not quietly dropped (one left as the form showed it
		// is no choice).
		chose := map[string]string{"never": "When I stop it"}[f.Ends]
		if chose == "" {
			chose = "In 12 months"
		}
		f.Errors = append(f.Errors, views.FieldError{Field: "ends-day",
			Message: "You chose ‘" + chose + "’ and also gave an end date: choose ‘On a date I choose’, or clear the date"})
	}
	switch f.Ends {
	case "never":
		return time.Time{}
	case "date":
		if f.Day == "" && f.Month == "" && f.Year == "" {
			f.Errors = append(f.Errors, views.FieldError{Field: "ends-day", Message: "Enter the date their access should end"})
			return time.Time{}
		}
		if sameDay(f.Day, f.Month, f.Year, shown) {
			return shown // left as the form showed it: the end stays as it is, to the minute ("In 12 months")
		}
		day, derr := strconv.Atoi(f.Day)
		month, merr := strconv.Atoi(f.Month)
		year, yerr := strconv.Atoi(f.Year)
		t := time.Date(year, time.Month(month), day, 0, 0, 0, 0, store.UKZone()) // the day begins at midnight UK time
		if derr != nil || merr != nil || yerr != nil || len(f.Year) != 4 || t.Day() != day || t.Month() != time.Month(month) {
			f.Errors = append(f.Errors, views.FieldError{Field: "ends-day", Message: "End date must be a real date, like 27 3 2027"})
		}
		return t
	default:
		f.Ends = "12m"
		return time.Now().AddDate(1, 0, 0)
	}
}

// sameDay says whether the day, month and year typed are t's date.
func sameDay(day, month, year string, t time.Time) bool {
	d, derr := strconv.Atoi(day)
	m, merr := strconv.Atoi(month)
	y, yerr := strconv.Atoi(year)
	t = t.In(store.UKZone())
	return derr == nil && merr == nil && yerr == nil && !t.IsZero() && d == t.Day() && m == int(t.Month()) && y == t.Year()
}

// termsError puts a store's complaint about the terms against the field it is about.
func termsError(err error) views.FieldError {
	msg := store.ErrorMessage(err)
	field := "scope-" + store.CarerScopes()[0]
	switch {
	case strings.Contains(msg, "name"):
		field = "carer-name"
	case strings.Contains(msg, "related"):
		field = "relationship"
	case strings.Contains(msg, "end date"):
		field = "ends-day"
	case strings.Contains(msg, "Parental"):
		field = "parental"
	}
	return views.FieldError{Field: field, Message: strings.TrimSuffix(msg, ".")}
}

// addProblems adds the store's problems with a form's answers to those the
// form found, each answer's first, in the order the form asks them, so the
// form names every problem at once (NHS error summary).
func addProblems(f *views.InviteForm, problems []error) {
	for _, err := range problems {
		if fe := termsError(err); !slices.ContainsFunc(f.Errors, func(e views.FieldError) bool { return e.Field == fe.Field }) {
			f.Errors = append(f.Errors, fe)
		}
	}
	slices.SortStableFunc(f.Errors, func(a, b views.FieldError) int { return inviteFieldOrder(a.Field) - inviteFieldOrder(b.Field) })
}

// inviteFieldOrder is where a field is on the invitation form, for its
// errors to be listed in that order (NHS error summary).
func inviteFieldOrder(field string) int {
	for i, prefix := range []string{"carer-name", "relationship", "scope-", "ends", "parental"} {
		if strings.HasPrefix(field, prefix) {
			return i
		}
	}
	return 99
}

// readInvite reads the invitation's answers, from the form or from the
// check page's hidden fields alike, and checks them.
func readInvite(c echo.Context) (views.InviteForm, time.Time) {
	f := views.InviteForm{Name: strings.TrimSpace(c.FormValue("name")), Relationship: strings.TrimSpace(c.FormValue("relationship")), Parental: c.FormValue("parental") == "yes",
		Once: c.FormValue("once")}
	if f.Name == "" {
		f.Errors = append(f.Errors, views.FieldError{Field: "carer-name", Message: "Enter their full name"})
	}
	if f.Relationship == "" {
		f.Errors = append(f.Errors, views.FieldError{Field: "relationship", Message: "Enter how they are related to you"})
	}
	ends := readTerms(c, &f, time.Time{})
	return f, ends
}

// inviteCheck reads the invitation form and shows "Check your answers", or
// the form again with its errors. Nothing is made until the check page is sent.
func (s *Server) inviteCheck(c echo.Context) error {
	person, err := s.recordPerson(c)
	if err != nil {
		return err
	}
	f, ends := readInvite(c)
	f.Child = s.db.IsChild(person)
	addProblems(&f, s.db.InvitationProblems(person, store.Invitation{CarerName: f.Name, Relationship: f.Relationship, Scopes: f.Scopes, EndsAt: ends, Parental: f.Parental}))
	if len(f.Errors) > 0 {
		return s.render(c, http.StatusBadRequest, views.Invite(s.page(c, "Invite someone to act for you"), f))
	}
	if at := store.InvitationEnds(person, ends, f.Parental); !at.Equal(ends) {
		ends, f.AtSixteen = at, true
	}
	return s.render(c, http.StatusOK, views.InviteCheck(s.page(c, "Check your answers before sending the invitation"), f, ends))
}

// inviteSubmit creates the invitation the check page shows, and shows its
// code, once. Its hidden fields are checked again: they come from the browser.
func (s *Server) inviteSubmit(c echo.Context) error {
	person, err := s.recordPerson(c)
	if err != nil {
		return err
	}
	f, ends := readInvite(c)
	f.Child = s.db.IsChild(person)
	if len(f.Errors) == 0 {
		g, code, err := s.db.CreateInvitation(c.Request().Context(), person.ID, signedInAccount(c).ID,
			store.Invitation{CarerName: f.Name, Relationship: f.Relationship, Scopes: f.Scopes, EndsAt: ends, Parental: f.Parental, Once: f.Once},
			s.grantLog(c, func(g store.Grant) string { return fmt.Sprintf("invited %s (%s)", g.CarerName, g.Relationship) }))
		switch store.ErrorCode(err) {
		case "":
			link := strings.TrimSuffix(s.cfg.Origin, "/") + "/carers/accept?code=" + url.QueryEscape(code)
			return s.render(c, http.StatusOK, views.InviteCreated(s.page(c, "Invitation for "+g.CarerName), views.Invited{Grant: g, Code: code, Link: link}))
		case store.ECONFLICT:
			if g.ID != 0 { // sent again (a reloaded page): its code was shown once, and only then
				return c.Redirect(http.StatusSeeOther, "/carers?done=sent-before")
			}
			return err
		case store.EINVALID:
			f.Errors = append(f.Errors, termsError(err))
		default:
			return err
		}
	}
	return s.render(c, http.StatusBadRequest, views.Invite(s.page(c, "Invite someone to act for you"), f))
}

// personGrant is the grant named in the address, only if it is the person's own.
func (s *Server) personGrant(c echo.Context) (store.Person, store.Grant, error) {
	person, err := s.recordPerson(c)
	if err != nil {
		return person, store.Grant{}, err
	}
	id, err := idParam(c, "id", "We could not find that carer's access.")
	if err != nil {
		return person, store.Grant{}, err
	}
	g, err := s.db.PersonGrant(c.Request().Context(), person.ID, id)
	return person, g, err
}

// termsForm is the change form filled in with the grant as it stands.
func termsForm(g store.Grant) views.InviteForm {
	f := views.InviteForm{Scopes: g.Scopes, Ends: "never"}
	if !g.EndsAt.IsZero() {
		f.Ends = "date"
		ends := g.EndsAt.In(store.UKZone())
		f.Day, f.Month, f.Year = strconv.Itoa(ends.Day()), strconv.Itoa(int(ends.Month())), strconv.Itoa(ends.Year())
	}
	return f
}

func (s *Server) grantPage(c echo.Context) error {
	_, g, err := s.personGrant(c)
	if err != nil {
		return err
	}
	events, err := s.db.GrantEvents(c.Request().Context(), g.ID)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.GrantPage(s.page(c, g.CarerName), views.GrantView{Grant: g, Events: events}, termsForm(g)))
}

// grantChange sets new scopes and end date; the carer's next request sees them.
func (s *Server) grantChange(c echo.Context) error {
	person, g, err := s.personGrant(c)
	if err != nil {
		return err
	}
	f := views.InviteForm{}
	ends := readTerms(c, &f, g.EndsAt) // "In 12 months" is from now, as the form offers it
	if g.Open() {
		// One that has ended is refused as such by ChangeGrant, not for its terms.
		addProblems(&f, s.db.TermsProblems(person, f.Scopes, ends, g.Parental))
	}
	if len(f.Errors) == 0 {
		_, err := s.db.ChangeGrant(c.Request().Context(), person.ID, g.ID, signedInAccount(c).ID, f.Scopes, ends,
			s.grantLog(c, func(g store.Grant) string { return fmt.Sprintf("changed %s's access", g.CarerName) }))
		switch store.ErrorCode(err) {
		case "":
			return c.Redirect(http.StatusSeeOther, "/carers?done=changed&grant="+strconv.FormatInt(g.ID, 10))
		case store.EINVALID:
			f.Errors = append(f.Errors, termsError(err))
		default:
			return err
		}
	}
	events, err := s.db.GrantEvents(c.Request().Context(), g.ID)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusBadRequest, views.GrantPage(s.page(c, g.CarerName), views.GrantView{Grant: g, Events: events}, f))
}

func (s *Server) revokePage(c echo.Context) error {
	_, g, err := s.personGrant(c)
	if err != nil {
		return err
	}
	path := "/carers/" + strconv.FormatInt(g.ID, 10)
	heading, text, button, keep := "Stop "+g.CarerName+"'s access?", g.CarerName+" will not be able to see or do anything with your record from their next click. To let them again, you would need to send a new invitation.", "Stop access", "Keep their access"
	if g.Pending() {
		heading, text, button, keep = "Cancel the invitation to "+g.CarerName+"?", "The code you gave them will stop working.", "Cancel invitation", "Keep the invitation"
	}
	return s.render(c, http.StatusOK, views.ConfirmEnd(s.page(c, heading), heading, text, path+"/revoke", button, path, keep))
}

func (s *Server) revokeSubmit(c echo.Context) error {
	person, g, err := s.personGrant(c)
	if err != nil {
		return err
	}
	if _, err := s.db.RevokeGrant(c.Request().Context(), person.ID, g.ID, signedInAccount(c).ID,
		s.grantLog(c, func(g store.Grant) string { return fmt.Sprintf("stopped %s's access", g.CarerName) })); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/carers?done=revoked&grant="+strconv.FormatInt(g.ID, 10))
}

// caringPage lists the people the account helps, with what happened to each grant.
func (s *Server) caringPage(c echo.Context) error {
	ctx := c.Request().Context()
	grants, err := s.db.GrantsForAccount(ctx, signedInAccount(c).ID)
	if err != nil {
		return err
	}
	list := make([]views.GrantView, 0, len(grants))
	for _, g := range grants {
		ev, err := s.db.GrantEvents(ctx, g.ID)
		if err != nil {
			return err
		}
		list = append(list, views.GrantView{Grant: g, Events: ev})
	}
	return s.render(c, http.StatusOK, views.Caring(s.page(c, "People you help"), list, carersDone(doneOf(c), doneGrant(c, grants))))
}

// carerGrant is the grant named in the address, only if the account holds
// it. Someone else's and one that does not exist are not found in the same
// words, so no one learns which ids exist.
func (s *Server) carerGrant(c echo.Context) (store.Grant, error) {
	const notFound = "We could not find that access."
	id, err := idParam(c, "id", notFound)
	if err != nil {
		return store.Grant{}, err
	}
	g, err := s.db.Grant(c.Request().Context(), id)
	switch {
	case store.ErrorCode(err) == store.ENOTFOUND, err == nil && g.GranteeAccountID != signedInAccount(c).ID:
		return store.Grant{}, store.Errorf(store.ENOTFOUND, notFound)
	case err != nil:
		return store.Grant{}, err
	}
	return g, nil
}

func (s *Server) giveUpPage(c echo.Context) error {
	g, err := s.carerGrant(c)
	if err != nil {
		return err
	}
	heading := "Give up your access to " + g.Person.Name() + "'s record?"
	return s.render(c, http.StatusOK, views.ConfirmEnd(s.page(c, heading), heading,
		"You will no longer be able to see or do anything with their record. To help them again, they would need to invite you again.",
		"/caring/"+strconv.FormatInt(g.ID, 10)+"/give-up", "Give up access", "/caring", "Keep your access"))
}

func (s *Server) giveUpSubmit(c echo.Context) error {
	g, err := s.carerGrant(c)
	if err != nil {
		return err
	}
	if _, err := s.db.GiveUpGrant(c.Request().Context(), signedInAccount(c).ID, g.ID,
		s.grantLog(c, func(g store.Grant) string { return g.CarerName + " gave up their access" })); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/caring?done=gave-up&grant="+strconv.FormatInt(g.ID, 10))
}

// acceptPage asks for the invitation code (filled in from the link) and the inviter's date of birth.
func (s *Server) acceptPage(c echo.Context) error {
	if _, err := s.ensureSession(c); err != nil {
		return err
	}
	f := views.AcceptForm{Code: strings.TrimSpace(c.QueryParam("code"))}
	return s.render(c, http.StatusOK, views.AcceptStart(s.page(c, "Accept an invitation"), f))
}

func (s *Server) acceptSubmit(c echo.Context) error {
	f := views.AcceptForm{
		Code:  strings.TrimSpace(c.FormValue("code")),
		Day:   strings.TrimSpace(c.FormValue(views.FieldDay)),
		Month: strings.TrimSpace(c.FormValue(views.FieldMonth)),
		Year:  strings.TrimSpace(c.FormValue(views.FieldYear)),
	}
	if f.Code == "" {
		f.Errors = append(f.Errors, views.FieldError{Field: "code", Message: "Enter the invitation code"})
	} else if len(f.Code) > 40 {
		f.Errors = append(f.Errors, views.FieldError{Field: "code", Message: "Invitation code must be 12 letters and numbers, like ABCD-EFGH-JKMN"})
	}
	dob, errs := birthDate(f.Day, f.Month, f.Year, "their")
	f.Errors = append(f.Errors, errs...)
	if len(f.Errors) == 0 {
		sess := sessionOf(c)
		if sess == nil {
			return store.Errorf(store.EFORBIDDEN, "Your session may have timed out. Go back, reload the page and try again.")
		}
		_, id, err := s.db.CheckInvitation(c.Request().Context(), f.Code, dob, sess.ID)
		switch store.ErrorCode(err) {
		case "":
			if _, err := s.useSession(c, id, signedOut(sess.Session)); err != nil {
				return err
			}
			if sess.AccountID != 0 {
				// The code signed them out (store's renewSessionID): the page says why.
				return c.Redirect(http.StatusSeeOther, "/carers/accept/confirm?signed-out=1")
			}
			return c.Redirect(http.StatusSeeOther, "/carers/accept/confirm")
		case store.EINVALID, store.EEXPIRED, store.ELOCKED:
			field := "code"
			if strings.Contains(store.ErrorMessage(err), "date of birth") {
				field = "dob-day"
			}
			f.Errors = []views.FieldError{{Field: field, Message: store.ErrorMessage(err)}}
		default:
			return err
		}
	}
	return s.render(c, http.StatusBadRequest, views.AcceptStart(s.page(c, "Accept an invitation"), f))
}

// heldInvitation is the invitation this session has proved it may accept.
func (s *Server) heldInvitation(c echo.Context) (store.Grant, error) {
	sess := sessionOf(c)
	if sess == nil {
		return store.Grant{}, store.Errorf(store.EFORBIDDEN, "Enter your invitation code and the date of birth of the person who invited you first.")
	}
	return s.db.HeldInvitation(c.Request().Context(), sess.ID)
}

// acceptConfirmPage shows whose invitation it is; a signed-in carer accepts with
// one click, anyone else signs in or creates a passkey first.
func (s *Server) acceptConfirmPage(c echo.Context) error {
	g, err := s.heldInvitation(c)
	if store.ErrorCode(err) == store.EFORBIDDEN {
		return c.Redirect(http.StatusSeeOther, "/carers/accept")
	}
	if err != nil {
		return err
	}
	_, signedIn := c.Get(ctxAccount).(store.Account)
	return s.render(c, http.StatusOK, views.AcceptConfirm(s.settingUpPage(c, "Check this is the right person", "invitation"), g, signedIn, !signedIn && c.QueryParam("signed-out") == "1"))
}

// acceptConfirmSubmit turns the invitation the page showed, which the session
// holds, into a grant to the signed-in account.
func (s *Server) acceptConfirmSubmit(c echo.Context) error {
	id, err := strconv.ParseInt(c.FormValue("invitation"), 10, 64)
	if err != nil {
		return store.Errorf(store.EFORBIDDEN, "Enter your invitation code and the date of birth of the person who invited you first.")
	}
	_, err = s.db.AcceptInvitation(c.Request().Context(), sessionOf(c).ID, signedInAccount(c).ID, id,
		s.grantLog(c, store.Grant.AcceptedWords))
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/acting-for")
}

// acceptPasskeyBegin starts creating a passkey for a new carer account, with no record of its own.
func (s *Server) acceptPasskeyBegin(c echo.Context) error {
	g, err := s.heldInvitation(c)
	if err != nil {
		return err
	}
	user, err := newPasskeyUser(g.CarerName)
	if err != nil {
		return err
	}
	return s.startPasskeyRegistration(c, user, ceremonyCarer)
}

// acceptPasskeyFinish saves the new carer account and signs it in; sign-in
// brings the held invitation along and sends them back to accept it.
func (s *Server) acceptPasskeyFinish(c echo.Context) error {
	g, err := s.heldInvitation(c)
	if err != nil {
		return err
	}
	sess := sessionOf(c)
	data, err := s.takeCeremony(c, sess, ceremonyCarer)
	if err != nil {
		return err
	}
	user := passkeyUser{handle: data.UserID, name: g.CarerName}
	cred, err := s.webauthn.FinishRegistration(user, data, c.Request())
	if err != nil {
		s.log.Info("carer passkey registration refused", "err", err)
		return store.Errorf(store.EINVALID, "We could not save your passkey. Try again.")
	}
	acct, err := s.db.CreateCarerAccount(c.Request().Context(), user.handle, g.CarerName, passkeyOf(cred, "Passkey created "+time.Now().In(store.UKZone()).Format("2 January 2006")))
	if err != nil {
		return err
	}
	return s.signInWithNew(c, sess, acct.ID, cred, "/record", true)
}

// acceptSignInBegin starts signing in with a passkey someone who has proved
// an invitation (the session holds it) and already uses My Care Record;
// only a sign-in begun here takes the invitation along (store.RotateSession).
func (s *Server) acceptSignInBegin(c echo.Context) error {
	if _, err := s.heldInvitation(c); err != nil {
		return err
	}
	return s.beginSignIn(c, ceremonyCarerSignIn)
}

// acceptSignInFinish signs them in, bringing the held invitation along, and
// sends them back to accept it.
func (s *Server) acceptSignInFinish(c echo.Context) error {
	if _, err := s.heldInvitation(c); err != nil {
		return err
	}
	return s.finishSignIn(c, ceremonyCarerSignIn, true)
}

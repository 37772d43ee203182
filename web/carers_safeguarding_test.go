package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

var spaces = regexp.MustCompile(`\s+`)

// mainText is the text of a page's main, its white space made single spaces.
func mainText(t *testing.T, resp *http.Response) string {
	t.Helper()
	return spaces.ReplaceAllString(doc(t, resp).Find("main").Text(), " ")
}

// An invitation for John Smith accepted by someone else's account (Amir
// Khan, with a record of his own): the accept page says whom it is for, and
// the person's pages, the access's history and the access log name who
// holds the access. Before, they said John Smith had it (found by a review).
func TestSomeoneElseAcceptingIsShownToThePerson(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	jane := f.signIn(t, f.jane)
	f.signIn(t, f.amir)
	amir := f.ownAccount(t, f.amir)
	by := f.ownAccount(t, f.jane)
	_, code, err := f.db.CreateInvitation(ctx, f.jane.ID, by.ID, store.Invitation{CarerName: "John Smith", Relationship: "son", Scopes: []string{"medicines"}}, grantLogged(by, "invited John Smith"))
	if err != nil {
		t.Fatal(err)
	}
	accepting, _, _ := f.db.CreateSession(ctx, amir.ID, store.DefaultSessionPolicy())
	accepting = proveInvitation(t, f, code, f.jane.BirthDate, accepting, amir)
	if page := mainText(t, f.get(t, "/carers/accept/confirm", sessionCookie(t, accepting))); !strings.Contains(page, "This invitation is for John Smith. If you are not John Smith, do not accept it.") {
		t.Errorf("the accept page does not say whom the invitation is for: %.400s", page)
	}
	if rec := f.post(t, "/carers/accept/confirm", sessionCookie(t, accepting), url.Values{"csrf": {sessionCSRF(t, f, accepting)}, "invitation": {itoa(heldInvitation(t, f.db, accepting))}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("accept: %d", rec.Code)
	}
	grants, err := f.db.GrantsForPerson(ctx, f.jane.ID)
	if err != nil || len(grants) != 1 {
		t.Fatalf("grants: %v %v", grants, err)
	}
	g := grants[0]
	if g.AcceptedByOther() != "Amir Khan" {
		t.Errorf("accepted as %q", g.AcceptedAs)
	}
	for _, path := range []string{"/carers", "/carers/" + itoa(g.ID)} {
		if text := mainText(t, f.get(t, path, jane)); !strings.Contains(text, "You invited John Smith, but the invitation was accepted by someone using the name Amir Khan.") {
			t.Errorf("%s does not say Amir Khan holds the access: %.600s", path, text)
		}
	}
	if text := mainText(t, f.get(t, "/carers/"+itoa(g.ID), jane)); !strings.Contains(text, "Amir Khan accepted the invitation, which was for John Smith") {
		t.Errorf("the history does not say who accepted: %.800s", text)
	}
	// The warning comes before the access's details, with a way to stop it.
	d := doc(t, f.get(t, "/carers/"+itoa(g.ID), jane))
	if html, _ := d.Find("main").Html(); strings.Index(html, "Accepted by Amir Khan") > strings.Index(html, "nhsuk-summary-list") {
		t.Error("the warning comes after the access's details")
	}
	if d.Find(`.nhsuk-card--warning a[href="/carers/`+itoa(g.ID)+`/revoke"]`).Text() != "Stop Amir Khan's access" {
		t.Error("the warning has no link to stop the access")
	}
	// Amir's own history speaks to him.
	amirSession, _, _ := f.db.CreateSession(ctx, amir.ID, store.DefaultSessionPolicy())
	if text := mainText(t, f.get(t, "/caring", sessionCookie(t, amirSession))); !strings.Contains(text, "Jane Example invited you") ||
		!strings.Contains(text, "You accepted the invitation") || strings.Contains(text, "Amir Khan accepted") {
		t.Errorf("the carer's own history: %.800s", text)
	}
	if text := mainText(t, f.get(t, "/record/access-log", jane)); !strings.Contains(text, "Amir Khan accepted the invitation, which was for John Smith") {
		t.Errorf("the access log does not say who accepted: %.800s", text)
	}

	// The carer invited, accepting with an account of that name, is no warning.
	john := f.newCarer(t, "John Smith")
	f.grant(t, f.jane, by, john, "conditions")
	if text := mainText(t, f.get(t, "/carers", jane)); strings.Count(text, "accepted by someone using the name") != 1 {
		t.Errorf("want one warning, for Amir only: %.800s", text)
	}
}

// A carer whose access ended is told so plainly, never to ask the person for
// it back (a carer the person stopped, or a parent whose child turned 16),
// and the page leads to the choice of whose record to use (found by a review).
func TestEndedAccessSaysSoWithoutAskingThePerson(t *testing.T) {
	f := newFixture(t)
	jane := f.signIn(t, f.jane)
	john := f.newCarer(t, "John Smith")
	g := f.grant(t, f.jane, f.ownAccount(t, f.jane), john, "medicines")
	if rec := f.post(t, "/carers/"+itoa(g.ID)+"/revoke", jane, url.Values{"csrf": {csrfToken(t, f, jane)}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("revoke: %d", rec.Code)
	}
	resp := f.get(t, "/record", john.cookie)
	if text := mainText(t, resp); resp.StatusCode != http.StatusForbidden || !strings.Contains(text, "Your access has ended") || !strings.Contains(text, "Your access to Jane Example's record has been stopped.") || strings.Contains(text, "ask ") {
		t.Errorf("stopped carer: %d %q", resp.StatusCode, text)
	}
	d := doc(t, f.get(t, "/record", john.cookie))
	form := d.Find(`main form[action="/acting-for"]`)
	if form.Find(`input[name="who"][value="none"]`).Length() != 1 || strings.TrimSpace(form.Find("button").Text()) != "Choose whose record to use" {
		t.Error("the page does not lead to the choice of whose record to use")
	}
	// Looking at the choice changes nothing (a GET never does): the record
	// pages still say the access has ended.
	if resp := f.get(t, "/acting-for", john.cookie); resp.StatusCode != http.StatusOK || strings.Contains(mainText(t, resp), "Jane Example") {
		t.Errorf("the choice of whose record, after the access ended: %d", resp.StatusCode)
	}
	if resp := f.get(t, "/record", john.cookie); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a record page after only looking at the choice: %d, want 403 saying the access ended", resp.StatusCode)
	}
	// Sending the page's form stops the session acting under the access, so
	// the record pages lead on again.
	if rec := f.post(t, "/acting-for", john.cookie, url.Values{"csrf": {sessionCSRF(t, f, john.id)}, "who": {"none"}}); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/acting-for" {
		t.Fatalf("choosing whose record: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	if resp := f.get(t, "/record", john.cookie); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/acting-for" {
		t.Errorf("a record page after choosing: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	mary := f.newCarer(t, "Mary Smith")
	gm := f.grant(t, f.jane, f.ownAccount(t, f.jane), mary, "medicines")
	f.post(t, "/caring/"+itoa(gm.ID)+"/give-up", mary.cookie, url.Values{"csrf": {sessionCSRF(t, f, mary.id)}})
	if text := mainText(t, f.get(t, "/record/medicines", mary.cookie)); !strings.Contains(text, "You gave up your access to Jane Example's record.") || strings.Contains(text, "ask ") {
		t.Errorf("carer who gave up is told: %q", text)
	}
	if text := mainText(t, f.get(t, "/caring", mary.cookie)); !strings.Contains(text, "You gave up your access") || strings.Contains(text, "Mary Smith gave up") {
		t.Errorf("the carer's own history speaks of them in the third person: %q", text)
	}
}

func TestParentalAccessEndedSaysTheChildTurned16(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	uk := store.UKZone()
	now := time.Now().In(uk)
	midnight := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, uk) // Lily turns 16 tonight
	// Everything happens in the evening before, whatever time the test runs:
	// run just after midnight, the evening would otherwise be 24 hours long
	// and outlast the session's 12-hour limit.
	evening := midnight.Add(-3 * time.Hour)
	f.db.SetClock(func() time.Time { return evening })
	defer f.db.SetClock(time.Now)
	dob := midnight.AddDate(-16, 0, 0).Format("2006-01-02")
	lily := addLily(t, f, dob, medicine("m3", "lily", "Salbutamol inhaler"))
	f.signIn(t, lily)
	mum := f.newCarer(t, "Mum")
	by := f.ownAccount(t, lily)
	_, code, err := f.db.CreateInvitation(ctx, lily.ID, by.ID, store.Invitation{CarerName: "Mum", Relationship: "mother", Scopes: []string{"medicines"}, Parental: true}, grantLogged(by, "invited"))
	if err != nil {
		t.Fatal(err)
	}
	mum.id = proveInvitation(t, f, code, dob, mum.id, mum.acct)
	g, err := f.db.AcceptInvitation(ctx, mum.id, mum.acct.ID, heldInvitation(t, f.db, mum.id), grantLogged(mum.acct, "accepted"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.db.SetActingFor(ctx, mum.id, mum.acct.ID, g.ID); err != nil {
		t.Fatal(err)
	}
	cookie := sessionCookie(t, mum.id)
	// Mum keeps using the record through the evening, past midnight.
	for at := evening; !at.After(midnight.Add(time.Minute)); at = at.Add(20 * time.Minute) {
		f.db.SetClock(func() time.Time { return at })
		if got := f.get(t, "/account", cookie).StatusCode; got != http.StatusOK {
			t.Fatalf("session ended at %v: %d", at, got)
		}
	}
	f.db.SetClock(func() time.Time { return midnight.Add(2 * time.Minute) })
	resp := f.get(t, "/record/medicines", cookie)
	want := "Your access to Lily Example's record ended on " + midnight.Format("2 January 2006") + ", their 16th birthday. Access for parental responsibility ends when a child turns 16."
	if text := mainText(t, resp); !strings.Contains(text, want) || strings.Contains(text, "ask ") {
		t.Errorf("parent, minutes after Lily turned 16 (%d): %q", resp.StatusCode, text)
	}
}

// A carer who helps the person reads that someone else acting for them
// changed a choice, never who: who else helps the person is not theirs to
// know, as their download leaves it out (found by a review).
func TestACarerIsNotToldWhoElseHelps(t *testing.T) {
	f := newFixture(t)
	jane := f.signIn(t, f.jane)
	john := f.newCarer(t, "John Smith")
	mary := f.newCarer(t, "Mary Jones")
	f.grant(t, f.jane, f.ownAccount(t, f.jane), john, "medicines", "choices")
	gm := f.grant(t, f.jane, f.ownAccount(t, f.jane), mary, "conditions", "choices")
	if rec := f.post(t, "/choices/research/confirm", mary.cookie, url.Values{"csrf": {sessionCSRF(t, f, mary.id)}, "for": {itoa(gm.ID)}, "answer": {"no"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("Mary's change: %d", rec.Code)
	}
	for _, path := range []string{"/choices", "/choices/history"} {
		text := mainText(t, f.get(t, path, john.cookie))
		if strings.Contains(text, "Mary Jones") || !strings.Contains(text, "omeone else acting for Jane Example") {
			t.Errorf("%s, to John: %.600s", path, text)
		}
		if text := mainText(t, f.get(t, path, jane)); !strings.Contains(text, "Mary Jones") {
			t.Errorf("%s, to Jane, does not name Mary: %.600s", path, text)
		}
	}
	if text := mainText(t, f.get(t, "/choices", jane)); !strings.Contains(text, "Latest change to your choices") {
		t.Errorf("Jane's choices page: %.600s", text)
	}
}

// An invitation whose access has ended before anyone accepted it (its end
// date, or the child's 16th birthday, within the code's 7 days) has run out:
// accepting it would give nothing (found by a review).
func TestAnInvitationWhoseAccessEndedCannotBeAccepted(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.signIn(t, f.jane)
	by := f.ownAccount(t, f.jane)
	_, code, err := f.db.CreateInvitation(ctx, f.jane.ID, by.ID, store.Invitation{CarerName: "John Smith", Relationship: "son",
		Scopes: []string{"medicines"}, EndsAt: time.Now().Add(36 * time.Hour)}, grantLogged(by, "invited"))
	if err != nil {
		t.Fatal(err)
	}
	f.db.SetClock(func() time.Time { return time.Now().Add(4 * 24 * time.Hour) }) // the code has 3 more days
	defer f.db.SetClock(time.Now)
	john := f.newCarer(t, "John Smith")
	if _, _, err := f.db.CheckInvitation(ctx, code, f.jane.BirthDate, john.id); store.ErrorCode(err) != store.EEXPIRED {
		t.Errorf("an invitation whose access ended: %v, want it to have run out", err)
	}
	grants, err := f.db.GrantsForPerson(ctx, f.jane.ID)
	if err != nil || len(grants) != 1 || grants[0].Status != store.GrantExpired {
		t.Errorf("grants: %+v %v", grants, err)
	}
}

// A carer sends the "Whose record do you want to use?" form without a
// choice after their last access was stopped: the page says nobody has
// given them access, with no form; it was titled "Error: " with no error on
// it (a review, WCAG 3.3.1, 2.4.2).
func TestNothingLeftToChooseIsNoError(t *testing.T) {
	f := newFixture(t)
	f.signIn(t, f.jane)
	john := f.newCarer(t, "John Smith")
	jane := f.ownAccount(t, f.jane)
	g := f.grant(t, f.jane, jane, john, fhir.SectionMedicines)
	tok := sessionCSRF(t, f, john.id)
	if _, err := f.db.RevokeGrant(context.Background(), f.jane.ID, g.ID, jane.ID, grantLogged(jane, "stopped John's access")); err != nil {
		t.Fatal(err)
	}
	rec := f.post(t, "/acting-for", john.cookie, url.Values{"csrf": {tok}, "for": {itoa(g.ID)}})
	d := docOf(t, rec.Body.String())
	title := d.Find("title").Text()
	if strings.HasPrefix(title, "Error: ") || d.Find(".nhsuk-error-summary").Length() != 0 || !strings.Contains(d.Find("main").Text(), "Nobody has given you access") {
		t.Errorf("%d, titled %q: %q", rec.Code, title, strings.Join(strings.Fields(d.Find("main").Text()), " "))
	}
}

package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
)

// The warning worded for setting up shows only where a passkey is set up
// with the code the session holds, not on every page that session sees:
// never on sign-in, the code-entry page, an invitation's, help or an error
// page (a review found it on each).
func TestTheSettingUpWarningIsOnlyWhereAPasskeyIsSetUp(t *testing.T) {
	f := newFixture(t)
	code, _, err := f.db.CreateEnrolmentCode(context.Background(), f.jane.ID, 72*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cookie := proveEnrolmentCode(t, f, code)
	for _, path := range []string{"/enrol/passkey", "/signin", "/enrol", "/carers/accept", "/no-such-page", "/help"} {
		d := doc(t, f.get(t, path, cookie))
		if got, want := d.Find("dialog#session-timeout").Length(), map[bool]int{true: 1}[path == "/enrol/passkey"]; got != want {
			t.Errorf("%s (%q): %d warnings, want %d", path, strings.TrimSpace(d.Find("h1").First().Text()), got, want)
		}
	}
	page := doc(t, f.get(t, "/enrol/passkey", cookie))
	tok, _ := page.Find(`input[name="csrf"]`).Attr("value")
	if ed := docOf(t, f.post(t, "/enrol/link", cookie, url.Values{"csrf": {tok}, "account": {"1"}}).Body.String()); ed.Find("dialog#session-timeout").Length() != 0 {
		t.Errorf("the error page %q warns", strings.TrimSpace(ed.Find("h1").First().Text()))
	}
}

// A carer with no account creating a passkey to accept an invitation is
// warned before it stops, in words for the invitation, even in a browser
// that proved an enrolment code first; "I need more time" keeps it going
// (a review: no warning, or enrolment's words).
func TestAcceptingAnInvitationWarnsBeforeItStops(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.signIn(t, f.jane)
	by := f.ownAccount(t, f.jane)
	code, _, err := f.db.CreateEnrolmentCode(ctx, f.amir.ID, 72*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	anon, _, _ := f.db.CreateSession(ctx, 0, store.DefaultSessionPolicy())
	_, enrolling, err := f.db.RedeemEnrolmentCode(ctx, anon, code, f.amir.BirthDate)
	if err != nil {
		t.Fatal(err)
	}
	for i, sess := range []string{"", enrolling} {
		if sess == "" {
			sess, _, _ = f.db.CreateSession(ctx, 0, store.DefaultSessionPolicy())
		}
		_, invCode, err := f.db.CreateInvitation(ctx, f.jane.ID, by.ID, store.Invitation{CarerName: "Amir Khan", Relationship: "friend", Scopes: []string{"medicines"}},
			grantLogged(by, "invited Amir"))
		if err != nil {
			t.Fatal(err)
		}
		_, held, err := f.db.CheckInvitation(ctx, invCode, f.jane.BirthDate, sess)
		if err != nil {
			t.Fatal(err)
		}
		d := doc(t, f.get(t, "/carers/accept/confirm", sessionCookie(t, held)))
		dialog := d.Find("dialog#session-timeout")
		if text := strings.Join(strings.Fields(dialog.Text()), " "); dialog.Length() != 1 || !strings.Contains(text, "Accepting the invitation will stop soon") ||
			!strings.Contains(text, "invitation code") || strings.Contains(text, "enrolment code") || strings.Contains(text, "signed out") {
			t.Errorf("session %d: the invitation's warning says %q", i, text)
		}
		tok, _ := dialog.Find(`input[name="csrf"]`).Attr("value")
		if rec := f.post(t, "/session/extend", sessionCookie(t, held), url.Values{"csrf": {tok}}); rec.Code != http.StatusNoContent {
			t.Errorf("session %d: I need more time: %d", i, rec.Code)
		}
	}
}

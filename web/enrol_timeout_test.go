package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
)

// The "Create a passkey" page, the code proved, warns before setting up
// stops for want of use, and "I need more time" keeps it going; if it stops,
// the code works again. Before, nothing warned, and the code was used up
// (a review, WCAG 2.2.1).
func TestEnrolPasskeyPageWarnsBeforeItStops(t *testing.T) {
	f, now, code, cookie := enrolling(t)
	page := doc(t, f.get(t, "/enrol/passkey", cookie))
	dialog := page.Find("dialog#session-timeout")
	if dialog.Length() != 1 || !strings.Contains(dialog.Text(), "Setting up your account will stop soon") || strings.Contains(dialog.Text(), "signed out") ||
		dialog.AttrOr("data-session-ends", "") != "Setting up will stop in" || strings.TrimSpace(dialog.Find("form[action='/session/extend'] button").Text()) != "I need more time" {
		t.Fatalf("the Create a passkey page's warning: %q", strings.Join(strings.Fields(dialog.Text()), " "))
	}
	token, _ := dialog.Find(`input[name="csrf"]`).Attr("value")
	*now = now.Add(29 * time.Minute)
	if rec := f.post(t, "/session/extend", cookie, url.Values{"csrf": {token}}); rec.Code != http.StatusNoContent {
		t.Fatalf("I need more time: %d", rec.Code)
	}
	*now = now.Add(29 * time.Minute)
	if resp := f.get(t, "/enrol/passkey", cookie); resp.StatusCode != http.StatusOK {
		t.Fatalf("58 minutes in, having asked for more time: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// Left for longer than it allows: it stops, and the code works again.
	*now = now.Add(31 * time.Minute)
	if resp := f.get(t, "/enrol/passkey", cookie); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("31 minutes idle: %d, want sent back to enter the code", resp.StatusCode)
	}
	proveEnrolmentCode(t, f, code)
}

// proveEnrolmentCode proves Jane's enrolment code through the /enrol form
// from a fresh session, returning its cookie.
func proveEnrolmentCode(t *testing.T, f *fixture, code string) *http.Cookie {
	t.Helper()
	resp := f.get(t, "/enrol", nil)
	token, _ := doc(t, resp).Find(`input[name="csrf"]`).Attr("value")
	form := url.Values{"csrf": {token}, "code": {code}, "day": {"14"}, "month": {"3"}, "year": {"1957"}}
	req := httptest.NewRequest(http.MethodPost, "/enrol", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(resp.Cookies()[0])
	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("enrol: %d %s", rec.Code, docOf(t, rec.Body.String()).Find(".nhsuk-error-summary").Text())
	}
	return rec.Result().Cookies()[0]
}

// Every answer to a page's own request says how long the session has, as
// stored (X-Session-Left): the passkey script tells the time-out warning so
// (a review: the page guessed, and a busy database could leave the use
// unnoted).
func TestAnswersSayHowLongTheSessionHas(t *testing.T) {
	f, _, _, cookie := enrolling(t)
	csrf, _ := doc(t, f.get(t, "/enrol/passkey", cookie)).Find(`meta[name="csrf-token"]`).Attr("content")
	req := httptest.NewRequest(http.MethodPost, "/enrol/passkey/begin", strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-CSRF-Token", csrf)
	req.AddCookie(cookie)
	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("begin: %d %s", rec.Code, rec.Body.String())
	}
	left, err := strconv.Atoi(rec.Header().Get("X-Session-Left"))
	if idle := int(store.DefaultSessionPolicy().Idle.Seconds()); err != nil || left < idle-61 || left > idle {
		t.Errorf("X-Session-Left %q (%v); want about %d", rec.Header().Get("X-Session-Left"), err, idle)
	}
}

// enrolling is a fixture on a clock the test moves (*now), with Jane's
// enrolment code proved in a session (cookie).
func enrolling(t *testing.T) (f *fixture, now *time.Time, code string, cookie *http.Cookie) {
	t.Helper()
	f = newFixture(t)
	at := time.Now()
	f.db.SetClock(func() time.Time { return at })
	code, _, err := f.db.CreateEnrolmentCode(context.Background(), f.jane.ID, 72*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return f, &at, code, proveEnrolmentCode(t, f, code)
}

// "I need more time" keeps setting up going only while the code proved is
// in date: past its end, it says the code has expired, as creating the
// passkey would (a review: more time was given, to no end).
func TestNoMoreTimeOnceTheCodeHasExpired(t *testing.T) {
	f := newFixture(t)
	now := time.Now()
	f.db.SetClock(func() time.Time { return now })
	code, _, err := f.db.CreateEnrolmentCode(context.Background(), f.jane.ID, 40*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	cookie := proveEnrolmentCode(t, f, code)
	token, _ := doc(t, f.get(t, "/enrol/passkey", cookie)).Find(`dialog#session-timeout input[name="csrf"]`).Attr("value")
	now = now.Add(29 * time.Minute)
	if rec := f.post(t, "/session/extend", cookie, url.Values{"csrf": {token}}); rec.Code != http.StatusNoContent {
		t.Fatalf("I need more time, the code in date: %d", rec.Code)
	}
	now = now.Add(29 * time.Minute)
	rec := f.post(t, "/session/extend", cookie, url.Values{"csrf": {token}})
	// 403, as for a session that has ended: the warning's script then says setting up has stopped.
	if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "Your enrolment code has expired") {
		t.Errorf("I need more time, the code expired 18 minutes ago: %d %q", rec.Code, docOf(t, rec.Body.String()).Find("h1").Text())
	}
}

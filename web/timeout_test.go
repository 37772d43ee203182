package web_test

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
)

// Signed-in pages carry the warning before the session ends for want of use,
// with how long is left, and "Stay signed in" keeps the session going: with
// it the session outlives its idle limit from the page's load, without it it
// does not. The answer is 204, so the page stays as it is.
func TestStaySignedIn(t *testing.T) {
	for _, stay := range []bool{true, false} {
		t.Run("stay "+strconv.FormatBool(stay), func(t *testing.T) {
			f := newFixture(t)
			now := time.Now()
			f.db.SetClock(func() time.Time { return now })
			jane := f.signIn(t, f.jane)
			token := csrfToken(t, f, jane) // read now: a page read later would itself keep the session going
			d := doc(t, f.get(t, "/record", jane))
			dialog := d.Find("dialog#session-timeout")
			left, _ := strconv.Atoi(dialog.AttrOr("data-session-left", ""))
			idle := store.DefaultSessionPolicy().Idle
			if dialog.Length() != 1 || left < int(idle.Seconds())-60 || left > int(idle.Seconds()) || dialog.Find(`form[action="/session/extend"] button`).Text() != "Stay signed in" {
				t.Fatalf("the warning: %d, %d seconds left; want one, with about %s left and a button", dialog.Length(), left, idle)
			}
			now = now.Add(idle - 2*time.Minute) // the warning shows
			if stay {
				rec := f.post(t, "/session/extend", jane, url.Values{"csrf": {token}})
				if rec.Code != http.StatusNoContent {
					t.Fatalf("stay signed in: %d; want 204", rec.Code)
				}
				if left, _ := strconv.Atoi(rec.Header().Get("X-Session-Left")); left != int(idle.Seconds()) {
					t.Errorf("stay signed in: X-Session-Left %q; want the whole idle time, %d", rec.Header().Get("X-Session-Left"), int(idle.Seconds()))
				}
			}
			now = now.Add(5 * time.Minute) // past the end, had nothing been done
			resp := f.get(t, "/account", jane)
			if signedIn := resp.StatusCode == http.StatusOK; signedIn != stay {
				t.Errorf("after the idle limit: %d (to %q); want signed in: %v", resp.StatusCode, resp.Header.Get("Location"), stay)
			}
		})
	}
}

// Near a session's absolute end, staying signed in says how little is left,
// so the page can say it cannot help.
func TestStaySignedInNearTheLongestSession(t *testing.T) {
	f := newFixture(t)
	now := time.Now()
	f.db.SetClock(func() time.Time { return now })
	jane := f.signIn(t, f.jane)
	token := csrfToken(t, f, jane)
	policy := store.DefaultSessionPolicy()
	start, last := now, now.Add(policy.Absolute-10*time.Minute)
	for now = start.Add(25 * time.Minute); now.Before(last); now = now.Add(25 * time.Minute) {
		if rec := f.post(t, "/session/extend", jane, url.Values{"csrf": {token}}); rec.Code != http.StatusNoContent {
			t.Fatalf("staying signed in after %s: %d", now.Sub(start), rec.Code)
		}
	}
	now = last // 10 minutes before the most a session may last
	rec := f.post(t, "/session/extend", jane, url.Values{"csrf": {token}})
	if left, _ := strconv.Atoi(rec.Header().Get("X-Session-Left")); rec.Code != http.StatusNoContent || left <= 0 || left >= int(policy.Idle.Seconds()) {
		t.Errorf("near the end of 12 hours: %d, X-Session-Left %q; want less than the idle time", rec.Code, rec.Header().Get("X-Session-Left"))
	}
}

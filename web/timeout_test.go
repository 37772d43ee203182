package web_test

import (
	"database/sql"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
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

// Near a session's absolute end, a page says without script when it will
// end (the warning dialog needs script); further off, and to a page with
// script, it says nothing of it.
func TestNoScriptNoticeNearTheLongestSession(t *testing.T) {
	f := newFixture(t)
	jane := f.signIn(t, f.jane)
	conn, err := sql.Open("sqlite3", "file:"+f.path+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, tt := range []struct {
		name string
		left time.Duration
		want bool
	}{
		{"12 hours all but 10 minutes in", 10 * time.Minute, true},
		{"an hour before the end", time.Hour, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			end := time.Now().Add(tt.left).Truncate(time.Minute).Add(30 * time.Second)
			if _, err := conn.Exec(`UPDATE sessions SET expires_at = ? WHERE account_id IS NOT NULL`, end.UTC().Format("2006-01-02T15:04:05.000000000Z")); err != nil {
				t.Fatal(err)
			}
			resp := f.get(t, "/record", jane)
			body, _ := io.ReadAll(resp.Body)
			london, _ := time.LoadLocation("Europe/London")
			notice := `<noscript><div class="nhsuk-inset-text"><span class="nhsuk-u-visually-hidden">Information: </span><p>You will be signed out at ` +
				end.In(london).Format("3:04pm") + `. You can be signed in for 12 hours at most.</p>`
			if got := strings.Contains(string(body), notice); got != tt.want || resp.StatusCode != http.StatusOK {
				t.Errorf("%d; the notice %q shown: %v, want %v", resp.StatusCode, notice, got, tt.want)
			}
		})
	}
}

// A form sent after its signed-in session has timed out is answered by "You
// have been signed out", which says nothing was saved and offers "Sign in
// again"; nothing is changed, and the dead session's cookie is cleared. A
// form from a session never signed in keeps the CSRF refusal's words, since
// nobody was signed out.
func TestAFormSentAfterTheSessionTimedOut(t *testing.T) {
	idle := store.DefaultSessionPolicy().Idle
	t.Run("signed in", func(t *testing.T) {
		f := newFixture(t)
		now := time.Now()
		f.db.SetClock(func() time.Time { return now })
		_, c := f.enrolWithKey(t, f.jane)
		c.must(c.page("/choices/research"), http.StatusOK, "research question")
		now = now.Add(idle + time.Minute)
		rec := c.form("/choices/research", url.Values{"for": {"self"}, "answer": {"no"}})
		if rec.Code != http.StatusForbidden {
			t.Fatalf("status %d, want 403", rec.Code)
		}
		d := docOf(t, rec.Body.String())
		main := strings.Join(strings.Fields(d.Find("main").Text()), " ")
		if h1 := d.Find("h1").Text(); h1 != "You have been signed out" || d.Find("head title").Text() != "You have been signed out – My Care Record" {
			t.Errorf("h1 %q, title %q", h1, d.Find("head title").Text())
		}
		if !strings.Contains(main, "For your security, we signed you out. What you entered was not saved.") || strings.Contains(main, "reload the page") {
			t.Errorf("page says: %s", main)
		}
		if a := d.Find(`main a[href="/signin"]`); strings.TrimSpace(a.Text()) != "Sign in again" || !a.HasClass("nhsuk-button") {
			t.Errorf("no \"Sign in again\" button: %q", a.Text())
		}
		if c.cookie != nil {
			t.Error("the ended session's cookie is kept")
		}
		ch, err := f.db.ConsentChoices(t.Context(), f.jane.ID)
		if err != nil || ch.State.Answer(store.QuestionResearch) != "yes" {
			t.Errorf("the form changed a choice after sign-out: %v, %v", ch.State, err)
		}
	})
	t.Run("never signed in", func(t *testing.T) {
		f := newFixture(t)
		now := time.Now()
		f.db.SetClock(func() time.Time { return now })
		c := newPasskeyBrowser(t, f.handler)
		c.must(c.page("/enrol"), http.StatusOK, "enrol page")
		// Left open while someone finds their letter, the form still works:
		// the session holds only its token (store.BareIdle, WCAG 2.2.1).
		now = now.Add(idle + time.Hour)
		rec := c.form("/enrol", url.Values{"code": {"ABCD-EFGH-JKMN"}, "day": {"1"}, "month": {"2"}, "year": {"1950"}})
		if got := csrfRefusal(t, rec); got != "" || rec.Code != http.StatusBadRequest {
			t.Errorf("an hour and a half on: refusal %q (status %d), want the code checked (400, it is no code)", got, rec.Code)
		}
		now = now.Add(store.BareIdle + time.Minute)
		rec = c.form("/enrol", url.Values{"code": {"ABCD-EFGH-JKMN"}, "day": {"1"}, "month": {"2"}, "year": {"1950"}})
		if got := csrfRefusal(t, rec); got != csrfTokenRefusal {
			t.Errorf("a day on: refusal %q (status %d), want %q", got, rec.Code, csrfTokenRefusal)
		}
	})
}

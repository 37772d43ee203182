package e2e

import (
	"crypto/sha256"
	"database/sql"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/gorilla/sessions"

	"github.com/mycarerecord/portal/web"
)

// TestSessionTimeoutWarning: before a session ends for want of use the page
// warns, in a modal dialog that axe checks and that takes the focus; one
// press of Enter on "Stay signed in", or of Escape, keeps the session going
// without leaving the page or losing what was typed (WCAG 2.2.1). Left alone,
// the next warning ends by saying the person has been signed out, no longer
// modal, with the focus on that heading and what they typed still there to
// copy; and the session has ended. The portal runs with the shortest idle time
// it takes, 30 s, so each warning comes 10 s after the last activity and
// gives 20 s.
func TestSessionTimeoutWarning(t *testing.T) {
	t.Parallel()
	p, tb, _ := signedInTo(t, startPortalIn(t, t.TempDir(), "--session-idle", "30s"))
	wantPage(tb, "/carers/invite", tb.navigate(p.BaseURL+"/carers/invite").Status)
	tb.do("type a name", chromedp.SendKeys(chromedp.CSS("#carer-name"), "Mary Smith"))
	const open = `document.getElementById('session-timeout').matches(':modal')`
	stays := func(how string, key ...chromedp.Action[chromedp.Void]) {
		tb.t.Helper()
		tb.until("the warning", open, 25*time.Second)
		if !eval[bool](tb, `document.getElementById('session-timeout').contains(document.activeElement)`) {
			t.Errorf("the focus is not in the warning: on %s", tb.focused())
		}
		tb.do(how, key...)
		tb.until("the warning closing after "+how, `!document.getElementById('session-timeout').open`, 10*time.Second)
		if got := value(tb, "#carer-name"); got != "Mary Smith" || tb.path() != "/carers/invite" {
			t.Errorf("after %s: on %s with the name %q; want the same page, the name kept", how, tb.path(), got)
		}
	}
	stays("stay signed in", chromedp.Focus(chromedp.CSS(`#session-timeout form button`)), chromedp.KeyEvent(kb.Enter))
	tb.until("the second warning", open, 25*time.Second)
	tb.checkPage()
	// "Stay signed in" when the portal cannot be reached (here the page's own
	// policy refuses the address) says so on screen and in a live region: the
	// focus stays on the button, so nothing else would tell a screen reader.
	tb.allow("Content Security Policy")
	eval[any](tb, `document.querySelector('#session-timeout form').setAttribute('action', 'http://127.0.0.1:9/extend')`) // make the portal unreachable
	tb.do("stay signed in, unreachable", chromedp.Focus(chromedp.CSS(`#session-timeout form button`)), chromedp.KeyEvent(kb.Enter))
	tb.until("the warning saying the portal could not be reached", `[...document.querySelectorAll('#session-timeout [aria-live]')].some(e => !e.closest('[hidden]') && e.textContent.includes('We could not reach My Care Record'))`, 5*time.Second)
	eval[any](tb, `document.querySelector('#session-timeout form').setAttribute('action', '/session/extend')`) // reach the portal again
	stays("Escape", chromedp.KeyEvent(kb.Escape))

	tb.until("the warning saying the person has been signed out", `!document.querySelector('#session-timeout [data-session-ended]').hidden`, 45*time.Second)
	tb.checkPage()
	if eval[bool](tb, open) {
		t.Error("once signed out the message is still modal: the page cannot be used")
	}
	if !eval[bool](tb, `document.activeElement.id === 'session-ended-heading'`) {
		t.Errorf("once signed out the focus is on %s; want the heading saying so", tb.focused())
	}
	if got := value(tb, "#carer-name"); got != "Mary Smith" {
		t.Errorf("once signed out the name typed is %q; want it still there to copy", got)
	}
	// The page counts in whole seconds from the server's answer, so it says so up to a second early.
	time.Sleep(2 * time.Second)
	wantPage(tb, "/signin", tb.navigate(p.BaseURL+"/account").Status)
}

// TestWarningNearTheLongestSession: near a session's absolute end (12 hours
// after signing in) staying signed in cannot help, so the warning says so
// without trapping anyone (WCAG 2.1.2, 2.2.1, 4.1.3): it is not modal, offers
// no "Stay signed in", takes the focus to its heading, says its message in a
// live region, and closes with Escape, giving the focus back to the page.
// First on a page loaded near the end, then when "Stay signed in" is pressed
// on a page that did not know the end was near. The portal runs with the
// shortest idle time it takes, 30 s.
func TestWarningNearTheLongestSession(t *testing.T) {
	t.Parallel()
	p, tb, _ := signedInTo(t, startPortalIn(t, t.TempDir(), "--session-idle", "30s"))
	const (
		dialog = `document.getElementById('session-timeout')`
		saying = dialog + `.open && ` + dialog + `.innerText.includes('You cannot stay signed in any longer')`
		heard  = `[...` + dialog + `.querySelectorAll('[aria-live]')].some(e => !e.closest('[hidden]') && e.textContent.includes('You cannot stay signed in any longer'))`
		stay   = `[...` + dialog + `.querySelectorAll('button')].some(b => b.checkVisibility() && b.textContent.includes('Stay signed in'))`
	)
	// checkLast checks the warning that the session cannot go on, once shown.
	checkLast := func(when string) {
		tb.t.Helper()
		if eval[bool](tb, dialog+`.matches(':modal')`) {
			t.Errorf("%s: the warning is modal: nothing else on the page can be used", when)
		}
		if eval[bool](tb, stay) {
			t.Errorf("%s: the warning offers \"Stay signed in\", which cannot help", when)
		}
		if !eval[bool](tb, dialog+`.contains(document.activeElement) && document.activeElement.matches('h2')`) {
			t.Errorf("%s: the focus is on %s; want the warning's heading", when, tb.focused())
		}
		deadline := time.Now().Add(2 * time.Second)
		for !eval[bool](tb, heard) {
			if time.Now().After(deadline) {
				t.Errorf("%s: no live region says the session cannot go on", when)
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		tb.checkPage()
		tb.do("press Escape", chromedp.KeyEvent(kb.Escape))
		tb.until(when+": Escape closing the warning", `!`+dialog+`.open`, 5*time.Second)
	}

	// A page loaded 25 s before the session's absolute end, 5 s before its idle end.
	endSessionIn(t, p, tb, 25*time.Second)
	wantPage(tb, "/carers/invite", tb.navigate(p.BaseURL+"/carers/invite").Status)
	tb.until("the warning on a page loaded near the end", saying, 15*time.Second)
	checkLast("loaded near the end")

	// A page loaded with the absolute end far off, which then comes near (as
	// if the person had been signed in for nearly 12 hours): "Stay signed in"
	// hears from the server that it cannot help.
	endSessionIn(t, p, tb, 12*time.Hour)
	wantPage(tb, "/carers/invite", tb.navigate(p.BaseURL+"/carers/invite").Status)
	tb.do("type a name", chromedp.SendKeys(chromedp.CSS("#carer-name"), "Mary Smith"))
	endSessionIn(t, p, tb, 24*time.Second)
	tb.until("the warning", dialog+`.matches(':modal')`, 25*time.Second)
	tb.do("stay signed in", chromedp.Focus(chromedp.CSS(`#session-timeout form button`)), chromedp.KeyEvent(kb.Enter))
	tb.until("the warning saying the session cannot go on", saying, 10*time.Second)
	checkLast("after \"Stay signed in\"")
	if !eval[bool](tb, `document.activeElement.id === 'carer-name'`) {
		t.Errorf("once the warning closed the focus is on %s; want the name typed in, where it was", tb.focused())
	}
	tb.do("type more and move on", chromedp.KeyEvent(" Jones"), chromedp.KeyEvent(kb.Tab))
	if got := value(tb, "#carer-name"); got != "Mary Smith Jones" || tb.path() != "/carers/invite" {
		t.Errorf("after the warning: on %s with the name %q; want the same page, the name typed on", tb.path(), got)
	}
	if !eval[bool](tb, `document.querySelector('main').contains(document.activeElement) && document.activeElement.id !== 'carer-name'`) {
		t.Errorf("Tab after the warning moved the focus to %s; want the next part of the page", tb.focused())
	}

	tb.until("the warning saying the person has been signed out", `!document.querySelector('#session-timeout [data-session-ended]').hidden`, 25*time.Second)
	if !eval[bool](tb, `document.activeElement.id === 'session-ended-heading'`) {
		t.Errorf("once signed out the focus is on %s; want the heading saying so", tb.focused())
	}
	tb.do("press Escape", chromedp.KeyEvent(kb.Escape))
	tb.until("Escape closing the message saying the person has been signed out", `!`+dialog+`.open`, 5*time.Second)
	// The form sent now, the session over, is answered in the NHS pattern's words.
	tb.allow("the server responded with a status of 403")
	resp := tb.follow("send the form after the session ended", chromedp.Click(chromedp.CSS(`form[action="/carers/invite"] button[type=submit]`)))
	if h1 := eval[string](tb, `document.querySelector('h1')?.innerText ?? ''`); resp.Status != http.StatusForbidden || h1 != "You have been signed out" {
		t.Errorf("a form sent after the session ended: %d, heading %q; want 403, \"You have been signed out\"", resp.Status, h1)
	}
	tb.checkPage()
	time.Sleep(2 * time.Second)
	wantPage(tb, "/signin", tb.navigate(p.BaseURL+"/account").Status)
}

// until waits for the script cond to be true on the page.
func (tb *tab) until(what, cond string, within time.Duration) {
	tb.t.Helper()
	waitFor(tb.t, within, what, func() bool { return eval[bool](tb, cond) })
}

// endSessionIn moves the absolute end of the tab's session to d from now in
// the portal's SQLite file, as if the person had signed in nearly 12 hours
// ago.
func endSessionIn(t *testing.T, p *portal, tb *tab, d time.Duration) {
	t.Helper()
	setSessionTime(t, p, tb, "expires_at", time.Now().Add(d))
}

// setSessionTime sets one of the times (column) of the tab's session in the
// portal's SQLite file. The session is the signed-in one whose id the tab's
// cookie holds, stored as its SHA-256.
func setSessionTime(t *testing.T, p *portal, tb *tab, column string, at time.Time) {
	t.Helper()
	conn, err := sql.Open("sqlite3", "file:"+p.DB+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hash := sha256.Sum256([]byte(sessionIDOf(t, p, tb)))
	// The store's own format (store.formatTime): UTC with nanoseconds.
	res, err := conn.Exec(`UPDATE sessions SET `+column+` = ? WHERE id_hash = ? AND account_id IS NOT NULL`, at.UTC().Format("2006-01-02T15:04:05.000000000Z"), hash[:])
	if err != nil {
		t.Fatalf("set the session's %s: %v", column, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("set %s of %d signed-in sessions with the tab's session id, want 1", column, n)
	}
}

// sessionIDOf is the session id in the tab's cookie: read through the
// DevTools protocol, as page script cannot read it, and opened with the keys
// the portal derives from its secret, as the portal opens it.
func sessionIDOf(t *testing.T, p *portal, tb *tab) string {
	t.Helper()
	ctx, cancel := tb.step()
	defer cancel()
	got, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{p.BaseURL}})
	if err != nil {
		t.Fatalf("Network.getCookies: %v", err)
	}
	req, _ := http.NewRequest(http.MethodGet, p.BaseURL, nil)
	name := ""
	for _, c := range got.Cookies {
		if strings.HasSuffix(c.Name, "mcr_session") {
			name = c.Name
			req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		}
	}
	if name == "" {
		t.Fatalf("%s has no session cookie", tb.location())
	}
	sess, err := sessions.NewCookieStore(web.CookieKeys(p.Secret)).Get(req, name)
	id, _ := sess.Values["id"].(string)
	if err != nil || id == "" {
		t.Fatalf("%s's session cookie does not open with the portal's keys: %v", tb.location(), err)
	}
	return id
}

// TestEnrolmentWarnsBeforeItStops: on "Create a passkey", the code proved,
// the same warning comes before setting up stops for want of use, in its
// own words, passing axe; "I need more time" keeps it going; left alone, it
// says setting up has stopped and leads back to the code, which works again
// (a review: nothing warned, and the code was used up). The portal runs with
// the shortest idle time it takes, 30 s.
func TestEnrolmentWarnsBeforeItStops(t *testing.T) {
	t.Parallel()
	p := startPortalIn(t, t.TempDir(), "--session-idle", "30s")
	inv := p.Invites[0]
	tb := newTab(t)
	tb.navigate(p.BaseURL + "/")
	proveCode(tb, inv)
	const open = `document.getElementById('session-timeout').matches(':modal')`
	tb.until("the warning", open, 25*time.Second)
	if text := eval[string](tb, `document.getElementById('session-timeout').innerText`); !strings.Contains(text, "Setting up your account will stop soon") ||
		!strings.Contains(text, "Setting up will stop in") || strings.Contains(text, "signed out") {
		t.Errorf("the warning while setting up says %q", text)
	}
	tb.checkPage()
	tb.do("I need more time", chromedp.Focus(chromedp.CSS(`#session-timeout form button`)), chromedp.KeyEvent(kb.Enter))
	tb.until("the warning closing", `!document.getElementById('session-timeout').open`, 10*time.Second)
	if tb.path() != "/enrol/passkey" {
		t.Errorf("after I need more time: on %s", tb.path())
	}
	tb.until("setting up has stopped", `!document.querySelector('#session-timeout [data-session-ended]').hidden`, 60*time.Second)
	tb.checkPage()
	if !eval[bool](tb, `document.activeElement.id === 'session-ended-heading'`) {
		t.Errorf("once stopped the focus is on %s; want the heading saying so", tb.focused())
	}
	if href := eval[string](tb, `document.querySelector('#session-timeout [data-session-ended] a')?.getAttribute('href') ?? ''`); href != "/enrol" {
		t.Errorf("once stopped the warning leads to %q; want /enrol", href)
	}
	time.Sleep(2 * time.Second)
	proveCode(tb, inv) // the code works again
}

// TestAPasskeyRequestCountsAsActivity: on "Create a passkey" the one action
// is the passkey button, whose requests (passkey.js post) keep the session
// going at the server; they tell the warning too (the event
// "mcr-session-used"), so it does not open seconds after the button is
// pressed, nor say setting up has stopped while it has not (a review). The
// portal runs with the shortest idle time it takes, 30 s.
func TestAPasskeyRequestCountsAsActivity(t *testing.T) {
	t.Parallel()
	p := startPortalIn(t, t.TempDir(), "--session-idle", "30s")
	inv := p.Invites[0]
	tb := newTab(t)
	tb.navigate(p.BaseURL + "/")
	proveCode(tb, inv)
	// The page's passkey script tells the warning of each request it sends.
	script := eval[string](tb, `[...document.scripts].map(s => s.src).find(s => s.includes('passkey')) ?? ''`)
	if src := evalAsync[string](tb, `fetch(`+jsString(script)+`).then(r => r.text())`); !strings.Contains(src, "dispatchEvent(new CustomEvent('mcr-session-used', { detail: Number(resp.headers.get('X-Session-Left')) }))") {
		t.Fatalf("the passkey script (%s) does not tell the warning of its requests", script)
	}
	// What "Create a passkey" does first, 8 s after the page came: its request, and the event.
	time.Sleep(8 * time.Second)
	const begin = `fetch('/enrol/passkey/begin', {method: 'POST', credentials: 'same-origin', headers: {'Content-Type': 'application/json', 'Accept': 'application/json', 'X-CSRF-Token': document.querySelector('meta[name="csrf-token"]').content}, body: '{}'}).then(r => { document.dispatchEvent(new CustomEvent('mcr-session-used', {detail: Number(r.headers.get('X-Session-Left'))})); return r.status })`
	if got := evalAsync[int](tb, begin); got != 200 {
		t.Fatalf("Create a passkey's first request: %d", got)
	}
	pressed := time.Now()
	tb.until("the warning", `document.getElementById('session-timeout').matches(':modal')`, 25*time.Second)
	// From the request the page counts what the server says the session has
	// (30 s, marked seen at most every 3 s at this idle time) and warns 20 s
	// before the end: 7–10 s on, where without the request it warned 2 s after it.
	if since := time.Since(pressed); since < 5*time.Second {
		t.Errorf("the warning opened %.1f s after the passkey request; the session had 27 s or more from it", since.Seconds())
	}
}

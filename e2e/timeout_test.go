package e2e

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
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
	p, tb, _ := signedInTo(t, startPortalIn(t, t.TempDir(), "--session-idle", "30s"))
	wantPage(tb, "/carers/invite", tb.navigate(p.BaseURL+"/carers/invite").Status)
	tb.do("type a name", chromedp.SendKeys(chromedp.CSS("#carer-name"), "Mary Smith"))
	until := func(what, cond string, within time.Duration) {
		tb.t.Helper()
		deadline := time.Now().Add(within)
		for !eval[bool](tb, cond) {
			if time.Now().After(deadline) {
				tb.t.Fatalf("%s: not within %s", what, within)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	const open = `document.getElementById('session-timeout').matches(':modal')`
	stays := func(how string, key ...chromedp.Action[chromedp.Void]) {
		tb.t.Helper()
		until("the warning", open, 25*time.Second)
		if !eval[bool](tb, `document.getElementById('session-timeout').contains(document.activeElement)`) {
			t.Errorf("the focus is not in the warning: on %s", tb.focused())
		}
		tb.do(how, key...)
		until("the warning closing after "+how, `!document.getElementById('session-timeout').open`, 10*time.Second)
		if got := value(tb, "#carer-name"); got != "Mary Smith" || tb.path() != "/carers/invite" {
			t.Errorf("after %s: on %s with the name %q; want the same page, the name kept", how, tb.path(), got)
		}
	}
	stays("stay signed in", chromedp.Focus(chromedp.CSS(`#session-timeout form button`)), chromedp.KeyEvent(kb.Enter))
	until("the second warning", open, 25*time.Second)
	tb.checkPage()
	stays("Escape", chromedp.KeyEvent(kb.Escape))

	until("the warning saying the person has been signed out", `!document.querySelector('#session-timeout [data-session-ended]').hidden`, 45*time.Second)
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

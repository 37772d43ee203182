package e2e

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestSessionTimeoutWarning: before a session ends for want of use the page
// warns, in a modal dialog that axe checks and that takes the focus, and one
// press of Enter on "Stay signed in" keeps the session going without leaving
// the page or losing what was typed (WCAG 2.2.1). Left alone, the next
// warning ends by saying the person has been signed out, with what they typed
// still on the page, and the session has ended. The portal runs with the
// shortest idle time it takes, 30 s, so the warning comes after 15 s.
func TestSessionTimeoutWarning(t *testing.T) {
	p, tb, _ := signedInTo(t, startPortalIn(t, t.TempDir(), "--session-idle", "30s"))
	wantPage(tb, "/carers/invite", tb.navigate(p.BaseURL+"/carers/invite").Status)
	tb.do("type a name", chromedp.SendKeys(chromedp.CSS("#carer-name"), "Mary Smith"))
	open := func(what string) {
		tb.t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !eval[bool](tb, `document.getElementById('session-timeout').open`) {
			if time.Now().After(deadline) {
				tb.t.Fatalf("%s: no warning within 30 s", what)
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	open("the first warning")
	tb.checkPage()
	if !eval[bool](tb, `document.getElementById('session-timeout').contains(document.activeElement)`) {
		t.Errorf("the focus is not in the warning: on %s", tb.focused())
	}
	tb.do("stay signed in", chromedp.Focus(chromedp.CSS(`#session-timeout form button`)), chromedp.KeyEvent(kb.Enter))
	deadline := time.Now().Add(10 * time.Second)
	for eval[bool](tb, `document.getElementById('session-timeout').open`) {
		if time.Now().After(deadline) {
			t.Fatal("the warning stayed open after Stay signed in")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := value(tb, "#carer-name"); got != "Mary Smith" || tb.path() != "/carers/invite" {
		t.Errorf("after staying signed in: on %s with the name %q; want the same page, the name kept", tb.path(), got)
	}
	open("the second warning")
	deadline = time.Now().Add(30 * time.Second)
	for !eval[bool](tb, `!document.querySelector('#session-timeout [data-session-ended]').hidden`) {
		if time.Now().After(deadline) {
			t.Fatal("the warning never said the person had been signed out")
		}
		time.Sleep(250 * time.Millisecond)
	}
	tb.checkPage()
	if !eval[bool](tb, `document.activeElement.matches('#session-timeout [data-session-ended] a')`) {
		t.Errorf("once signed out the focus is on %s; want the link to sign in again", tb.focused())
	}
	if got := value(tb, "#carer-name"); got != "Mary Smith" {
		t.Errorf("once signed out the name typed is %q; want it still there to copy", got)
	}
	wantPage(tb, "/signin", tb.navigate(p.BaseURL+"/account").Status)
}

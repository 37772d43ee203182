package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestWarningGivesTheFocusBack: the person has used the skip link (the
// focus on <main>), or been sent back with an error (the focus on the error
// summary), and reads on. The time-out warning comes; "Stay signed in", or
// Escape, puts the focus back where it was, not at the top of the page, and
// the warning's live region is emptied, so the next warning does not open
// saying what the last one said (a keyboard and screen-reader review:
// NHS.UK frontend takes away the tabindex it gave those, and the focus fell
// to the page's body).
func TestWarningGivesTheFocusBack(t *testing.T) {
	t.Parallel()
	p, tb, _ := signedInTo(t, startPortalIn(t, t.TempDir(), "--session-idle", "30s"))
	const open = `document.getElementById('session-timeout').matches(':modal')`
	const closed = `!document.getElementById('session-timeout').open`
	const said = `document.querySelector('#session-timeout [data-session-announce]').textContent`

	tb.navigate(p.BaseURL + "/record")
	tb.until("the skip link ready", `document.querySelector('.nhsuk-skip-link[data-nhsuk-skip-link-init]') !== null`, 5*time.Second)
	eval[any](tb, `document.activeElement.blur()`)
	tb.do("Tab to the skip link", chromedp.KeyEvent(kb.Tab))
	tb.do("follow it", realEnter())
	if got := eval[string](tb, `document.activeElement.tagName`); got != "MAIN" {
		t.Fatalf("the skip link put the focus on %s", tb.focused())
	}
	tb.until("the warning", open, 25*time.Second)
	tb.until("the countdown said in the live region", said+` !== ''`, 15*time.Second)
	tb.do("stay signed in", realEnter()) // the focus is on the button
	tb.until("the warning closing", closed, 10*time.Second)
	if got := eval[string](tb, `document.activeElement.tagName`); got != "MAIN" {
		t.Errorf("after Stay signed in, the focus is on %s; want <main>, where the skip link put it", tb.focused())
	}
	if got := eval[string](tb, said); got != "" {
		t.Errorf("after Stay signed in, the live region still says %q", got)
	}

	tb.navigate(p.BaseURL + "/carers/invite")
	tb.allow("status of 400")
	tb.press("send an empty invitation", `form[action="/carers/invite"] button[type=submit]`)
	tb.until("the error summary focused", `document.activeElement.classList.contains('nhsuk-error-summary')`, 5*time.Second)
	tb.until("the warning", open, 25*time.Second)
	tb.do("Escape", chromedp.KeyEvent(kb.Escape))
	tb.until("the warning closing", closed, 10*time.Second)
	if !eval[bool](tb, `document.activeElement.classList.contains('nhsuk-error-summary')`) {
		t.Errorf("after Escape, the focus is on %s; want the error summary", tb.focused())
	}
}

// realEnter presses Enter as a keyboard does: one keyDown carrying its text,
// which the browser splits into keydown and keypress, not chromedp's
// KeyEvent's keyDown and separate char event, which delivers the keypress
// wherever the focus moved on keydown (a link to a field, say).
func realEnter() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		down := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyDown, Key: "Enter", Code: "Enter", WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13, Text: "\r", UnmodifiedText: "\r"}
		if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, down); err != nil {
			return err
		}
		up := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyUp, Key: "Enter", Code: "Enter", WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13}
		_, err := cdp.Call(ctx, t, input.DispatchKeyEvent, up)
		return err
	})
}

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	_ "github.com/mattn/go-sqlite3"
)

// press focuses a link or button and presses Enter on it, as a keyboard user
// would, and returns the status of the page that loads.
//
// Should the page still be the same five seconds after the press with the
// focus no longer on the element (a script moved it; see focus), the press
// went nowhere: it is logged and made again, at most twice. A press whose
// element still has the focus is waited for, up to the step timeout.
func (tb *tab) press(what, selector string) int64 {
	tb.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for presses := 1; ; presses++ {
		tb.focus(what, selector)
		tb.do(what,
			chromedp.Evaluate[chromedp.Void](`window.__e2eBeforeClick = true`),
			chromedp.KeyEvent(kb.Enter),
		)
		again := time.Now().Add(5 * time.Second)
		for {
			time.Sleep(100 * time.Millisecond)
			ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
			// An error here is the page going away mid-evaluation: look again.
			st, err := chromedp.Run(ctx, chromedp.Evaluate[pageState](readPageState))
			cancel()
			if err == nil && !st.Old && st.Ready {
				return st.Status
			}
			if time.Now().After(deadline) {
				tb.checkConsole(tb.location())
				tb.t.Fatalf("%s: no new page within %s (on %s; focus on %s)", what, stepTimeout, tb.location(), tb.focused())
			}
			if err != nil || !st.Old || presses >= 3 || time.Now().Before(again) {
				continue
			}
			ctx, cancel = context.WithTimeout(tb.ctx, 5*time.Second)
			kept, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.activeElement === document.querySelector(`+jsString(selector)+`)`))
			cancel()
			if err == nil && !kept {
				tb.t.Logf("%s: the focus left %s before Enter took effect (it is on %s): pressing again", what, selector, tb.focused())
				break
			}
		}
	}
}

// pressThenLoad is press for a button whose script talks to the server before
// the page moves on, as the passkey buttons do.
func (tb *tab) pressThenLoad(what, selector string) int64 {
	tb.t.Helper()
	tb.focus(what, selector)
	tb.do(what,
		chromedp.Evaluate[chromedp.Void](`window.__e2eBeforeClick = true`),
		chromedp.KeyEvent(kb.Enter),
	)
	return tb.waitFor(what, func(st pageState) bool { return !st.Old && st.Ready })
}

// focus moves the keyboard focus to the element and waits until it has it.
// The NHS.UK header's script moves its links between the bar and its "More"
// menu for a few frames after the page loads (a ResizeObserver, then an
// animation frame), and moving a focused link drops the focus, so an Enter
// pressed then would go nowhere. It runs again whenever the links change
// size, as when a font or a style sheet arrives. So the page must first be
// loaded, with its fonts, and still: no node added, moved or removed for five
// frames in a row.
func (tb *tab) focus(what, selector string) {
	tb.t.Helper()
	js := `new Promise(async resolve => {
		if (document.readyState !== 'complete') await new Promise(r => addEventListener('load', r, {once: true}));
		await document.fonts.ready;
		let quiet = 0;
		const started = performance.now();
		const watch = new MutationObserver(() => { quiet = 0; });
		watch.observe(document.documentElement, {childList: true, subtree: true});
		const frame = () => {
			quiet++;
			if (quiet < 5 && performance.now() - started < 5000) { requestAnimationFrame(frame); return; }
			watch.disconnect();
			const el = document.querySelector(` + jsString(selector) + `);
			el?.focus();
			resolve(el !== null && document.activeElement === el);
		};
		requestAnimationFrame(frame);
	})`
	for range 10 {
		if evalAsync[bool](tb, js) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	tb.t.Fatalf("%s: %s does not take the focus", what, selector)
}

// wantOn checks the tab is on path (query string aside) and loaded with status 200.
func wantOn(tb *tab, path string, status int64) {
	tb.t.Helper()
	wantPage(tb, path, status)
	if n := tb.nodeCount("h1"); n != 1 {
		tb.t.Errorf("%s has %d h1 elements, want 1", tb.location(), n)
	}
}

// passkeyNames are the names of the passkeys the account page lists.
func passkeyNames(tb *tab) []string {
	tb.t.Helper()
	return eval[[]string](tb, `[...document.querySelectorAll('.mcr-passkey h3')].map(h => h.innerText.trim())`)
}

// TestAccountJourney manages Jane's passkeys and sessions from the account
// page, by keyboard: adding a passkey on a second authenticator (the first
// one, holding a passkey already, is refused by excludeCredentials), renaming
// it, confirming it's you once her sign-in is over 10 minutes old, removing
// the first, signing another browser out, and finally removing the last
// passkey, which signs her out everywhere. axe checks every page.
func TestAccountJourney(t *testing.T) {
	p, tb, auth := signedIn(t)

	// 1. From the record, the header's "Your account" link.
	status := tb.press("open Your account", `.nhsuk-header__navigation a[href="/account"]`)
	wantOn(tb, "/account", status)
	if got := passkeyNames(tb); len(got) != 1 {
		t.Fatalf("account page lists passkeys %q, want Jane's one", got)
	}
	text := tb.text()
	for _, want := range []string{"Your account", "Created", "Last used", "On one device", "You are not signed in to My Care Record anywhere else."} {
		if !strings.Contains(text, want) {
			t.Errorf("/account does not say %q: %.600s", want, text)
		}
	}
	tb.waitVisible("#passkey-create")
	tb.checkPage()

	// 2. The authenticator that already holds Jane's passkey is told to make no second one.
	tb.do("add a passkey on the same authenticator", chromedp.Focus(chromedp.CSS("#passkey-create")), chromedp.KeyEvent(kb.Enter))
	tb.waitVisible("#passkey-error")
	if msg := eval[string](tb, `document.getElementById('passkey-error').innerText`); !strings.Contains(msg, "already holds one of your passkeys") {
		t.Errorf("adding a passkey where one exists says %q", msg)
	}
	if title := eval[string](tb, `document.title`); !strings.HasPrefix(title, "Error: ") {
		t.Errorf("with the passkey error shown the title is %q; want it to start Error:", title)
	}
	// As every NHS error summary does, it links to what puts it right, and
	// following the link puts the focus on the button (a review: the box,
	// far above it, could not be followed back).
	if href := eval[string](tb, `document.querySelector('#passkey-error a')?.getAttribute('href') ?? ''`); href != "#passkey-create" {
		t.Errorf("the passkey error links to %q; want #passkey-create", href)
	} else if eval[any](tb, `document.querySelector('#passkey-error a').click()`); !eval[bool](tb, `document.activeElement.id === 'passkey-create'`) {
		t.Errorf("following the passkey error's link puts the focus on %s", tb.focused())
	}
	if n := len(tb.credentials(auth)); n != 1 {
		t.Errorf("the first authenticator holds %d credentials, want still 1", n)
	}
	tb.checkPage()

	// 3. A second device: the first authenticator goes (its passkey kept for another browser below).
	first := tb.credentials(auth)[0]
	tb.removeAuthenticator(auth)
	second := tb.addPasskeyAuthenticator()
	status = tb.pressThenLoad("add a passkey on a second authenticator", "#passkey-create")
	wantOn(tb, "/account", status)
	if got := passkeyNames(tb); len(got) != 2 {
		t.Fatalf("after adding, the page lists %q, want 2 passkeys", got)
	}
	if n := len(tb.credentials(second)); n != 1 {
		t.Errorf("the second authenticator holds %d credentials, want 1", n)
	}
	if text := tb.text(); !strings.Contains(text, "You have added a passkey") {
		t.Errorf("no confirmation of the new passkey: %.400s", text)
	}
	tb.checkPage()

	// 4. Jane signs in in another browser with the first passkey.
	other := newTab(t)
	other.navigate(p.BaseURL + "/")
	otherAuth := other.addPasskeyAuthenticator()
	other.addCredential(otherAuth, first)
	status = other.waitForPage("sign in in another browser", p.BaseURL+"/signin", "/record")
	wantPage(other, "/record", status)
	other.checkConsole("other browser signed in")
	resp := tb.navigate(p.BaseURL + "/account")
	wantOn(tb, "/account", resp.Status)
	if text := tb.text(); !strings.Contains(text, "You are also signed in on 1 other device or browser.") {
		t.Errorf("account page does not count the other session: %.600s", text)
	}

	// 5. Rename the new passkey: an empty name first.
	status = tb.press("rename the new passkey", `.mcr-passkey ~ .mcr-passkey a[href$="/rename"]`)
	if !strings.HasSuffix(tb.path(), "/rename") || status != 200 {
		t.Fatalf("rename page: %s answered %d", tb.path(), status)
	}
	renamePath := tb.path()
	tb.checkPage()
	tb.focus("clear the name", "#nickname")
	tb.do("clear the name", chromedp.KeyEvent("a", chromedp.KeyModifiers(chromedp.ModifierCtrl)), chromedp.KeyEvent(kb.Delete))
	if v := value(tb, "#nickname"); v != "" {
		t.Fatalf("the name box still holds %q", v)
	}
	tb.allow("the server responded with a status of 400")
	status = tb.press("save an empty name", `form[action="`+renamePath+`"] button[type="submit"]`)
	if status != 400 || tb.path() != renamePath {
		t.Errorf("an empty name: %d on %s, want 400 with the form again", status, tb.path())
	}
	checkErrorSummary(tb)
	tb.checkPage()
	tb.do("type a name", chromedp.SendKeys(chromedp.CSS("#nickname"), "Jane's laptop"))
	status = tb.press("save the name", `form[action="`+renamePath+`"] button[type="submit"]`)
	wantOn(tb, "/account", status)
	if got := passkeyNames(tb); len(got) != 2 || got[1] != "Jane's laptop" {
		t.Errorf("after renaming, passkeys %q", got)
	}
	tb.checkPage()

	// 6. Eleven minutes on, the page no longer offers to add a passkey: it
	// asks Jane to confirm it's you first, and "Confirm it's you" with the new
	// passkey opens the passkey pages again. This browser is now signed in with
	// that passkey, no longer with the first.
	ageSignIn(t, p, tb, 11*time.Minute)
	resp = tb.navigate(p.BaseURL + "/account")
	wantOn(tb, "/account", resp.Status)
	if text := tb.text(); !strings.Contains(text, "You signed in more than 10 minutes ago, so first confirm it's you") {
		t.Errorf("an old sign-in is not asked to confirm it's you: %.800s", text)
	}
	if n := tb.nodeCount("#passkey-create"); n != 0 {
		t.Errorf("an old sign-in is offered the add-a-passkey button")
	}
	tb.checkPage()
	status = tb.press("open Confirm it's you", `main a[href="/account/confirm"]`)
	wantOn(tb, "/account/confirm", status)
	tb.waitVisible("#passkey-signin")
	tb.checkPage()
	status = tb.pressThenLoad("confirm it's you", "#passkey-signin")
	wantOn(tb, "/account", status)
	if text := tb.text(); !strings.Contains(text, "You have confirmed it's you") {
		t.Errorf("no confirmation after confirming it's you: %.400s", text)
	}
	tb.waitVisible("#passkey-create")
	tb.checkPage()

	// 7. Remove the first passkey: a page asks first, saying the others still
	// work; the other browser, signed in with it, is signed out with it.
	status = tb.press("remove the first passkey", `.mcr-passkey a[href$="/remove"]`)
	if text := tb.text(); !strings.HasSuffix(tb.path(), "/remove") || status != 200 || !strings.Contains(text, "Remove this passkey?") {
		t.Fatalf("removing one of two passkeys did not ask first (on %s, %d)", tb.path(), status)
	}
	tb.checkPage()
	status = tb.press("confirm removing the first passkey", `form[action$="/remove"] button[type="submit"]`)
	wantOn(tb, "/account", status)
	if got := passkeyNames(tb); len(got) != 1 || got[0] != "Jane's laptop" {
		t.Errorf("after removing the first, passkeys %q", got)
	}
	if text := tb.text(); !strings.Contains(text, "You have removed the passkey") || !strings.Contains(text, "You are not signed in to My Care Record anywhere else.") {
		t.Errorf("no confirmation of the removal, or the other browser is still signed in: %.600s", text)
	}
	tb.checkPage()

	// 8. Sign out of all other sessions: none is left, and this one stays.
	status = tb.press("sign out of all other sessions", `form[action="/account/sessions/signout-others"] button`)
	wantOn(tb, "/account", status)
	if text := tb.text(); !strings.Contains(text, "You have signed out of all other sessions") || !strings.Contains(text, "You are not signed in to My Care Record anywhere else.") {
		t.Errorf("no confirmation of signing out other sessions: %.600s", text)
	}
	tb.checkPage()
	// The sign-in page there offers the first passkey through autofill at once; it was removed, so the portal refuses it.
	other.allow("/signin/finish: Failed to load resource: the server responded with a status of 400")
	other.navigate(p.BaseURL + "/record")
	if got := other.path(); got != "/signin" {
		t.Errorf("the other browser still reaches %s after being signed out", got)
	}
	time.Sleep(time.Second)
	if got := other.path(); got != "/signin" {
		t.Errorf("the removed passkey signed the other browser in again (on %s)", got)
	}
	other.checkConsole("other browser signed out")
	// The page there stays open: the virtual authenticator answers its autofill again, and is refused again.
	other.allow("/signin/finish: Failed to load resource: the server responded with a status of 400")

	// 9. Remove the last passkey: a confirmation page says how to get back in; then signed out everywhere.
	status = tb.press("remove the last passkey", `.mcr-passkey a[href$="/remove"]`)
	if !strings.HasSuffix(tb.path(), "/remove") || status != 200 {
		t.Fatalf("confirmation page: %s answered %d", tb.path(), status)
	}
	if text := tb.text(); !strings.Contains(text, "Remove your only passkey?") || !strings.Contains(text, "new enrolment code from your GP practice") {
		t.Errorf("the confirmation page does not explain what happens: %.600s", text)
	}
	tb.checkPage()
	status = tb.press("confirm removing the last passkey", `form[action$="/remove"] button[type="submit"]`)
	wantOn(tb, "/account/removed", status)
	if text := tb.text(); !strings.Contains(text, "signed out of My Care Record on every device") {
		t.Errorf("after removing the last passkey: %.400s", text)
	}
	tb.checkPage()
	// The sign-in page this lands on offers the removed passkey through
	// autofill, as the other browser's did, whenever the authenticator
	// answers (before or after the check below): the portal refuses it.
	const removedRefused = "/signin/finish: Failed to load resource: the server responded with a status of 400"
	tb.allow(removedRefused)
	resp = tb.navigate(p.BaseURL + "/record")
	if got := tb.path(); got != "/signin" {
		t.Errorf("after removing the last passkey the record is still open (on %s, %d)", got, resp.Status)
	}
	tb.checkConsole("signed out")
	tb.allow(removedRefused)
}

// TestAccessibilityStatement reads the statement, then Get help, from the footer, signed out, by keyboard.
func TestAccessibilityStatement(t *testing.T) {
	p := startPortal(t)
	tb := newTab(t)
	resp := tb.navigate(p.BaseURL + "/")
	wantOn(tb, "/", resp.Status)
	status := tb.press("open the accessibility statement", `footer a[href="/accessibility"]`)
	wantOn(tb, "/accessibility", status)
	if text := tb.text(); !strings.Contains(text, "WCAG") || !strings.Contains(text, "Enforcement procedure") {
		t.Errorf("accessibility statement: %.400s", text)
	}
	tb.checkPage()
	// Help is in the same place on every page (WCAG 3.2.6).
	status = tb.press("open Get help", `footer a[href="/help"]`)
	wantOn(tb, "/help", status)
	if text := tb.text(); !strings.Contains(text, "ask your GP practice for a new one") {
		t.Errorf("help: %.400s", text)
	}
	tb.checkPage()
}

// removeAuthenticator takes a virtual authenticator away, as if the device were lost.
func (tb *tab) removeAuthenticator(id webauthn.AuthenticatorID) {
	tb.t.Helper()
	ctx, cancel := tb.step()
	defer cancel()
	if _, err := chromedp.Call(ctx, webauthn.RemoveVirtualAuthenticator, webauthn.RemoveVirtualAuthenticatorParams{AuthenticatorID: id}); err != nil {
		tb.t.Fatalf("WebAuthn.removeVirtualAuthenticator: %v", err)
	}
}

// addCredential puts a copy of a passkey into a virtual authenticator.
func (tb *tab) addCredential(id webauthn.AuthenticatorID, cred *webauthn.Credential) {
	tb.t.Helper()
	ctx, cancel := tb.step()
	defer cancel()
	// Only the key and what it is for. cdproto's own parameters always send
	// generateCmtgKeyOnNextOperation, which this Chromium's authenticator refuses.
	type credential struct {
		CredentialID         []byte  `json:"credentialId"`
		IsResidentCredential bool    `json:"isResidentCredential"`
		RpID                 string  `json:"rpId"`
		PrivateKey           []byte  `json:"privateKey"`
		UserHandle           []byte  `json:"userHandle"`
		SignCount            float64 `json:"signCount"`
	}
	type params struct {
		AuthenticatorID webauthn.AuthenticatorID `json:"authenticatorId"`
		Credential      credential               `json:"credential"`
	}
	addCredential := cdp.Command[params, cdp.Empty]{Method: webauthn.CommandAddCredential}
	_, err := chromedp.Call(ctx, addCredential, params{AuthenticatorID: id, Credential: credential{
		CredentialID: cred.CredentialID, IsResidentCredential: cred.IsResidentCredential, RpID: cred.RpID,
		PrivateKey: cred.PrivateKey, UserHandle: cred.UserHandle, SignCount: cred.SignCount,
	}})
	if err != nil {
		tb.t.Fatalf("WebAuthn.addCredential: %v", err)
	}
}

// ageSignIn moves the tab's session's sign-in back by d in the portal's
// SQLite file, as if the person had signed in that long ago and kept using the
// portal since.
func ageSignIn(t *testing.T, p *portal, tb *tab, d time.Duration) {
	t.Helper()
	setSessionTime(t, p, tb, "created_at", time.Now().Add(-d))
}

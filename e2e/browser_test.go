package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// stepTimeout bounds each browser step, so a hang fails the test fast
// instead of waiting for go test's own timeout.
const stepTimeout = 60 * time.Second

// tab is one browser tab of the shared browser, in a browser context of its
// own (its own cookies), that collects the page's errors as they happen.
type tab struct {
	t   *testing.T
	ctx context.Context

	mu     sync.Mutex
	errors []string // console errors, exceptions and CSP reports not yet reported
	// allowed are substrings of console errors the test expects right now,
	// such as the browser's note that a page answered 400.
	allowed []string
}

// newTab opens a tab for the test and closes it when the test ends.
func newTab(t *testing.T) *tab {
	t.Helper()
	tb := &tab{t: t}
	ctx, cancel := chromedp.NewContext(suite.browser,
		chromedp.WithNewBrowserContext(),
		chromedp.WithListener(tb.listen))
	t.Cleanup(cancel)
	// The first Do opens the tab; without a deadline, so that the tab lives
	// as long as the test and only each step has a timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	tb.ctx = ctx
	t.Cleanup(func() { tb.checkConsole("end of test") })
	return tb
}

// listen runs on the tab's message loop: it only records.
func (tb *tab) listen(ev any) {
	var msg string
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			text += " " + d.Exception.Description
		}
		msg = fmt.Sprintf("uncaught exception at %s:%d: %s", d.URL, d.LineNumber+1, text)
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError && ev.Type != runtime.ConsoleAPICalledTypeAssert {
			return
		}
		var parts []string
		for _, a := range ev.Args {
			switch {
			case a.Value != nil:
				var s string
				if json.Unmarshal(a.Value, &s) == nil {
					parts = append(parts, s)
				} else {
					parts = append(parts, string(a.Value))
				}
			case a.Description != "":
				parts = append(parts, a.Description)
			default:
				parts = append(parts, string(a.Type))
			}
		}
		msg = "console." + string(ev.Type) + ": " + strings.Join(parts, " ")
	case *cdplog.EventEntryAdded:
		e := ev.Entry
		if e.Level != cdplog.EntryLevelError {
			return
		}
		msg = fmt.Sprintf("browser log (%s) %s: %s", e.Source, e.URL, e.Text)
	default:
		return
	}
	tb.mu.Lock()
	tb.errors = append(tb.errors, msg)
	tb.mu.Unlock()
}

// allow makes the console errors that contain s expected until the next
// checkConsole.
func (tb *tab) allow(s string) {
	tb.mu.Lock()
	tb.allowed = append(tb.allowed, s)
	tb.mu.Unlock()
}

// checkConsole fails the test for every console error, uncaught exception or
// CSP violation that the page reported since the last check.
func (tb *tab) checkConsole(where string) {
	tb.t.Helper()
	tb.mu.Lock()
	errs, allowed := tb.errors, tb.allowed
	tb.errors, tb.allowed = nil, nil
	tb.mu.Unlock()
next:
	for _, e := range errs {
		for _, a := range allowed {
			if strings.Contains(e, a) {
				tb.t.Logf("%s: expected console error: %s", where, e)
				continue next
			}
		}
		tb.t.Errorf("%s: %s", where, e)
	}
}

// step is a context for one browser step, with its own deadline.
func (tb *tab) step() (context.Context, context.CancelFunc) {
	return context.WithTimeout(tb.ctx, stepTimeout)
}

// do runs steps that return nothing and fails the test if they fail.
func (tb *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := tb.step()
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tb.t.Fatalf("%s: %v", what, err)
	}
}

// navigate opens the address and returns the HTTP response of the page that
// finally loads (after redirects).
func (tb *tab) navigate(addr string) *network.Response {
	tb.t.Helper()
	ctx, cancel := tb.step()
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(addr))
	if err != nil {
		tb.t.Fatalf("open %s: %v", addr, err)
	}
	return resp
}

// follow runs steps that cause a navigation (a click on a link or a button,
// maybe after some script) and returns the response of the page that loads.
func (tb *tab) follow(what string, steps ...chromedp.Action[chromedp.Void]) *network.Response {
	tb.t.Helper()
	ctx, cancel := tb.step()
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, steps...)
	if err != nil {
		where := tb.location()
		tb.checkConsole(where)
		tb.t.Fatalf("%s: no page loaded: %v (now on %s; errors shown: %q; focus on %s)", what, err, where, tb.shownErrors(), tb.focused())
	}
	return resp
}

// waitVisible waits a few seconds for a control that script reveals, and
// says why it is still hidden if it never shows.
func (tb *tab) waitVisible(selector string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(selector)))
	if err == nil {
		return
	}
	state := eval[string](tb, `(() => {
		const el = document.querySelector(`+jsString(selector)+`);
		if (!el) return 'no such element';
		const cs = getComputedStyle(el);
		const scripts = [...document.scripts].map(s => s.getAttribute('src') || 'inline').join(', ');
		return 'hidden attribute ' + el.hidden + ', display ' + cs.display + ', visibility ' + cs.visibility + '; scripts: ' + scripts + '; ' + el.outerHTML;
	})()`)
	tb.checkConsole(tb.location())
	tb.t.Fatalf("%s: %s is not visible after 10s (%v): %s", tb.location(), selector, err, state)
}

// pageState is what waitFor reads from the page while it waits.
type pageState struct {
	Old    bool     `json:"old"`    // still the document the click was on
	Path   string   `json:"path"`   // location.pathname
	Ready  bool     `json:"ready"`  // document.readyState is complete
	Status int64    `json:"status"` // HTTP status of the document
	Errors []string `json:"errors"` // error messages on show
}

const readPageState = `({
	old: !!window.__e2eBeforeClick,
	path: location.pathname,
	ready: document.readyState === 'complete',
	status: performance.getEntriesByType('navigation')[0]?.responseStatus ?? 0,
	errors: [...document.querySelectorAll('.nhsuk-error-summary, [role=alert]')]
		.filter(e => e.checkVisibility()).map(e => e.innerText.trim().replace(/\s+/g, ' ')),
})`

// waitFor polls the page until done says so, and returns the HTTP status of
// the page then. It fails fast if the page shows an error instead.
func (tb *tab) waitFor(what string, done func(pageState) bool) int64 {
	tb.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	var st pageState
	for time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
		var err error
		// An error here is the page going away mid-evaluation: try again.
		st, err = chromedp.Run(ctx, chromedp.Evaluate[pageState](readPageState))
		cancel()
		switch {
		case err != nil:
		case done(st):
			return st.Status
		case st.Ready && len(st.Errors) > 0:
			tb.checkConsole(tb.location())
			tb.t.Fatalf("%s: %s shows an error instead of moving on: %q", what, st.Path, st.Errors)
		}
	}
	tb.checkConsole(tb.location())
	tb.t.Fatalf("%s: no new page within %s (on %s; errors shown: %q)", what, stepTimeout, tb.location(), st.Errors)
	return 0
}

// clickThenLoad clicks a control whose script talks to the server before it
// moves to another page, as the passkey buttons do, and returns the HTTP
// status of the page that loads.
func (tb *tab) clickThenLoad(what, selector string) int64 {
	tb.t.Helper()
	tb.do(what,
		chromedp.Evaluate[chromedp.Void](`window.__e2eBeforeClick = true`),
		chromedp.Click(chromedp.CSS(selector)),
	)
	return tb.waitFor(what, func(st pageState) bool { return !st.Old && st.Ready })
}

// waitForPage opens addr and waits for its script to move on to the page at
// path, as passkey autofill does; it returns the HTTP status of that page.
func (tb *tab) waitForPage(what, addr, path string) int64 {
	tb.t.Helper()
	ctx, cancel := tb.step()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(addr))
	cancel()
	if err != nil {
		tb.t.Fatalf("%s: open %s: %v", what, addr, err)
	}
	// The page must load as itself first: a redirect straight to path would
	// prove nothing about the page's script.
	if want, _ := url.Parse(addr); want != nil {
		if got, _ := url.Parse(resp.URL); got == nil || got.Path != want.Path {
			tb.t.Fatalf("%s: %s loaded as %s, want the page itself first", what, addr, resp.URL)
		}
	}
	return tb.waitFor(what, func(st pageState) bool { return st.Path == path && st.Ready })
}

// shownErrors is the text of the error summaries and alerts a person sees
// on the page now.
func (tb *tab) shownErrors() []string {
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	texts, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('.nhsuk-error-summary, [role=alert]')]
		.filter(e => e.checkVisibility()).map(e => e.innerText.trim().replace(/\s+/g, ' '))`))
	return texts
}

// focused describes the element that has the keyboard focus now.
func (tb *tab) focused() string {
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	html, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.activeElement?.outerHTML ?? 'nothing').slice(0, 200)`))
	if err != nil {
		return "(unknown: " + err.Error() + ")"
	}
	return html
}

// eval evaluates a JavaScript expression and decodes its value.
func eval[T any](tb *tab, expr string) T {
	tb.t.Helper()
	ctx, cancel := tb.step()
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		tb.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// evalAsync evaluates a JavaScript expression that gives a promise, and decodes what it resolves to.
func evalAsync[T any](tb *tab, expr string) T {
	tb.t.Helper()
	ctx, cancel := tb.step()
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// location is the address of the page in the tab, or an error text.
func (tb *tab) location() string {
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "(unknown: " + err.Error() + ")"
	}
	return loc
}

// path is the path of the page in the tab.
func (tb *tab) path() string {
	tb.t.Helper()
	u, err := url.Parse(tb.location())
	if err != nil {
		tb.t.Fatalf("location: %v", err)
	}
	return u.Path
}

// addPasskeyAuthenticator adds a virtual platform authenticator that holds
// discoverable credentials, verifies the user and needs no touch. The tab
// must have loaded a page first.
func (tb *tab) addPasskeyAuthenticator() webauthn.AuthenticatorID {
	tb.t.Helper()
	ctx, cancel := tb.step()
	defer cancel()
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		tb.t.Fatalf("WebAuthn.enable: %v", err)
	}
	res, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol:            webauthn.AuthenticatorProtocolCtap2,
			Ctap2version:        webauthn.Ctap2versionCtap21,
			Transport:           webauthn.AuthenticatorTransportInternal,
			HasResidentKey:      true,
			HasUserVerification: true,
			IsUserVerified:      true,
			// The protocol's default is true, but the field is always sent,
			// and false leaves every ceremony waiting for a touch.
			AutomaticPresenceSimulation: true,
		},
	})
	if err != nil {
		tb.t.Fatalf("WebAuthn.addVirtualAuthenticator: %v", err)
	}
	return res.AuthenticatorID
}

// setPresence turns the authenticator's automatic user presence on or off.
// Off, every ceremony waits, so a page's passkey autofill request cannot
// sign the person in before the test clicks a button.
func (tb *tab) setPresence(id webauthn.AuthenticatorID, on bool) {
	tb.t.Helper()
	ctx, cancel := tb.step()
	defer cancel()
	if _, err := chromedp.Call(ctx, webauthn.SetAutomaticPresenceSimulation, webauthn.SetAutomaticPresenceSimulationParams{AuthenticatorID: id, Enabled: on}); err != nil {
		tb.t.Fatalf("WebAuthn.setAutomaticPresenceSimulation(%v): %v", on, err)
	}
}

// credentials lists what the virtual authenticator holds.
func (tb *tab) credentials(id webauthn.AuthenticatorID) []*webauthn.Credential {
	tb.t.Helper()
	ctx, cancel := tb.step()
	defer cancel()
	res, err := chromedp.Call(ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: id})
	if err != nil {
		tb.t.Fatalf("WebAuthn.getCredentials: %v", err)
	}
	return res.Credentials
}

// axeViolation is the part of an axe-core result the test reports.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target         []string `json:"target"`
		HTML           string   `json:"html"`
		FailureSummary string   `json:"failureSummary"`
	} `json:"nodes"`
}

// axeResult is what axeRun gives back: the violations, and the checks axe
// could not decide (its "incomplete" results, such as contrast over an
// image), which need a person to look at them.
type axeResult struct {
	Violations []axeViolation `json:"violations"`
	Incomplete []axeViolation `json:"incomplete"`
}

// axeRun runs axe-core on the page for WCAG 2.2 AA and maps the result to
// what axeResult decodes, flattening targets inside shadow roots or frames.
// %s is the result types whose every node axe lists; of the others it keeps
// only the first node of each rule.
const axeRun = `(() => {
	const nodes = v => ({
		id: v.id, impact: v.impact || '', help: v.help,
		nodes: v.nodes.map(n => ({
			target: n.target.map(s => typeof s === 'string' ? s : JSON.stringify(s)),
			html: n.html, failureSummary: n.failureSummary || '',
		})),
	});
	return axe.run(document, {
		runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']},
		resultTypes: %s,
	}).then(r => ({violations: r.violations.map(nodes), incomplete: r.incomplete.map(nodes)}));
})()`

// axeIncompleteEnv, set to 1, logs the checks axe could not decide on each
// page it checks, every node of them. They never fail a test: each needs a
// person to look.
const axeIncompleteEnv = "E2E_AXE_INCOMPLETE"

// checkPage fails the test for every accessibility violation axe-core finds
// on the page now in the tab, and for every console error since the last
// check.
func (tb *tab) checkPage() {
	tb.t.Helper()
	where := tb.location()
	ctx, cancel := tb.step()
	defer cancel()
	// CDP's evaluate is not subject to the page's CSP, so axe runs under the
	// portal's strict policy as it is.
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof axe !== 'undefined'`))
	if err != nil {
		tb.t.Fatalf("%s: %v", where, err)
	}
	if !loaded {
		if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](suite.axeSource)); err != nil {
			tb.t.Fatalf("%s: inject axe-core: %v", where, err)
		}
	}
	incomplete := os.Getenv(axeIncompleteEnv) == "1"
	types := `['violations']`
	if incomplete {
		types = `['violations', 'incomplete']`
	}
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](fmt.Sprintf(axeRun, types), chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("%s: run axe-core: %v", where, err)
	}
	var res axeResult
	if err := json.Unmarshal(raw, &res); err != nil {
		tb.t.Fatalf("%s: read axe-core's result: %v\n%s", where, err, raw)
	}
	for _, v := range res.Violations {
		tb.t.Error(axeReport(where+": axe", v))
	}
	if incomplete {
		tb.t.Logf("%s: axe could not decide %d rules", where, len(res.Incomplete))
		for _, v := range res.Incomplete {
			tb.t.Log(axeReport(where+": axe could not decide", v))
		}
	}
	tb.checkConsole(where)
}

// axeReport describes one rule's result and each element it is about.
func axeReport(prefix string, v axeViolation) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s (%s, %d elements): %s", prefix, v.ID, v.Impact, len(v.Nodes), v.Help)
	for _, n := range v.Nodes {
		fmt.Fprintf(&b, "\n\t%s\n\t\t%s", strings.Join(n.Target, " "), n.HTML)
		if n.FailureSummary != "" {
			fmt.Fprintf(&b, "\n\t\t%s", strings.ReplaceAll(n.FailureSummary, "\n", "\n\t\t"))
		}
	}
	return b.String()
}

// nodeCount counts the elements that match a CSS selector, without waiting.
func (tb *tab) nodeCount(selector string) int {
	tb.t.Helper()
	return eval[int](tb, fmt.Sprintf(`document.querySelectorAll(%s).length`, jsString(selector)))
}

// text is the visible text of the page's body.
func (tb *tab) text() string {
	tb.t.Helper()
	return eval[string](tb, `document.body ? document.body.innerText : ''`)
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

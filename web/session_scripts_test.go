package web_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The session time-out warning's script (static/js/portal.js) and the
// passkey script's requests (static/js/passkey.js), run in node on a fake
// clock and page: what a browser test would take an hour of waiting for.

// jsBetween is the text of file from the line starting with from up to
// (not including) the line starting with to.
func jsBetween(t *testing.T, file, from, to string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "\n"+from)
	if i < 0 {
		t.Fatalf("%s: no %q", file, from)
	}
	j := strings.Index(s[i+1:], "\n"+to)
	if j < 0 {
		t.Fatalf("%s: no %q after %q", file, to, from)
	}
	return s[i+1 : i+1+j]
}

// runScript runs script in node with a fake clock, timers and DOM enough for
// portal.js's sessionTimeout and passkey.js's post; it prints what the test reads.
func runScript(t *testing.T, script string) string {
	t.Helper()
	node, err := exec.LookPath("node") // installed by make deps, for the test FHIR server
	if err != nil {
		t.Fatal("node is needed to run the page's scripts: run make deps")
	}
	const harness = `
let clock = 0;
Date.now = () => clock;
const timers = []; let nextId = 1;
globalThis.setTimeout = (fn, ms) => { const id = nextId++; timers.push({ id, at: clock + Math.max(0, ms | 0), fn }); return id; };
globalThis.setInterval = (fn, ms) => { const id = nextId++; timers.push({ id, at: clock + ms, fn, every: ms }); return id; };
globalThis.clearTimeout = globalThis.clearInterval = (id) => { const i = timers.findIndex((x) => x.id === id); if (i >= 0) timers.splice(i, 1); };
function advance(to) {
  for (;;) {
    timers.sort((a, b) => a.at - b.at);
    const x = timers[0];
    if (!x || x.at > to) break;
    clock = x.at;
    if (x.every) x.at += x.every; else timers.shift();
    x.fn();
  }
  clock = to;
}
const el = () => ({ textContent: '', hidden: false, focus() {}, setAttribute() {}, addEventListener() {}, contains() { return false; } });
const shown = [];
const closeListeners = [];
const parts = { live: el(), last: el(), ended: el(), announce: el(), unreachable: el(), countdown: el(), heading: el() };
const form = Object.assign(el(), { action: '/session/extend', submitted: 0, requestSubmit() { this.submitted++; } });
function makeDialog(data) {
  return {
    dataset: data, open: false,
    querySelector(s) {
      if (s === '[data-session-live]') return parts.live;
      if (s === '[data-session-last]') return parts.last;
      if (s === '[data-session-ended]') return parts.ended;
      if (s === '[data-session-announce]') return parts.announce;
      if (s === '[data-session-unreachable]') return parts.unreachable;
      if (s === 'form[data-session-extend]') return form;
      return parts.heading;
    },
    querySelectorAll(s) { return s === '[data-session-countdown]' ? [parts.countdown] : []; },
    setAttribute() {}, contains() { return false; },
    addEventListener(type, fn) { if (type === 'close') closeListeners.push(fn); },
    show() { this.open = true; shown.push('show@' + clock / 1000); },
    showModal() { this.open = true; shown.push('modal@' + clock / 1000); },
    close() { this.open = false; for (const fn of closeListeners) fn(); },
  };
}
const doc = new EventTarget();
doc.activeElement = null; doc.body = {};
doc.querySelector = () => null;
globalThis.document = doc;
globalThis.BroadcastChannel = undefined;
`
	dir := t.TempDir()
	path := filepath.Join(dir, "h.js")
	if err := os.WriteFile(path, []byte(harness+script), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(node, path).CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out))
}

// A passkey request moves the warning's count on, but never past the
// session's absolute end: a page loaded 40 minutes before it (30 minutes
// idle left) warns before it, after a request at 15 minutes (a review: the
// count went to 45 minutes, and the session ended unwarned).
func TestAPasskeyRequestNeverCountsPastTheSessionsEnd(t *testing.T) {
	fn := jsBetween(t, "../static/js/portal.js", "function sessionTimeout(dialog) {", "// What is asked beneath a choice")
	got := runScript(t, fn+`
const dialog = makeDialog({ sessionIdle: '1800', sessionLeft: '1800', sessionFinal: 'false', sessionEnd: '2400', sessionEnds: 'Setting up will stop in' });
sessionTimeout(dialog);        // loaded: 30 min idle left, absolute end at 40 min
advance(15 * 60 * 1000);
document.dispatchEvent(new CustomEvent('mcr-session-used', { detail: 1800 })); // "Create a passkey" at 15 min, a server saying 30 min
advance(40 * 60 * 1000);       // the session's absolute end
console.log(JSON.stringify({ shownByTheEnd: shown.slice(), countdown: parts.countdown.textContent }));
`)
	if strings.Contains(got, `"shownByTheEnd":[]`) {
		t.Errorf("by the session's absolute end (40 min), after a passkey request at 15 min, the page has warned nothing: %s", got)
	}
}

// A passkey request refused (the session over) is no use of it: the open
// warning stays, counting down (a review: it closed, and the page claimed
// 30 minutes that did not exist).
func TestARefusedPasskeyRequestIsNoUse(t *testing.T) {
	portal := jsBetween(t, "../static/js/portal.js", "function sessionTimeout(dialog) {", "// What is asked beneath a choice")
	passkey := jsBetween(t, "../static/js/passkey.js", "const messages = {", "function messageFor(err) {")
	got := runScript(t, portal+passkey+`
const dialog = makeDialog({ sessionIdle: '1800', sessionLeft: '1800', sessionFinal: 'false', sessionEnds: 'Setting up will stop in' });
sessionTimeout(dialog);
advance(29 * 60 * 1000);       // the warning is open, counting down
const openBefore = dialog.open;
let used = 0;
document.addEventListener('mcr-session-used', () => used++);
globalThis.fetch = async () => ({ ok: false, status: 403, json: async () => ({ error: 'Your session may have timed out. Go back, reload the page and try again.' }) });
post('/enrol/passkey/begin', {}).catch(() => {}).then(() => {
  console.log(JSON.stringify({ openBefore, openAfter: dialog.open, used, countdown: parts.countdown.textContent, modalSubmits: form.submitted }));
});
`)
	if strings.Contains(got, `"used":1`) || strings.Contains(got, `"openAfter":false`) {
		t.Errorf("a passkey request refused 403 (the session over) counted as use: %s", got)
	}
}

// A request whose answer does not say how long the session has (no
// X-Session-Left, as when nothing could be read of it) counts nothing: the
// warning comes when the page load said (a review: the page guessed the
// server had noted the use, which a busy database can put off, and the
// session ended unwarned).
func TestAUseTheServerDidNotSayCountsNothing(t *testing.T) {
	fn := jsBetween(t, "../static/js/portal.js", "function sessionTimeout(dialog) {", "// What is asked beneath a choice")
	got := runScript(t, fn+`
const dialog = makeDialog({ sessionIdle: '1800', sessionLeft: '1800', sessionFinal: 'false', sessionEnd: '43200', sessionEnds: 'Setting up will stop in' });
sessionTimeout(dialog);
advance(10 * 60 * 1000);
document.dispatchEvent(new CustomEvent('mcr-session-used', { detail: NaN })); // no X-Session-Left
advance(30 * 60 * 1000);
console.log(JSON.stringify({ shown: shown.slice() }));
`)
	if !strings.Contains(got, `"modal@1680"`) {
		t.Errorf("want the warning at 28 minutes, as the page load said: %s", got)
	}
}

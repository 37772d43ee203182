package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/mycarerecord/portal/e2e/upstream"
	"github.com/mycarerecord/portal/store/demo"
)

// TestChoicesJourney: Jane changes each of her choices by keyboard, one
// question a page, checks each change and sees it confirmed; keeps one entry
// of her record out of sharing (after first forgetting to choose); sees it
// labelled on her record and every change in the history. Axe on every page.
func TestChoicesJourney(t *testing.T) {
	_, tb, _ := signedIn(t)
	tb.checkPage()

	wantOn(tb, "/choices", tb.press("open your choices", `.mcr-section-nav a[href="/choices"]`))
	tb.checkPage()
	if txt := tb.text(); !strings.Contains(txt, "You have not changed this") || !strings.Contains(txt, "These choices do not change the National Data Opt-out.") {
		t.Fatalf("choices page before any change: %.400s", txt)
	}

	steps := []struct {
		slug, answer, radio, done string
	}{
		{"direct-care", "no", "#answer-2", "you do not want staff in other organisations to see your record"},
		{"research", "no", "#answer-2", "you do not want your data to be used for research"},
		{"planning", "no", "#answer-2", "you do not want your data to be used to plan and improve services"},
		{"mental-health", "yes", "#answer", "mental health information is kept out of sharing"},
		{"sexual-health", "yes", "#answer", "sexual health information is kept out of sharing"},
		{"social-care", "yes", "#answer", "social care information is kept out of sharing"},
		{"research", "yes", "#answer", "you want your data to be used for research"}, // and back again
	}
	for _, s := range steps {
		wantOn(tb, "/choices/"+s.slug, tb.press("change "+s.slug, `.nhsuk-summary-list__actions a[href="/choices/`+s.slug+`"]`))
		tb.checkPage()
		tb.tick("answer "+s.answer, s.radio)
		wantOn(tb, "/choices/"+s.slug, tb.press("continue", `main form button[type="submit"]`))
		if h1 := eval[string](tb, `document.querySelector('h1').innerText`); h1 != "Check your change" {
			t.Fatalf("%s: after continuing, h1 %q", s.slug, h1)
		}
		tb.checkPage()
		status := tb.press("confirm the change", `form[action="/choices/`+s.slug+`/confirm"] button`)
		if !strings.HasPrefix(tb.path(), "/choices/done/") || status != http.StatusOK {
			t.Fatalf("%s: confirmed onto %s (%d)", s.slug, tb.path(), status)
		}
		tb.checkPage()
		panel := eval[string](tb, `document.querySelector('.nhsuk-panel').innerText`)
		if !strings.Contains(panel, "Your choice has been saved") || !strings.Contains(panel, s.done) || !strings.Contains(panel, "From ") {
			t.Fatalf("%s: panel says %q", s.slug, panel)
		}
		wantOn(tb, "/choices", tb.press("back to your choices", `main a[href="/choices"]`))
	}
	tb.checkPage()

	// The answer it has already: nothing changes, and the choices page says so, in a banner axe checks.
	wantOn(tb, "/choices/research", tb.press("open research again", `.nhsuk-summary-list__actions a[href="/choices/research"]`))
	tb.tick("answer yes again", "#answer")
	wantOn(tb, "/choices", tb.press("continue", `main form button[type="submit"]`))
	if banner := eval[string](tb, `document.querySelector('.nhsuk-notification-banner')?.innerText ?? ''`); !strings.Contains(banner, "Nothing has changed") {
		t.Errorf("after the same answer the page says %q", banner)
	}
	tb.checkPage()
	txt := tb.text()
	for _, want := range []string{"Set by you on"} {
		if !strings.Contains(txt, want) {
			t.Errorf("choices page lacks %q: %.600s", want, txt)
		}
	}
	// Each answer as the summary list gives it: the answer, not a promise of what organisations do.
	answers := eval[[]string](tb, `[...document.querySelectorAll('.nhsuk-summary-list__row')].slice(0, 3).map(r => r.querySelector('dd').firstChild.textContent.trim())`)
	if got, want := strings.Join(answers, " | "), "No | Yes | No"; got != want {
		t.Errorf("direct care, research and planning read %q, want %q", got, want)
	}
	if n := tb.nodeCount(`dd.nhsuk-summary-list__value`); n < 6 {
		t.Errorf("%d answers on the choices page", n)
	}

	// Keep one medicine out of sharing, from its own page.
	tb.navigate(strings.SplitN(tb.location(), "/choices", 2)[0] + "/record")
	wantOn(tb, "/record/medicines", tb.press("open medicines", `.mcr-section-nav a[href="/record/medicines"]`))
	// The link's own words: its date after them is for screen readers' lists of links.
	name := eval[string](tb, `document.querySelector('.mcr-record-table tbody a').firstChild.textContent.trim()`)
	tb.press("open the first medicine", `.mcr-record-table tbody a`)
	tb.checkPage()
	tb.press("keep it out of sharing", `main a[href^="/choices/entry?item="]`)
	wantOn(tb, "/choices/entry", http.StatusOK)
	tb.checkPage()
	if n := tb.nodeCount(`input[name="answer"]:checked`); n != 0 {
		t.Fatalf("%d answers chosen before Jane chose", n)
	}
	tb.allow("status of 400") // the form answers 400 with its errors, as it should
	tb.focus("continue without choosing", `main form button[type="submit"]`)
	if resp := tb.follow("continue without choosing", chromedp.KeyEvent(kb.Enter)); resp.Status != http.StatusBadRequest {
		t.Errorf("no answer: status %d, want 400", resp.Status)
	}
	if errs := tb.shownErrors(); len(errs) == 0 || !strings.Contains(strings.Join(errs, " "), "Select yes or no") {
		t.Fatalf("no error shown for no answer: %q", errs)
	}
	tb.checkPage()
	tb.tick("answer yes", "#answer")
	tb.press("continue", `main form button[type="submit"]`)
	if !strings.Contains(tb.text(), name) {
		t.Errorf("the check page does not name %q", name)
	}
	tb.checkPage()
	tb.press("confirm", `form[action="/choices/entry/confirm"] button`)
	if !strings.HasPrefix(tb.path(), "/choices/done/") {
		t.Fatalf("on %s after confirming", tb.path())
	}
	tb.checkPage()
	tb.navigate(strings.SplitN(tb.location(), "/choices", 2)[0] + "/record/medicines")
	// The entry is kept out by its fact's key: every report of the same medicine is labelled, and nothing else.
	tagged := eval[[]string](tb, `[...document.querySelectorAll('.mcr-withheld-tag')].map(e => e.closest('th').querySelector('a').firstChild.textContent.trim())`)
	if len(tagged) == 0 {
		t.Error("no medicine labelled as kept out of sharing")
	}
	for _, n := range tagged {
		if n != name {
			t.Errorf("%q labelled as kept out of sharing; only %q was chosen", n, name)
		}
	}
	tb.checkPage()

	// The history lists every change, newest first, and who made it.
	tb.press("open your choices", `.mcr-section-nav a[href="/choices"]`)
	wantOn(tb, "/choices/history", tb.press("open the history", `a[href="/choices/history"]`))
	tb.checkPage()
	if n := tb.nodeCount(".mcr-choice-history > li"); n != len(steps)+1 {
		t.Errorf("history lists %d changes, want %d", n, len(steps)+1)
	}
	first := eval[string](tb, `document.querySelector('.mcr-choice-history > li').innerText`)
	if !strings.Contains(first, name) || !strings.Contains(first, "You") || !strings.Contains(first, "kept in My Care Record") {
		t.Errorf("newest change reads %q", first)
	}
}

// TestChoiceReachesUpstream: with Jane's GP system a real FHIR server, a
// change she makes in the browser is sent there by the running portal as a
// FHIR Consent, and her history then says when it was sent. A second change,
// which the server refuses, is shown as not accepted with a button to send it
// again, and sent again it arrives. Axe on the history in each state.
func TestChoiceReachesUpstream(t *testing.T) {
	srv := upstream.Start(t)
	// Jane's record at the GP: her Patient, as the demo data has it.
	var b struct {
		Entry []struct{ Resource json.RawMessage } `json:"entry"`
	}
	if err := json.Unmarshal(demo.Generate()[0].Bundle, &b); err != nil {
		t.Fatal(err)
	}
	var patientID string
	for _, e := range b.Entry {
		var r struct{ ResourceType, ID string }
		json.Unmarshal(e.Resource, &r)
		if r.ResourceType == "Patient" && strings.Contains(string(e.Resource), "9434765919") {
			if status, body := srv.Do(t, http.MethodPut, "/Patient/"+r.ID, e.Resource); status >= 300 {
				t.Fatalf("load Jane's Patient: %d %s", status, body)
			}
			patientID = r.ID
		}
	}
	if patientID == "" {
		t.Fatal("no Patient for Jane in the demo data")
	}

	// Through a proxy, which later refuses Consents as a server may.
	proxy := upstream.NewFaultProxy(t, srv.URL, upstream.Faults{})
	p, tb, _ := signedIn(t)
	if out, err := portalCmd(t, "source", "add", "yh", proxy.URL, "--org", "Yorkshire and Humber Care Record", "--db", p.DB); err != nil {
		t.Fatalf("source add: %v\n%s", err, out)
	}
	if out, err := portalCmd(t, "sync", "--db", p.DB, "--source", "yh", "--identifier", "https://fhir.nhs.uk/Id/nhs-number|9434765919"); err != nil {
		t.Fatalf("sync: %v\n%s", err, out)
	}

	tb.press("open your choices", `.mcr-section-nav a[href="/choices"]`)
	tb.press("change research", `.nhsuk-summary-list__actions a[href="/choices/research"]`)
	tb.tick("answer no", "#answer-2")
	tb.press("continue", `main form button[type="submit"]`)
	tb.press("confirm the change", `form[action="/choices/research/confirm"] button`)
	tb.checkPage()
	if txt := tb.text(); !strings.Contains(txt, "Yorkshire and Humber Care Record") {
		t.Errorf("the confirmation does not name the organisation it goes to: %.500s", txt)
	}

	// The running portal's pusher sends it within a few seconds.
	var consents []json.RawMessage
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		if consents = srv.Resources(t, "Consent", "patient=Patient/"+patientID); len(consents) > 0 {
			break
		}
	}
	if len(consents) != 1 {
		t.Fatalf("%d Consents upstream for Jane, want 1", len(consents))
	}
	for _, want := range []string{`"code":"HRESCH"`, `"type":"deny"`, `"patient-privacy"`, `"reference":"Patient/` + patientID + `"`} {
		if !strings.Contains(string(consents[0]), want) {
			t.Errorf("the Consent upstream lacks %s: %s", want, consents[0])
		}
	}
	wantOn(tb, "/choices/history", tb.press("open the history", `a[href="/choices/history"]`))
	// The page was made when the pusher had sent it, or reload until it has.
	for i := 0; i < 20 && !strings.Contains(tb.text(), "Sent to Yorkshire and Humber Care Record on "); i++ {
		time.Sleep(250 * time.Millisecond)
		tb.navigate(strings.TrimSuffix(tb.location(), "/choices/history") + "/choices/history")
	}
	if txt := tb.text(); !strings.Contains(txt, "Sent to Yorkshire and Humber Care Record on ") {
		t.Errorf("history does not say the change was sent: %.600s", txt)
	}
	tb.checkPage()

	// A second change, which the server refuses: the history says so, with a
	// button to send it again, and once the server takes Consents again the
	// change sent again reaches it.
	proxy.SetFaults(upstream.Faults{Refuse: "Consent"})
	tb.press("back to your choices", `main a[href="/choices"]`)
	tb.press("change research", `.nhsuk-summary-list__actions a[href="/choices/research"]`)
	tb.tick("answer yes", "#answer")
	tb.press("continue", `main form button[type="submit"]`)
	tb.press("confirm the change", `form[action="/choices/research/confirm"] button`)
	wantOn(tb, "/choices/history", tb.press("open the history", `a[href="/choices/history"]`))
	newest := func() string {
		return eval[string](tb, `document.querySelector('.mcr-choice-history > li')?.innerText ?? ''`)
	}
	for i := 0; i < 40 && !strings.Contains(newest(), "Not accepted by Yorkshire and Humber Care Record."); i++ {
		time.Sleep(250 * time.Millisecond)
		tb.navigate(p.BaseURL + "/choices/history")
	}
	if got := newest(); !strings.Contains(got, "Not accepted by Yorkshire and Humber Care Record.") {
		t.Fatalf("the refused change reads %q", got)
	}
	retry := `.mcr-choice-history > li:first-child form[action^="/choices/deliveries/"] button`
	if tb.nodeCount(retry) != 1 {
		t.Fatalf("no button to send the refused change again")
	}
	tb.checkPage()
	proxy.SetFaults(upstream.Faults{})
	wantOn(tb, "/choices/history", tb.press("send it again", retry))
	if txt := tb.text(); !strings.Contains(txt, "We will send your change again now.") {
		t.Errorf("no confirmation of sending again: %.400s", txt)
	}
	tb.checkPage()
	for i := 0; i < 40 && !strings.Contains(newest(), "Sent to Yorkshire and Humber Care Record on "); i++ {
		time.Sleep(250 * time.Millisecond)
		tb.navigate(p.BaseURL + "/choices/history")
	}
	if got := newest(); !strings.Contains(got, "Sent to Yorkshire and Humber Care Record on ") {
		t.Errorf("the change sent again reads %q", got)
	}
	if consents = srv.Resources(t, "Consent", "patient=Patient/"+patientID); len(consents) != 1 || strings.Contains(string(consents[0]), `"type":"deny"`) {
		t.Errorf("upstream after the change sent again, want one Consent that refuses nothing: %s", consents)
	}
}

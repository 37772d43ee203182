package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestResultTrends opens Jane's test results grouped by test, then her HbA1c
// trend page: a chart with a name and a description, one sentence saying how
// it changed, and the same results in a table with a caption, reachable by
// keyboard after the chart. Each page is checked by axe.
func TestResultTrends(t *testing.T) {
	p, tb, _ := signedIn(t)

	resp := tb.navigate(p.BaseURL + "/record/results")
	wantPage(tb, "/record/results", resp.Status)
	checkRecordPage(tb, "Jane")
	text := tb.text()
	for _, want := range []string{"HbA1c", "Compared with normal range", "Blood pressure"} {
		if !strings.Contains(text, want) {
			t.Errorf("/record/results does not show %q", want)
		}
	}
	if !strings.Contains(text, "High") && !strings.Contains(text, "Normal") && !strings.Contains(text, "Low") {
		t.Errorf("/record/results says in no words how a result compares with its range")
	}
	tb.checkPage()

	// An answer to a question (the demo's smoking status) has a page of its
	// own, with no normal range: axe checks it too.
	answer := eval[string](tb, `document.querySelector('#answers ~ table a[href^="/record/results/"]')?.getAttribute('href') ?? ''`)
	if answer == "" {
		t.Fatal("/record/results lists no answer to a question")
	}
	resp = tb.navigate(p.BaseURL + answer)
	wantPage(tb, answer, resp.Status)
	if text := tb.text(); !strings.Contains(text, "All answers") || strings.Contains(text, "Normal range") {
		t.Errorf("%s, an answer's page: %.300s; want All answers, with no normal range", answer, text)
	}
	tb.checkPage()
	tb.navigate(p.BaseURL + "/record/results")

	const trend = "/record/results/loinc-59261-8"
	resp = tb.follow("open the HbA1c trend", chromedp.Click(chromedp.CSS(`main a[href="`+trend+`"]`)))
	wantPage(tb, trend, resp.Status)
	checkRecordPage(tb, "Jane")
	if n := tb.nodeCount(`main svg[role="img"]`); n != 1 {
		t.Errorf("%d charts (svg role=img), want 1", n)
	}
	// The chart's accessible name is its title, as a screen reader reads it.
	name := eval[string](tb, `(() => { const s = document.querySelector('main svg[role="img"]');
		return (s.getAttribute('aria-labelledby') || '').split(' ').map(id => document.getElementById(id)?.textContent || '').join(' ').trim(); })()`)
	if !strings.Contains(name, "HbA1c") {
		t.Errorf("the chart's accessible name is %q, want one naming HbA1c", name)
	}
	sentence := eval[string](tb, `document.querySelector('.mcr-chart-summary')?.innerText ?? ''`)
	if !strings.HasPrefix(sentence, "Your HbA1c went from ") || !strings.Contains(sentence, "mmol/mol between ") {
		t.Errorf("summary sentence %q", sentence)
	}
	if caption := eval[string](tb, `document.querySelector('main table caption')?.innerText ?? ''`); !strings.Contains(caption, "HbA1c") {
		t.Errorf("the results table's caption is %q", caption)
	}
	if n := tb.nodeCount(`main table tbody tr`); n != 20 {
		t.Errorf("%d rows in the results table, want 20", n)
	}
	tb.checkPage()

	// Keyboard: from the chart's heading, Tab moves on to a control inside
	// or after the chart's section, and on to the table of results.
	tb.do("focus the chart's heading", chromedp.Evaluate[chromedp.Void](`(() => {
		const h = document.querySelector('.mcr-chart-section h2'); h.tabIndex = -1; h.focus(); })()`))
	type focus struct {
		Tag, Text, Href  string
		InChart, InTable bool
		AfterChart       bool
	}
	read := `(() => { const e = document.activeElement, sec = document.querySelector('.mcr-chart-section');
		return {Tag: e.tagName, Text: (e.innerText || '').trim().slice(0, 80), Href: e.getAttribute('href') || '',
			InChart: sec.contains(e), InTable: !!e.closest('.mcr-chart-table'),
			AfterChart: !!(sec.compareDocumentPosition(e) & Node.DOCUMENT_POSITION_FOLLOWING)}; })()`
	tb.do("press Tab", chromedp.KeyEvent(kb.Tab))
	f := eval[focus](tb, read)
	if !f.InChart && !f.AfterChart {
		t.Fatalf("Tab from the chart went to <%s>%s, before the chart", f.Tag, f.Text)
	}
	if f.Href != "#results-table" {
		t.Errorf("first Tab after the chart focuses <%s href=%q>%s, want the link to the table", f.Tag, f.Href, f.Text)
	}
	reached := false
	for range 5 {
		if f.InTable {
			reached = true
			break
		}
		tb.do("press Tab", chromedp.KeyEvent(kb.Tab))
		f = eval[focus](tb, read)
	}
	if !reached {
		t.Errorf("Tab never reached the table of results; stopped on <%s>%s", f.Tag, f.Text)
	}
	// The link to the table takes the keyboard there.
	tb.do("follow the link to the table", chromedp.Evaluate[chromedp.Void](`document.querySelector('a[href="#results-table"]').click()`))
	if hash := eval[string](tb, `location.hash`); hash != "#results-table" {
		t.Errorf("after the link, location.hash is %q", hash)
	}

	// An unknown test is the NHS "Page not found" page.
	tb.allow("the server responded with a status of 404")
	resp = tb.navigate(p.BaseURL + "/record/results/loinc-0000-0")
	if resp.Status != 404 {
		t.Errorf("an unknown test answered %d, want 404", resp.Status)
	}
	tb.checkPage()
}

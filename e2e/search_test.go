package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestRecordSearch searches Jane's record from the search page as a person would:
// type into the box and press the button (a plain GET form, no script needed).
// A medicine two organisations reported shows once with both named; a search
// that finds nothing says so with tips; a too-long search gets the error
// summary. axe checks every page.
func TestRecordSearch(t *testing.T) {
	p, tb, _ := signedIn(t)

	resp := tb.navigate(p.BaseURL + "/record/search")
	wantPage(tb, "/record/search", resp.Status)
	if n := tb.nodeCount("main table"); n != 0 {
		t.Errorf("the empty search page shows %d tables, want the box alone", n)
	}
	tb.checkPage()

	search := func(q string) int64 {
		t.Helper()
		tb.do("type a search", chromedp.SetValue(chromedp.CSS("#q"), q))
		resp := tb.follow("press Search", chromedp.Click(chromedp.CSS(`main form[role="search"] button[type="submit"]`)))
		if got := tb.path(); got != "/record/search" {
			t.Fatalf("searching went to %s", got)
		}
		return resp.Status
	}

	if status := search("metformin"); status != 200 {
		t.Fatalf("search answered %d", status)
	}
	text := tb.text()
	for _, want := range []string{"Medicines", "Metformin", "Meanwood Group Practice", "Leeds Teaching Hospitals"} {
		if !strings.Contains(text, want) {
			t.Errorf("the results for metformin do not say %q:\n%.1500s", want, text)
		}
	}
	if got := eval[string](tb, `document.querySelector('#q').value`); got != "metformin" {
		t.Errorf("the box holds %q after searching, want the search kept", got)
	}
	// One entry per fact: the same Metformin from two sources is one row naming both.
	both := eval[int](tb, `[...document.querySelectorAll('#results-medicines ~ table tbody tr')].filter(r =>
		r.innerText.includes('Metformin') && r.innerText.includes('Meanwood Group Practice') && r.innerText.includes('Leeds Teaching Hospitals')).length`)
	if both < 1 {
		t.Errorf("no Metformin row names both sources")
	}
	tb.checkPage()

	if status := search("zzqxnonsense"); status != 200 {
		t.Fatalf("search answered %d", status)
	}
	if text := tb.text(); !strings.Contains(text, "No results for ‘zzqxnonsense’") || !strings.Contains(text, "checking the spelling") {
		t.Errorf("a search that finds nothing does not say so kindly:\n%.800s", text)
	}
	tb.checkPage()

	tb.allow("the server responded with a status of 400") // the too-long search, answered as a form error
	if status := search(strings.Repeat("metformin ", 21)); status != 400 {
		t.Errorf("a too-long search answered %d, want 400", status)
	}
	if errs := tb.shownErrors(); !strings.Contains(strings.Join(errs, " "), "Your search must be 200 characters or fewer") {
		t.Errorf("a too-long search shows errors %q", errs)
	}
	tb.checkPage()
}

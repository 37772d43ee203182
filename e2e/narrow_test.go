package e2e

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// brokenWords lists the words on the page that a line break cuts in two
// ("Medici|ne"), and whether the page scrolls sideways. Words longer than 20
// letters (codes, addresses) may break: nothing else can make them fit.
const brokenWords = `(() => {
	const out = [];
	const walker = document.createTreeWalker(document.querySelector('main'), NodeFilter.SHOW_TEXT);
	for (let n = walker.nextNode(); n; n = walker.nextNode()) {
		if (!n.parentElement || n.parentElement.closest('svg, script, style, .nhsuk-u-visually-hidden')) continue;
		const re = /\S+/g;
		for (let m = re.exec(n.data); m; m = re.exec(n.data)) {
			if (m[0].length > 20) continue;
			const r = document.createRange();
			r.setStart(n, m.index);
			r.setEnd(n, m.index + m[0].length);
			const tops = new Set([...r.getClientRects()].filter(b => b.width > 0).map(b => Math.round(b.top)));
			if (tops.size > 1) out.push(m[0]);
		}
	}
	if (document.documentElement.scrollWidth > window.innerWidth) out.push('(the page scrolls sideways: ' + document.documentElement.scrollWidth + 'px wide)');
	return out;
})()`

// TestNarrowScreens reads the record on a 320 pixel wide screen (WCAG 1.4.10,
// and a small phone): no page scrolls sideways, and no word is cut in two
// (but a word too long for the screen's width: see brokenWords).
func TestNarrowScreens(t *testing.T) {
	p, tb, _ := signedIn(t)
	tb.do("set a 320 pixel wide screen", chromedp.EmulateViewport(320, 640))
	check := func(path string) {
		t.Helper()
		resp := tb.navigate(p.BaseURL + path)
		wantPage(tb, strings.SplitN(path, "?", 2)[0], resp.Status)
		if broken := eval[[]string](tb, brokenWords); len(broken) > 0 {
			t.Errorf("%s at 320 pixels: words cut in two: %q", path, broken)
		}
	}
	for _, path := range []string{"/record", "/record/medicines", "/record/conditions", "/record/encounters", "/record/results", "/record/search?q=diabetes",
		"/record/search?q=metformin,atorvastatin,ramipril", // a long word typed, said back in a heading
		"/choices", "/record/access-log", "/carers", "/account", "/record/print"} {
		check(path)
	}
	tb.navigate(p.BaseURL + "/record/results")
	trend := eval[string](tb, `document.querySelector('main a[href^="/record/results/"]')?.getAttribute('href') ?? ''`)
	tb.navigate(p.BaseURL + "/record/medicines")
	entry := eval[string](tb, `document.querySelector('main a[href^="/record/item/"]')?.getAttribute('href') ?? ''`)
	if trend == "" || entry == "" {
		t.Fatalf("no trend (%q) or entry (%q) to read", trend, entry)
	}
	check(trend)
	// The chart's labels stay readable: at least 10 pixels high on the screen.
	small := eval[[]string](tb, `[...document.querySelectorAll('.mcr-chart__label')].filter(t => getComputedStyle(t).display !== 'none')
		.filter(t => t.getBoundingClientRect().height < 10).map(t => t.textContent + ' ' + t.getBoundingClientRect().height.toFixed(1) + 'px')`)
	if n := tb.nodeCount(".mcr-chart__label"); n == 0 || len(small) > 0 {
		t.Errorf("%s at 320 pixels: %d chart labels, these too small to read: %q", trend, n, small)
	}
	check(entry)

	// A document's file name, as systems name files (no spaces), in its
	// download link (a review: the entry page was 478 pixels wide).
	const title = "discharge_summary_LTH_ward32_20261120.pdf"
	bundle := fmt.Sprintf(`{"resourceType":"Bundle","type":"collection","entry":[
{"resource":{"resourceType":"Patient","id":"lab-jane","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}],"name":[{"family":"Example","given":["Jane"]}]}},
{"resource":{"resourceType":"DocumentReference","id":"lab-letter","status":"current","type":{"text":"Discharge summary"},"subject":{"reference":"Patient/lab-jane"},"date":"2026-11-20T10:00:00Z",
"content":[{"attachment":{"contentType":"text/plain","title":%q,"data":%q}}]}}]}`,
		title, base64.StdEncoding.EncodeToString([]byte("Discharged home. Review in clinic.")))
	file := filepath.Join(t.TempDir(), "lab.json")
	if err := os.WriteFile(file, []byte(bundle), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := portalCmd(t, "import", "--db", p.DB, "--source", "lab", "--org", "Leeds Pathology", file); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	tb.navigate(p.BaseURL + "/record/documents")
	letter := eval[string](tb, `[...document.querySelectorAll('main a')].find(a => a.textContent.includes('Discharge summary'))?.getAttribute('href') ?? ''`)
	if letter == "" {
		t.Fatal("no link to the discharge summary")
	}
	check(letter)
	if !strings.Contains(tb.text(), title) {
		t.Errorf("%s does not name its file %s", letter, title)
	}

	// The header's "More" menu, by keyboard: Escape closes it and the focus
	// goes back to its button, not to nothing (WCAG 2.4.3, a keyboard review).
	tb.navigate(p.BaseURL + "/record/medicines")
	const toggle = `.nhsuk-header__menu-toggle`
	if !eval[bool](tb, `document.querySelector('`+toggle+`')?.checkVisibility() ?? false`) {
		t.Fatal("at 320 pixels the header has no \"More\" menu to open")
	}
	tb.focus("focus More", toggle)
	tb.do("open More", chromedp.KeyEvent(kb.Enter))
	tb.do("move into the menu", chromedp.KeyEvent(kb.Tab))
	if in := eval[bool](tb, `!!document.activeElement.closest('.nhsuk-header__menu-list')`); !in {
		t.Fatalf("Tab after opening More is on %s, not in the menu", tb.focused())
	}
	tb.do("close it with Escape", chromedp.KeyEvent(kb.Escape))
	var focused string
	for range 20 {
		if focused = tb.focused(); strings.Contains(focused, "nhsuk-header__menu-toggle") {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(focused, "nhsuk-header__menu-toggle") || eval[string](tb, `document.querySelector('`+toggle+`').getAttribute('aria-expanded')`) != "false" {
		t.Errorf("after Escape in the menu the focus is on %s, want the closed menu's button", focused)
	}
}

// tablesPastTheirColumn lists the tables in main wider than the grid column
// they are in, by how much, and whether the page scrolls sideways.
const tablesPastTheirColumn = `(() => {
	const out = [];
	for (const t of document.querySelectorAll('main table')) {
		const col = t.closest('[class*="nhsuk-grid-column"]');
		if (!col || t.closest('.mcr-chart-table')) continue;
		const past = t.getBoundingClientRect().right - col.getBoundingClientRect().right;
		if (past > 1) out.push((t.querySelector('caption')?.textContent ?? 'a table') + ': ' + Math.round(past) + 'px past its column');
	}
	if (document.documentElement.scrollWidth > window.innerWidth) out.push('(the page scrolls sideways: ' + document.documentElement.scrollWidth + 'px wide)');
	return out;
})()`

// TestMiddleWidths reads the record pages with a side menu at the widths
// between a phone and a wide screen (a 1280 pixel screen zoomed to 150 %,
// a tablet upright; WCAG 1.4.10 and 1.4.4). At 770 to 920 pixels the test
// results table ran 9 to 121 pixels under "Parts of your record", text on
// text, its longest words ("mL/min/1.73m²") keeping it wider than its
// column (found by an accessibility review). Now the menu goes below the
// content at those widths, and no table runs past its column.
func TestMiddleWidths(t *testing.T) {
	p, tb, _ := signedIn(t)
	for _, width := range []int64{770, 800, 860, 920, 1000, 1024} {
		tb.do("set the screen's width", chromedp.EmulateViewport(width, 900))
		for _, path := range []string{"/record/results", "/record/conditions", "/record/medicines", "/record/encounters", "/record/search?q=diabetes", "/record/access-log"} {
			resp := tb.navigate(p.BaseURL + path)
			wantPage(tb, strings.SplitN(path, "?", 2)[0], resp.Status)
			if past := eval[[]string](tb, tablesPastTheirColumn); len(past) > 0 {
				t.Errorf("%s at %d pixels: %q", path, width, past)
			}
		}
	}
	// With text spaced out for reading as WCAG 1.4.12 asks, no table runs
	// past its column either (a WCAG 2.2 review: the results table's units,
	// "mL/min/1.73m²", held it 54 pixels under the menu, text on text, and at
	// 320 pixels an entry's values ran off the screen).
	tb.do("set the screen's width", chromedp.EmulateViewport(1280, 900))
	tb.navigate(p.BaseURL + "/record/conditions")
	// The demo's longest condition name, "Hypercholesterolaemia", the review's case.
	entry := eval[string](tb, `[...document.querySelectorAll('main a[href^="/record/item/"]')].find(a => a.textContent.includes('Hypercholesterol'))?.getAttribute('href') ?? ''`)
	if entry == "" {
		t.Fatal("the demo's conditions list no Hypercholesterolaemia")
	}
	for _, width := range []int64{320, 800, 1024, 1280} {
		tb.do("set the screen's width", chromedp.EmulateViewport(width, 900))
		for _, path := range []string{"/record/results", entry} {
			wantPage(tb, path, tb.navigate(p.BaseURL+path).Status)
			eval[any](tb, textSpacing)
			if past := eval[[]string](tb, tablesPastTheirColumn); len(past) > 0 {
				t.Errorf("%s at %d pixels, text spaced out: %q", path, width, past)
			}
		}
	}
}

// textSpacing spaces the page's text out as WCAG 1.4.12's bookmarklet does
// (line height 1.5, paragraphs 2 em apart, letters 0.12 em, words 0.16 em),
// through each element's own style, which the page's policy allows, as it
// refuses a style sheet added to the page.
const textSpacing = `(() => {
	for (const e of document.querySelectorAll('body *')) {
		e.style.setProperty('line-height', '1.5', 'important');
		e.style.setProperty('letter-spacing', '0.12em', 'important');
		e.style.setProperty('word-spacing', '0.16em', 'important');
		if (e.matches('p')) e.style.setProperty('margin-bottom', '2em', 'important');
	}
	return null;
})()`

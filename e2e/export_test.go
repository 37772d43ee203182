package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/mycarerecord/portal/store"
)

// downloadResult is what the page's own fetch of /record/download saw.
type downloadResult struct {
	Status      int      `json:"status"`
	Type        string   `json:"type"`
	Disposition string   `json:"disposition"`
	Resource    string   `json:"resourceType"`
	BundleType  string   `json:"bundleType"`
	Entries     int      `json:"entries"`
	NoSource    int      `json:"noSource"`
	Sources     []string `json:"sources"`
	Types       []string `json:"types"`
}

const fetchDownload = `fetch('/record/download', {credentials: 'same-origin'}).then(async r => {
	const b = await r.json();
	const entries = b.entry || [];
	return {
		status: r.status,
		type: r.headers.get('content-type') || '',
		disposition: r.headers.get('content-disposition') || '',
		resourceType: b.resourceType, bundleType: b.type, entries: entries.length,
		noSource: entries.filter(e => !(e.resource.meta && e.resource.meta.source)).length,
		sources: [...new Set(entries.map(e => e.resource.meta && e.resource.meta.source))].sort(),
		types: [...new Set(entries.map(e => e.resource.resourceType))].sort(),
	};
})`

// TestExportJourney downloads Jane's record as a FHIR Bundle from the page
// (as the browser's own request, with her session) and reads the printable
// summary, checking it with axe and in print media; both are on the access log.
func TestExportJourney(t *testing.T) {
	p, tb, _ := signedIn(t)

	// 1. The download, fetched by the page itself.
	ctx, cancel := tb.step()
	got, err := chromedp.Run(ctx, chromedp.Evaluate[downloadResult](fetchDownload, chromedp.EvalAwaitPromise))
	cancel()
	if err != nil {
		t.Fatalf("fetch /record/download: %v", err)
	}
	wantDisp := `attachment; filename="my-care-record-jane-` + time.Now().In(store.UKZone()).Format("2006-01-02") + `.json"`
	if got.Status != 200 || got.Type != "application/fhir+json" || got.Disposition != wantDisp {
		t.Errorf("download answered %d, %q, %q; want 200, application/fhir+json, %q", got.Status, got.Type, got.Disposition, wantDisp)
	}
	if got.Resource != "Bundle" || got.BundleType != "collection" || got.Entries < 50 || got.NoSource != 0 {
		t.Errorf("download is a %s of type %q with %d entries, %d without meta.source", got.Resource, got.BundleType, got.Entries, got.NoSource)
	}
	if len(got.Sources) < 3 {
		t.Errorf("download names sources %q, want Jane's three demo organisations", got.Sources)
	}
	for _, want := range []string{"AllergyIntolerance", "MedicationRequest", "Observation", "Patient"} {
		if !slices.Contains(got.Types, want) {
			t.Errorf("download has no %s (has %q)", want, got.Types)
		}
	}
	tb.checkConsole("download")

	// 1b. A link to the download on another website (a page at 127.0.0.1, another site than
	// localhost): nothing is sent, a page asks whether it was meant, and passes axe.
	tb.navigate(strings.Replace(p.BaseURL, "localhost", "127.0.0.1", 1) + "/")
	tb.do("a link to the download on another site", chromedp.Evaluate[chromedp.Void](
		`document.body.insertAdjacentHTML('beforeend', '<a id="mcr-e2e-away" href="`+p.BaseURL+`/record/download">away</a>')`))
	away := tb.follow("follow the other site's link", chromedp.Click(chromedp.CSS("#mcr-e2e-away")))
	wantOn(tb, "/record/download", away.Status)
	if h1 := strings.TrimSpace(eval[string](tb, `document.querySelector('h1').textContent`)); h1 != "Another website sent you here" || away.MimeType != "text/html" {
		t.Errorf("another site's link to the download loads %q (%s); want the page asking first", h1, away.MimeType)
	}
	tb.checkPage()

	// 2. The printable record, by keyboard from nowhere in particular: the address is the way in for now.
	resp := tb.navigate(p.BaseURL + "/record/print")
	wantOn(tb, "/record/print", resp.Status)
	text := tb.text()
	wantDate := "Printed on " + time.Now().In(store.UKZone()).Format("2 January 2006")
	for _, want := range []string{wantDate, "Use your browser's print option", "Penicillin", "Metformin"} {
		if !strings.Contains(strings.ToLower(text), strings.ToLower(want)) {
			t.Errorf("print page does not say %q: %.500s", want, text)
		}
	}
	if n := tb.nodeCount("section.mcr-print-section"); n != len(recordSections) {
		t.Errorf("print page has %d sections, want %d", n, len(recordSections))
	}
	tb.checkPage()

	// 3. In print media: no navigation, footer, skip link or buttons; each section on a new page; the date kept.
	ctx, cancel = tb.step()
	_, err = chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"})
	cancel()
	if err != nil {
		t.Fatalf("emulate print: %v", err)
	}
	type printState struct {
		Hidden  []string `json:"hidden"`
		Shown   []string `json:"shown"`
		Breaks  []string `json:"breaks"`
		Printed bool     `json:"printed"`
	}
	st := eval[printState](tb, `(() => {
		const sel = ['.nhsuk-header__navigation', '.nhsuk-header__account', 'footer', '.nhsuk-skip-link', '.mcr-no-print'];
		const shown = s => [...document.querySelectorAll(s)].some(e => getComputedStyle(e).display !== 'none');
		return {
			hidden: sel.filter(s => document.querySelector(s) && !shown(s)),
			shown: sel.filter(s => shown(s)),
			breaks: [...document.querySelectorAll('section.mcr-print-section')].map(e => getComputedStyle(e).breakBefore),
			printed: getComputedStyle(document.getElementById('printed-on')).display !== 'none',
		};
	})()`)
	if len(st.Shown) > 0 {
		t.Errorf("in print, still shown: %q", st.Shown)
	}
	for i, b := range st.Breaks {
		if b != "page" {
			t.Errorf("section %d breaks before %q, want page", i+1, b)
		}
	}
	if !st.Printed {
		t.Error("in print, the printed date is hidden")
	}
	ctx, cancel = tb.step()
	_, _ = chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: ""})
	cancel()

	// 4. Both are on the access log.
	db, err := store.Open(context.Background(), p.DB)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	jane, err := db.PersonByNHSNumber(context.Background(), strings.ReplaceAll(p.Invites[0].NHSNumber, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	log, err := db.AccessLog(context.Background(), jane.ID, 50)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, a := range log {
		actions = append(actions, a.Action)
	}
	if !slices.Contains(actions, "download") || !slices.Contains(actions, "print") {
		t.Errorf("access log actions %q, want a download and a print", actions)
	}
}

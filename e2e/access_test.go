package e2e

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// reportHospitalAudit stores, as the hospital's sync would, its AuditEvent of a
// doctor reading one of Jane's documents on 2 March 2026.
func reportHospitalAudit(t *testing.T, p *portal) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, p.DB)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	jane, err := db.PersonByNHSNumber(ctx, strings.ReplaceAll(p.Invites[0].NHSNumber, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	src, err := db.SourceByName(ctx, "leeds-teaching-hospitals")
	if err != nil {
		t.Fatal(err)
	}
	patientID, err := db.PatientAt(ctx, src.ID, jane.ID)
	if err != nil || patientID == "" {
		t.Fatalf("Jane at the hospital: %q, %v", patientID, err)
	}
	raw := `{"resourceType":"AuditEvent","id":"ae-e2e","type":{"system":"http://terminology.hl7.org/CodeSystem/audit-event-type","code":"rest"},
"subtype":[{"system":"http://hl7.org/fhir/restful-interaction","code":"read"}],"action":"R","recorded":"2026-03-02T09:30:00Z","outcome":"0",
"agent":[{"who":{"reference":"Practitioner/p1","display":"Dr A Jones"},"requestor":true,"network":{"address":"10.12.0.5","type":"2"}}],
"source":{"observer":{"reference":"Organization/rr8","display":"Leeds Teaching Hospitals"}},
"entity":[{"what":{"reference":"Patient/` + patientID + `"}},{"what":{"reference":"DocumentReference/d1"}}]}`
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: src.Name}, "e2e audit", []fhir.Resource{{Type: "AuditEvent", ID: "ae-e2e", Raw: []byte(raw)}}); err != nil {
		t.Fatal(err)
	}
}

// accessTable is the access log's rows as "who | what | device".
const accessTable = `[...document.querySelectorAll('#access-log tbody tr')].map(tr =>
	[...tr.querySelectorAll('td')].slice(1).map(td => {
		const c = td.cloneNode(true);
		c.querySelectorAll('.nhsuk-table__heading').forEach(h => h.remove());
		return c.innerText.trim();
	}).join(' | '))`

// TestAccessLogJourney: Jane reads parts of her record and downloads it, then
// finds each of those on "Who has looked at your record" with the hospital's own
// report of a doctor's look, and filters the list by who and by date, by keyboard.
func TestAccessLogJourney(t *testing.T) {
	p, tb, _ := signedIn(t)
	reportHospitalAudit(t, p)
	tb.checkPage()

	// 1. Some looks at the record, and a download, from the record's own links.
	wantOn(tb, "/record/medicines", tb.press("open medicines", `.mcr-section-nav a[href="/record/medicines"]`))
	tb.checkPage()
	wantOn(tb, "/record/allergies", tb.press("open allergies", `.mcr-section-nav a[href="/record/allergies"]`))
	tb.checkPage()
	ctx, cancel := tb.step()
	status, err := chromedp.Run(ctx, chromedp.Evaluate[int](`fetch('/record/download', {credentials: 'same-origin'}).then(r => r.status)`, chromedp.EvalAwaitPromise))
	cancel()
	if err != nil || status != 200 {
		t.Fatalf("download: %d, %v", status, err)
	}

	// 2. The access log, from the record's navigation.
	wantOn(tb, "/record/access-log", tb.press("open the access log", `.mcr-section-nav a[href="/record/access-log"]`))
	tb.checkPage()
	rows := eval[[]string](tb, accessTable)
	want := []string{
		"You | Downloaded your whole record | Chrome on Linux",
		"You | Viewed your allergies | Chrome on Linux",
		"You | Viewed your medicines | Chrome on Linux",
		"You | Viewed your record summary | Chrome on Linux",
	}
	if len(rows) < len(want)+1 || strings.Join(rows[:len(want)], "\n") != strings.Join(want, "\n") {
		t.Fatalf("the access log shows:\n%s\nwant first:\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}
	if last := rows[len(rows)-1]; last != "Dr A Jones at Leeds Teaching Hospitals | Viewed a document in your record | Not known: reported by Leeds Teaching Hospitals NHS Trust" {
		t.Errorf("oldest row %q, want the hospital's report", last)
	}
	if strings.Contains(tb.text(), "10.12.0.5") {
		t.Error("the page shows an IP address")
	}

	// 3. Only the hospital's report, chosen from the list by keyboard.
	tb.focus("the who list", "#who")
	for range 3 {
		tb.do("choose the next person", chromedp.KeyEvent(kb.ArrowDown))
	}
	if got := eval[string](tb, `document.querySelector('#who').selectedOptions[0].text`); got != "Dr A Jones at Leeds Teaching Hospitals" {
		t.Fatalf("chose %q", got)
	}
	wantOn(tb, "/record/access-log", tb.press("show entries", `#access-filter button[type=submit]`))
	tb.checkPage()
	if rows := eval[[]string](tb, accessTable); len(rows) != 1 || !strings.HasPrefix(rows[0], "Dr A Jones") {
		t.Errorf("filtered to the doctor: %q", rows)
	}

	// 4. Everyone, from today: the hospital's report of March is left out.
	tb.focus("the who list", "#who")
	tb.do("choose everyone", chromedp.KeyEvent(kb.Home))
	today := time.Now().In(store.UKZone())
	tb.focus("date from, day", "#from-day")
	tb.do("type today's date",
		chromedp.KeyEvent(strconv.Itoa(today.Day())), chromedp.KeyEvent(kb.Tab),
		chromedp.KeyEvent(strconv.Itoa(int(today.Month()))), chromedp.KeyEvent(kb.Tab),
		chromedp.KeyEvent(strconv.Itoa(today.Year())))
	wantOn(tb, "/record/access-log", tb.press("show entries", `#access-filter button[type=submit]`))
	tb.checkPage()
	rows = eval[[]string](tb, accessTable)
	if len(rows) != len(want) || strings.Join(rows, "\n") != strings.Join(want, "\n") {
		t.Errorf("from today:\n%s\nwant:\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}

	// 5. A date that cannot be: the error summary takes the focus and links to the box.
	tb.focus("date to, month", "#to-month")
	tb.do("type a month", chromedp.KeyEvent("13"), chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent("2026"))
	tb.focus("date to, day", "#to-day")
	tb.do("type a day", chromedp.KeyEvent("1"))
	tb.focus("show entries", `#access-filter button[type=submit]`)
	tb.allow("the server responded with a status of 400") // the bad date, answered as a form error
	resp := tb.follow("show entries", chromedp.KeyEvent(kb.Enter))
	if resp.Status != 400 {
		t.Errorf("a bad date answered %d, want 400", resp.Status)
	}
	if errs := tb.shownErrors(); len(errs) == 0 || !strings.Contains(errs[0], "Date to must be a real date") {
		t.Errorf("errors shown: %q", errs)
	}
	tb.checkPage()
	// The error's link leads to the box that is wrong, which takes the focus from the keyboard.
	if got := eval[string](tb, `document.querySelector('.nhsuk-error-summary a[href="#to-day"]') && document.getElementById('to-day')?.tagName || ''`); got != "INPUT" {
		t.Errorf("the error summary does not link to the day box of 'Date to' (%q)", got)
	}
	tb.focus("the box in error", "#to-day")

	// 6. Clearing the filter shows everything again. (Chromium may report the 400 a second time, late.)
	tb.allow("the server responded with a status of 400")
	wantOn(tb, "/record/access-log", tb.press("clear the filter", `#access-filter a[href="/record/access-log"]`))
	tb.checkPage()
	if rows := eval[[]string](tb, accessTable); len(rows) != len(want)+1 {
		t.Errorf("after clearing: %q", rows)
	}
}

package web_test

import (
	"context"
	"database/sql"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// hospitalAudit has the hospital send Jane's Patient and its record of a doctor reading one of her documents.
func hospitalAudit(t *testing.T, f *fixture) {
	t.Helper()
	raw := `{"resourceType":"AuditEvent","id":"ae-1","type":{"system":"http://terminology.hl7.org/CodeSystem/audit-event-type","code":"rest"},
"subtype":[{"system":"http://hl7.org/fhir/restful-interaction","code":"read"}],"action":"R","recorded":"2026-03-02T09:30:00Z","outcome":"0",
"agent":[{"who":{"reference":"Practitioner/p1","display":"Dr A Jones"},"requestor":true,"network":{"address":"10.12.0.5","type":"2"}}],
"source":{"observer":{"reference":"Organization/rr8","display":"Leeds Teaching Hospitals"}},
"entity":[{"what":{"reference":"Patient/h-jane"}},{"what":{"reference":"DocumentReference/d1"}}]}`
	res := []fhir.Resource{
		{Type: "Patient", ID: "h-jane", Raw: []byte(`{"resourceType":"Patient","id":"h-jane","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}]}`)},
		{Type: "AuditEvent", ID: "ae-1", Raw: []byte(raw)},
	}
	if _, err := f.db.ImportResources(context.Background(), store.ImportOptions{Source: "lth", OrgName: "Leeds Teaching Hospitals NHS Trust"}, "audit", res); err != nil {
		t.Fatal(err)
	}
}

// accessRows is the access log table as the person reads it, one "who | what | device" a row.
func accessRows(d *goquery.Document) []string {
	var out []string
	d.Find("#access-log tbody tr").Each(func(_ int, tr *goquery.Selection) {
		var cells []string
		tr.Find("td").Each(func(i int, td *goquery.Selection) {
			if i > 0 {
				td.Find(".nhsuk-table__heading").Remove()
				cells = append(cells, strings.TrimSpace(td.Text()))
			}
		})
		out = append(out, strings.Join(cells, " | "))
	})
	return out
}

func TestAccessLogPage(t *testing.T) {
	f := newFixture(t)
	hospitalAudit(t, f)
	jane := f.signIn(t, f.jane)
	john := f.newCarer(t, "John Smith")
	f.grant(t, f.jane, f.ownAccount(t, f.jane), john, "medicines")
	get := func(path string, cookie *http.Cookie, ua string) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("User-Agent", ua)
		req.Header.Set("X-Forwarded-For", "203.0.113.9")
		req.AddCookie(cookie)
		rec := httptest.NewRecorder()
		f.handler.ServeHTTP(rec, req)
		return rec.Result()
	}
	const firefox = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
	const android = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"
	for _, p := range []string{"/record", "/record/medicines", "/record/download"} {
		if resp := get(p, jane, firefox); resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", p, resp.StatusCode)
		}
	}
	if resp := get("/record/medicines", john.cookie, android); resp.StatusCode != http.StatusOK {
		t.Fatalf("carer's view: %d", resp.StatusCode)
	}
	before := len(accessLog(t, f, f.jane))

	resp := get("/record/access-log", jane, firefox)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("access log: %d", resp.StatusCode)
	}
	d := doc(t, resp)
	got := accessRows(d)
	want := []string{
		"Your carer John Smith (son) | Viewed your medicines | Chrome on Android",
		"You | Downloaded your whole record | Firefox on Windows",
		"You | Viewed your medicines | Firefox on Windows",
		"You | Viewed your record summary | Firefox on Windows",
		// The fixture's invitation and its acceptance, logged by the store with the grant itself.
		"Your carer John Smith (son) | Changed who can act for you: John Smith accepted the invitation | A web browser on an unknown device",
		"You | Changed who can act for you: invited John Smith (son) | A web browser on an unknown device",
		"Dr A Jones at Leeds Teaching Hospitals | Viewed a document in your record | Not known: reported by Leeds Teaching Hospitals NHS Trust",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	body := d.Find("main").Text()
	for _, never := range []string{"10.12.0.5", "203.0.113.9", "Mozilla"} {
		if strings.Contains(body, never) {
			t.Errorf("the page shows %q", never)
		}
	}
	// The last column is the kind of device, and says so (it was "From").
	var heads []string
	d.Find("#access-log thead th").Each(func(_ int, th *goquery.Selection) { heads = append(heads, th.Text()) })
	if got, want := strings.Join(heads, " | "), "When | Who | What | Device"; got != want {
		t.Errorf("columns %q, want %q", got, want)
	}
	if n := d.Find("h1").Length(); n != 1 || d.Find("h1").Text() != "Who has looked at your record" {
		t.Errorf("h1 %q (%d)", d.Find("h1").Text(), n)
	}
	if d.Find(`.mcr-section-nav a[aria-current="page"][href="/record/access-log"]`).Length() != 1 {
		t.Error("the record navigation does not mark the access log")
	}
	if after := len(accessLog(t, f, f.jane)); after != before {
		t.Errorf("looking at the access log wrote %d entries; it is not a look at the record", after-before)
	}
	var options []string
	d.Find("select#who option").Each(func(_ int, o *goquery.Selection) { options = append(options, o.Text()) })
	if strings.Join(options, "; ") != "Everyone; You; Your carer John Smith (son); Dr A Jones at Leeds Teaching Hospitals" {
		t.Errorf("who options: %v", options)
	}

	t.Run("the account page links to it", func(t *testing.T) {
		if doc(t, get("/account", jane, firefox)).Find(`main a[href="/record/access-log"]`).Length() != 1 {
			t.Error("no link on the account page")
		}
	})
	t.Run("a carer acting for the person is refused", func(t *testing.T) {
		if resp := get("/record/access-log", john.cookie, android); resp.StatusCode != http.StatusForbidden {
			t.Errorf("status %d, want 403", resp.StatusCode)
		}
	})
	t.Run("by who", func(t *testing.T) {
		key, _ := d.Find("select#who option").Eq(2).Attr("value")
		rows := accessRows(doc(t, get("/record/access-log?who="+url.QueryEscape(key), jane, firefox)))
		if len(rows) != 2 || !strings.HasPrefix(rows[0], "Your carer John Smith") || !strings.HasPrefix(rows[1], "Your carer John Smith") {
			t.Errorf("carer's rows: %v", rows)
		}
		key, _ = d.Find("select#who option").Eq(3).Attr("value")
		rows = accessRows(doc(t, get("/record/access-log?who="+url.QueryEscape(key), jane, firefox)))
		if len(rows) != 1 || !strings.HasPrefix(rows[0], "Dr A Jones") {
			t.Errorf("doctor's rows: %v", rows)
		}
		rows = accessRows(doc(t, get("/record/access-log?who=you", jane, firefox)))
		if len(rows) != 4 {
			t.Errorf("your rows: %v", rows)
		}
	})
	t.Run("by date", func(t *testing.T) {
		q := url.Values{"from-day": {"1"}, "from-month": {"3"}, "from-year": {"2026"}, "to-day": {"2"}, "to-month": {"3"}, "to-year": {"2026"}}
		rows := accessRows(doc(t, get("/record/access-log?"+q.Encode(), jane, firefox)))
		if len(rows) != 1 || !strings.HasPrefix(rows[0], "Dr A Jones") {
			t.Errorf("1 to 2 March 2026: %v", rows)
		}
		today := time.Now().In(store.UKZone())
		q = url.Values{"from-day": {strconv.Itoa(today.Day())}, "from-month": {strconv.Itoa(int(today.Month()))}, "from-year": {strconv.Itoa(today.Year())}}
		if rows := accessRows(doc(t, get("/record/access-log?"+q.Encode(), jane, firefox))); len(rows) != 6 {
			t.Errorf("from today: %v", rows)
		}
		q = url.Values{"to-day": {"1"}, "to-month": {"1"}, "to-year": {"2026"}}
		d := doc(t, get("/record/access-log?"+q.Encode(), jane, firefox))
		if len(accessRows(d)) != 0 || !strings.Contains(d.Find("main").Text(), "Nobody matching your filter") {
			t.Errorf("before 2026: %v", accessRows(d))
		}
	})
	t.Run("bad filters", func(t *testing.T) {
		for _, tt := range []struct{ query, link, message string }{
			{"from-day=31&from-month=2&from-year=2026", "#from-day", "Date from must be a real date"},
			{"from-day=1&from-year=2026", "#from-month", "Date from must include a month"},
			{"to-day=1&to-month=2&to-year=26", "#to-year", "Date to must include a year with 4 numbers"},
			{"from-day=2&from-month=3&from-year=2026&to-day=1&to-month=3&to-year=2026", "#to-day", "Date to must be the same as or after date from"},
			{"who=carer-99999", "#who", "Select who from the list"},
			{"who=somebody", "#who", "Select who from the list"},
		} {
			resp := get("/record/access-log?"+tt.query, jane, firefox)
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("%s: status %d, want 400", tt.query, resp.StatusCode)
			}
			d := doc(t, resp)
			link := d.Find(".nhsuk-error-summary a")
			if href, _ := link.Attr("href"); href != tt.link || link.Text() != tt.message {
				t.Errorf("%s: error summary %q → %q, want %q → %q", tt.query, link.Text(), href, tt.message, tt.link)
			}
			if title := d.Find("title").Text(); !strings.HasPrefix(title, "Error: ") || strings.Contains(title, "(page ") || len(accessRows(d)) != 0 {
				t.Errorf("%s: title %q, %d rows", tt.query, d.Find("title").Text(), len(accessRows(d)))
			}
		}
	})
	t.Run("pages keep the filter", func(t *testing.T) {
		for range 30 {
			get("/record/medicines", jane, firefox)
		}
		d := doc(t, get("/record/access-log?who=you", jane, firefox))
		if got := d.Find("#access-showing").Text(); got != "Showing 1 to 25 of 34 entries, newest first." {
			t.Errorf("showing %q", got)
		}
		next, _ := d.Find(`a[rel="next"]`).Attr("href")
		if next != "/record/access-log?page=2&who=you" {
			t.Fatalf("next %q", next)
		}
		second := doc(t, get(next, jane, firefox))
		if title := second.Find("title").Text(); !strings.HasPrefix(title, "Who has looked at your record (page 2 of 2)") {
			t.Errorf("page 2 is titled %q", title)
		}
		rows := accessRows(second)
		if len(rows) != 9 || rows[7] != "You | Viewed your record summary | Firefox on Windows" {
			t.Errorf("page 2: %v", rows)
		}
		if resp := get("/record/access-log?who=you&page=3", jane, firefox); resp.StatusCode != http.StatusNotFound {
			t.Errorf("page 3: %d", resp.StatusCode)
		}
	})
	t.Run("another person sees only their own", func(t *testing.T) {
		amir := f.signIn(t, f.amir)
		d := doc(t, get("/record/access-log", amir, firefox))
		if rows := accessRows(d); len(rows) != 0 || !strings.Contains(d.Find("main").Text(), "Nobody has looked at your record yet") {
			t.Errorf("Amir's log: %v", rows)
		}
	})
	t.Run("the chain holds", func(t *testing.T) {
		if c, err := f.db.CheckAccessLog(context.Background()); err != nil || !c.Intact() {
			t.Errorf("%+v, %v", c, err)
		}
	})
}

// TestNoPageWithoutItsLog: a look at the record that cannot be written to the
// access log is not shown, on any kind of record page: the summary, a section,
// an entry, a document downloaded, search, results and one test's results,
// the printout, the download and the choices with their history. Each page
// first shows what it holds of the record (so the check below is not passed
// by a page that never held it); then, with the access log gone, it answers
// 500 and shows none of it.
func TestNoPageWithoutItsLog(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	jane := f.signIn(t, f.jane)
	addSodiumAndLetter(t, f)
	docs, err := f.db.RecordSection(ctx, f.jane.ID, fhir.SectionDocuments, 1, 10)
	if err != nil || len(docs.Items) != 1 {
		t.Fatalf("documents: %v, %d", err, len(docs.Items))
	}
	tests, err := f.db.ResultTests(ctx, f.jane.ID)
	if err != nil || len(tests) != 1 {
		t.Fatalf("tests: %v, %d", err, len(tests))
	}
	meds, err := f.db.RecordSection(ctx, f.jane.ID, fhir.SectionMedicines, 1, 10)
	if err != nil || len(meds.Items) != 1 {
		t.Fatalf("medicines: %v, %d", err, len(meds.Items))
	}
	// A change of choice, so that their history has something in it.
	if rec := f.post(t, "/choices/research/confirm", jane, url.Values{"csrf": {csrfToken(t, f, jane)}, "for": {"self"}, "answer": {"no"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("changing a choice: %d", rec.Code)
	}
	pages := []struct {
		name, path string
		holds      string // what of the record the page shows
	}{
		{"summary", "/record", "Metformin"},
		{"a section", "/record/medicines", "Metformin"},
		{"an entry", "/record/item/" + itoa(meds.Items[0].ID), "Metformin"},
		{"a document downloaded", "/record/item/" + itoa(docs.Items[0].ID) + "/attachment/0", "Discharge letter text"},
		{"search", "/record/search?q=metformin", "Metformin"},
		{"results", "/record/results", "Sodium"},
		{"one test's results", "/record/results/" + tests[0].Key, "Sodium"},
		{"the printout", "/record/print", "Metformin"},
		{"the download", "/record/download", "Metformin"},
		{"choices", "/choices", "research"},
		{"the history of choices", "/choices/history", "Research: no"},
	}
	for _, p := range pages {
		resp := f.get(t, p.path, jane)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), p.holds) {
			t.Fatalf("%s (%s) with the access log: status %d, shows %q: %v; the check below would prove nothing", p.name, p.path, resp.StatusCode, p.holds, strings.Contains(string(body), p.holds))
		}
	}
	raw, err := sql.Open("sqlite3", "file:"+f.path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`DROP TABLE access_log`); err != nil {
		t.Fatal(err)
	}
	for _, p := range pages {
		t.Run(p.name, func(t *testing.T) {
			resp := f.get(t, p.path, jane)
			body, _ := io.ReadAll(resp.Body)
			if shows := strings.Contains(string(body), p.holds); resp.StatusCode != http.StatusInternalServerError || shows {
				t.Errorf("%s with no access log: status %d, shows %q: %v", p.path, resp.StatusCode, p.holds, shows)
			}
		})
	}
}

// The access log says which entry was viewed, while it is in the record.
func TestAccessLogNamesTheEntry(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	jane := f.signIn(t, f.jane)
	sec, err := f.db.RecordSection(ctx, f.jane.ID, fhir.SectionMedicines, 1, 10)
	if err != nil || len(sec.Items) == 0 {
		t.Fatal(err)
	}
	it := sec.Items[0]
	if resp := f.get(t, "/record/item/"+itoa(it.ID), jane); resp.StatusCode != http.StatusOK {
		t.Fatalf("entry: %d", resp.StatusCode)
	}
	if got := doc(t, f.get(t, "/record/access-log", jane)).Find("main table").Text(); !strings.Contains(got, "Viewed "+it.Display+", in your medicines") {
		t.Errorf("the access log does not name the entry viewed: %q", strings.Join(strings.Fields(got), " "))
	}
}

// The dates of the access log's filter are UK days, as the page shows each
// entry's time, whatever the server's own zone: a look at 00:30 on a summer
// night (23:30 the day before in UTC) is found under its UK day (found by a
// review: the filter's days began at the server's midnight).
func TestAccessLogFilterDaysAreUKDays(t *testing.T) {
	f := newFixture(t)
	raw := `{"resourceType":"AuditEvent","id":"ae-summer","type":{"system":"http://terminology.hl7.org/CodeSystem/audit-event-type","code":"rest"},
"subtype":[{"system":"http://hl7.org/fhir/restful-interaction","code":"read"}],"action":"R","recorded":"2026-07-14T23:30:00Z","outcome":"0",
"agent":[{"who":{"reference":"Practitioner/p1","display":"Dr A Jones"},"requestor":true}],
"source":{"observer":{"reference":"Organization/rr8","display":"Leeds Teaching Hospitals"}},
"entity":[{"what":{"reference":"Patient/h-jane"}}]}`
	res := []fhir.Resource{
		{Type: "Patient", ID: "h-jane", Raw: []byte(`{"resourceType":"Patient","id":"h-jane","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}]}`)},
		{Type: "AuditEvent", ID: "ae-summer", Raw: []byte(raw)},
	}
	if _, err := f.db.ImportResources(context.Background(), store.ImportOptions{Source: "lth", OrgName: "Leeds Teaching Hospitals NHS Trust"}, "audit", res); err != nil {
		t.Fatal(err)
	}
	jane := f.signIn(t, f.jane)
	for _, tt := range []struct {
		day  string
		want int
	}{{"14", 0}, {"15", 1}} {
		q := url.Values{"from-day": {tt.day}, "from-month": {"7"}, "from-year": {"2026"}, "to-day": {tt.day}, "to-month": {"7"}, "to-year": {"2026"}}
		rows := accessRows(doc(t, f.get(t, "/record/access-log?"+q.Encode(), jane)))
		if len(rows) != tt.want {
			t.Errorf("%s July 2026: %q; want %d (Dr A Jones at 00:30 on 15 July, UK time)", tt.day, rows, tt.want)
		}
	}
}

// TestAFailedPageIsNotLogged: a page of the record that fails after its
// main read (here, reading how up to date each source is) shows nothing of
// the record, so the access log gains no look (a review: the look was
// logged as the handler began, and stayed).
func TestAFailedPageIsNotLogged(t *testing.T) {
	f := newFixture(t)
	jane := f.signIn(t, f.jane)
	raw, err := sql.Open("sqlite3", "file:"+f.path+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`UPDATE sources SET base_url = 'https://gp.example/fhir', auth_config = 'not json' WHERE name = 'gp'`); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/record", "/record/medicines", "/record/print", "/record/results"} {
		before := accessLog(t, f, f.jane)
		resp := f.get(t, path, jane)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == http.StatusOK || strings.Contains(string(body), "Metformin") {
			t.Fatalf("%s: %d, shows the record: the check below proves nothing", path, resp.StatusCode)
		}
		if after := accessLog(t, f, f.jane); len(after) != len(before) {
			t.Errorf("%s answered %d and showed nothing of the record, yet the access log gained %q", path, resp.StatusCode, after[len(before):])
		}
	}
	if _, err := raw.Exec(`UPDATE sources SET auth_config = '{}' WHERE name = 'gp'`); err != nil {
		t.Fatal(err)
	}
	before := accessLog(t, f, f.jane)
	if resp := f.get(t, "/record/medicines", jane); resp.StatusCode != http.StatusOK {
		t.Fatalf("medicines once the source reads again: %d", resp.StatusCode)
	}
	if after := accessLog(t, f, f.jane); len(after) != len(before)+1 {
		t.Errorf("the medicines page shown: the log gained %q; want its look", after[len(before):])
	}
}

// TestChoicesLookNamesTheEntryAsTheRecordDoesNow: a look at the sharing
// choices about an entry is logged by the entry's id, and named as the
// record names it now, so the log never keeps a name the source corrected
// (a review: "Metformin" stayed in the log after the GP changed the entry).
func TestChoicesLookNamesTheEntryAsTheRecordDoesNow(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	jane := f.signIn(t, f.jane)
	meds, err := f.db.RecordSection(ctx, f.jane.ID, fhir.SectionMedicines, 1, 10)
	if err != nil || len(meds.Items) != 1 {
		t.Fatalf("medicines: %v", err)
	}
	id := strconv.FormatInt(meds.Items[0].ID, 10)
	for _, p := range []string{"/record/item/" + id, "/choices/entry?item=" + id} {
		if resp := f.get(t, p, jane); resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", p, resp.StatusCode)
		}
	}
	if rows := strings.Join(accessRows(doc(t, f.get(t, "/record/access-log", jane))), "\n"); !strings.Contains(rows, "Viewed your sharing choices about Metformin") {
		t.Fatalf("the log does not name the entry the choices were about:\n%s", rows)
	}
	// The GP corrects the entry: the record no longer holds "Metformin".
	f.importJSON(t, "gp", `{"resourceType":"MedicationRequest","id":"m1","meta":{"versionId":"2"},"status":"active","intent":"order","subject":{"reference":"Patient/jane"},"medicationCodeableConcept":{"text":"Gliclazide 40mg tablets"},"authoredOn":"2025-01-10"}`)
	if resp := f.get(t, "/record/medicines", jane); resp.StatusCode != http.StatusOK {
		t.Fatal(resp.StatusCode)
	} else if b, _ := io.ReadAll(resp.Body); strings.Contains(string(b), "Metformin") {
		t.Fatal("the record still holds Metformin: the check below proves nothing")
	}
	rows := strings.Join(accessRows(doc(t, f.get(t, "/record/access-log", jane))), "\n")
	if strings.Contains(rows, "Metformin") || !strings.Contains(rows, "Viewed your sharing choices about Gliclazide") {
		t.Errorf("the access log names an entry the record no longer holds, or not the one it holds:\n%s", rows)
	}
}

// TestReportDocumentDownloadIsNamed: a test report's PDF downloaded is
// logged naming the report and where it is, not only "a document" (a review).
func TestReportDocumentDownloadIsNamed(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	jane := f.signIn(t, f.jane)
	pdf := base64.StdEncoding.EncodeToString([]byte("%PDF-1.4 viral load report"))
	f.importJSON(t, "gp",
		`{"resourceType":"Observation","id":"vl1","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],"code":{"text":"Viral load"},"subject":{"reference":"Patient/jane"},"effectiveDateTime":"2025-03-01","valueQuantity":{"value":20,"unit":"copies/mL"}}`,
		`{"resourceType":"DiagnosticReport","id":"r1","status":"final","code":{"text":"Viral load report"},"subject":{"reference":"Patient/jane"},"effectiveDateTime":"2025-03-01","result":[{"reference":"Observation/vl1"}],"presentedForm":[{"contentType":"application/pdf","title":"Report","data":"`+pdf+`"}]}`)
	res, err := f.db.RecordSection(ctx, f.jane.ID, fhir.SectionResults, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	var report int64
	for _, it := range res.Items {
		if it.ResourceType == "DiagnosticReport" {
			report = it.ID
		}
	}
	if report == 0 {
		t.Fatalf("no report among the results: %+v", res.Items)
	}
	if resp := f.get(t, "/record/item/"+strconv.FormatInt(report, 10)+"/attachment/0", jane); resp.StatusCode != http.StatusOK {
		t.Fatalf("report PDF: %d", resp.StatusCode)
	}
	rows := strings.Join(accessRows(doc(t, f.get(t, "/record/access-log", jane))), "\n")
	if !strings.Contains(rows, "Viral load report, in your test results (its document downloaded)") {
		t.Errorf("the log does not say which report's document was downloaded:\n%s", rows)
	}
}

// TestAnotherChoicesPageGivenAnEntryIsNoLookAtIt: only the page about an
// entry reads ?item=; another choice's page given one is logged as a look
// at that choice, not at the entry (a review).
func TestAnotherChoicesPageGivenAnEntryIsNoLookAtIt(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	jane := f.signIn(t, f.jane)
	meds, err := f.db.RecordSection(ctx, f.jane.ID, fhir.SectionMedicines, 1, 10)
	if err != nil || len(meds.Items) != 1 {
		t.Fatalf("medicines: %v", err)
	}
	slug := store.ConsentQuestionSlug(store.QuestionResearch)
	if resp := f.get(t, "/choices/"+slug+"?item="+strconv.FormatInt(meds.Items[0].ID, 10), jane); resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d", slug, resp.StatusCode)
	}
	if rows := strings.Join(accessRows(doc(t, f.get(t, "/record/access-log", jane))), "\n"); strings.Contains(rows, "sharing choices about Metformin") {
		t.Errorf("a look at the %s choice is logged as one at the choices about Metformin:\n%s", slug, rows)
	}
}

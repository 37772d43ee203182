package web_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/demo"
	"github.com/mycarerecord/portal/store/fhir"
	"github.com/mycarerecord/portal/web"
)

// withDemoSources adds the demo organisations' records to the fixture, so
// Jane Example's record comes from several sources that overlap.
func withDemoSources(t *testing.T, f *fixture) {
	t.Helper()
	for _, src := range demo.Generate() {
		res, err := fhir.ParseBundle(src.Bundle)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.db.ImportResources(context.Background(), store.ImportOptions{Source: src.Name, OrgName: src.OrgName}, src.Name, res); err != nil {
			t.Fatal(err)
		}
	}
}

// recordFacts is every entry of the person's record as the pages show it
// (one per fact), one string per entry, sorted.
func recordFacts(t *testing.T, db *store.DB, personID int64) []string {
	t.Helper()
	var out []string
	for _, sec := range fhir.Sections() {
		sp, err := db.RecordSection(context.Background(), personID, sec.Slug, 1, 100000)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range sp.Items {
			out = append(out, fmt.Sprintf("%s | %s | %s | %s | %s", it.Section, it.Display, it.Date, it.Status, it.Value))
		}
	}
	slices.Sort(out)
	return out
}

// recordItems is every record item (every source's report of every fact) of
// the person with that NHS number in the database file, one string per item, sorted.
func recordItems(t *testing.T, path, nhs string) []string {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT ri.section, ri.display, ri.date, ri.status, ri.value FROM record_items ri
JOIN persons p ON p.id = ri.person_id WHERE p.nhs_number = ?`, nhs)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var sec, display, date, status, value string
		if err := rows.Scan(&sec, &display, &date, &status, &value); err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.Join([]string{sec, display, date, status, value}, " | "))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// sameItems fails the test with what differs when got and want differ.
func sameItems(t *testing.T, what string, got, want []string) {
	t.Helper()
	if slices.Equal(got, want) {
		return
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("%s: lost in the round trip: %s", what, w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			t.Errorf("%s: gained in the round trip: %s", what, g)
		}
	}
	t.Fatalf("%s: %d after the round trip, want %d", what, len(got), len(want))
}

func accessActions(t *testing.T, db *store.DB, personID int64) []string {
	t.Helper()
	log, err := db.AccessLog(context.Background(), personID, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range log {
		out = append(out, a.Action)
	}
	return out
}

// demoServer is a portal over a database file holding the demo organisations'
// records, with Jane Example signed in.
func demoServer(t *testing.T, path string) (*store.DB, http.Handler, store.Person, *http.Cookie) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{db: db}
	withDemoSources(t, f)
	srv, err := web.New(web.Config{Origin: "http://localhost:8080", HashKey: testHashKey, BlockKey: testBlockKey}, db, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	f.handler = srv
	jane, err := db.PersonByNHSNumber(ctx, demo.People()[0].NHSNumber)
	if err != nil {
		t.Fatal(err)
	}
	return db, srv, jane, f.signIn(t, jane)
}

func TestDownloadRecordRoundTrip(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "portal.db")
	db, handler, jane, cookie := demoServer(t, path)
	f := &fixture{db: db, handler: handler}

	resp := f.get(t, "/record/download", cookie)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if got, want := resp.Header.Get("Content-Type"), "application/fhir+json"; got != want {
		t.Errorf("Content-Type %q, want %q", got, want)
	}
	wantDisp := `attachment; filename="my-care-record-jane-` + time.Now().In(store.UKZone()).Format("2006-01-02") + `.json"`
	if got := resp.Header.Get("Content-Disposition"); got != wantDisp {
		t.Errorf("Content-Disposition %q, want %q", got, wantDisp)
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", got)
	}
	if got := accessActions(t, db, jane.ID); !slices.Contains(got, "download") {
		t.Errorf("access log %q has no download", got)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var bundle struct {
		ResourceType, Type string
		Entry              []struct {
			Resource struct {
				ResourceType string
				Meta         struct{ Source string }
				Subject      struct{ Reference string }
			}
		}
	}
	if err := json.Unmarshal(body, &bundle); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if bundle.ResourceType != "Bundle" || bundle.Type != "collection" {
		t.Fatalf("a %s of type %q, want a Bundle of type collection", bundle.ResourceType, bundle.Type)
	}
	sources := map[string]bool{}
	for i, e := range bundle.Entry {
		if e.Resource.Meta.Source == "" {
			t.Fatalf("entry %d (%s) has no meta.source", i, e.Resource.ResourceType)
		}
		sources[e.Resource.Meta.Source] = true
	}
	if len(sources) != len(demo.Generate()) {
		t.Errorf("resources from %d sources (%v), want each of the %d demo organisations", len(sources), sources, len(demo.Generate()))
	}

	// Read it back into a fresh database, one source per meta.source, in the
	// order the demo was imported, as any FHIR tool could.
	res, err := fhir.ParseBundle(body)
	if err != nil {
		t.Fatalf("the download does not read back: %v", err)
	}
	bySource := map[string][]fhir.Resource{}
	for _, r := range res {
		var h struct{ Meta struct{ Source string } }
		if err := json.Unmarshal(r.Raw, &h); err != nil {
			t.Fatal(err)
		}
		bySource[h.Meta.Source] = append(bySource[h.Meta.Source], r)
	}
	freshPath := filepath.Join(t.TempDir(), "fresh.db")
	fresh, err := store.Open(ctx, freshPath)
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	for _, src := range demo.Generate() {
		uri := store.Source{Name: src.Name}.URI()
		if _, err := fresh.ImportResources(ctx, store.ImportOptions{Source: src.Name, OrgName: src.OrgName}, "download", bySource[uri]); err != nil {
			t.Fatalf("import %s: %v", uri, err)
		}
	}
	again, err := fresh.PersonByNHSNumber(ctx, jane.NHSNumber)
	if err != nil {
		t.Fatal(err)
	}
	want := recordItems(t, path, jane.NHSNumber)
	if len(want) < 50 {
		t.Fatalf("only %d record items for Jane: the test proves little", len(want))
	}
	sameItems(t, "record items", recordItems(t, freshPath, jane.NHSNumber), want)
	sameItems(t, "entries as the pages show them", recordFacts(t, fresh, again.ID), recordFacts(t, db, jane.ID))
}

func TestWriteBundleCounts(t *testing.T) {
	f := newFixture(t)
	var b strings.Builder
	n, err := f.db.WriteBundle(context.Background(), f.jane.ID, &b)
	if err != nil {
		t.Fatal(err)
	}
	// Jane's Patient and her one medicine.
	if n != 2 {
		t.Fatalf("wrote %d resources, want 2: %s", n, b.String())
	}
	if !json.Valid([]byte(b.String())) {
		t.Fatalf("not valid JSON: %s", b.String())
	}
	if !strings.Contains(b.String(), `"source":"urn:mycarerecord:source:gp"`) {
		t.Fatalf("no meta.source naming the imported files: %s", b.String())
	}
}

func TestPrintRecord(t *testing.T) {
	f := newFixture(t)
	withDemoSources(t, f)
	jane := f.signIn(t, f.jane)
	resp := f.get(t, "/record/print", jane)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	d := doc(t, resp)
	if got := d.Find("h1").Length(); got != 1 {
		t.Errorf("%d h1 elements, want 1", got)
	}
	if got, want := strings.TrimSpace(d.Find("#printed-on").Text()), "Printed on "+time.Now().In(store.UKZone()).Format("2 January 2006"); got != want {
		t.Errorf("printed date %q, want %q", got, want)
	}
	if got, want := d.Find("section.mcr-print-section").Length(), len(fhir.Sections()); got != want {
		t.Errorf("%d sections, want every one of the %d", got, want)
	}
	// Every entry of every section, not a page of them.
	want := recordFacts(t, f.db, f.jane.ID)
	if got := d.Find(".mcr-print-table tbody tr").Length(); got != len(want) {
		t.Errorf("%d rows, want all %d entries", got, len(want))
	}
	// Newest first within a section.
	var dates []string
	for _, sec := range fhir.Sections() {
		sp, _ := f.db.RecordSection(context.Background(), f.jane.ID, sec.Slug, 1, 100000)
		if len(sp.Items) > 1 {
			for _, it := range sp.Items {
				dates = append(dates, it.Date)
			}
			if !slices.IsSortedFunc(dates, func(a, b string) int { return strings.Compare(b, a) }) {
				t.Errorf("%s is not newest first: %v", sec.Slug, dates)
			}
			break
		}
	}
	if text := d.Find("main").Text(); !strings.Contains(text, "Use your browser's print option") || !strings.Contains(text, "Metformin") {
		t.Errorf("print page lacks the print instruction or Jane's Metformin: %.300s", text)
	}
	if got := accessActions(t, f.db, f.jane.ID); !slices.Contains(got, "print") {
		t.Errorf("access log %q has no print", got)
	}
	if s := d.Find("[style], script:not([src])").Length(); s != 0 {
		t.Errorf("%d inline styles or scripts", s)
	}
}

func TestDownloadAndPrintNeedSignIn(t *testing.T) {
	f := newFixture(t)
	for _, path := range []string{"/record/download", "/record/print", "/account"} {
		resp := f.get(t, path, nil)
		if resp.StatusCode != http.StatusSeeOther || !toSignIn(resp.Header.Get("Location")) {
			t.Errorf("%s: %d to %q, want 303 to /signin", path, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}

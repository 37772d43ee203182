package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// bulkSources are two sources' reports about one person: the same metformin
// prescription (one fact, two reports) and an HbA1c result each with its own value.
func bulkSources(t *testing.T) map[string][]fhir.Resource {
	t.Helper()
	const (
		pt  = `{"resourceType":"Patient","id":"p-%[1]s","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}],"name":[{"given":["Bo"],"family":"Bulk"}]}`
		med = `{"resourceType":"MedicationRequest","id":"m-%[1]s","status":"active","medicationCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"325278007","display":"Metformin 500mg tablets"}]},"subject":{"reference":"Patient/p-%[1]s"},"authoredOn":"2024-01-05","dosageInstruction":[{"text":"One tablet twice a day"}]}`
		obs = `{"resourceType":"Observation","id":"o-%[1]s","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"4548-4","display":"HbA1c"}]},"subject":{"reference":"Patient/p-%[1]s"},"effectiveDateTime":"2026-03-01","valueQuantity":{"value":%[2]d,"unit":"mmol/mol"}}`
	)
	out := map[string][]fhir.Resource{}
	for i, src := range []string{"gp", "lth"} {
		for _, raw := range []string{fmt.Sprintf(pt, src), fmt.Sprintf(med, src), fmt.Sprintf(obs, src, 48+i)} {
			r, err := fhir.ParseResource([]byte(raw))
			if err != nil {
				t.Fatal(err)
			}
			out[src] = append(out[src], r)
		}
	}
	return out
}

var bulkOrgs = map[string]string{"gp": "Meanwood Group Practice", "lth": "Leeds Teaching Hospitals"}

// recordSeen is what the person's pages and searches show, in words to compare.
func recordSeen(t *testing.T, db *store.DB) string {
	t.Helper()
	ctx := context.Background()
	p, err := db.PersonByNHSNumber(ctx, "9434765919")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, sec := range []string{"medicines", "results"} {
		sp, err := db.RecordSection(ctx, p.ID, sec, 1, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range sp.Items {
			fmt.Fprintf(&b, "%s: %s %s from %s\n", sec, it.Display, it.Value, it.SourceLabels())
		}
	}
	for _, q := range []string{"metformin", "hba1c", "meanwood", "leeds"} {
		res, err := db.SearchRecord(ctx, p.ID, q, store.SearchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "search %q: %d found", q, res.Total)
		for _, s := range res.Sections {
			for _, it := range s.Items {
				fmt.Fprintf(&b, "; %s: %s %s", s.Section.Slug, it.Display, it.Value)
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// TestBulkLoadFinishes loads the same data as a bulk load left unfinished (as
// when the process is killed before its end), then finishes it in each way
// the portal can: the record then searches and shows one entry per fact
// exactly as an ordinary import leaves it.
func TestBulkLoadFinishes(t *testing.T) {
	ctx := context.Background()
	data := bulkSources(t)
	control := mustOpenDB(t)
	for _, src := range []string{"gp", "lth"} {
		if _, err := control.ImportResources(ctx, store.ImportOptions{Source: src, OrgName: bulkOrgs[src]}, "test", data[src]); err != nil {
			t.Fatal(err)
		}
	}
	want := recordSeen(t, control)
	if !strings.Contains(want, "medicines: Metformin 500mg tablets") || !strings.Contains(want, `search "metformin": 1 found`) ||
		!strings.Contains(want, "Meanwood Group Practice, Leeds Teaching Hospitals") {
		t.Fatalf("the ordinary import does not show what this test expects:\n%s", want)
	}
	fresh := filepath.Join(t.TempDir(), "fresh.db")
	if db, err := store.Open(ctx, fresh); err != nil {
		t.Fatal(err)
	} else {
		db.Close()
	}
	wantIndexes := indexes(t, fresh)
	for _, finish := range []struct {
		name string
		fn   func(t *testing.T, db *store.DB, path string) *store.DB
	}{
		{"FinishBulkLoad", func(t *testing.T, db *store.DB, _ string) *store.DB {
			if err := db.FinishBulkLoad(ctx); err != nil {
				t.Fatal(err)
			}
			return db
		}},
		{"an ordinary import leaves it, until the load has been quiet", func(t *testing.T, db *store.DB, path string) *store.DB {
			clk := &clock{t: time.Now()}
			db.SetClock(clk.now)
			before, beforeIndexes := recordSeen(t, db), indexes(t, path)
			// The other source's report of the prescription comes by an ordinary sync while the load runs.
			if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "lth", OrgName: bulkOrgs["lth"]}, "sync", data["lth"]); err != nil {
				t.Fatal(err)
			}
			if got := recordSeen(t, db); got != before || indexes(t, path) != beforeIndexes {
				t.Errorf("an ordinary import during a bulk load did the load's work:\n%s\nwas:\n%s", got, before)
			}
			for _, tt := range []struct {
				after time.Duration
				want  bool
			}{{store.BulkLoadQuiet - time.Second, false}, {store.BulkLoadQuiet + time.Second, true}} {
				clk.t = time.Now().Add(tt.after)
				if done, err := db.FinishStalledBulkLoad(ctx, true); err != nil || done != tt.want {
					t.Fatalf("FinishStalledBulkLoad after %s quiet = %v, %v; want %v", tt.after, done, err, tt.want)
				}
			}
			if done, err := db.FinishStalledBulkLoad(ctx, true); err != nil || done {
				t.Fatalf("FinishStalledBulkLoad with nothing left = %v, %v; want false", done, err)
			}
			return db
		}},
		{"reopened after a kill, then the load run again", func(t *testing.T, db *store.DB, path string) *store.DB {
			db.Close()
			db, err := store.Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			for _, src := range []string{"gp", "lth"} { // everything is unchanged: nothing is written again
				if _, err := db.ImportBulk(ctx, store.ImportOptions{Source: src, OrgName: bulkOrgs[src]}, "again", store.PrepareAll(data[src])); err != nil {
					t.Fatal(err)
				}
			}
			if err := db.FinishBulkLoad(ctx); err != nil {
				t.Fatal(err)
			}
			return db
		}},
	} {
		t.Run(finish.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "portal.db")
			db, err := store.Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			for _, src := range []string{"gp", "lth"} {
				if _, err := db.ImportBulk(ctx, store.ImportOptions{Source: src, OrgName: bulkOrgs[src]}, "bulk", store.PrepareAll(data[src])); err != nil {
					t.Fatal(err)
				}
			}
			if got := recordSeen(t, db); got == want {
				t.Fatalf("an unfinished bulk load already shows the finished record; the test proves nothing:\n%s", got)
			}
			if got := indexes(t, path); got == wantIndexes {
				t.Fatalf("a bulk load into an empty cache kept every index:\n%s", got)
			}
			db = finish.fn(t, db, path)
			if got := recordSeen(t, db); got != want {
				t.Errorf("after the bulk load:\n%s\nafter an ordinary import:\n%s", got, want)
			}
			if got := indexes(t, path); got != wantIndexes {
				t.Errorf("indexes after the bulk load:\n%s\nwant, as the migrations make them:\n%s", got, wantIndexes)
			}
		})
	}
}

// indexes lists the SQL of every index in the database file at path.
func indexes(t *testing.T, path string) string {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+store.URIPath(path)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name, COALESCE(sql, '') FROM sqlite_master WHERE type = 'index' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s: %s\n", name, def)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestBulkLoadKeepsIndexesOfAFullCache checks that a bulk load into a cache
// that already holds record items keeps every index, so the pages people are
// using stay quick while it runs.
func TestBulkLoadKeepsIndexesOfAFullCache(t *testing.T) {
	ctx := context.Background()
	data := bulkSources(t)
	db, path := mustOpenDBFile(t)
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "gp", OrgName: bulkOrgs["gp"]}, "test", data["gp"]); err != nil {
		t.Fatal(err)
	}
	want := indexes(t, path)
	if !strings.Contains(want, "record_items_person:") {
		t.Fatalf("no record_items_person index to keep:\n%s", want)
	}
	if _, err := db.ImportBulk(ctx, store.ImportOptions{Source: "lth", OrgName: bulkOrgs["lth"]}, "bulk", store.PrepareAll(data["lth"])); err != nil {
		t.Fatal(err)
	}
	if got := indexes(t, path); got != want {
		t.Errorf("indexes during a bulk load into a full cache:\n%s\nwant:\n%s", got, want)
	}
}

// TestBulkLoadThenChanges checks that the search index follows changes made
// after a bulk load's backlog is indexed: an updated resource is found by its
// new words only.
func TestBulkLoadThenChanges(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	data := bulkSources(t)
	if _, err := db.ImportBulk(ctx, store.ImportOptions{Source: "gp", OrgName: bulkOrgs["gp"]}, "bulk", store.PrepareAll(data["gp"])); err != nil {
		t.Fatal(err)
	}
	if err := db.FinishBulkLoad(ctx); err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(data["gp"][1].Raw), "Metformin 500mg tablets", "Gliclazide 40mg tablets", 1)
	r, err := fhir.ParseResource([]byte(changed))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "gp"}, "update", []fhir.Resource{r}); err != nil {
		t.Fatal(err)
	}
	p, err := db.PersonByNHSNumber(ctx, "9434765919")
	if err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string]int{"metformin": 0, "gliclazide": 1, "hba1c": 1} {
		res, err := db.SearchRecord(ctx, p.ID, q, store.SearchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Total != want {
			t.Errorf("search %q: got %d, want %d", q, res.Total, want)
		}
	}
}

// TestBulkBatchWithRejectsStaysInTheLoad checks that a bulk load's batch with
// a line that could not be read (stored through ApplyPage, with its rejects)
// leaves the load's deferred work for its end, rather than building every
// deferred index and the whole backlog half way through.
func TestBulkBatchWithRejectsStaysInTheLoad(t *testing.T) {
	ctx := context.Background()
	data := bulkSources(t)
	db, path := mustOpenDBFile(t)
	if _, err := db.ImportBulk(ctx, store.ImportOptions{Source: "gp", OrgName: bulkOrgs["gp"]}, "bulk", store.PrepareAll(data["gp"])); err != nil {
		t.Fatal(err)
	}
	deferred := indexes(t, path)
	if strings.Contains(deferred, "record_items_person:") {
		t.Fatalf("a bulk load into an empty cache kept its page indexes; the test proves nothing:\n%s", deferred)
	}
	if _, err := db.ApplyPage(ctx, store.PageUpdate{Source: "lth", Origin: "bulk lines 1-3", Resources: data["lth"], Bulk: true,
		Rejected: []store.Rejected{{Type: "Observation", Error: "line 2: invalid JSON"}}}); err != nil {
		t.Fatal(err)
	}
	if got := indexes(t, path); got != deferred {
		t.Errorf("a bulk batch with a rejected line built deferred indexes half way through the load:\n%s", got)
	}
	if err := db.FinishBulkLoad(ctx); err != nil {
		t.Fatal(err)
	}
	if got := indexes(t, path); !strings.Contains(got, "record_items_person:") {
		t.Errorf("FinishBulkLoad did not build the deferred indexes:\n%s", got)
	}
}

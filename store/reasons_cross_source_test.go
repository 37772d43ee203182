package store_test

import (
	"context"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// A hospital's report whose results name the GP's kept-out pregnancy test by
// its address at the GP's server is kept out of a carer's pages with it, as
// one from the GP itself is, however the GP's address is written; another
// server's Observation of the same id keeps nothing out (a review: the pages
// showed such a report, only its download being masked).
func TestAReportNamingAnotherSourcesKeptOutEntry(t *testing.T) {
	report := func(ref string) string {
		return `{"resourceType":"DiagnosticReport","id":"r1","status":"final","subject":{"reference":"Patient/%[1]s"},"code":{"text":"Urine tests"},` +
			`"effectiveDateTime":"2025-03-01","result":[{"reference":"` + ref + `","display":"Pregnancy test: Positive"}]}`
	}
	for _, tc := range []struct {
		name, hospital, ref string
		shown               int
	}{
		{"at the GP's address as written", "https://hospital.example.org/fhir", "https://gp.example.org/fhir/Observation/o1", 0},
		{"the host in capitals, over http", "https://hospital.example.org/fhir", "http://GP.example.org/fhir/Observation/o1", 0},
		{"versioned", "https://hospital.example.org/fhir", "https://gp.example.org/fhir/Observation/o1/_history/2", 0},
		{"from a file the hospital sent", "", "https://gp.example.org/fhir/Observation/o1", 0},
		{"another server's Observation/o1", "https://hospital.example.org/fhir", "https://lab.example.org/fhir/Observation/o1", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := mustOpenDB(t)
			ctx := context.Background()
			if _, err := db.AddSource(ctx, store.Source{Name: "gp", BaseURL: "https://gp.example.org/fhir"}); err != nil {
				t.Fatal(err)
			}
			if tc.hospital != "" {
				if _, err := db.AddSource(ctx, store.Source{Name: "hospital", BaseURL: tc.hospital}); err != nil {
					t.Fatal(err)
				}
			}
			p := importSources(t, db, []string{"gp", refPregnancyTest}, []string{"hospital", report(tc.ref)})
			keepOutEntryNamed(t, db, p, fhir.SectionResults, "Pregnancy test")
			if got := shownIn(t, store.ForCarer(ctx, fhir.SectionResults), db, p, fhir.SectionResults); len(got) != tc.shown {
				t.Errorf("a carer's results: %q; want %d", got, tc.shown)
			}
			if leaks := carerDownloadHolds(t, db, p, "Pregnancy"); tc.shown == 0 && len(leaks) != 0 {
				t.Errorf("a carer's download names the kept-out test in: %q", leaks)
			}
		})
	}
	// Stored before: migration 0059 keys the references already stored, at once.
	t.Run("stored before the migration", func(t *testing.T) {
		db, path := mustOpenDBFile(t)
		ctx := context.Background()
		for _, s := range []store.Source{{Name: "gp", BaseURL: "https://gp.example.org/fhir"}, {Name: "hospital", BaseURL: "https://hospital.example.org/fhir"}} {
			if _, err := db.AddSource(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		p := importSources(t, db, []string{"gp", refPregnancyTest}, []string{"hospital", report("https://GP.example.org/fhir/Observation/o1")})
		keepOutEntryNamed(t, db, p, fhir.SectionResults, "Pregnancy test")
		db = reopenWith(t, db, path, `DELETE FROM record_item_reasons WHERE system = 'xref'`)
		if got := shownIn(t, store.ForCarer(ctx, fhir.SectionResults), db, p, fhir.SectionResults); len(got) != 1 {
			t.Fatalf("without the keys, a carer's results: %q; want the report, as before 0059", got)
		}
		db = rerunMigration(t, db, path, 59)
		if got := shownIn(t, store.ForCarer(ctx, fhir.SectionResults), db, p, fhir.SectionResults); len(got) != 0 {
			t.Errorf("after migration 0059, a carer's results: %q; want none", got)
		}
	})
}

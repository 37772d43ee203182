package store

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/mycarerecord/portal/store/fhir"
)

// TestFinishBacklogInParts finishes a bulk load a few persons and items per
// transaction, as FinishBulkLoad does at scale, and checks that the parts add
// up: every item indexed once, every duplicate marked, nothing left noted.
func TestFinishBacklogInParts(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "portal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, src := range []string{"gp", "lth"} {
		var res []fhir.Resource
		for p := range 5 {
			for _, raw := range []string{
				fmt.Sprintf(`{"resourceType":"Patient","id":"p%d","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"%s"}]}`, p, testNHS(p)),
				fmt.Sprintf(`{"resourceType":"Observation","id":"o%d","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"4548-4","display":"HbA1c"}]},"subject":{"reference":"Patient/p%d"},"effectiveDateTime":"2026-03-01","valueQuantity":{"value":48,"unit":"mmol/mol"}}`, p, p),
			} {
				r, err := fhir.ParseResource([]byte(raw))
				if err != nil {
					t.Fatal(err)
				}
				res = append(res, r)
			}
		}
		if _, err := db.ImportBulk(ctx, ImportOptions{Source: src}, "bulk", PrepareAll(res)); err != nil {
			t.Fatal(err)
		}
	}
	parts := 0
	for more := true; more; parts++ {
		if err := db.tx(ctx, func(tx *sql.Tx) error {
			var err error
			more, err = finishBacklog(ctx, tx, 2, 3)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	if parts < 5 {
		t.Errorf("finished in %d parts; the limits should have made more", parts)
	}
	count := func(q string, args ...any) int {
		var n int
		if err := db.db.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(`SELECT (SELECT COUNT(*) FROM search_backlog) + (SELECT COUNT(*) FROM dedup_backlog)`); n != 0 {
		t.Errorf("%d notes left", n)
	}
	if got, want := count(`SELECT COUNT(*) FROM record_items WHERE dup = 1`), 5; got != want {
		t.Errorf("%d items marked dup, want %d (one of each person's two reports)", got, want)
	}
	for p := range 5 {
		var person int64
		if err := db.db.QueryRowContext(ctx, `SELECT id FROM persons WHERE nhs_number = ?`, testNHS(p)).Scan(&person); err != nil {
			t.Fatal(err)
		}
		// Each fact is in the index once, as its entry, with the other source's words.
		if got := count(`SELECT COUNT(*) FROM record_search WHERE record_search MATCH ?`, fmt.Sprintf(`scope : "0p%dv" AND hba1c`, person)); got != 1 {
			t.Errorf("person %d: %d entries found, want 1", p, got)
		}
		if got := count(`SELECT COUNT(*) FROM record_search WHERE record_search MATCH ?`, fmt.Sprintf(`scope : "0p%dv" AND others : (gp OR lth)`, person)); got != 1 {
			t.Errorf("person %d: %d entries found by the other source's name, want 1", p, got)
		}
	}
}

// testNHS is a valid NHS number of its own for each p from 0 to 9.
func testNHS(p int) string {
	for k := 0; ; k++ {
		if n, ok := fhir.NHSNumberFrom(fmt.Sprintf("9434765%d%d", p, k)); ok {
			return n
		}
	}
}

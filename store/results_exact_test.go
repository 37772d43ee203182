package store

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store/demo"
	"github.com/mycarerecord/portal/store/fhir"
)

// TestExactKeptThreeWays proves the results pages read the same numbers,
// ranges and flags whichever way a result's numbers were kept: as the import
// keeps them, as migration 0008 fills them in for results stored before it,
// and not at all (read from the resource).
func TestExactKeptThreeWays(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "portal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, src := range append(demo.Generate(), demo.Large(1500)) {
		res, err := fhir.ParseBundle(src.Bundle)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ImportResources(ctx, ImportOptions{Source: src.Name, OrgName: src.OrgName}, src.Name, res); err != nil {
			t.Fatal(err)
		}
	}
	var persons []int64
	rows, err := db.db.QueryContext(ctx, `SELECT DISTINCT person_id FROM record_items WHERE section = ? AND person_id IS NOT NULL`, fhir.SectionResults)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		persons = append(persons, id)
	}
	rows.Close()
	if len(persons) < 2 {
		t.Fatalf("results for %d people", len(persons))
	}
	type page struct {
		Tests  []ResultTest
		Trends []Trend
	}
	read := func() page {
		var p page
		for _, id := range persons {
			tests, err := db.ResultTests(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			p.Tests = append(p.Tests, tests...)
			for _, rt := range tests {
				for _, n := range []int{1, 2} {
					tr, err := db.ResultTrend(ctx, id, rt.Key, n, 10)
					if ErrorCode(err) == ENOTFOUND {
						continue
					}
					if err != nil {
						t.Fatal(err)
					}
					p.Trends = append(p.Trends, tr)
				}
			}
		}
		return p
	}
	var kept int
	if err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM record_items WHERE exact LIKE 'm1%'`).Scan(&kept); err != nil || kept < 1000 {
		t.Fatalf("%d results kept their numbers (%v)", kept, err)
	}
	imported := read()
	measured := 0
	for _, tr := range imported.Trends {
		for _, r := range tr.Results {
			if r.Exact && len(r.Measures) > 0 && r.Measures[0].Range.Known() {
				measured++
			}
		}
	}
	if measured < 100 {
		t.Fatalf("only %d results read with a range", measured)
	}

	body, err := migrations.ReadFile("migrations/0008_result_values.sql")
	if err != nil {
		t.Fatal(err)
	}
	_, update, ok := strings.Cut(string(body), "ADD COLUMN exact TEXT;")
	if !ok {
		t.Fatal("migration 0008 has changed: update this test")
	}
	if _, err := db.db.ExecContext(ctx, update); err != nil {
		t.Fatal(err)
	}
	if err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM record_items WHERE exact LIKE '[%'`).Scan(&kept); err != nil || kept < 1000 {
		t.Fatalf("the migration filled in %d results (%v)", kept, err)
	}
	if migrated := read(); !reflect.DeepEqual(migrated, imported) {
		t.Error("results read after the migration differ from those read after an import")
	}

	if _, err := db.db.ExecContext(ctx, `UPDATE record_items SET exact = NULL`); err != nil {
		t.Fatal(err)
	}
	if fromResources := read(); !reflect.DeepEqual(fromResources, imported) {
		t.Error("results read from the resources differ from those read after an import")
	}
}

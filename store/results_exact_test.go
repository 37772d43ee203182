package store

import (
	"context"
	"maps"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

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

// TestSeriesReadLikeTheLastRow proves that reading a value by comparing it
// with the last row's names and units gives the same points as reading it
// alone, whatever the values in between look like.
func TestSeriesReadLikeTheLastRow(t *testing.T) {
	values := []string{
		"Systolic blood pressure: 128 mm[Hg]; Diastolic blood pressure: 82 mm[Hg]",
		"Systolic blood pressure: 131 mm[Hg]; Diastolic blood pressure: 79.5 mm[Hg]",
		"Systolic blood pressure: <90 mm[Hg]; Diastolic blood pressure: 60 mm[Hg]",
		"Systolic blood pressure: 120 mm[Hg]",
		"Systolic blood pressure: 121 mm[Hg]; Diastolic blood pressure: 70 mm[Hg]; Pulse: 60 /min",
		"Systolic blood pressure: Foo: 5 mm[Hg]",
		"Systolic blood pressure:  122 mm[Hg]; Diastolic blood pressure: 71 mm[Hg] ",
		"Systolic blood pressure: 123 mm[Hg]; Diastolic blood pressure: 72 mm[Hg]",
		"Systolic blood pressure: 124 mmHg; Diastolic blood pressure: 73 mm[Hg]",
		"Systolic blood pressure: Inf mm[Hg]; Diastolic blood pressure: 74 mm[Hg]",
		"Systolic blood pressure: 1e2 mm[Hg]; Diastolic blood pressure: -1 mm[Hg]",
		"48 mmol/mol", "49 mmol/mol", " 50 mmol/mol", ">51 mmol/mol", "52 mmol/mol ", "53", "54 mmol/mol", "55:1 mmol/mol", "56  mmol/mol", "Positive",
	}
	var rows []lightRow
	for i, v := range values {
		rows = append(rows, lightRow{date: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, -i).Format(time.RFC3339), value: v})
	}
	lookup := func(rw lightRow) (Result, error) { return newResult(RecordItem{Date: rw.date, Value: rw.value}), nil }
	points := func(rows []lightRow) map[string]float64 {
		series, _, err := buildSeries(rows, lookup)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]float64{}
		for _, s := range series {
			for _, p := range s.Points {
				out[s.Name+"|"+s.Unit+"|"+p.Date.Format(time.RFC3339)] = p.Value
			}
		}
		return out
	}
	got, want := points(rows), map[string]float64{}
	for _, rw := range rows {
		maps.Copy(want, points([]lightRow{rw}))
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read together:\n%v\nread alone:\n%v", got, want)
	}
	if len(got) < 20 {
		t.Errorf("only %d points: %v", len(got), got)
	}
}

package store_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/demo"
	"github.com/mycarerecord/portal/store/fhir"
)

// demoJane loads the demo sources as `portal serve --demo` does and returns
// Mrs Jane Example, whose GP and hospital both report some of her medicines.
func demoJane(t *testing.T) (*store.DB, store.Person) {
	t.Helper()
	ctx := context.Background()
	db := mustOpenDB(t)
	for _, src := range demo.Generate() {
		res, err := fhir.ParseBundle(src.Bundle)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ImportResources(ctx, store.ImportOptions{Source: src.Name, OrgName: src.OrgName}, "demo "+src.Name, res); err != nil {
			t.Fatal(err)
		}
	}
	jane, err := db.PersonByNHSNumber(ctx, demo.People()[0].NHSNumber)
	if err != nil {
		t.Fatal(err)
	}
	return db, jane
}

func day(date string) string {
	if len(date) > 10 {
		return date[:10]
	}
	return date
}

// TestSummaryMedicinesAreTheSectionsEntries: each current medicine on the
// summary is the entry the medicines page lists for it, with the same date
// and organisation, and no entry listed of it is newer. The hospital
// prescribed paracetamol in 2024 at the dose the GP prescribed in 2020: one
// fact (the same medicine and dose), for which the GP's report stands. The
// summary showed the hospital's report (item 171, 2024, Dr Tom Reid) while
// the medicines page listed the GP's (item 12, 2020, Mr Daniel Nwosu).
func TestSummaryMedicinesAreTheSectionsEntries(t *testing.T) {
	ctx := context.Background()
	db, jane := demoJane(t)
	sum, err := db.RecordSummary(ctx, jane.ID)
	if err != nil {
		t.Fatal(err)
	}
	sec, err := db.RecordSection(ctx, jane.ID, fhir.SectionMedicines, 1, 100)
	if err != nil {
		t.Fatal(err)
	}
	listed := map[int64]store.RecordItem{}
	for _, it := range sec.Items {
		listed[it.ID] = it
	}
	onSummary := map[string]store.RecordItem{}
	for _, it := range sum.Medicines {
		onSummary[it.Display] = it
	}
	for _, tt := range []struct {
		medicine string
		date     string // of the entry standing for the medicine
		from     string // the organisation whose entry it is
		sources  int    // organisations named
		newest   string // the newest report of it, any organisation's, on the entry's page
	}{
		{"Paracetamol 500mg tablets", "2020-01-01", "Meanwood Group Practice", 2, "2024-02-10"},
		{"Atorvastatin 20mg tablets", "2026-09-05", "Meanwood Group Practice", 1, "2026-09-05"},
		{"Metformin 500mg tablets", "2026-09-05", "Meanwood Group Practice", 2, "2026-09-05"},
		{"Ramipril 5mg capsules", "2026-09-05", "Meanwood Group Practice", 2, "2026-09-05"},
	} {
		t.Run(tt.medicine, func(t *testing.T) {
			got, ok := onSummary[tt.medicine]
			if !ok {
				t.Fatalf("not among the summary's current medicines %v", names(sum.Medicines))
			}
			if day(got.Date) != tt.date || got.Source.OrgName != tt.from || len(got.Sources) != tt.sources {
				t.Errorf("summary: %s from %s naming %d organisations, want %s from %s naming %d",
					day(got.Date), got.Source.OrgName, len(got.Sources), tt.date, tt.from, tt.sources)
			}
			entry, ok := listed[got.ID]
			if !ok {
				t.Fatalf("the summary's entry (item %d, %s, %s) is not on the medicines page", got.ID, day(got.Date), got.Source.OrgName)
			}
			if entry.Date != got.Date || entry.Source.ID != got.Source.ID || entry.Status != got.Status || entry.PrescribedSince {
				t.Errorf("medicines page: %s from %s, %s (prescribed again since %v); summary: %s from %s, %s",
					entry.Date, entry.Source.OrgName, entry.Status, entry.PrescribedSince, got.Date, got.Source.OrgName, got.Status)
			}
			for _, it := range sec.Items {
				if it.Display == tt.medicine && it.Date > got.Date {
					t.Errorf("the medicines page lists a newer entry (%s) than the summary's (%s)", it.Date, got.Date)
				}
			}
			e, err := db.RecordEntry(ctx, jane.ID, got.ID)
			if err != nil {
				t.Fatal(err)
			}
			newest := ""
			for _, r := range e.Reports {
				newest = max(newest, day(r.Item.Date))
			}
			if newest != tt.newest {
				t.Errorf("the newest report on the entry's page is of %s, want %s", newest, tt.newest)
			}
		})
	}
}

// TestSummaryMedicineStandsAsNewest: which source's reports stand for a
// medicine reported by two, and so which entry the medicines page lists and
// the summary shows: the standing source's latest report never says other
// than the latest of all, so the page never shows a medicine as it no longer
// is, behind an entry the summary does not show.
func TestSummaryMedicineStandsAsNewest(t *testing.T) {
	med := func(id, pt, status, when string) string {
		return `{"resourceType":"MedicationRequest","id":"` + id + `","status":"` + status + `","intent":"order","subject":{"reference":"Patient/` + pt + `"},` +
			`"medicationCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"319733000","display":"Warfarin 1mg tablets"}]},` +
			`"authoredOn":"` + when + `","dosageInstruction":[{"text":"As directed"}]}`
	}
	type rx struct{ id, status, when string }
	for _, tt := range []struct {
		name     string
		gp, lth  []rx
		listed   string // the medicines page's entries, newest first
		summary  string // the summary's current medicines
		standing string // the entry's reports, the standing one first
	}{
		{"the hospital's course ended, the GP prescribed it again",
			[]rx{{"g1", "active", "2025-01-01"}}, []rx{{"h1", "completed", "2023-01-01"}, {"h2", "completed", "2023-06-01"}},
			"g1 active", "g1", "g1 h1 h2"},
		{"the hospital reported the GP's prescription later, as it is",
			[]rx{{"g1", "active", "2024-01-05"}}, []rx{{"h1", "active", "2024-02-11"}},
			"g1 active", "g1", "g1 h1"},
		{"the GP's repeat prescriptions, the hospital's later one as they are",
			[]rx{{"g1", "active", "2023-01-01"}, {"g2", "active", "2024-01-01"}}, []rx{{"h1", "active", "2025-01-01"}},
			"g2 active|g1 active", "g2", "g2 h1"},
		{"the hospital stopped it after the GP's",
			[]rx{{"g1", "active", "2023-01-01"}, {"g2", "active", "2024-01-01"}}, []rx{{"h1", "stopped", "2025-01-01"}},
			"h1 stopped", "", "h1 g1 g2"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			db := mustOpenDB(t)
			for _, src := range []struct {
				name string
				rxs  []rx
			}{{"gp", tt.gp}, {"lth", tt.lth}} {
				raws := []string{`{"resourceType":"Patient","id":"p-` + src.name + `","identifier":[{"system":"` + fhir.NHSNumberSystem + `","value":"9434765919"}]}`}
				for _, r := range src.rxs {
					raws = append(raws, med(r.id, "p-"+src.name, r.status, r.when))
				}
				if _, err := db.ImportResources(ctx, store.ImportOptions{Source: src.name}, "test", parsed(t, raws...)); err != nil {
					t.Fatal(err)
				}
			}
			p, err := db.PersonByNHSNumber(ctx, "9434765919")
			if err != nil {
				t.Fatal(err)
			}
			sec, err := db.RecordSection(ctx, p.ID, fhir.SectionMedicines, 1, 10)
			if err != nil {
				t.Fatal(err)
			}
			var listed []string
			for _, it := range sec.Items {
				listed = append(listed, it.ResourceID+" "+it.Status)
			}
			if got := strings.Join(listed, "|"); got != tt.listed {
				t.Errorf("medicines page %q, want %q", got, tt.listed)
			}
			sum, err := db.RecordSummary(ctx, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			var current []string
			for _, it := range sum.Medicines {
				current = append(current, it.ResourceID)
				if !slices.ContainsFunc(sec.Items, func(x store.RecordItem) bool { return x.ID == it.ID }) {
					t.Errorf("the summary's %s is not on the medicines page", it.ResourceID)
				}
			}
			if got := strings.Join(current, " "); got != tt.summary {
				t.Errorf("current medicines %q, want %q", got, tt.summary)
			}
			e, err := db.RecordEntry(ctx, p.ID, sec.Items[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			var reports []string
			for _, r := range e.Reports {
				reports = append(reports, r.Item.ResourceID)
			}
			if got := strings.Join(reports, " "); got != tt.standing {
				t.Errorf("the newest entry's reports %q, want %q", got, tt.standing)
			}
		})
	}
}

// TestEntryReportsAreOfItsOwnFact: an entry's reports are other
// organisations' reports of its fact, never another entry the medicines page
// lists on its own: the GP's 2013 atorvastatin prescription, listed with
// "Prescribed again since", was shown on the 2026 prescription's page as a
// second "organisation's record of this".
func TestEntryReportsAreOfItsOwnFact(t *testing.T) {
	ctx := context.Background()
	db, jane := demoJane(t)
	sec, err := db.RecordSection(ctx, jane.ID, fhir.SectionMedicines, 1, 100)
	if err != nil {
		t.Fatal(err)
	}
	byWhen := map[string]store.RecordItem{}
	for _, it := range sec.Items {
		byWhen[it.Display+" "+day(it.Date)] = it
	}
	for _, tt := range []struct {
		entry   string
		reports []string // organisation and date of each report, the entry's own first
	}{
		{"Atorvastatin 20mg tablets 2026-09-05", []string{"Meanwood Group Practice 2026-09-05"}},
		{"Atorvastatin 20mg tablets 2013-03-01", []string{"Meanwood Group Practice 2013-03-01"}},
		{"Metformin 500mg tablets 2012-10-01", []string{"Meanwood Group Practice 2012-10-01", "Leeds Teaching Hospitals NHS Trust 2012-10-01"}},
		{"Metformin 500mg tablets 2026-09-05", []string{"Meanwood Group Practice 2026-09-05", "Leeds Teaching Hospitals NHS Trust 2012-10-01"}},
		{"Paracetamol 500mg tablets 2020-01-01", []string{"Meanwood Group Practice 2020-01-01", "Leeds Teaching Hospitals NHS Trust 2024-02-10"}},
	} {
		t.Run(tt.entry, func(t *testing.T) {
			it, ok := byWhen[tt.entry]
			if !ok {
				t.Fatalf("not on the medicines page: %v", names(sec.Items))
			}
			e, err := db.RecordEntry(ctx, jane.ID, it.ID)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range e.Reports {
				got = append(got, r.Item.Source.OrgName+" "+day(r.Item.Date))
				if r.Item.ID != it.ID && slices.ContainsFunc(sec.Items, func(x store.RecordItem) bool { return x.ID == r.Item.ID }) {
					t.Errorf("report %d (%s) is an entry of its own on the medicines page", r.Item.ID, day(r.Item.Date))
				}
			}
			if !slices.Equal(got, tt.reports) {
				t.Errorf("reports %q, want %q", got, tt.reports)
			}
			if len(e.Item.Sources) != len(tt.reports) {
				t.Errorf("the entry names %d organisations, want %d", len(e.Item.Sources), len(tt.reports))
			}
		})
	}
}

// TestSummaryResultsOneEachTest: "Recent test results" holds the latest
// result of each test, newest first: Jane's weight and blood pressure, taken
// at every review, filled it twice each and left out her HbA1c.
func TestSummaryResultsOneEachTest(t *testing.T) {
	ctx := context.Background()
	db, jane := demoJane(t)
	sum, err := db.RecordSummary(ctx, jane.ID)
	if err != nil {
		t.Fatal(err)
	}
	tests, err := db.ResultTests(ctx, jane.ID)
	if err != nil {
		t.Fatal(err)
	}
	latest := map[string]string{} // test → date of its latest result
	for _, tt := range tests {
		latest[tt.Key] = tt.Latest.Item.Date
	}
	var got []string
	seen := map[string]bool{}
	for i, it := range sum.RecentResults {
		key := store.TestKey(it.CodeSystem, it.Code, it.Display)
		got = append(got, it.Code)
		if seen[key] {
			t.Errorf("%s (%s) is shown twice", it.Display, key)
		}
		seen[key] = true
		if it.Date != latest[key] {
			t.Errorf("%s of %s is not its latest result (%s)", it.Display, it.Date, latest[key])
		}
		if i > 0 && it.Date > sum.RecentResults[i-1].Date {
			t.Errorf("%s (%s) comes after an older result", it.Display, it.Date)
		}
	}
	// Weight, blood pressure, cholesterol, eGFR and HbA1c; the two on one morning in either order.
	want := []string{"29463-7", "85354-9", "14647-2", "62238-1", "59261-8"}
	if g := slices.Clone(got); len(g) != 5 || !slices.Equal(slices.Sorted(slices.Values(g)), slices.Sorted(slices.Values(want))) ||
		!slices.Equal(g[:2], want[:2]) && !slices.Equal(g[:2], []string{want[1], want[0]}) || g[4] != want[4] {
		t.Errorf("recent results by code %q, want %q", got, want)
	}
}

func names(items []store.RecordItem) string {
	var out []string
	for _, it := range items {
		out = append(out, it.Display+" "+day(it.Date))
	}
	return strings.Join(out, "; ")
}

package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
	"github.com/mycarerecord/portal/store/fhirsync"
)

// two imports the same patient at a GP and a hospital, each with one resource,
// and returns the entries of the section.
func two(t *testing.T, section, gp, hospital string) []store.RecordItem {
	t.Helper()
	ctx := context.Background()
	db := mustOpenDB(t)
	pt := func(id string) fhir.Resource {
		raw := fmt.Sprintf(`{"resourceType":"Patient","id":%q,"identifier":[{"system":%q,"value":"9434765919"}]}`, id, fhir.NHSNumberSystem)
		return fhir.Resource{Type: "Patient", ID: id, Raw: []byte(raw)}
	}
	for _, src := range []struct{ name, org, res string }{{"gp", "Meanwood Group Practice", gp}, {"lth", "Leeds Teaching Hospitals", hospital}} {
		if src.res == "" {
			continue
		}
		r, err := fhir.ParseResource([]byte(src.res))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ImportResources(ctx, store.ImportOptions{Source: src.name, OrgName: src.org}, "test", []fhir.Resource{pt("p-" + src.name), r}); err != nil {
			t.Fatal(err)
		}
	}
	p, err := db.PersonByNHSNumber(ctx, "9434765919")
	if err != nil {
		t.Fatal(err)
	}
	sp, err := db.RecordSection(ctx, p.ID, section, 1, 100)
	if err != nil {
		t.Fatal(err)
	}
	if sp.Total != len(sp.Items) {
		t.Fatalf("total %d but %d entries", sp.Total, len(sp.Items))
	}
	return sp.Items
}

func TestOneEntryPerFact(t *testing.T) {
	const (
		hba1c   = `{"resourceType":"Observation","id":"%s","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"4548-4","display":"HbA1c"}]},"subject":{"reference":"Patient/p-%s"},"effectiveDateTime":"%s","valueQuantity":{"value":%s,"unit":"mmol/mol"}}`
		allergy = `{"resourceType":"AllergyIntolerance","id":"%s","code":{"coding":[{"system":"%s","code":"764146007","display":"Penicillin"}]},"patient":{"reference":"Patient/p-%s"},"recordedDate":"%s"}`
		med     = `{"resourceType":"MedicationRequest","id":"%s","status":"active","medicationCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"325278007","display":"Metformin 500mg tablets"}]},"subject":{"reference":"Patient/p-%s"},"authoredOn":"%s","dosageInstruction":[{"text":"%s"}]}`
		snomed  = "http://snomed.info/sct"
	)
	tests := []struct {
		name        string
		section     string
		gp, lth     string
		wantEntries int
	}{
		{"same result, same day, other time: one entry", "results",
			fmt.Sprintf(hba1c, "o1", "gp", "2026-03-01T09:00:00Z", "48"), fmt.Sprintf(hba1c, "o2", "lth", "2026-03-01T14:30:00Z", "48"), 1},
		{"same result at one time, in UTC and in summer time: one entry", "results",
			fmt.Sprintf(hba1c, "o1", "gp", "2026-06-01T23:30:00Z", "48"), fmt.Sprintf(hba1c, "o2", "lth", "2026-06-02T00:30:00+01:00", "48"), 1},
		{"same result written 5.0 and 5: one entry", "results",
			fmt.Sprintf(hba1c, "o1", "gp", "2026-03-01T09:00:00Z", "48.0"), fmt.Sprintf(hba1c, "o2", "lth", "2026-03-01T09:00:00Z", "48"), 1},
		{"same test, different value: two", "results",
			fmt.Sprintf(hba1c, "o1", "gp", "2026-03-01T09:00:00Z", "48"), fmt.Sprintf(hba1c, "o2", "lth", "2026-03-01T09:00:00Z", "53"), 2},
		{"same test and value, another day: two", "results",
			fmt.Sprintf(hba1c, "o1", "gp", "2026-03-01", "48"), fmt.Sprintf(hba1c, "o2", "lth", "2026-03-02", "48"), 2},
		{"same allergy recorded years apart: one", "allergies",
			fmt.Sprintf(allergy, "a1", snomed, "gp", "2019-04-02"), fmt.Sprintf(allergy, "a2", snomed, "lth", "2024-11-20"), 1},
		{"same code in another code system: two", "allergies",
			fmt.Sprintf(allergy, "a1", snomed, "gp", "2019-04-02"), fmt.Sprintf(allergy, "a2", "http://example.org/local-codes", "lth", "2019-04-02"), 2},
		{"same medicine and dose: one", "medicines",
			fmt.Sprintf(med, "m1", "gp", "2024-01-05", "One tablet twice a day"), fmt.Sprintf(med, "m2", "lth", "2024-02-11", "One  tablet twice a day"), 1},
		{"same medicine, other dose: two", "medicines",
			fmt.Sprintf(med, "m1", "gp", "2024-01-05", "One tablet twice a day"), fmt.Sprintf(med, "m2", "lth", "2024-01-05", "Two tablets twice a day"), 2},
		{"one source only: one", "medicines", fmt.Sprintf(med, "m1", "gp", "2024-01-05", "One tablet twice a day"), "", 1},
		// Neither words nor a code: nothing says the two are one fact.
		{"two conditions not named: two", "conditions",
			`{"resourceType":"Condition","id":"c1","subject":{"reference":"Patient/p-gp"},"recordedDate":"2024-01-05"}`,
			`{"resourceType":"Condition","id":"c2","subject":{"reference":"Patient/p-lth"},"recordedDate":"2024-01-05"}`, 2},
		{"two medicines not named, same dose: two", "medicines",
			`{"resourceType":"MedicationRequest","id":"m1","status":"active","subject":{"reference":"Patient/p-gp"},"authoredOn":"2024-01-05","dosageInstruction":[{"text":"One tablet daily"}]}`,
			`{"resourceType":"MedicationRequest","id":"m2","status":"active","subject":{"reference":"Patient/p-lth"},"authoredOn":"2024-01-05","dosageInstruction":[{"text":"One tablet daily"}]}`, 2},
		{"two medicines named only by another server's Medication: two", "medicines",
			`{"resourceType":"MedicationRequest","id":"m1","status":"active","medicationReference":{"reference":"https://other.example/fhir/Medication/x"},"subject":{"reference":"Patient/p-gp"},"authoredOn":"2024-01-05","dosageInstruction":[{"text":"One tablet daily"}]}`,
			`{"resourceType":"MedicationRequest","id":"m2","status":"active","medicationReference":{"reference":"https://other.example/fhir/Medication/y"},"subject":{"reference":"Patient/p-lth"},"authoredOn":"2024-01-05","dosageInstruction":[{"text":"One tablet daily"}]}`, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items := two(t, tt.section, tt.gp, tt.lth)
			if len(items) != tt.wantEntries {
				t.Fatalf("got %d entries, want %d", len(items), tt.wantEntries)
			}
			if tt.wantEntries == 1 && tt.lth != "" {
				want := "Meanwood Group Practice, Leeds Teaching Hospitals"
				if tt.section == "allergies" {
					want = "Leeds Teaching Hospitals, Meanwood Group Practice" // the later report stands (TestStandingReportOfHeldFacts)
				}
				if got := items[0].SourceLabels(); got != want {
					t.Errorf("sources: got %q, want %q", got, want)
				}
			}
			if tt.wantEntries == 2 {
				for _, it := range items {
					if len(it.Sources) != 1 {
						t.Errorf("%s names %d sources, want its own only", it.Display, len(it.Sources))
					}
				}
			}
		})
	}
}

// TestDedupOverSyntheaFromTwoSources imports the largest shared Synthea bundle
// under two source names, linked by the Synthea identifier: every fact shows
// once with both sources named, and no two different facts merge (the number
// of entries is exactly what one source alone gives).
func TestDedupOverSyntheaFromTwoSources(t *testing.T) {
	ctx := context.Background()
	f, err := fhirsync.ReadFile(filepath.Join(syntheaDir, "Lawerence6_Baumbach677_ea8d2576-4a23-4906-c353-bfed5adb23bd.json"))
	if err != nil {
		t.Fatal(err)
	}
	links := []string{"https://github.com/synthetichealth/synthea"}
	entries := func(db *store.DB) map[string]store.SectionPage {
		ps, err := db.Persons(ctx)
		if err != nil || len(ps) != 1 {
			t.Fatalf("persons: %d, %v", len(ps), err)
		}
		out := map[string]store.SectionPage{}
		for _, sec := range fhir.Sections() {
			sp, err := db.RecordSection(ctx, ps[0].ID, sec.Slug, 1, 100000)
			if err != nil {
				t.Fatal(err)
			}
			out[sec.Slug] = sp
		}
		return out
	}
	one := mustOpenDB(t)
	if _, err := one.ImportResources(ctx, store.ImportOptions{Source: "gp", LinkSystems: links}, f.Path, f.Resources); err != nil {
		t.Fatal(err)
	}
	both := mustOpenDB(t)
	for _, src := range []string{"gp", "hospital"} {
		if _, err := both.ImportResources(ctx, store.ImportOptions{Source: src, LinkSystems: links}, f.Path, f.Resources); err != nil {
			t.Fatal(err)
		}
	}
	single, double := entries(one), entries(both)
	for slug, sp := range double {
		if sp.Total != single[slug].Total {
			t.Errorf("%s: %d entries from two sources, %d from one: facts were merged or repeated", slug, sp.Total, single[slug].Total)
		}
		for _, it := range sp.Items {
			if len(it.Sources) != 2 {
				t.Errorf("%s: %q names %d sources, want both", slug, it.Display, len(it.Sources))
				break
			}
		}
	}
	if double["results"].Total == 0 || double["medicines"].Total == 0 {
		t.Fatal("the test data has no results or medicines")
	}
}

// TestDedupDoesNotDependOnOrder imports the same reports from two sources in
// every order: a repeat prescription at one source and a single report of it
// at another give the same entries whichever arrives first.
func TestDedupDoesNotDependOnOrder(t *testing.T) {
	med := `{"resourceType":"MedicationRequest","id":"%s","status":"active","medicationCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"325278007","display":"Metformin 500mg tablets"}]},"subject":{"reference":"Patient/p-%s"},"authoredOn":"%s","dosageInstruction":[{"text":"One tablet twice a day"}]}`
	type report struct{ source, id, date string }
	orders := [][]report{
		{{"gp", "m1", "2024-01-05"}, {"gp", "m2", "2024-04-05"}, {"lth", "h1", "2024-02-01"}},
		{{"lth", "h1", "2024-02-01"}, {"gp", "m1", "2024-01-05"}, {"gp", "m2", "2024-04-05"}},
		{{"gp", "m1", "2024-01-05"}, {"lth", "h1", "2024-02-01"}, {"gp", "m2", "2024-04-05"}},
	}
	for i, order := range orders {
		t.Run(fmt.Sprint("order ", i), func(t *testing.T) {
			ctx := context.Background()
			db := mustOpenDB(t)
			for _, r := range order {
				pt := fmt.Sprintf(`{"resourceType":"Patient","id":"p-%s","identifier":[{"system":%q,"value":"9434765919"}]}`, r.source, fhir.NHSNumberSystem)
				res := []fhir.Resource{{Type: "Patient", ID: "p-" + r.source, Raw: []byte(pt)}, {Type: "MedicationRequest", ID: r.id, Raw: []byte(fmt.Sprintf(med, r.id, r.source, r.date))}}
				if _, err := db.ImportResources(ctx, store.ImportOptions{Source: r.source}, "test", res); err != nil {
					t.Fatal(err)
				}
			}
			p, err := db.PersonByNHSNumber(ctx, "9434765919")
			if err != nil {
				t.Fatal(err)
			}
			sp, err := db.RecordSection(ctx, p.ID, "medicines", 1, 10)
			if err != nil {
				t.Fatal(err)
			}
			if sp.Total != 2 {
				t.Fatalf("got %d entries, want the GP's two prescriptions", sp.Total)
			}
			for _, it := range sp.Items {
				if it.Source.Name != "gp" || len(it.Sources) != 2 {
					t.Errorf("entry %s from %s naming %d sources", it.ResourceID, it.Source.Name, len(it.Sources))
				}
			}
		})
	}
}

// TestUpstreamDeleteLeavesSearch checks that when upstream deletes one
// source's report of a fact, the fact's entry loses that report's words from
// search, whether the delete comes while nothing else is happening or while a
// bulk load has work left (when the fact is worked out at the load's end).
func TestUpstreamDeleteLeavesSearch(t *testing.T) {
	ctx := context.Background()
	const allergy = `{"resourceType":"AllergyIntolerance","id":"a-%s","code":{"coding":[{"system":"http://snomed.info/sct","code":"764146007","display":"Penicillin"}]},"patient":{"reference":"Patient/p-%s"},"recordedDate":"2020-01-01"}`
	for _, how := range []string{"page", "page during a bulk load"} {
		t.Run(how, func(t *testing.T) {
			db := mustOpenDB(t)
			for _, src := range []struct{ name, org string }{{"gp", "Meanwood Group Practice"}, {"lth", "Leeds Teaching Hospitals"}} {
				pt := fmt.Sprintf(`{"resourceType":"Patient","id":"p-%s","identifier":[{"system":%q,"value":"9434765919"}]}`, src.name, fhir.NHSNumberSystem)
				var res []fhir.Resource
				for _, raw := range []string{pt, fmt.Sprintf(allergy, src.name, src.name)} {
					r, err := fhir.ParseResource([]byte(raw))
					if err != nil {
						t.Fatal(err)
					}
					res = append(res, r)
				}
				if _, err := db.ImportResources(ctx, store.ImportOptions{Source: src.name, OrgName: src.org}, "test", res); err != nil {
					t.Fatal(err)
				}
			}
			p, err := db.PersonByNHSNumber(ctx, "9434765919")
			if err != nil {
				t.Fatal(err)
			}
			found := func() int {
				r, err := db.SearchRecord(ctx, p.ID, "Leeds", store.SearchOptions{})
				if err != nil {
					t.Fatal(err)
				}
				return r.Total
			}
			if n := found(); n != 1 {
				t.Fatalf("before the delete, a search for the hospital finds %d entries, want 1: the test proves nothing", n)
			}
			if how == "page during a bulk load" {
				other, err := fhir.ParseResource([]byte(`{"resourceType":"Patient","id":"someone-else","name":[{"family":"Other"}]}`))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := db.ImportBulk(ctx, store.ImportOptions{Source: "region"}, "bulk", store.PrepareAll([]fhir.Resource{other})); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := db.ApplyPage(ctx, store.PageUpdate{Source: "lth", PersonID: p.ID, ResourceType: "AllergyIntolerance", Origin: "test",
				Deleted: []fhir.Resource{{Type: "AllergyIntolerance", ID: "a-lth"}}}); err != nil {
				t.Fatal(err)
			}
			if how == "page during a bulk load" {
				if err := db.FinishBulkLoad(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if n := found(); n != 0 {
				t.Errorf("after the hospital's report is deleted upstream, a search for the hospital finds %d entries, want 0", n)
			}
			items, err := db.RecordSection(ctx, p.ID, "allergies", 1, 10)
			if err != nil {
				t.Fatal(err)
			}
			if items.Total != 1 {
				t.Errorf("the GP's report should still show once; %d entries", items.Total)
			}
		})
	}
}

// TestStandingReport: of two sources' reports of one fact, one recorded in
// error never stands for (and so hides) the other's; and a medicine the GP
// prescribes now is current though the hospital, standing for it with more
// reports, sent only older ones of a course that ended.
func TestStandingReport(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	parse := func(raw string) fhir.Resource { return parsed(t, raw)[0] }
	patient := func(id string) fhir.Resource {
		return parse(fmt.Sprintf(`{"resourceType":"Patient","id":%q,"identifier":[{"system":%q,"value":"9434765919"}]}`, id, fhir.NHSNumberSystem))
	}
	allergy := func(id, pt, verification string) fhir.Resource {
		return parse(`{"resourceType":"AllergyIntolerance","id":"` + id + `","patient":{"reference":"Patient/` + pt + `"},` +
			`"clinicalStatus":{"coding":[{"code":"active"}]},"verificationStatus":{"coding":[{"code":"` + verification + `"}]},` +
			`"code":{"coding":[{"system":"http://snomed.info/sct","code":"764146007","display":"Penicillin"}]},"recordedDate":"2020-02-02"}`)
	}
	warfarin := func(id, pt, status, when string) fhir.Resource {
		return parse(`{"resourceType":"MedicationRequest","id":"` + id + `","status":"` + status + `","intent":"order","subject":{"reference":"Patient/` + pt + `"},` +
			`"medicationCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"319733000","display":"Warfarin 1mg tablets"}]},` +
			`"authoredOn":"` + when + `","dosageInstruction":[{"text":"As directed"}]}`)
	}
	// The hospital is the first source, so the lowest-numbered: it would win every tie.
	for _, src := range []struct {
		name string
		res  []fhir.Resource
	}{
		{"lth", []fhir.Resource{patient("h"), allergy("a-h", "h", "entered-in-error"),
			warfarin("w-h1", "h", "completed", "2023-01-01"), warfarin("w-h2", "h", "completed", "2023-06-01")}},
		{"gp", []fhir.Resource{patient("g"), allergy("a-g", "g", "confirmed"), warfarin("w-g", "g", "active", "2025-01-01")}},
	} {
		if _, err := db.ImportResources(ctx, store.ImportOptions{Source: src.name}, "test", src.res); err != nil {
			t.Fatal(err)
		}
	}
	p, err := db.PersonByNHSNumber(ctx, "9434765919")
	if err != nil {
		t.Fatal(err)
	}
	allergies, err := db.RecordSection(ctx, p.ID, fhir.SectionAllergies, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(allergies.Items) != 1 || allergies.Items[0].Status != "active" || allergies.Items[0].Source.Name != "gp" {
		t.Errorf("allergies: %+v; want the GP's current penicillin allergy", allergies.Items)
	}
	sum, err := db.RecordSummary(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Medicines) != 1 || sum.Medicines[0].Display != "Warfarin 1mg tablets" || sum.Medicines[0].Status != "active" {
		t.Errorf("current medicines: %+v; want the GP's warfarin", sum.Medicines)
	}
}

// TestMigrationWorksOutStandingReportsAgain: facts marked before migration
// 0018, when a report recorded in error could stand for a fact, are worked
// out again once it has run and the queue it fills is finished.
func TestMigrationWorksOutStandingReportsAgain(t *testing.T) {
	ctx := context.Background()
	db, path := mustOpenDBFile(t)
	for _, src := range []struct{ name, pt, verification string }{{"lth", "h", "entered-in-error"}, {"gp", "g", "confirmed"}} {
		res := parsed(t,
			fmt.Sprintf(`{"resourceType":"Patient","id":%q,"identifier":[{"system":%q,"value":"9434765919"}]}`, src.pt, fhir.NHSNumberSystem),
			`{"resourceType":"AllergyIntolerance","id":"a-`+src.pt+`","patient":{"reference":"Patient/`+src.pt+`"},"clinicalStatus":{"coding":[{"code":"active"}]},`+
				`"verificationStatus":{"coding":[{"code":"`+src.verification+`"}]},"code":{"coding":[{"system":"http://snomed.info/sct","code":"764146007","display":"Penicillin"}]}}`,
		)
		if _, err := db.ImportResources(ctx, store.ImportOptions{Source: src.name}, "test", res); err != nil {
			t.Fatal(err)
		}
	}
	// As the marks stood before 0018: the hospital's report, recorded in error, stood for the fact.
	db = rerunMigration(t, db, path, 18, `UPDATE record_items SET dup = (resource_id = 'a-g')`)
	if done, err := db.FinishStalledBulkLoad(ctx, true); err != nil || !done {
		t.Fatalf("finishing the queue the migration filled: %v, %v", done, err)
	}
	p, err := db.PersonByNHSNumber(ctx, "9434765919")
	if err != nil {
		t.Fatal(err)
	}
	sp, err := db.RecordSection(ctx, p.ID, fhir.SectionAllergies, 1, 10)
	if err != nil || len(sp.Items) != 1 || sp.Items[0].ResourceID != "a-g" {
		t.Errorf("allergies after the migration: %+v, %v; want the GP's", sp.Items, err)
	}
}

// TestDifferentDocumentsAreNotMerged: two sources' letters of one type on
// one day that describe themselves differently are two entries, before and
// after migration 0020 works out ones merged before it.
func TestDifferentDocumentsAreNotMerged(t *testing.T) {
	ctx := context.Background()
	db, path := mustOpenDBFile(t)
	for _, src := range []struct{ name, pt, about string }{{"lth", "h", "Cardiology clinic letter"}, {"gp", "g", "Psychiatry clinic letter"}} {
		res := parsed(t,
			fmt.Sprintf(`{"resourceType":"Patient","id":%q,"identifier":[{"system":%q,"value":"9434765919"}]}`, src.pt, fhir.NHSNumberSystem),
			`{"resourceType":"DocumentReference","id":"d-`+src.pt+`","status":"current","subject":{"reference":"Patient/`+src.pt+`"},`+
				`"type":{"coding":[{"system":"http://loinc.org","code":"11488-4","display":"Consult note"}]},"date":"2026-03-02T10:00:00Z","description":"`+src.about+`"}`,
		)
		if _, err := db.ImportResources(ctx, store.ImportOptions{Source: src.name}, "test", res); err != nil {
			t.Fatal(err)
		}
	}
	p, err := db.PersonByNHSNumber(ctx, "9434765919")
	if err != nil {
		t.Fatal(err)
	}
	shown := func(db *store.DB) int {
		sp, err := db.RecordSection(ctx, p.ID, fhir.SectionDocuments, 1, 10)
		if err != nil {
			t.Fatal(err)
		}
		return len(sp.Items)
	}
	if n := shown(db); n != 2 {
		t.Errorf("two letters show as %d entries", n)
	}
	// As they were marked before 0020: the GP's letter behind the hospital's.
	db = rerunMigration(t, db, path, 20, `UPDATE record_items SET dup = (resource_id = 'd-g') WHERE section = 'documents'`)
	if done, err := db.FinishStalledBulkLoad(ctx, true); err != nil || !done {
		t.Fatalf("finishing the queue the migration filled: %v, %v", done, err)
	}
	if n := shown(db); n != 2 {
		t.Errorf("after the migration, two letters show as %d entries", n)
	}
	res, err := db.SearchRecord(ctx, p.ID, "psychiatry", store.SearchOptions{})
	if err != nil || res.Total != 1 {
		t.Errorf("a search for the GP's letter finds %d entries (%v), want 1", res.Total, err)
	}
}

// TestStandingReportOfHeldFacts: of two sources' reports of one allergy or
// condition, the latest stands, even one ruling it out, and on one day the
// one that says more that matters, whichever source came first; an allergy
// one source says holds now stands whatever the dates; one recorded in error
// never does (found by clinical-safety reviews: a hospital's older
// "inactive" penicillin allergy hid the GP's current one from the summary,
// and a hospital's episode left active stood over the GP's resolving it).
func TestStandingReportOfHeldFacts(t *testing.T) {
	allergy := func(id, clinical, verification, when string) string {
		return `{"resourceType":"AllergyIntolerance","id":"` + id + `","patient":{"reference":"Patient/p-` + id + `"},` +
			`"clinicalStatus":{"coding":[{"code":"` + clinical + `"}]},"verificationStatus":{"coding":[{"code":"` + verification + `"}]},` +
			`"code":{"coding":[{"system":"http://snomed.info/sct","code":"91936005","display":"Allergy to penicillin"}]},"recordedDate":"` + when + `"}`
	}
	condition := func(id, clinical, verification, when string) string {
		return `{"resourceType":"Condition","id":"` + id + `","subject":{"reference":"Patient/p-` + id + `"},` +
			`"clinicalStatus":{"coding":[{"code":"` + clinical + `"}]},"verificationStatus":{"coding":[{"code":"` + verification + `"}]},` +
			`"code":{"coding":[{"system":"http://snomed.info/sct","code":"195967001","display":"Asthma"}]},"onsetDateTime":"` + when + `"}`
	}
	for _, tt := range []struct {
		name, section, gp, lth string
		want, wantStatus       string // the source that stands, and its status
	}{
		{"GP's current allergy over the hospital's older inactive one", fhir.SectionAllergies,
			allergy("gp", "active", "confirmed", "2023-01-05"), allergy("lth", "inactive", "confirmed", "2010-01-05"), "gp", "active"},
		{"hospital's current allergy over the GP's older resolved one", fhir.SectionAllergies,
			allergy("gp", "resolved", "confirmed", "2010-01-05"), allergy("lth", "active", "confirmed", "2023-01-05"), "lth", "active"},
		{"a current allergy over a later one saying it is over", fhir.SectionAllergies,
			allergy("gp", "inactive", "confirmed", "2024-01-05"), allergy("lth", "active", "confirmed", "2019-01-05"), "lth", "active"},
		{"a condition ruled out after another source had it current", fhir.SectionConditions,
			condition("gp", "active", "refuted", "2024-01-05"), condition("lth", "active", "confirmed", "2019-01-05"), "gp", "refuted"},
		{"a condition resolved after a hospital left it active", fhir.SectionConditions,
			condition("gp", "resolved", "confirmed", "2019-04-01"), condition("lth", "active", "confirmed", "2019-03-01"), "gp", "resolved"},
		{"on one day, a condition current over one resolved, whichever came first", fhir.SectionConditions,
			condition("gp", "resolved", "confirmed", "2019-04-01"), condition("lth", "active", "confirmed", "2019-04-01T10:00:00Z"), "lth", "active"},
		{"on one day, an allergy suspected over one ruled out", fhir.SectionAllergies,
			allergy("gp", "active", "refuted", "2019-05-01"), allergy("lth", "active", "unconfirmed", "2019-05-01"), "lth", "unconfirmed"},
		{"on one day, an allergy suspected over one ruled out, the other way round", fhir.SectionAllergies,
			allergy("gp", "active", "unconfirmed", "2019-05-01"), allergy("lth", "active", "refuted", "2019-05-01"), "gp", "unconfirmed"},
		{"the later of two that are not current: ruled out after thought likely", fhir.SectionConditions,
			condition("gp", "active", "provisional", "2023-01-05"), condition("lth", "active", "refuted", "2024-01-05"), "lth", "refuted"},
		{"the later of two that are not current: inactive after resolved", fhir.SectionConditions,
			condition("gp", "resolved", "confirmed", "2015-01-05"), condition("lth", "inactive", "confirmed", "2018-01-05"), "lth", "inactive"},
		{"never one recorded in error, however late", fhir.SectionConditions,
			condition("gp", "resolved", "confirmed", "2015-01-05"), condition("lth", "active", "entered-in-error", "2024-01-05"), "gp", "resolved"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			items := two(t, tt.section, tt.gp, tt.lth)
			if len(items) != 1 || items[0].Source.Name != tt.want || items[0].Status != tt.wantStatus {
				var got []string
				for _, it := range items {
					got = append(got, it.Source.Name+" "+it.Status)
				}
				t.Errorf("entries %v; want one, %s's %s", got, tt.want, tt.wantStatus)
			}
		})
	}
}

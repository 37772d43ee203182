package store_test

// From a second review of the real-data fixes: each test failed before its fix.

import (
	"context"
	"fmt"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// potassiumAt is a potassium at date whose value is written as value.
func potassiumAt(id, pt, date, value string) fhir.Resource {
	return fhir.Resource{Type: "Observation", ID: id, Raw: []byte(fmt.Sprintf(`{"resourceType":"Observation","id":%q,"status":"final","subject":{"reference":"Patient/%s"},`+
		`"code":{"coding":[{"system":"http://loinc.org","code":"2823-3","display":"Potassium"}]},"effectiveDateTime":%q,`+
		`"valueQuantity":{"value":%s,"unit":"mmol/L","system":"http://unitsofmeasure.org","code":"mmol/L"}}`, id, pt, date, value))}
}

// samAtTwoSources imports Sam from a GP and a hospital and returns him.
func samAtTwoSources(t *testing.T, db *store.DB, gp, hospital []fhir.Resource) store.Person {
	t.Helper()
	ctx := context.Background()
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "gp", OrgName: "GP"}, "test", append([]fhir.Resource{searchPatient("sam", "9434765870", "Sam")}, gp...)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "hospital", OrgName: "Hospital"}, "test", append([]fhir.Resource{searchPatient("sam-h", "9434765870", "Sam")}, hospital...)); err != nil {
		t.Fatal(err)
	}
	sam, err := db.PersonByNHSNumber(ctx, "9434765870")
	if err != nil {
		t.Fatal(err)
	}
	return sam
}

// TestTrendRowOfOneFactWrittenTwoWaysHasItsSource: one potassium two
// sources wrote "5.0" and "5": on the trend page each row has its entry and
// source (a review of fixes: merged by key, one row came with neither).
func TestTrendRowOfOneFactWrittenTwoWaysHasItsSource(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	sam := samAtTwoSources(t, db,
		[]fhir.Resource{potassiumAt("k0", "sam", "2026-01-10T09:00:00Z", "4.2"), potassiumAt("k1", "sam", "2026-03-10T09:00:00Z", "5.0")},
		[]fhir.Resource{potassiumAt("h1", "sam-h", "2026-03-10T09:00:00Z", "5")})
	tr, err := db.ResultTrend(ctx, sam.ID, "loinc-2823-3", 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range tr.Results {
		if r.Item.ID == 0 || len(r.Sources) == 0 {
			t.Errorf("trend row %s %q has no entry (id %d) and no source (%d)", r.Item.Date, r.Item.Value, r.Item.ID, len(r.Sources))
		}
	}
}

// TestMergedResultIsTheStandingReport: the results list shows, and opens,
// the report of a fact that stands (the GP's "5"), not the copy standing
// aside for it (the hospital's "5.0"; a review of fixes).
func TestMergedResultIsTheStandingReport(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	sam := samAtTwoSources(t, db,
		[]fhir.Resource{potassiumAt("k1", "sam", "2026-03-10T09:00:00Z", "5")},
		[]fhir.Resource{potassiumAt("h1", "sam-h", "2026-03-10T09:00:00Z", "5.0")})
	sp, err := db.RecordSection(ctx, sam.ID, fhir.SectionResults, 1, 10)
	if err != nil || len(sp.Items) != 1 {
		t.Fatalf("%d entries (%v)", len(sp.Items), err)
	}
	tests, err := db.ResultTests(ctx, sam.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tests[0].Latest.Item.ID, sp.Items[0].ID; got != want {
		t.Errorf("results list opens %s's %s (item %d), not the entry that stands, %s's %s (item %d)",
			tests[0].Latest.Item.Source.Name, tests[0].Latest.Item.ResourceID, got, sp.Items[0].Source.Name, sp.Items[0].ResourceID, want)
	}
}

package store_test

// From a review of the real-data fixes: each test failed before its fix.

import (
	"context"
	"fmt"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// Two potassiums at one time, one high: the results list reads the latest
// (the lower, 4.1) from its resource with its range and flag, but the other
// (SameTime) only from its stored value: 6.4 mmol/L reads with no range and
// no flag, "Compared with normal range: Not known". Before, the list showed
// 6.4 with "High".
func TestSameTimeResultKeepsItsRangeAndFlag(t *testing.T) {
	tests := samsResultTests(t,
		resObs("k1", "sam", resLOINC, "2823-3", "Potassium", "2026-03-10T09:00:00Z", 4.1, "mmol/L", "3.5-5.3", "N"),
		resObs("k2", "sam", resLOINC, "2823-3", "Potassium", "2026-03-10T09:00:00Z", 6.4, "mmol/L", "3.5-5.3", "H"))
	if len(tests) != 1 || len(tests[0].SameTime) != 1 {
		t.Fatalf("want one test with two results at its time: %+v", tests)
	}
	for _, r := range append([]store.Result{tests[0].Latest}, tests[0].SameTime...) {
		if m := r.Measures[0]; !m.Range.Known() || m.Flag == "" {
			t.Errorf("%s read with no range (%v) or flag (%q)", r.Item.Value, m.Range, m.Flag)
		}
	}
}

// One potassium sent by two sources, written "5.0" and "5": one entry
// (dedupKey's sameNumbers), but the results list shows it as two results at
// its time, "5.0 mmol/L; 5 mmol/L" (mergeResults keys by the raw value).
func TestOneResultFromTwoSourcesIsOneLatestValue(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	obs := func(id, pt, value string) fhir.Resource {
		return fhir.Resource{Type: "Observation", ID: id, Raw: []byte(fmt.Sprintf(`{"resourceType":"Observation","id":%q,"status":"final","subject":{"reference":"Patient/%s"},`+
			`"code":{"coding":[{"system":"http://loinc.org","code":"2823-3","display":"Potassium"}]},"effectiveDateTime":"2026-03-10T09:00:00Z",`+
			`"valueQuantity":{"value":%s,"unit":"mmol/L","system":"http://unitsofmeasure.org","code":"mmol/L"}}`, id, pt, value))}
	}
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "gp", OrgName: "GP"}, "test", []fhir.Resource{searchPatient("sam", "9434765870", "Sam"), obs("k1", "sam", "5.0")}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "hospital", OrgName: "Hospital"}, "test", []fhir.Resource{searchPatient("sam-h", "9434765870", "Sam"), obs("h1", "sam-h", "5")}); err != nil {
		t.Fatal(err)
	}
	sam, err := db.PersonByNHSNumber(ctx, "9434765870")
	if err != nil {
		t.Fatal(err)
	}
	sp, err := db.RecordSection(ctx, sam.ID, fhir.SectionResults, 1, 10)
	if err != nil || len(sp.Items) != 1 {
		t.Fatalf("want one entry: %d (%v)", len(sp.Items), err)
	}
	tests, err := db.ResultTests(ctx, sam.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(tests) != 1 || len(tests[0].SameTime) != 0 {
		t.Errorf("one potassium listed as %d results at its time", 1+len(tests[0].SameTime))
	}
}

// samsResultTests imports Sam and the observations, and returns his tests
// as the results page lists them.
func samsResultTests(t *testing.T, obs ...fhir.Resource) []store.ResultTest {
	t.Helper()
	ctx := context.Background()
	db := mustOpenDB(t)
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "gp", OrgName: "GP"}, "test", append([]fhir.Resource{searchPatient("sam", "9434765870", "Sam")}, obs...)); err != nil {
		t.Fatal(err)
	}
	sam, err := db.PersonByNHSNumber(ctx, "9434765870")
	if err != nil {
		t.Fatal(err)
	}
	tests, err := db.ResultTests(ctx, sam.ID)
	if err != nil {
		t.Fatal(err)
	}
	return tests
}

// tellApart names two tests alike by the kind of quantity each gives, but
// [Mass/volume] and [Moles/volume] are both "amount": glucose in mg/dL
// (2345-7) and in mmol/L (14749-6), as US and UK laboratories send it, were
// both "Glucose in Serum or Plasma (amount)"; now each is named by its unit.
func TestTwoTestsAlikeAreToldApartEverywhere(t *testing.T) {
	tests := samsResultTests(t,
		resObs("g1", "sam", resLOINC, "2345-7", "Glucose [Mass/volume] in Serum or Plasma", "2026-03-01", 90, "mg/dL", "", ""),
		resObs("g2", "sam", resLOINC, "14749-6", "Glucose [Moles/volume] in Serum or Plasma", "2026-03-02", 5, "mmol/L", "", ""))
	if len(tests) != 2 {
		t.Fatalf("%d tests", len(tests))
	}
	if tests[0].Name == tests[1].Name {
		t.Errorf("two tests named %q", tests[0].Name)
	}
}

// A goal that addresses a kept-out condition (Goal.addresses, a reason
// path) reaches a carer with care plans: Goal is not among fhir
// entryTypes, so its references are never read as reasons.
func TestGoalForAKeptOutConditionIsKeptFromACarer(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	p := importSources(t, db, []string{"gp",
		`{"resourceType":"Condition","id":"c1","subject":{"reference":"Patient/%s"},"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},"code":{"coding":[{"system":"http://snomed.info/sct","code":"35489007","display":"Depressive disorder"}]},"onsetDateTime":"2024-01-01"}`,
		`{"resourceType":"Goal","id":"gl1","lifecycleStatus":"active","description":{"text":"Fewer low days"},"subject":{"reference":"Patient/%s"},"addresses":[{"reference":"Condition/c1"}]}`,
	})
	if _, err := db.ChangeConsent(ctx, p, janeHerself, store.ConsentChange{Question: store.WithholdQuestion(store.CategoryMentalHealth), Answer: "yes"}, store.ChoiceLogged(1)); err != nil {
		t.Fatal(err)
	}
	sp, err := db.RecordSection(store.ForCarer(ctx, fhir.SectionCarePlans), p, fhir.SectionCarePlans, 1, 50)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range sp.Items {
		t.Errorf("carer reads %q, a goal for a depression kept out of sharing", it.Display)
	}
}

// Two goals of the same words, one achieved (an old plan's) and one in
// progress (the current plan's), as Synthea's Eleonor_Becker has: both
// undated, one dedup key, so keeping the old one out keeps out the
// current one too (and two sources' would merge into one).
func TestKeepingOutOneGoalKeepsOutThatGoalOnly(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	goal := func(id, achieved string) string {
		return `{"resourceType":"Goal","id":"` + id + `","lifecycleStatus":"accepted","achievementStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/goal-achievement","code":"` + achieved + `"}]},"description":{"text":"improved systolic function"},"subject":{"reference":"Patient/%s"}}`
	}
	p := importSources(t, db, []string{"gp", goal("g1", "achieved"), goal("g2", "in-progress")})
	sp, err := db.RecordSection(ctx, p, fhir.SectionCarePlans, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range sp.Items {
		if it.ResourceID == "g1" {
			keepOutItem(t, db, p, it)
		}
	}
	carer, err := db.RecordSection(store.ForCarer(ctx, fhir.SectionCarePlans), p, fhir.SectionCarePlans, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(carer.Items) != 1 || carer.Items[0].ResourceID != "g2" {
		t.Errorf("keeping out the achieved goal left the carer %d goals, want the one in progress", len(carer.Items))
	}
}

// CIEL's tenofovir (84795) and lamivudine (78643) are hepatitis B
// treatments too: with sexual health kept out, a carer loses a hepatitis B
// patient's tenofovir (hepatitis B is no sexual health code here).
func TestHepatitisBTreatmentIsNotSexualHealth(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	p := importSources(t, db, []string{"gp",
		`{"resourceType":"MedicationRequest","id":"m1","status":"active","intent":"order","subject":{"reference":"Patient/%s"},"medicationCodeableConcept":{"coding":[{"system":"https://cielterminology.org","code":"84795","display":"Tenofovir"}],"text":"Tenofovir disoproxil 245 mg tablets"},"authoredOn":"2025-01-01","reasonCode":[{"coding":[{"system":"http://snomed.info/sct","code":"61977001","display":"Chronic type B viral hepatitis"}]}]}`,
	})
	if _, err := db.ChangeConsent(ctx, p, janeHerself, store.ConsentChange{Question: store.WithholdQuestion(store.CategorySexualHealth), Answer: "yes"}, store.ChoiceLogged(1)); err != nil {
		t.Fatal(err)
	}
	sp, err := db.RecordSection(store.ForCarer(ctx, fhir.SectionMedicines), p, fhir.SectionMedicines, 1, 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(sp.Items) != 1 {
		t.Errorf("a carer does not see tenofovir for hepatitis B, with sexual health kept out: %d medicines", len(sp.Items))
	}
}

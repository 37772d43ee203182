package store_test

import (
	"context"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// A medicine named through a Medication is kept out for any of that
// Medication's codes, as one giving them itself is, whichever came first,
// and, stored before, after migration 0063 (a review: it reached a carer).
func TestAMedicationsOtherCodesKeepTheMedicineOut(t *testing.T) {
	ctx := context.Background()
	codes := `{"coding":[{"system":"http://snomed.info/sct","code":"321949006","display":"Fluoxetine 20mg capsules"},` +
		`{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"406022","display":"Fluoxetine 25 MG"}]}`
	inline := `{"resourceType":"MedicationRequest","id":"mr-inline","status":"active","intent":"order","subject":{"reference":"Patient/%[1]s"},` +
		`"medicationCodeableConcept":` + codes + `,"authoredOn":"2024-05-01","dosageInstruction":[{"text":"One a day"}]}`
	med := `{"resourceType":"Medication","id":"med1","extension":[{"url":"http://example.org/x","valueString":"%[1]s"}],"code":` + codes + `}`
	byRef := `{"resourceType":"MedicationRequest","id":"mr-ref","status":"active","intent":"order","subject":{"reference":"Patient/%[1]s"},` +
		`"medicationReference":{"reference":"Medication/med1"},"authoredOn":"2024-06-01","dosageInstruction":[{"text":"Two a day"}]}`
	carerMedicines := func(db *store.DB, p int64) []string {
		return shownIn(t, store.ForCarer(ctx, fhir.SectionMedicines), db, p, fhir.SectionMedicines)
	}
	for _, tc := range []struct {
		name     string
		hospital []string
	}{{"the Medication first", []string{"hospital", med, byRef}}, {"the Medication after", []string{"hospital", byRef, med}}} {
		t.Run(tc.name, func(t *testing.T) {
			db, path := mustOpenDBFile(t)
			p := importSources(t, db, []string{"gp", inline}, tc.hospital)
			keepOutKind(t, db, p, store.CategoryMentalHealth)
			if got := carerMedicines(db, p); len(got) != 0 {
				t.Errorf("mental health kept out; a carer's medicines: %q; want none (both prescriptions give RxNorm 406022, Fluoxetine, among their codes)", got)
			}
			db = reopenWith(t, db, path, `DELETE FROM record_item_reasons WHERE system GLOB 'own:*' OR system GLOB 'med:*' OR system = 'medref'`)
			if got := carerMedicines(db, p); len(got) != 2 {
				t.Fatalf("as stored before 0063, a carer's medicines: %q; want both", got)
			}
			db = rerunMigration(t, db, path, 63, `ALTER TABLE reference_names DROP COLUMN other_codes`)
			if got := carerMedicines(db, p); len(got) != 0 {
				t.Errorf("after migration 0063, a carer's medicines: %q; want none", got)
			}
		})
	}
}

// A visit's other types keep it out, as its first does (a review: a second
// type, a psychiatric interview, reached a carer).
func TestAVisitsSecondTypeKeepsItOut(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	enc := `{"resourceType":"Encounter","id":"e1","status":"finished","class":{"code":"AMB"},"subject":{"reference":"Patient/%[1]s"},` +
		`"type":[{"coding":[{"system":"http://snomed.info/sct","code":"185347001","display":"Encounter for problem"}]},` +
		`{"coding":[{"system":"http://snomed.info/sct","code":"79094001","display":"Initial psychiatric interview with mental status evaluation"}]}],` +
		`"period":{"start":"2024-05-01T09:00:00Z"}}`
	p := importSources(t, db, []string{"gp", enc})
	keepOutKind(t, db, p, store.CategoryMentalHealth)
	if got := shownIn(t, store.ForCarer(ctx, fhir.SectionEncounters), db, p, fhir.SectionEncounters); len(got) != 0 {
		t.Errorf("mental health kept out; a carer's visits: %q; want none (its second type is 79094001, a psychiatric interview)", got)
	}
}

// A care plan's categories other than the one it is named by keep it out:
// a mental health care plan category (718347000) given before a generic
// one reached the carer (a review).
func TestACarePlansOtherCategoryKeepsItOut(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	cp := `{"resourceType":"CarePlan","id":"cp1","status":"active","intent":"plan","subject":{"reference":"Patient/%[1]s"},` +
		`"category":[{"coding":[{"system":"http://snomed.info/sct","code":"718347000","display":"Mental health care plan"}]},` +
		`{"coding":[{"system":"http://snomed.info/sct","code":"734163000","display":"Care plan"}]}],"period":{"start":"2024-05-01"}}`
	p := importSources(t, db, []string{"gp", cp})
	keepOutKind(t, db, p, store.CategoryMentalHealth)
	if got := shownIn(t, store.ForCarer(ctx, fhir.SectionCarePlans), db, p, fhir.SectionCarePlans); len(got) != 0 {
		t.Errorf("mental health kept out; a carer's care plans: %q; want none (its first category is 718347000, Mental health care plan)", got)
	}
}

package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

const (
	fluoxetineMed  = `{"resourceType":"Medication","id":"med1","code":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"406022","display":"Fluoxetine 25 MG"}]}}`
	medExt         = `"extension":[{"url":"http://example.org/x","valueString":"%[1]s"}],`
	insulinMed     = `{"resourceType":"Medication","id":"med1","code":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"311041","display":"Insulin glargine 100 UNT/ML"}]}}`
	insulinRequest = `{"resourceType":"MedicationRequest","id":"mr1","status":"active","intent":"order","subject":{"reference":"Patient/%[1]s"},` +
		`"medicationReference":{"reference":"Medication/med1","display":"Long-acting insulin pen"},"authoredOn":"2024-06-01","dosageInstruction":[{"text":"10 units at night"}]}`
)

// A Medication recorded wrongly as Fluoxetine and corrected upstream to
// insulin, arriving before the request or after it: the medicine naming it
// is no longer of mental health, and the carer who gives it sees it (a
// review: the old codes stayed among the medicine's own, medicinesTakeCodes
// only adding).
func TestARecodedMedicationsOldCodesKeepNothingOut(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		srcs []string
	}{
		{"the Medication first", []string{"hospital", medFmt(fluoxetineMed), insulinRequest}},
		{"the Medication after", []string{"hospital", insulinRequest, medFmt(fluoxetineMed)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := mustOpenDB(t)
			p := importSources(t, db, tc.srcs)
			keepOutKind(t, db, p, store.CategoryMentalHealth)
			if got := shownIn(t, store.ForCarer(ctx, fhir.SectionMedicines), db, p, fhir.SectionMedicines); len(got) != 0 {
				t.Fatalf("precondition: carer sees %q while the Medication is Fluoxetine", got)
			}
			// The correction: the same Medication, now insulin (only it is sent, as an incremental sync would).
			if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "hospital"}, "test", parsed(t, insulinMed)); err != nil {
				t.Fatal(err)
			}
			if got := shownIn(t, store.ForCarer(ctx, fhir.SectionMedicines), db, p, fhir.SectionMedicines); len(got) != 1 {
				t.Errorf("Medication corrected to insulin; a carer's medicines: %q; want the insulin prescription", got)
			}
		})
	}
}

// The request itself pointed at another Medication: re-projected, so its rows are rewritten.
func TestARequestPointedAtAnotherMedication(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	ins := `{"resourceType":"Medication","id":"med2","code":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"311041","display":"Insulin glargine"}]}}`
	p := importSources(t, db, []string{"hospital", medFmt(fluoxetineMed), medFmt(ins), insulinRequest})
	keepOutKind(t, db, p, store.CategoryMentalHealth)
	re := `{"resourceType":"MedicationRequest","id":"mr1","status":"active","intent":"order","subject":{"reference":"Patient/p0"},` +
		`"medicationReference":{"reference":"Medication/med2","display":"Long-acting insulin pen"},"authoredOn":"2024-06-01","dosageInstruction":[{"text":"10 units at night"}]}`
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "hospital"}, "test", parsed(t, re)); err != nil {
		t.Fatal(err)
	}
	if got := shownIn(t, store.ForCarer(ctx, fhir.SectionMedicines), db, p, fhir.SectionMedicines); len(got) != 1 {
		t.Errorf("request re-pointed at insulin; a carer's medicines: %q; want it", got)
	}
}

// A medicine whose Medication is contained and whose reference carries a display.
func TestAContainedMedicationWithADisplayKeepsItOut(t *testing.T) {
	db := mustOpenDB(t)
	mr := `{"resourceType":"MedicationRequest","id":"mr1","status":"active","intent":"order","subject":{"reference":"Patient/%[1]s"},` +
		`"contained":[{"resourceType":"Medication","id":"m","code":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"406022","display":"Fluoxetine 25 MG"}]}}],` +
		`"medicationReference":{"reference":"#m","display":"Fluoxetine 20mg capsules"},"authoredOn":"2024-06-01","dosageInstruction":[{"text":"One a day"}]}`
	p := importSources(t, db, []string{"hospital", mr})
	keepOutKind(t, db, p, store.CategoryMentalHealth)
	carerSees(t, db, p, fhir.SectionMedicines, 0, "Fluoxetine")
}

// An absolute reference to the Medication.
func TestAnAbsoluteMedicationReferenceKeepsItOut(t *testing.T) {
	db := mustOpenDB(t)
	mr := `{"resourceType":"MedicationRequest","id":"mr1","status":"active","intent":"order","subject":{"reference":"Patient/%[1]s"},` +
		`"medicationReference":{"reference":"https://hospital.example/fhir/Medication/med1","display":"Capsules"},"authoredOn":"2024-06-01","dosageInstruction":[{"text":"One a day"}]}`
	p := importSources(t, db, []string{"hospital", mr, medFmt(fluoxetineMed)})
	keepOutKind(t, db, p, store.CategoryMentalHealth)
	carerSees(t, db, p, fhir.SectionMedicines, 0, "Fluoxetine")
}

// Two sources report one medicine (one dedup key: the same first code and
// dosage); only the hospital also codes it RxNorm 406022: the fact is of
// the kind, and kept out from both (a review: the GP's reached a carer).
func TestAFactOneSourceCodesAsAKindIsKeptOutFromEvery(t *testing.T) {
	db := mustOpenDB(t)
	gp := `{"resourceType":"MedicationRequest","id":"g1","status":"active","intent":"order","subject":{"reference":"Patient/%[1]s"},` +
		`"medicationCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"321949006","display":"Fluoxetine 20mg capsules"}]},"authoredOn":"2024-06-01","dosageInstruction":[{"text":"One a day"}]}`
	hosp := `{"resourceType":"MedicationRequest","id":"h1","status":"active","intent":"order","subject":{"reference":"Patient/%[1]s"},` +
		`"medicationCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"321949006","display":"Fluoxetine 20mg capsules"},{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"406022"}]},"authoredOn":"2024-06-01","dosageInstruction":[{"text":"One a day"}]}`
	p := importSources(t, db, []string{"gp", gp}, []string{"hospital", hosp})
	keepOutKind(t, db, p, store.CategoryMentalHealth)
	carerSees(t, db, p, fhir.SectionMedicines, 0, "Fluoxetine")
}

// medFmt makes a Medication usable in importSources' format (it must use %[1]s).
func medFmt(med string) string {
	return strings.Replace(med, `{"resourceType":"Medication",`, `{"resourceType":"Medication",`+medExt, 1)
}

// A re-read of everything stored (migration 0062's backlog, run by
// FinishBulkLoad) leaves no stale codes either.
func TestARereadLeavesNoStaleMedicationCodes(t *testing.T) {
	ctx := context.Background()
	db, path := mustOpenDBFile(t)
	p := importSources(t, db, []string{"hospital", insulinRequest, medFmt(fluoxetineMed)})
	keepOutKind(t, db, p, store.CategoryMentalHealth)
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "hospital"}, "test", parsed(t, insulinMed)); err != nil {
		t.Fatal(err)
	}
	db = rerunMigration(t, db, path, 62)
	if err := db.FinishBulkLoad(ctx); err != nil {
		t.Fatal(err)
	}
	if got := shownIn(t, store.ForCarer(ctx, fhir.SectionMedicines), db, p, fhir.SectionMedicines); len(got) != 1 {
		t.Errorf("after a re-read, a carer's medicines: %q; want the insulin prescription", got)
	}
}

// A bundle names its Medication by its urn:uuid address, as a transaction
// bundle (and Synthea, exporting Medication resources) does; the request's
// reference carries the medicine's words, or none. Mental health kept out:
// the Medication is RxNorm 406022 (Fluoxetine), and the medicine is kept
// out (a review: it reached a carer).
func TestAMedicationNamedByItsBundleAddressKeepsItOut(t *testing.T) {
	ctx := context.Background()
	for _, display := range []string{`,"display":"Fluoxetine 20mg capsules"`, ``} {
		t.Run("display="+display, func(t *testing.T) {
			bundle := `{"resourceType":"Bundle","type":"transaction","entry":[
{"fullUrl":"urn:uuid:11111111-1111-4111-8111-111111111111","resource":{"resourceType":"Patient","id":"11111111-1111-4111-8111-111111111111","identifier":[{"system":"` + fhir.NHSNumberSystem + `","value":"9434765919"}]},"request":{"method":"POST","url":"Patient"}},
{"fullUrl":"urn:uuid:33333333-3333-4333-8333-333333333333","resource":{"resourceType":"Medication","id":"33333333-3333-4333-8333-333333333333","code":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"406022","display":"Fluoxetine 25 MG"}]}},"request":{"method":"POST","url":"Medication"}},
{"fullUrl":"urn:uuid:44444444-4444-4444-8444-444444444444","resource":{"resourceType":"MedicationRequest","id":"44444444-4444-4444-8444-444444444444","status":"active","intent":"order",
  "medicationReference":{"reference":"urn:uuid:33333333-3333-4333-8333-333333333333"` + display + `},"subject":{"reference":"urn:uuid:11111111-1111-4111-8111-111111111111"},
  "authoredOn":"2025-01-01","dosageInstruction":[{"text":"One a day"}]},"request":{"method":"POST","url":"MedicationRequest"}}
]}`
			db := mustOpenDB(t)
			pid := importBundle(t, db, bundle)
			all, _ := db.RecordSection(ctx, pid, fhir.SectionMedicines, 1, 50)
			for _, it := range all.Items {
				t.Logf("the person's own view: %q code %s|%s", it.Display, it.CodeSystem, it.Code)
			}
			keepOutKind(t, db, pid, store.CategoryMentalHealth)
			carerSees(t, db, pid, fhir.SectionMedicines, 0, "Fluoxetine")
		})
	}
}

// A versioned reference to the Medication (Medication/med1/_history/2) keeps
// the medicine out for its codes, as any reference does (a review).
func TestAVersionedMedicationReferenceKeepsItOut(t *testing.T) {
	db := mustOpenDB(t)
	mr := `{"resourceType":"MedicationRequest","id":"mr1","status":"active","intent":"order","subject":{"reference":"Patient/%[1]s"},` +
		`"medicationReference":{"reference":"Medication/med1/_history/2","display":"Fluoxetine 20mg capsules"},"authoredOn":"2024-06-01","dosageInstruction":[{"text":"One a day"}]}`
	p := importSources(t, db, []string{"hospital", medFmt(fluoxetineMed), mr})
	keepOutKind(t, db, p, store.CategoryMentalHealth)
	carerSees(t, db, p, fhir.SectionMedicines, 0, "Fluoxetine")
}

package store_test

import (
	"context"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// A Procedure's category says what it is (FHIR's example procedure
// category 410606002, "Social service procedure"), as a plan's or a
// report's does: social care kept out keeps it out (a review).
func TestAProceduresCategoryKeepsItOut(t *testing.T) {
	db := mustOpenDB(t)
	proc := `{"resourceType":"Procedure","id":"pr1","status":"completed","subject":{"reference":"Patient/%[1]s"},` +
		`"category":{"coding":[{"system":"http://snomed.info/sct","code":"410606002","display":"Social service procedure"}]},` +
		`"code":{"coding":[{"system":"http://snomed.info/sct","code":"439708006","display":"Home visit"}]},"performedDateTime":"2025-02-01"}`
	p := importSources(t, db, []string{"council", proc})
	keepOutKind(t, db, p, store.CategorySocialCare)
	carerSees(t, db, p, fhir.SectionProcedures, 0, "410606002")
}

// An Observation's parts' codes say what it is as its code does: a
// screening whose part is the PHQ-9 total score (LOINC 44261-6, mental
// health) reached a carer, its value reading "PHQ-9 total score: 22" (a review).
func TestAResultsPartCodeKeepsItOut(t *testing.T) {
	db := mustOpenDB(t)
	obs := `{"resourceType":"Observation","id":"o1","status":"final","subject":{"reference":"Patient/%[1]s"},` +
		`"code":{"text":"Screening questionnaire"},"effectiveDateTime":"2025-02-01",` +
		`"component":[{"code":{"coding":[{"system":"http://loinc.org","code":"44261-6","display":"PHQ-9 total score"}]},"valueInteger":22}]}`
	p := importSources(t, db, []string{"gp", obs})
	keepOutKind(t, db, p, store.CategoryMentalHealth)
	carerSees(t, db, p, fhir.SectionResults, 0, "44261-6")
}

// A medicine whose reference to its Medication carries a display, and is
// named by it, is kept out for the Medication's codes, first and others
// alike: a Fluoxetine whose Medication is RxNorm 406022 reached a carer
// with mental health kept out, in their pages and download (a review).
func TestAMedicineNamedWithItsMedicationIsKeptOutForItsCodes(t *testing.T) {
	med := `{"resourceType":"Medication","id":"med1","extension":[{"url":"http://example.org/x","valueString":"%[1]s"}],` +
		`"code":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"406022","display":"Fluoxetine 25 MG"}]}}`
	byRef := `{"resourceType":"MedicationRequest","id":"mr1","status":"active","intent":"order","subject":{"reference":"Patient/%[1]s"},` +
		`"medicationReference":{"reference":"Medication/med1","display":"Fluoxetine 20mg capsules"},"authoredOn":"2024-06-01","dosageInstruction":[{"text":"One a day"}]}`
	db := mustOpenDB(t)
	p := importSources(t, db, []string{"hospital", med, byRef})
	keepOutKind(t, db, p, store.CategoryMentalHealth)
	if got := shownIn(t, store.ForCarer(context.Background(), fhir.SectionMedicines), db, p, fhir.SectionMedicines); len(got) != 0 {
		t.Errorf("mental health kept out; a carer's medicines: %q; want none (its Medication is RxNorm 406022, Fluoxetine)", got)
	}
	if leaks := carerDownloadHolds(t, db, p, "Fluoxetine"); len(leaks) != 0 {
		t.Errorf("a carer's download names Fluoxetine in: %q", leaks)
	}
}

// A plan's activities say what it is as its categories do: a generic "Care
// plan" whose one activity is a psychiatric interview (79094001, mental
// health) reached a carer, its detail reading "Includes: Initial
// psychiatric interview with mental status evaluation" (a review).
func TestACarePlansActivityCodeKeepsItOut(t *testing.T) {
	db := mustOpenDB(t)
	cp := `{"resourceType":"CarePlan","id":"cp1","status":"active","intent":"plan","subject":{"reference":"Patient/%[1]s"},` +
		`"category":[{"coding":[{"system":"http://snomed.info/sct","code":"734163000","display":"Care plan"}]}],"period":{"start":"2024-05-01"},` +
		`"activity":[{"detail":{"status":"scheduled","code":{"coding":[{"system":"http://snomed.info/sct","code":"79094001","display":"Initial psychiatric interview with mental status evaluation"}]}}}]}`
	p := importSources(t, db, []string{"gp", cp})
	keepOutKind(t, db, p, store.CategoryMentalHealth)
	sp, err := db.RecordSection(store.ForCarer(context.Background(), fhir.SectionCarePlans), p, fhir.SectionCarePlans, 1, 50)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range sp.Items {
		t.Errorf("mental health kept out; a carer's care plan: %q %q", it.Display, it.Detail)
	}
}

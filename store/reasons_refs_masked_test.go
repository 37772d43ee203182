package store_test

// References to a kept-out entry that do not give it as a reason keep
// nothing out; a carer's download masks them (fhir.MaskRefs). Each test
// failed when a review wrote it.

import (
	"context"
	"fmt"
	"maps"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// A care plan and its prescriptions name each other (the plan's activities,
// the prescriptions' basedOn). Keeping out one prescription keeps out no
// other, nor the plan: a review found a carer losing the current amlodipine
// and ramipril when sildenafil alone was kept out, and sildenafil labelled
// as kept out with another. Their references to it are masked.
func TestOnePrescriptionKeptOutInACarePlanHidesNoOther(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	med := func(id, text string) string {
		return `{"resourceType":"MedicationRequest","id":"` + id + `","status":"active","intent":"order","subject":{"reference":"Patient/%[1]s"},` +
			`"medicationCodeableConcept":{"text":"` + text + `"},"authoredOn":"2025-03-02","basedOn":[{"reference":"CarePlan/cp1"}]}`
	}
	p := importSources(t, db, []string{"gp",
		`{"resourceType":"CarePlan","id":"cp1","status":"active","intent":"plan","title":"Cardiovascular care plan","subject":{"reference":"Patient/%[1]s"},"period":{"start":"2025-03-01"},` +
			`"activity":[{"reference":{"reference":"MedicationRequest/m1"}},{"reference":{"reference":"MedicationRequest/m2"}},{"reference":{"reference":"MedicationRequest/m3"}}]}`,
		med("m1", "Amlodipine 5mg tablets"), med("m2", "Ramipril 2.5mg capsules"), med("m3", "Sildenafil 50mg tablets")})
	keepOutEntryNamed(t, db, p, fhir.SectionMedicines, "Sildenafil 50mg tablets")
	got := shownIn(t, store.ForCarer(ctx, fhir.SectionMedicines), db, p, fhir.SectionMedicines)
	if len(got) != 2 {
		t.Errorf("a carer's medicines after keeping out only sildenafil: %q; want amlodipine and ramipril", got)
	}
	sp, err := db.RecordSection(ctx, p, fhir.SectionMedicines, 1, 50)
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{}
	for _, it := range sp.Items {
		labels[it.Display] = fmt.Sprintf("withheld %v, with another %v", it.Withheld, it.WithheldWithOther)
	}
	if l := labels["Sildenafil 50mg tablets"]; l != "withheld true, with another false" {
		t.Errorf("the sildenafil the person kept out alone is labelled %q; want withheld, chosen alone (Share it again). All: %v", l, labels)
	}
}

// A report and its result each kept out one by one are each labelled as
// chosen (a review found the report labelled as kept out only with
// another), the report also as kept out with its result, so that "Share it
// again" is not taken to share it (a later review).
func TestTwoEntriesEachChosenAloneAreLabelledSo(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	p := importSources(t, db, []string{"gp", refPregnancyTest,
		`{"resourceType":"DiagnosticReport","id":"r1","status":"final","subject":{"reference":"Patient/%[1]s"},"code":{"text":"Urine tests"},"effectiveDateTime":"2025-03-01",` +
			`"result":[{"reference":"Observation/o1","display":"Pregnancy test: Positive"}]}`})
	keepOutEntryNamed(t, db, p, fhir.SectionResults, "Urine tests")
	keepOutEntryNamed(t, db, p, fhir.SectionResults, "Pregnancy test")
	sp, err := db.RecordSection(ctx, p, fhir.SectionResults, 1, 50)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, it := range sp.Items {
		got[it.Display] = fmt.Sprintf("withheld %v, chosen %v, with another %v", it.Withheld, it.WithheldChosen, it.WithheldWithOther)
	}
	want := map[string]string{"Urine tests": "withheld true, chosen true, with another true", "Pregnancy test": "withheld true, chosen true, with another false"}
	if !maps.Equal(got, want) {
		t.Errorf("labels %v; want %v (each was chosen alone)", got, want)
	}
}

// GP Connect problems link related content by extension valueReference.
// Keeping out one weight reading keeps out neither the diabetes problem
// naming it nor the metformin for the diabetes (a review found both gone
// from a carer's view); the problem's reference to it is masked.
func TestOneWeightKeptOutHidesNoDiagnosisNorMedicine(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	p := importSources(t, db, []string{"gp",
		`{"resourceType":"Observation","id":"w1","status":"final","subject":{"reference":"Patient/%[1]s"},"code":{"text":"Body weight"},"effectiveDateTime":"2025-01-10","valueQuantity":{"value":104,"unit":"kg"}}`,
		`{"resourceType":"Condition","id":"dm","subject":{"reference":"Patient/%[1]s"},"clinicalStatus":{"coding":[{"code":"active"}]},` +
			`"code":{"coding":[{"system":"http://snomed.info/sct","code":"44054006","display":"Type 2 diabetes mellitus"}]},"recordedDate":"2019-05-01",` +
			`"extension":[{"url":"https://fhir.nhs.uk/STU3/StructureDefinition/Extension-CareConnect-GPC-RelatedClinicalContent-1","valueReference":{"reference":"Observation/w1"}},` +
			`{"url":"https://fhir.nhs.uk/STU3/StructureDefinition/Extension-CareConnect-GPC-RelatedClinicalContent-1","valueReference":{"reference":"MedicationRequest/met"}}]}`,
		`{"resourceType":"MedicationRequest","id":"met","status":"active","intent":"order","subject":{"reference":"Patient/%[1]s"},` +
			`"medicationCodeableConcept":{"text":"Metformin 500mg tablets"},"authoredOn":"2025-03-02","reasonReference":[{"reference":"Condition/dm"}]}`,
		`{"resourceType":"AllergyIntolerance","id":"al","patient":{"reference":"Patient/%[1]s"},"clinicalStatus":{"coding":[{"code":"active"}]},"code":{"text":"Penicillin"},"recordedDate":"2010-01-01"}`,
	})
	keepOutEntryNamed(t, db, p, fhir.SectionResults, "Body weight")
	if got := shownIn(t, store.ForCarer(ctx, fhir.SectionConditions), db, p, fhir.SectionConditions); len(got) != 1 {
		t.Errorf("a carer's conditions after keeping out one weight: %q; want the Type 2 diabetes", got)
	}
	if got := shownIn(t, store.ForCarer(ctx, fhir.SectionMedicines), db, p, fhir.SectionMedicines); len(got) != 1 {
		t.Errorf("a carer's medicines after keeping out one weight: %q; want metformin", got)
	}
}

// A visit kept out one by one (a sexual health clinic) keeps out nothing
// done at it, but the results taken at it no longer name it in a carer's
// download (a review found its words in their references' display).
func TestAKeptOutVisitIsMaskedInWhatWasDoneAtIt(t *testing.T) {
	db := mustOpenDB(t)
	p := importSources(t, db, []string{"gp",
		`{"resourceType":"Encounter","id":"e1","status":"finished","class":{"code":"AMB"},"type":[{"text":"Sexual health clinic visit"}],"subject":{"reference":"Patient/%[1]s"},"period":{"start":"2025-02-02T09:00:00Z"}}`,
		`{"resourceType":"Observation","id":"o9","status":"final","subject":{"reference":"Patient/%[1]s"},"code":{"text":"Blood pressure"},"effectiveDateTime":"2025-02-02","valueString":"120/80",` +
			`"encounter":{"reference":"Encounter/e1","display":"Sexual health clinic visit"}}`})
	keepOutEntryNamed(t, db, p, fhir.SectionEncounters, "Sexual health clinic visit")
	if leaks := carerDownloadHolds(t, db, p, "Sexual health"); len(leaks) != 0 {
		t.Errorf("a carer's download names the kept-out visit in: %q", leaks)
	}
}

// Keeping out a hospital admission keeps out no visit recorded as part of
// it, as it keeps out no result taken in it (a review found the
// physiotherapy visit gone).
func TestAVisitWithinAKeptOutAdmissionStays(t *testing.T) {
	db := mustOpenDB(t)
	p := importSources(t, db, []string{"gp",
		`{"resourceType":"Encounter","id":"e1","status":"finished","class":{"code":"IMP"},"type":[{"text":"Hospital admission"}],"subject":{"reference":"Patient/%[1]s"},"period":{"start":"2025-02-01T09:00:00Z","end":"2025-02-10T09:00:00Z"}}`,
		`{"resourceType":"Encounter","id":"e2","status":"finished","class":{"code":"AMB"},"type":[{"text":"Physiotherapy"}],"subject":{"reference":"Patient/%[1]s"},"period":{"start":"2025-02-03T09:00:00Z"},"partOf":{"reference":"Encounter/e1"}}`,
		`{"resourceType":"Observation","id":"o9","status":"final","subject":{"reference":"Patient/%[1]s"},"code":{"text":"Blood pressure"},"effectiveDateTime":"2025-02-02","valueString":"120/80","encounter":{"reference":"Encounter/e1"}}`})
	keepOutEntryNamed(t, db, p, fhir.SectionEncounters, "Hospital admission")
	ctx := context.Background()
	results := shownIn(t, store.ForCarer(ctx, fhir.SectionResults), db, p, fhir.SectionResults)
	visits := shownIn(t, store.ForCarer(ctx, fhir.SectionEncounters), db, p, fhir.SectionEncounters)
	if len(results) != 1 || len(visits) != 1 {
		t.Errorf("a carer's results %q (the blood pressure taken in the admission, shared) and visits %q; want the physiotherapy visit too, as the result is", results, visits)
	}
}

// An allergy or a condition kept out alone is labelled as chosen alone: its
// own code is no other choice (a review: "Another choice you made keeps it
// out too" and no "Share it again" for a penicillin allergy, the only
// choice made, as the rule for another source's report of the same fact
// found the entry itself).
func TestACodedFactKeptOutAloneIsChosenAlone(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	p := importSources(t, db, []string{"gp",
		`{"resourceType":"AllergyIntolerance","id":"a1","clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical","code":"active"}]},` +
			`"code":{"coding":[{"system":"http://snomed.info/sct","code":"91936005","display":"Allergy to penicillin"}]},"patient":{"reference":"Patient/%[1]s"},"recordedDate":"2020-01-01"}`,
		`{"resourceType":"Condition","id":"c1","clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},` +
			`"code":{"coding":[{"system":"http://snomed.info/sct","code":"59621000","display":"Essential hypertension"},{"system":"http://hl7.org/fhir/sid/icd-10","code":"I10","display":"Essential (primary) hypertension"}]},` +
			`"subject":{"reference":"Patient/%[1]s"},"recordedDate":"2019-05-01"}`})
	for _, tc := range []struct{ section, display string }{
		{fhir.SectionAllergies, "Allergy to penicillin"},
		{fhir.SectionConditions, "Essential hypertension"},
	} {
		keepOutEntryNamed(t, db, p, tc.section, tc.display)
		sp, err := db.RecordSection(ctx, p, tc.section, 1, 50)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range sp.Items {
			if got := fmt.Sprintf("withheld %v, chosen %v, with another %v", it.Withheld, it.WithheldChosen, it.WithheldWithOther); got != "withheld true, chosen true, with another false" {
				t.Errorf("%s, the only entry kept out of its kind: %s; want chosen alone (Share it again)", it.Display, got)
			}
		}
	}
}

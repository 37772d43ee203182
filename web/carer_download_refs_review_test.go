package web_test

// Review D of 5fe5554: what still names a kept-out entry reaches a carer
// through the pages and /record/download.

import (
	"context"
	"fmt"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// Jane keeps sexual health out. Her screening result, whose value is HIV
// infection, is kept from John; the report it is the one result of, whose
// reference names it, is not: John opens it and downloads it.
func TestCarerDownloadLeavesOutAReportOfAResultKeptOutForItsValue(t *testing.T) {
	f, john := keptOutWorld(t, []string{
		`{"resourceType":"Observation","id":"o1","status":"final","subject":{"reference":"Patient/jane"},"code":{"text":"Screening result"},"effectiveDateTime":"2025-04-01",` +
			`"valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"86406008","display":"Human immunodeficiency virus infection"}]}}`,
		`{"resourceType":"DiagnosticReport","id":"r1","status":"final","subject":{"reference":"Patient/jane"},"code":{"text":"Blood tests"},"effectiveDateTime":"2025-04-01",` +
			`"result":[{"reference":"Observation/o1","display":"Screening result: HIV infection"}]}`,
	}, category(store.CategorySexualHealth))
	sp, err := f.db.RecordSection(context.Background(), f.jane.ID, fhir.SectionResults, 1, 50)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, it := range sp.Items {
		paths = append(paths, fmt.Sprintf("/record/item/%d", it.ID))
	}
	mustNotShow(t, f, john, append(paths, "/record/search?q=screening"), []string{"HIV"})
	downloadHoldsNone(t, f, john, "HIV")
}

// Jane keeps mental health out. A blood pressure taken as part of her
// psychiatric interview (Observation.partOf), a plan naming her fluoxetine
// (CarePlan.activity.reference), and a letter about her depression
// (DocumentReference.context.related) reach John's download.
func TestCarerDownloadLeavesOutMoreFieldsNamingAKeptOutEntry(t *testing.T) {
	for _, tc := range []struct{ name, raw, never string }{
		{"Observation.partOf", `{"resourceType":"Observation","id":"o9","status":"final","subject":{"reference":"Patient/jane"},"code":{"text":"Blood pressure"},` +
			`"effectiveDateTime":"2025-02-03","valueString":"120/80","partOf":[{"reference":"Procedure/pr1","display":"Initial psychiatric interview"}]}`, "psychiatric"},
		{"CarePlan.activity.reference", `{"resourceType":"CarePlan","id":"cp9","status":"active","intent":"plan","title":"Support plan","subject":{"reference":"Patient/jane"},` +
			`"period":{"start":"2025-02-01"},"activity":[{"reference":{"reference":"MedicationRequest/m1","display":"Fluoxetine 20mg capsules"}}]}`, "Fluoxetine"},
		{"DocumentReference.context.related", `{"resourceType":"DocumentReference","id":"d9","status":"current","subject":{"reference":"Patient/jane"},"type":{"text":"Clinic letter"},` +
			`"date":"2025-02-06T10:00:00Z","content":[{"attachment":{"contentType":"text/plain","title":"Letter"}}],` +
			`"context":{"related":[{"reference":"Condition/c1","display":"Depressive episode"}]}}`, "Depressive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, john := keptOutWorld(t, []string{
				`{"resourceType":"Condition","id":"c1","subject":{"reference":"Patient/jane"},"clinicalStatus":{"coding":[{"code":"active"}]},` +
					`"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"F32.9","display":"Depressive episode, unspecified"}]},"recordedDate":"2025-02-01"}`,
				`{"resourceType":"Procedure","id":"pr1","status":"completed","subject":{"reference":"Patient/jane"},"code":{"coding":[{"system":"http://snomed.info/sct","code":"79094001","display":"Initial psychiatric interview with mental status evaluation"}]},"performedDateTime":"2025-02-02T09:30:00Z"}`,
				`{"resourceType":"MedicationRequest","id":"m1","status":"active","intent":"order","subject":{"reference":"Patient/jane"},"medicationCodeableConcept":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"406022","display":"Fluoxetine 25 MG"}]},"authoredOn":"2025-02-02"}`,
				tc.raw}, category(store.CategoryMentalHealth))
			downloadHoldsNone(t, f, john, tc.never)
		})
	}
}

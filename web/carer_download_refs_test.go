package web_test

// A carer's download ("/record/download") holds no entry that names, by
// reference, one the person keeps out of sharing: a reference's display
// says what it points at. A review found both cases below there, while the
// pages already hid them.

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// keepNamed is keptOutWorld's keep: Jane keeps out her one entry in
// section whose name is display.
func keepNamed(t *testing.T, section, display string) func(f *fixture) url.Values {
	return func(f *fixture) url.Values {
		sp, err := f.db.RecordSection(context.Background(), f.jane.ID, section, 1, 50)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range sp.Items {
			if it.Display == display {
				return url.Values{"path": {"/choices/entry/confirm"}, "key": {store.ItemKey(it)}}
			}
		}
		t.Fatalf("Jane has no %q in %s", display, section)
		return nil
	}
}

// downloadHoldsNone fails when John's download holds any of never, naming the resource it is in.
func downloadHoldsNone(t *testing.T, f *fixture, john carerSession, never ...string) {
	t.Helper()
	body := readAll(f.get(t, "/record/download", john.cookie))
	for _, part := range strings.Split(body, `{"resource":`)[1:] {
		for _, w := range never {
			if strings.Contains(part, w) {
				t.Errorf("the carer's download holds %q, which Jane keeps out of sharing, in: %.260s", w, part)
			}
		}
	}
}

const pregnancyTest = `{"resourceType":"Observation","id":"o1","status":"final",` +
	`"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],` +
	`"code":{"coding":[{"system":"http://loinc.org","code":"2106-3","display":"Choriogonadotropin (pregnancy test) urine"}],"text":"Pregnancy test"},` +
	`"subject":{"reference":"Patient/jane"},"effectiveDateTime":"2025-03-01T09:00:00Z","valueCodeableConcept":{"text":"Positive"}}`

// Jane keeps one result out of sharing (a positive pregnancy test).
// Her carer's pages never show it, but the download holds the resources that
// point at it, with its name and value in the reference's display: the
// report it is a result of, and a procedure done for it. Now those are kept
// out with it (fhir entryRefs).
func TestCarerDownloadLeavesOutWhatNamesAKeptOutEntry(t *testing.T) {
	for _, tc := range []struct{ name, raw string }{
		{"the report it is a result of (DiagnosticReport.result)", `{"resourceType":"DiagnosticReport","id":"r1","status":"final","code":{"text":"Urine tests"},` +
			`"subject":{"reference":"Patient/jane"},"effectiveDateTime":"2025-03-01T09:00:00Z",` +
			`"result":[{"reference":"Observation/o1","display":"Pregnancy test: Positive"}]}`},
		{"a procedure done for it (Procedure.reasonReference)", `{"resourceType":"Procedure","id":"p1","status":"completed","subject":{"reference":"Patient/jane"},` +
			`"code":{"text":"Ultrasound scan"},"performedDateTime":"2025-03-02T09:30:00Z",` +
			`"reasonReference":[{"reference":"Observation/o1","display":"Pregnancy test: Positive"}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, john := keptOutWorld(t, []string{pregnancyTest, tc.raw}, keepNamed(t, fhir.SectionResults, "Pregnancy test"))
			// The pages keep it from John ...
			mustNotShow(t, f, john, []string{"/record/results", "/record/procedures", "/record/print"}, []string{"Pregnancy"})
			// ... and so does the download.
			downloadHoldsNone(t, f, john, "Pregnancy")
		})
	}
}

// Jane keeps mental health out of sharing. Her depression
// (ICD-10 F32.9) is kept from her carer, and so is a visit or procedure for
// it (Item.Reasons), and now a care team or care plan for it too: the
// carer's download held "F32.9 Depressive episode" in them.
func TestCarerDownloadLeavesOutTeamsAndPlansOfAKeptOutKind(t *testing.T) {
	depression := `{"resourceType":"Condition","id":"c1","subject":{"reference":"Patient/jane"},"clinicalStatus":{"coding":[{"code":"active"}]},` +
		`"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"F32.9","display":"Depressive episode, unspecified"}]},"recordedDate":"2025-02-01"}`
	for _, tc := range []struct{ name, raw string }{
		{"care team for it (CareTeam.reasonCode)", `{"resourceType":"CareTeam","id":"t1","status":"active","name":"Community team","subject":{"reference":"Patient/jane"},` +
			`"reasonCode":[{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"F32.9","display":"Depressive episode, unspecified"}]}],` +
			`"participant":[{"role":[{"text":"Care coordinator"}],"member":{"display":"Sam Jones"}}]}`},
		{"care plan for it (CarePlan.addresses)", `{"resourceType":"CarePlan","id":"cp1","status":"active","intent":"plan","title":"Support plan",` +
			`"subject":{"reference":"Patient/jane"},"period":{"start":"2025-02-01"},` +
			`"addresses":[{"reference":"Condition/c1","display":"Depressive episode"}],"activity":[{"detail":{"status":"in-progress","code":{"text":"Weekly talk"}}}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, john := keptOutWorld(t, []string{depression, tc.raw}, category(store.CategoryMentalHealth))
			mustNotShow(t, f, john, []string{"/record/conditions", "/record/care-team", "/record/care-plans", "/record/print"}, []string{"Depress"})
			downloadHoldsNone(t, f, john, "Depress", "F32")
		})
	}
}

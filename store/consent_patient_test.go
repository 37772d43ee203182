package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// A Consent goes to the Patient the person's record at the source is read
// by (PatientAt): after a merge upstream, the Patient merged into; with a
// stray second Patient, the one found first. queueDeliveries takes
// MIN(patient_id), the smallest id as text.
// A person's choices are sent to a source for the Patient their record there is
// read by: after a merge upstream, the one merged into; beside a stray
// second, the first linked (a review: the least id was taken).
func TestConsentNamesThePatientTheRecordIsReadBy(t *testing.T) {
	for _, tc := range []struct {
		name        string
		first, then string
		mergeInto   string
	}{
		{name: "merged upstream into a Patient whose id sorts last", first: "a-old", then: "z-new", mergeInto: "z-new"},
		{name: "a stray Patient whose id sorts first", first: "pt1", then: "-stray"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			db := mustOpenDB(t)
			src, person := syncSource(t, db)
			for _, id := range []string{tc.first, tc.then} {
				raw := fmt.Sprintf(`{"resourceType":"Patient","id":%q,"identifier":[{"system":%q,"value":"9434765919"}]}`, id, fhir.NHSNumberSystem)
				if _, err := db.ApplyPage(ctx, store.PageUpdate{Source: src.Name, SourceID: src.ID, PersonID: person.ID, ResourceType: "Patient", Origin: "page",
					Resources: []fhir.Resource{{Type: "Patient", ID: id, Raw: []byte(raw)}}}); err != nil {
					t.Fatal(err)
				}
			}
			if tc.mergeInto != "" {
				if err := db.PatientMerged(ctx, src.ID, person.ID, tc.mergeInto); err != nil {
					t.Fatal(err)
				}
			}
			want, err := db.PatientAt(ctx, src.ID, person.ID)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.ChangeConsent(ctx, person.ID, store.Performer{AccountID: 1, Name: "Jane"}, store.ConsentChange{Question: store.QuestionResearch, Answer: "no"},
				func(d store.ConsentDecision) store.Access {
					return store.Access{AccountID: 1, PersonID: person.ID, Action: "choice"}
				}); err != nil {
				t.Fatal(err)
			}
			items, err := db.ClaimConsentOutbox(ctx, 10, time.Minute)
			if err != nil || len(items) != 1 {
				t.Fatalf("claim: %v %v", items, err)
			}
			if items[0].PatientID != want || !strings.Contains(string(items[0].Body), `"reference":"Patient/`+want+`"`) {
				t.Errorf("the Consent for the source names Patient/%s; the record there is read by Patient/%s (PatientAt)", items[0].PatientID, want)
			}
		})
	}
}

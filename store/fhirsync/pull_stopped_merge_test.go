package fhirsync_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// TestAStopBeforeFollowingAMergeLosesNothing: Jane's p1 is merged upstream
// into p2, a record the hospital had for her
// before the first sync (its Observation o0 older than every watermark).
// stopped: the sync that follows the merge is stopped after patientWith
// stored p2 (linked to Jane) and before PatientMerged committed (the same
// two ApplyPage calls the sync makes, then nothing). The next sync should
// bring o0, as an uninterrupted one does.
func TestAStopBeforeFollowingAMergeLosesNothing(t *testing.T) {
	for _, stopped := range []bool{false, true} {
		t.Run(fmt.Sprintf("stopped=%v", stopped), func(t *testing.T) {
			ctx := context.Background()
			srv, oldID := serverWithJane(t)
			newID := post(t, srv, "/Patient", `{"resourceType":"Patient","name":[{"given":["Jane"],"family":"Example"}],"birthDate":"1957-03-14"}`)
			o0 := post(t, srv, "/Observation", observationAt("", newID, "Cholesterol"))
			time.Sleep(2100 * time.Millisecond)
			o1 := post(t, srv, "/Observation", observationAt("", oldID, "HbA1c"))
			db, src, puller, person := janeFound(t, srv.URL)
			puller.Reconcile = 24 * time.Hour
			if _, err := puller.PullPerson(ctx, src, person.ID, nil); err != nil {
				t.Fatal(err)
			}
			time.Sleep(1100 * time.Millisecond)
			putOK(t, srv, "/Patient/"+newID, fmt.Sprintf(`{"resourceType":"Patient","id":%q,"identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"`+janeNHS+`"}],"name":[{"given":["Jane"],"family":"Example"}],"birthDate":"1957-03-14"}`, newID))
			putOK(t, srv, "/Patient/"+oldID, mergedPatient(oldID, newID, janeNHS))
			putOK(t, srv, "/Observation/"+o1, observationAt(`"id":"`+o1+`",`, newID, "HbA1c"))
			if stopped {
				for _, id := range []string{oldID, newID} {
					r, err := fhir.ParseResource(srv.Search(t, "Patient?_id="+id).Entry[0].Resource)
					if err != nil {
						t.Fatal(err)
					}
					if _, err := db.ApplyPage(ctx, store.PageUpdate{Source: src.Name, SourceID: src.ID, PersonID: person.ID, ResourceType: "Patient",
						Origin: "test", Resources: []fhir.Resource{r}}); err != nil {
						t.Fatal(err)
					}
				}
				at, _ := db.PatientAt(ctx, src.ID, person.ID)
				t.Logf("after the stop PatientAt = %s (old %s, new %s)", at, oldID, newID)
			}
			sum, err := puller.PullPerson(ctx, src, person.ID, nil)
			got := cachedObservations(t, db, person.ID)
			if !slices.Contains(got, o0) || err != nil {
				t.Errorf("Observations %v, want %s (filed under Patient/%s before the first sync) too; err %v; warnings %q", got, o0, newID, err, sum.Warnings)
			}
		})
	}
}

package fhirsync_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
)

// TestASecondMergeIntoAnotherNumberKeepsTheRecordRunAfterRun: Jane's p1 is
// merged into p2 (her number) and the sync follows; later the
// hospital merges p2 into p3, which gives another NHS number, moving her
// HbA1c there: the sync must stop saying so, and keep what was stored, run
// after run (TestAPatientMergedUpstreamKeepsTheRecord's second case).
func TestASecondMergeIntoAnotherNumberKeepsTheRecordRunAfterRun(t *testing.T) {
	for _, deleteOld := range []bool{false, true} {
		t.Run(fmt.Sprintf("p1 deleted upstream=%v", deleteOld), func(t *testing.T) {
			ctx := context.Background()
			srv, p1 := serverWithJane(t)
			o1 := post(t, srv, "/Observation", observationAt("", p1, "HbA1c"))
			db, src, puller, person := janeFound(t, srv.URL)
			if _, err := puller.PullPerson(ctx, src, person.ID, nil); err != nil {
				t.Fatal(err)
			}
			time.Sleep(1100 * time.Millisecond)
			p2 := post(t, srv, "/Patient", `{"resourceType":"Patient","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"`+janeNHS+`"}],"name":[{"given":["Jane"],"family":"Example"}],"birthDate":"1957-03-14"}`)
			putOK(t, srv, "/Patient/"+p1, mergedPatient(p1, p2, janeNHS))
			putOK(t, srv, "/Observation/"+o1, observationAt(`"id":"`+o1+`",`, p2, "HbA1c"))
			if _, err := puller.PullPerson(ctx, src, person.ID, nil); err != nil {
				t.Fatalf("following the first merge: %v", err)
			}
			if got := cachedObservations(t, db, person.ID); !slices.Equal(got, []string{o1}) {
				t.Fatalf("after the first merge: %v", got)
			}
			ids, _ := db.PatientIDsAt(ctx, src.ID, person.ID)
			t.Logf("p1 %s p2 %s; linked %v", p1, p2, ids)
			time.Sleep(1100 * time.Millisecond)
			p3 := post(t, srv, "/Patient", `{"resourceType":"Patient","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9000000009"}],"name":[{"given":["Someone"],"family":"Else"}],"birthDate":"1968-09-22"}`)
			putOK(t, srv, "/Patient/"+p2, mergedPatient(p2, p3, janeNHS))
			putOK(t, srv, "/Observation/"+o1, observationAt(`"id":"`+o1+`",`, p3, "HbA1c"))
			if deleteOld {
				if status, b := srv.Do(t, "DELETE", "/Patient/"+p1, nil); status >= 300 {
					t.Fatalf("DELETE: %d %s", status, b)
				}
			}
			for run := 1; run <= 3; run++ {
				_, err := puller.PullPerson(ctx, src, person.ID, nil)
				at, _ := db.PatientAt(ctx, src.ID, person.ID)
				got := cachedObservations(t, db, person.ID)
				t.Logf("run %d: PatientAt %s; err %v; observations %v", run, at, err, got)
				if !slices.Equal(got, []string{o1}) {
					t.Errorf("run %d: Jane's record holds %v; want her HbA1c %s kept (the sync stops at a merge into another NHS number)", run, got, o1)
				}
			}
		})
	}
}

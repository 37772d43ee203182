package store_test

import (
	"context"
	"testing"
)

// TestAMergedPatientJoinsItsSurvivor: a Patient the source merged into
// another (replaced-by), found by no identifier of its own, is the record of
// the person the survivor is, and says nothing of who they are: its name and
// identifiers are not theirs. One giving another NHS number than that
// person's is a person of its own: people are never joined across NHS
// numbers (a review of Bulk Data).
func TestAMergedPatientJoinsItsSurvivor(t *testing.T) {
	ctx := context.Background()
	condition := conditionOf("c2", "p2", "Asthma")
	for _, tc := range []struct {
		name    string
		merged  string
		persons int
	}{
		{"no NHS number", `{"resourceType":"Patient","id":"p2","active":false,"identifier":[{"system":"https://mrn.example","value":"M-2"}],"name":[{"family":"Exampel","given":["Jayne"]}],"birthDate":"1957-03-14","link":[{"type":"replaced-by","other":{"reference":"Patient/p1"}}]}`, 1},
		{"the same NHS number", `{"resourceType":"Patient","id":"p2","active":false,"identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}],"birthDate":"1957-03-14","link":[{"type":"replaced-by","other":{"reference":"Patient/p1"}}]}`, 1},
		{"another NHS number", `{"resourceType":"Patient","id":"p2","active":false,"identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765927"}],"birthDate":"1968-09-22","link":[{"type":"replaced-by","other":{"reference":"Patient/p1"}}]}`, 2},
	} {
		for _, order := range []string{"survivor first", "merged first"} {
			t.Run(tc.name+", "+order, func(t *testing.T) {
				db := mustOpenDB(t)
				groups := [][]string{{janeSurvivor, tc.merged, condition}}
				if order == "merged first" {
					// As a Bulk Data export may send them, in files stored
					// a batch at a time (a review: the survivor was made a
					// person beside the one the merged record was taken for).
					groups = [][]string{{tc.merged, condition}, {janeSurvivor}}
				}
				importLTH(t, db, groups...)
				if tc.persons == 1 {
					wantOneJane(t, db, 1, "M-2")
					return
				}
				srcs, err := db.Sources(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if persons, err := db.PersonsAt(ctx, srcs[0].ID); err != nil || len(persons) != tc.persons {
					t.Fatalf("%d persons: %+v, %v; want %d", len(persons), persons, err, tc.persons)
				}
			})
		}
	}
}

package store_test

import (
	"context"
	"testing"

	"github.com/mycarerecord/portal/store"
)

// TestAMergedPatientJoinsItsSurvivor: a Patient the source merged into
// another (replaced-by), found by no identifier of its own, is the record of
// the person the survivor is, and says nothing of who they are: its name and
// identifiers are not theirs. One giving another NHS number than that
// person's is a person of its own: people are never joined across NHS
// numbers (a review of Bulk Data).
func TestAMergedPatientJoinsItsSurvivor(t *testing.T) {
	ctx := context.Background()
	const condition = `{"resourceType":"Condition","id":"c2","subject":{"reference":"Patient/p2"},"code":{"text":"Asthma"},"recordedDate":"2024-01-05"}`
	survivor := `{"resourceType":"Patient","id":"p1","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}],"name":[{"family":"Example","given":["Jane"]}],"birthDate":"1957-03-14"}`
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
				files := [][]string{{survivor, tc.merged, condition}}
				if order == "merged first" {
					// As a Bulk Data export may send them, in files stored
					// a batch at a time (a review: the survivor was made a
					// person beside the one the merged record was taken for).
					files = [][]string{{tc.merged, condition}, {survivor}}
				}
				for _, f := range files {
					if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "lth", LinkSystems: []string{"https://mrn.example"}}, "test", parsed(t, f...)); err != nil {
						t.Fatal(err)
					}
				}
				srcs, err := db.Sources(ctx)
				if err != nil {
					t.Fatal(err)
				}
				persons, err := db.PersonsAt(ctx, srcs[0].ID)
				if err != nil {
					t.Fatal(err)
				}
				if len(persons) != tc.persons {
					t.Fatalf("%d persons: %+v; want %d", len(persons), persons, tc.persons)
				}
				if tc.persons == 1 {
					p := persons[0]
					if p.Given != "Jane" || p.Family != "Example" {
						t.Errorf("the person is %s %s; want Jane Example, the merged record's name left out", p.Given, p.Family)
					}
					if found, err := db.PersonByIdentifier(ctx, "https://mrn.example", "M-2"); err == nil && found.ID != 0 {
						t.Errorf("the merged record's identifier links the person: %+v", found)
					}
					sec, err := db.RecordSection(ctx, p.ID, "conditions", 1, 10)
					if err != nil || len(sec.Items) != 1 {
						t.Errorf("the merged record's condition is not in the person's record: %v, %d", err, len(sec.Items))
					}
				}
			})
		}
	}
}

package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// TestPatientAtIsTheOneFoundFirst: the Patient a sync searches by is the one
// first linked to the person at the source (found by their identifiers),
// not another with the same NHS number that a later page brought, whatever
// their ids.
func TestPatientAtIsTheOneFoundFirst(t *testing.T) {
	for _, tc := range []struct{ found, stray string }{
		{"pt1", "-stray"}, // the stray sorts first
		{"a1", "z9"},
	} {
		t.Run(tc.found+" then "+tc.stray, func(t *testing.T) {
			ctx := context.Background()
			db := mustOpenDB(t)
			src, person := syncSource(t, db)
			for _, id := range []string{tc.found, tc.stray} {
				raw := fmt.Sprintf(`{"resourceType":"Patient","id":%q,"identifier":[{"system":%q,"value":"9434765919"}]}`, id, fhir.NHSNumberSystem)
				if _, err := db.ApplyPage(ctx, store.PageUpdate{Source: src.Name, SourceID: src.ID, PersonID: person.ID, ResourceType: "Patient", Origin: "page",
					Resources: []fhir.Resource{{Type: "Patient", ID: id, Raw: []byte(raw)}}}); err != nil {
					t.Fatal(err)
				}
			}
			if got, err := db.PatientAt(ctx, src.ID, person.ID); err != nil || got != tc.found {
				t.Errorf("PatientAt = %q, %v; want %q", got, err, tc.found)
			}
		})
	}
}

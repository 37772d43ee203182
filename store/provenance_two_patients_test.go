package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// A review found: a Provenance is now given its patient from its targets, the
// first naming a Patient. One that records a batch touching two people
// (targets Patient/a and Patient/b, each named) is filed as Anne's, and
// Anne's download then holds Bob's name and the ids of his records: one
// person's export carries another's.
func TestProvenanceOfTwoPatientsIsNobodys(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	raws := []string{
		`{"resourceType":"Patient","id":"a","identifier":[{"system":"` + fhir.NHSNumberSystem + `","value":"9434765919"}],"name":[{"given":["Anne"],"family":"Smith"}]}`,
		`{"resourceType":"Patient","id":"b","identifier":[{"system":"` + fhir.NHSNumberSystem + `","value":"9434765870"}],"name":[{"given":["Bob"],"family":"Jones"}]}`,
		`{"resourceType":"Provenance","id":"prov1","recorded":"2025-01-01T00:00:00Z",` +
			`"target":[{"reference":"Patient/a","display":"Anne Smith"},{"reference":"Patient/b","display":"Bob Jones"},{"reference":"Condition/b-hiv","display":"HIV infection (Bob Jones)"}],` +
			`"agent":[{"who":{"display":"Batch loader"}}]}`,
	}
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "gp"}, "test", parsed(t, raws...)); err != nil {
		t.Fatal(err)
	}
	anne, err := db.PersonByNHSNumber(ctx, "9434765919")
	if err != nil {
		t.Fatal(err)
	}
	var buf strings.Builder
	if _, err := db.WriteBundle(ctx, anne.ID, &buf); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "Bob Jones") {
		t.Errorf("Anne's download holds a Provenance naming Bob Jones and his records:\n%s", buf.String())
	}
}

package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// A fact two sources report shows once (the other report stands aside).
// Removing the source whose report stands must leave the other's in the record.
func TestRemovingASourceKeepsAnotherSourcesReport(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	const med = `{"resourceType":"MedicationRequest","id":"m-%s","status":"active","medicationCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"325278007","display":"Metformin 500mg tablets"}]},"subject":{"reference":"Patient/p-%s"},"authoredOn":"2024-01-05","dosageInstruction":[{"text":"One tablet twice a day"}]}`
	for _, src := range []string{"gp", "lth"} {
		pt := fmt.Sprintf(`{"resourceType":"Patient","id":"p-%s","identifier":[{"system":%q,"value":"9434765919"}]}`, src, fhir.NHSNumberSystem)
		var rs []fhir.Resource
		for _, raw := range []string{pt, fmt.Sprintf(med, src, src)} {
			r, err := fhir.ParseResource([]byte(raw))
			if err != nil {
				t.Fatal(err)
			}
			rs = append(rs, r)
		}
		if _, err := db.ImportResources(ctx, store.ImportOptions{Source: src}, "test", rs); err != nil {
			t.Fatal(err)
		}
	}
	p, err := db.PersonByNHSNumber(ctx, "9434765919")
	if err != nil {
		t.Fatal(err)
	}
	medicines := func() int {
		sp, err := db.RecordSection(ctx, p.ID, "medicines", 1, 100)
		if err != nil {
			t.Fatal(err)
		}
		return len(sp.Items)
	}
	if n := medicines(); n != 1 {
		t.Fatalf("before: %d entries, want 1", n)
	}
	if _, err := db.RemoveSource(ctx, "gp", false); err != nil {
		t.Fatal(err)
	}
	if n := medicines(); n != 1 {
		t.Errorf("after source remove gp: %d medicines entries, want 1 (lth still reports Metformin)", n)
	}
	if res, err := db.SearchRecord(ctx, p.ID, "metformin", store.SearchOptions{PerSection: 5}); err != nil || res.Total != 1 {
		t.Errorf("search for metformin after source remove gp: %+v, %v; want it found", res, err)
	}
}

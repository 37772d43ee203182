package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/mycarerecord/portal/store"
)

// The summary says what the record holds that no page shows, by kind, from
// every source of the person, and nothing of billing, nor of another
// person's; a carer is told nothing of it (found by a clinical-safety
// review: an implanted defibrillator showed nowhere).
func TestUnshownKinds(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	for _, src := range []struct{ name, pt string }{{"gp", "g"}, {"lth", "h"}} {
		res := parsed(t,
			fmt.Sprintf(`{"resourceType":"Patient","id":%q,"identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}]}`, src.pt),
			`{"resourceType":"Patient","id":"other","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765870"}]}`,
			`{"resourceType":"Device","id":"d-`+src.pt+`","patient":{"reference":"Patient/`+src.pt+`"},"type":{"text":"Implantable defibrillator"}}`,
			`{"resourceType":"ImagingStudy","id":"i-`+src.pt+`","status":"available","subject":{"reference":"Patient/`+src.pt+`"}}`,
			`{"resourceType":"ImagingStudy","id":"i-other","status":"available","subject":{"reference":"Patient/other"}}`,
			`{"resourceType":"Claim","id":"c-`+src.pt+`","status":"active","patient":{"reference":"Patient/`+src.pt+`"}}`,
		)
		if src.name == "lth" {
			res = res[:len(res)-3] // the hospital holds the device only
		}
		if _, err := db.ImportResources(ctx, store.ImportOptions{Source: src.name, OrgName: map[string]string{"gp": "Meanwood Group Practice"}[src.name]}, "test", res); err != nil {
			t.Fatal(err)
		}
	}
	p, err := db.PersonByNHSNumber(ctx, "9434765919")
	if err != nil {
		t.Fatal(err)
	}
	sum, err := db.RecordSummary(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Who sent them, by name (the source's own where it was given none).
	if got := fmt.Sprint(sum.Unshown); got != "[{Device 2 [Meanwood Group Practice lth]} {ImagingStudy 1 [Meanwood Group Practice]}]" {
		t.Errorf("not shown: %s; want the two sources' devices and the GP's scan, each with who sent it", got)
	}
	if kinds, err := db.UnshownKinds(store.ForCarer(ctx, "medicines"), p.ID); err != nil || kinds != nil {
		t.Errorf("to a carer: %v, %v; want nothing", kinds, err)
	}
}

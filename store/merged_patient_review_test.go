package store_test

import (
	"context"
	"testing"

	"github.com/mycarerecord/portal/store"
)

const survivorP = `{"resourceType":"Patient","id":"new","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}],"name":[{"given":["Jane"],"family":"Smith"}],"birthDate":"1957-03-14"}`

// TestAMergedPatientWithAnotherNHSNumberIsAnotherPerson: a merged-away
// Patient carrying an NHS number no one here holds is not joined to the
// survivor's person, so a later Patient with that number elsewhere is not
// joined to them either (a review: Bob's record and name went to Jane).
func TestAMergedPatientWithAnotherNHSNumberIsAnotherPerson(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "lth"}, "f1", parsed(t, survivorP,
		`{"resourceType":"Patient","id":"old","active":false,"identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765870"}],"name":[{"given":["Bob"],"family":"Other"}],"birthDate":"1980-01-01","link":[{"type":"replaced-by","other":{"reference":"Patient/new"}}]}`)); err != nil {
		t.Fatal(err)
	}
	// Another source's Patient with the merged record's number.
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "gp"}, "f2", parsed(t,
		`{"resourceType":"Patient","id":"g1","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765870"}],"name":[{"given":["Bob"],"family":"Other"}],"birthDate":"1980-01-01"}`)); err != nil {
		t.Fatal(err)
	}
	ps, err := db.Persons(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 {
		t.Errorf("%d persons from two NHS numbers: %+v; want 2 (Bob at the GP joined Jane's record)", len(ps), ps)
	}
}

// TestAMergedPatientComingAgainRenamesNoOne: the merged record stored again
// (a later export holding it at a new version) does not give the person its
// name and date of birth (a review: Jane Smith became Jane Maiden).
func TestAMergedPatientComingAgainRenamesNoOne(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	old := func(v string) string {
		return `{"resourceType":"Patient","id":"old","meta":{"versionId":"` + v + `"},"active":false,"name":[{"given":["Jane"],"family":"Maiden"}],"birthDate":"1957-04-14","link":[{"type":"replaced-by","other":{"reference":"Patient/new"}}]}`
	}
	for _, v := range []string{"1", "2"} {
		if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "lth"}, "f"+v, parsed(t, survivorP, old(v))); err != nil {
			t.Fatal(err)
		}
	}
	p, err := db.PersonByNHSNumber(ctx, "9434765919")
	if err != nil {
		t.Fatal(err)
	}
	if p.Family != "Smith" || p.BirthDate != "1957-03-14" {
		t.Errorf("person after the merged record came again: %s %s born %s; want Jane Smith born 1957-03-14", p.Given, p.Family, p.BirthDate)
	}
}

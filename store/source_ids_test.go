package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// A source's id is never given to another, even after the newest source is
// removed: a sync of the removed source still running knows it by id and
// name, and must not store what it fetches in one added again by that name.
// Sources made by an import of files are given ids the same way.
func TestASourceIDIsNeverGivenTwice(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	a, err := db.AddSource(ctx, store.Source{Name: "a", BaseURL: "https://a.example/fhir"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := db.AddSource(ctx, store.Source{Name: "b", BaseURL: "https://b.example/fhir"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.RemoveSource(ctx, "b", false); err != nil {
		t.Fatal(err)
	}
	again, err := db.AddSource(ctx, store.Source{Name: "b", BaseURL: "https://b2.example/fhir"})
	if err != nil {
		t.Fatal(err)
	}
	if again.ID <= b.ID {
		t.Errorf("b added again has id %d; the removed b had %d (a %d): want one above both", again.ID, b.ID, a.ID)
	}
	if _, err := db.RemoveSource(ctx, "b", false); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "files"}, "test", []fhir.Resource{{Type: "Patient", ID: "p1", Raw: []byte(`{"resourceType":"Patient","id":"p1"}`)}}); err != nil {
		t.Fatal(err)
	}
	srcs, err := db.Sources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range srcs {
		if s.Name == "files" && s.ID <= again.ID {
			t.Errorf("the import's source has id %d; a removed one had %d", s.ID, again.ID)
		}
	}
}

// A FHIR server is added as one source: a second for the same address would
// fetch everything twice and show each fact twice, from "two" places.
func TestAServerIsAddedOnce(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	if _, err := db.AddSource(ctx, store.Source{Name: "lth", BaseURL: "https://fhir.example.org/r4"}); err != nil {
		t.Fatal(err)
	}
	for _, same := range []string{"https://fhir.example.org/r4/", "https://FHIR.example.org/r4", "https://fhir.example.org:443/r4", "http://fhir.example.org/r4//"} {
		_, err := db.AddSource(ctx, store.Source{Name: "lth-2", BaseURL: same})
		var se *store.Error
		if !errors.As(err, &se) || se.Code != store.ECONFLICT || err.Error() != `The source "lth" already has the address https://fhir.example.org/r4: a FHIR server is added once.` {
			t.Errorf("a second source for one server, as %s: %v", same, err)
		}
	}
	if _, err := db.AddSource(ctx, store.Source{Name: "lth-2", BaseURL: "https://fhir.example.org/r4b"}); err != nil {
		t.Errorf("another address: %v", err)
	}
}

package fhirsync_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/mycarerecord/portal/e2e/upstream"
	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhirsync"
)

// TestFindPersonNeverLinksASetAsidePatientsIdentifier: a Patient whose NHS
// number changed is set aside by the import (it may be another person under
// the same id). FindPerson by an identifier only that new version carries
// must not give that identifier to the person the old version was linked to:
// it did, after the change that links a second identifier of a stored
// Patient, and the next sync from another source made the two people one
// (found by a review).
func TestFindPersonNeverLinksASetAsidePatientsIdentifier(t *testing.T) {
	ctx := context.Background()
	srv := upstream.Start(t)
	const mrnSystem = "https://example.nhs.uk/mrn"
	const otherNHS = "9434765927"
	status, body := srv.Do(t, "POST", "/Patient", []byte(`{"resourceType":"Patient","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"`+janeNHS+`"}],"name":[{"given":["Jane"],"family":"Example"}],"birthDate":"1957-03-14"}`))
	if status != http.StatusCreated {
		t.Fatalf("add patient: %d %s", status, body)
	}
	id, _ := idVersion(t, body)
	db := openDB(t)
	src, err := db.AddSource(ctx, store.Source{Name: "lth", BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	puller := &fhirsync.Puller{DB: db, Client: fhirsync.NewClients(func(string) string { return "" }, fastClient).Get, Reconcile: -1}
	jane, err := puller.FindPerson(ctx, src, "https://fhir.nhs.uk/Id/nhs-number", janeNHS)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := puller.PullPerson(ctx, src, jane.ID, nil); err != nil {
		t.Fatal(err)
	}
	// The source finds the Patient was another person's all along: another NHS number, name and MRN.
	if status, body := srv.Do(t, "PUT", "/Patient/"+id, []byte(`{"resourceType":"Patient","id":"`+id+`","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"`+otherNHS+`"},{"system":"`+mrnSystem+`","value":"MRN-42"}],"name":[{"given":["Bob"],"family":"Other"}],"birthDate":"1990-01-01"}`)); status != http.StatusOK {
		t.Fatalf("change patient: %d %s", status, body)
	}
	// The operator looks for Bob by his MRN: portal sync --identifier SYSTEM|MRN-42.
	got, err := puller.FindPerson(ctx, src, mrnSystem, "MRN-42")
	if !errors.Is(err, fhirsync.ErrSetAside) {
		t.Errorf("FindPerson(MRN-42) = person %d (%s), %v; want it refused as set aside", got.ID, got.Name(), err)
	}
	// A second source holding Bob (here the same server through a proxy), synced for Jane as serve's worker does.
	proxy := newStubProxy(t, srv.URL, nil, nil)
	src2, err := db.AddSource(ctx, store.Source{Name: "gp", BaseURL: proxy.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, err = puller.PullPerson(ctx, src2, jane.ID, nil)
	after, _ := db.Person(ctx, jane.ID)
	pat, _ := db.PatientAt(ctx, src2.ID, jane.ID)
	if pat != "" || after.NHSNumber != janeNHS || after.Given != "Jane" {
		t.Logf("after syncing Jane from gp (%v): %+v", err, after)
		t.Errorf("Bob's Patient/%s (NHS %s) at gp is linked to Jane (person %d, NHS %s): two people made one", pat, otherNHS, jane.ID, janeNHS)
	}
}

package fhirsync_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/e2e/upstream"
	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhirsync"
)

// TestPullReadsThePatientAgain: a person's Patient was read once, when the
// sync first found it, so a new name upstream never reached the record. Each
// sync now reads it again: a change is stored, the person's name with it;
// a Patient set aside (another NHS number) waits its turn rather than being
// read on every sync; and one the server no longer holds fails the sync,
// saying so, with nothing removed.
func TestPullReadsThePatientAgain(t *testing.T) {
	ctx := context.Background()
	srv := upstream.Start(t)
	patient := func(id, nhs, family string) []byte {
		withID := ""
		if id != "" {
			withID = `"id":"` + id + `",`
		}
		return []byte(`{"resourceType":"Patient",` + withID + `"identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"` + nhs + `"}],` +
			`"name":[{"given":["Jane"],"family":"` + family + `"}],"birthDate":"1957-03-14"}`)
	}
	status, body := srv.Do(t, "POST", "/Patient", patient("", janeNHS, "Example"))
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
	person, err := puller.FindPerson(ctx, src, "https://fhir.nhs.uk/Id/nhs-number", janeNHS)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := puller.PullPerson(ctx, src, person.ID, nil); err != nil {
		t.Fatal(err)
	}

	// A new family name upstream reaches the person.
	if status, body := srv.Do(t, "PUT", "/Patient/"+id, patient(id, janeNHS, "Example-Smith")); status != http.StatusOK {
		t.Fatalf("rename patient: %d %s", status, body)
	}
	sum, err := puller.PullPerson(ctx, src, person.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := db.Person(ctx, person.ID); err != nil || got.Family != "Example-Smith" || sum.Updated != 1 {
		t.Errorf("after a sync: %+v (%v), %d updated; want the family name Example-Smith, the Patient updated", got, err, sum.Updated)
	}
	// Nothing changed: nothing stored.
	if sum, err := puller.PullPerson(ctx, src, person.ID, nil); err != nil || sum.Updated+sum.Added != 0 {
		t.Errorf("a sync with nothing changed: %+v, %v; want nothing stored", sum, err)
	}

	// Another NHS number: set aside once, then left to its turn.
	if status, body := srv.Do(t, "PUT", "/Patient/"+id, patient(id, "9434765927", "Other")); status != http.StatusOK {
		t.Fatalf("change patient: %d %s", status, body)
	}
	if sum, err := puller.PullPerson(ctx, src, person.ID, nil); err != nil || sum.Rejected != 1 {
		t.Errorf("a sync after the NHS number changed: %+v, %v; want the Patient set aside", sum, err)
	}
	if sum, err := puller.PullPerson(ctx, src, person.ID, nil); err != nil || sum.Rejected != 0 {
		t.Errorf("the next sync: %+v, %v; want the Patient left to wait its turn", sum, err)
	}
	if got, _ := db.Person(ctx, person.ID); got.NHSNumber != janeNHS || got.Family != "Example-Smith" {
		t.Errorf("the person is now %+v; want Jane Example-Smith as before", got)
	}

	// Gone upstream: the sync fails, saying so, and the person stays.
	db2 := openDB(t)
	src2, err := db2.AddSource(ctx, store.Source{Name: "lth", BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	status, body = srv.Do(t, "POST", "/Patient", patient("", "9434765870", "Gone"))
	if status != http.StatusCreated {
		t.Fatalf("add patient: %d %s", status, body)
	}
	goneID, _ := idVersion(t, body)
	puller.DB = db2
	gone, err := puller.FindPerson(ctx, src2, "https://fhir.nhs.uk/Id/nhs-number", "9434765870")
	if err != nil {
		t.Fatal(err)
	}
	if status, body := srv.Do(t, "DELETE", "/Patient/"+goneID, nil); status >= 300 {
		t.Fatalf("delete patient: %d %s", status, body)
	}
	_, err = puller.PullPerson(ctx, src2, gone.ID, nil)
	if err == nil || !strings.Contains(err.Error(), "the source no longer holds their Patient/"+goneID) {
		t.Errorf("a sync of a Patient gone upstream: %v; want it to say so", err)
	}
	if got, err := db2.Person(ctx, gone.ID); err != nil || got.Family != "Gone" {
		t.Errorf("the person whose Patient is gone: %+v, %v; want them kept", got, err)
	}
}

// TestFindPersonBySecondIdentifier: a person synced by one identifier, found
// again by another the same Patient carries, is the same person, and the
// identifier is linked to them. Before, the Patient, stored unchanged, linked
// nothing, and the person was "not found" (found by a review).
func TestFindPersonBySecondIdentifier(t *testing.T) {
	ctx := context.Background()
	srv := upstream.Start(t)
	status, body := srv.Do(t, "POST", "/Patient", []byte(`{"resourceType":"Patient","identifier":[`+
		`{"system":"https://github.com/synthetichealth/synthea","value":"syn-1"},`+
		`{"system":"http://hl7.org/fhir/sid/us-ssn","value":"999-56-7437"}],"name":[{"given":["Jane"],"family":"Example"}],"birthDate":"1957-03-14"}`))
	if status != http.StatusCreated {
		t.Fatalf("add patient: %d %s", status, body)
	}
	db := openDB(t)
	src, err := db.AddSource(ctx, store.Source{Name: "lth", BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	puller := &fhirsync.Puller{DB: db, Client: fhirsync.NewClients(func(string) string { return "" }, fastClient).Get}
	first, err := puller.FindPerson(ctx, src, syntheaSystem, "syn-1")
	if err != nil {
		t.Fatal(err)
	}
	again, err := puller.FindPerson(ctx, src, "http://hl7.org/fhir/sid/us-ssn", "999-56-7437")
	if err != nil || again.ID != first.ID {
		t.Fatalf("found by the second identifier: %+v, %v; want person %d", again, err, first.ID)
	}
	if p, err := db.PersonByIdentifier(ctx, "http://hl7.org/fhir/sid/us-ssn", "999-56-7437"); err != nil || p.ID != first.ID {
		t.Errorf("the second identifier is not linked: %+v %v", p, err)
	}
	if n := len(mustPersons(t, db)); n != 1 {
		t.Errorf("%d persons, want 1", n)
	}
}

func mustPersons(t *testing.T, db *store.DB) []store.Person {
	t.Helper()
	ps, err := db.Persons(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

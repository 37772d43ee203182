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

// TestPullSetsAsideAPatientWithAnotherNHSNumber: the server's Patient, found
// by its NHS number, comes back with another NHS number, name and date of
// birth under the same id and hospital number. Found by that number, it used
// to make the person hold both numbers and the other's name (the importer is
// shared); it is set aside, and the person's sync, which reads what was set
// aside again, says so as it does any resource set aside. The person stays
// who they were.
func TestPullSetsAsideAPatientWithAnotherNHSNumber(t *testing.T) {
	ctx := context.Background()
	const mrn = "https://example.org/mrn"
	srv := upstream.Start(t)
	patient := func(nhs, family, born string) []byte {
		return []byte(`{"resourceType":"Patient","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"` + nhs + `"},{"system":"` + mrn + `","value":"m1"}],` +
			`"name":[{"given":["Jane"],"family":"` + family + `"}],"birthDate":"` + born + `"}`)
	}
	status, body := srv.Do(t, "POST", "/Patient", patient(janeNHS, "Example", "1957-03-14"))
	if status != http.StatusCreated {
		t.Fatalf("add patient: %d %s", status, body)
	}
	id, _ := idVersion(t, body)

	db := openDB(t)
	src, err := db.AddSource(ctx, store.Source{Name: "lth", BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	puller := &fhirsync.Puller{DB: db, Client: fhirsync.NewClients(func(string) string { return "" }, fastClient).Get, Reconcile: -1, LinkSystems: []string{mrn}}
	person, err := puller.FindPerson(ctx, src, "https://fhir.nhs.uk/Id/nhs-number", janeNHS)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := puller.PullPerson(ctx, src, person.ID, nil); err != nil {
		t.Fatal(err)
	}

	other := patient("9434765927", "Other", "1990-05-05")
	other = []byte(strings.Replace(string(other), `{"resourceType":"Patient",`, `{"resourceType":"Patient","id":"`+id+`",`, 1))
	if status, body := srv.Do(t, "PUT", "/Patient/"+id, other); status != http.StatusOK {
		t.Fatalf("change patient: %d %s", status, body)
	}
	// Looked for by the other number (portal sync --nhs-number), the Patient
	// is set aside, and no person has that number.
	if _, err := puller.FindPerson(ctx, src, "https://fhir.nhs.uk/Id/nhs-number", "9434765927"); err == nil {
		t.Error("found a person with the other number; want none")
	}
	// The person's sync reads what was set aside again, and says so.
	sum, err := puller.PullPerson(ctx, src, person.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "Patient/" + id + ": its NHS number is now 943 476 5927, but the one stored for it from this source is 943 476 5919"
	if sum.Rejected != 1 || len(sum.SetAside) != 1 || !strings.HasPrefix(sum.SetAside[0], want) {
		t.Errorf("sync: %+v; want the Patient set aside: %q", sum, want)
	}
	// Set aside again, it waits its turn, as anything set aside does: the next
	// sync does not read it again.
	again, err := puller.PullPerson(ctx, src, person.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if again.Rejected != 0 {
		t.Errorf("the next sync set aside %d again (%v); want the Patient left to wait its turn", again.Rejected, again.SetAside)
	}
	got, err := db.Person(ctx, person.ID)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := db.PersonIdentifiers(ctx, person.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Family != "Example" || got.BirthDate != "1957-03-14" || got.NHSNumber != janeNHS || len(ids) != 2 {
		t.Errorf("the person is now %+v, identifiers %v; want Jane Example as before", got, ids)
	}
}

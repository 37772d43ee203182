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

// Two Patients at the source with one identifier (one person registered
// twice, or one record number given to two people) are for the source to
// settle: the sync links neither and says which they are (a review: the
// first listed was taken, and could have shown one person another's
// record). A record merged into another (not active, replaced by it) is no
// rival: the one it was merged into is linked; nor are two with one NHS
// number, one person registered twice, whose records the sync follows
// under each.
func TestTwoPatientsWithOneIdentifierLinkNeither(t *testing.T) {
	ctx := context.Background()
	srv := upstream.Start(t)
	const mrn = "https://fhir.example.org/Id/mrn"
	add := func(value, given, more string) string {
		t.Helper()
		nhs := ""
		if given == "Dev" {
			nhs = `,{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}`
		}
		status, body := srv.Do(t, "POST", "/Patient", []byte(`{"resourceType":"Patient","identifier":[{"system":"`+mrn+`","value":"`+value+`"}`+nhs+`],`+
			`"name":[{"given":["`+given+`"],"family":"Smith"}],"birthDate":"1950-01-01"`+more+`}`))
		if status != http.StatusCreated {
			t.Fatalf("add patient: %d %s", status, body)
		}
		id, _ := idVersion(t, body)
		return id
	}
	anne, bob := add("M1", "Anne", ""), add("M1", "Bob", "")
	kept := add("M2", "Cara", "")
	add("M2", "Cara", `,"active":false,"link":[{"other":{"reference":"Patient/`+kept+`"},"type":"replaced-by"}]`)
	dev := add("M4", "Dev", "")
	add("M4", "Dev", "")
	db := openDB(t)
	src, err := db.AddSource(ctx, store.Source{Name: "lth", BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	puller := &fhirsync.Puller{DB: db, Client: fhirsync.NewClients(func(string) string { return "" }, fastClient).Get, Reconcile: -1}
	_, err = puller.FindPerson(ctx, src, mrn, "M1")
	if err == nil || !strings.Contains(err.Error(), "Patient/"+anne) || !strings.Contains(err.Error(), "Patient/"+bob) {
		t.Errorf("finding M1, which two Patients carry: %v; want an error naming both", err)
	}
	if ps, err := db.Persons(ctx); err != nil || len(ps) != 0 {
		t.Errorf("persons after M1: %d (%v); want none made", len(ps), err)
	}
	cara, err := puller.FindPerson(ctx, src, mrn, "M2")
	if err != nil {
		t.Fatalf("finding M2, one Patient and one merged into it: %v", err)
	}
	if at, err := db.PatientAt(ctx, src.ID, cara.ID); err != nil || at != kept {
		t.Errorf("M2 linked to Patient/%s (%v); want Patient/%s, the one the other was merged into", at, err, kept)
	}
	if p, err := puller.FindPerson(ctx, src, mrn, "M4"); err != nil || p.NHSNumber != "9434765919" {
		t.Errorf("finding M4, two Patients with one NHS number: %+v, %v; want the person (Patient/%s first)", p, err, dev)
	}
}

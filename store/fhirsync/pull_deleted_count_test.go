package fhirsync_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/mycarerecord/portal/e2e/upstream"
	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhirsync"
)

// A type's history lists every deletion at the source, and one person's sync
// removes them all: what it counts as deleted is the person's own, and
// others' apart (a review: `portal sync --person A` said A had lost a
// Condition that was B's).
func TestDeletedCountsThePersonsOwn(t *testing.T) {
	srv := upstream.Start(t, upstream.SharedBundle(t, upstream.HospitalBundle), upstream.SharedBundle(t, upstream.PractitionerBundle),
		upstream.SharedBundle(t, smallPatient), upstream.SharedBundle(t, otherSmallPatient))
	ctx := context.Background()
	db := openDB(t)
	src, err := db.AddSource(ctx, store.Source{Name: "lth", BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	puller := &fhirsync.Puller{DB: db, Client: fhirsync.NewClients(func(string) string { return "" }, fastClient).Get, Reconcile: -1}
	var persons []store.Person
	var patients []string
	for _, raw := range srv.Resources(t, "Patient", "") {
		var pt struct{ ID string }
		if err := json.Unmarshal(raw, &pt); err != nil {
			t.Fatal(err)
		}
		p, err := puller.FindPerson(ctx, src, syntheaSystem, pt.ID)
		if err != nil {
			t.Fatal(err)
		}
		persons, patients = append(persons, p), append(patients, pt.ID)
	}
	if len(persons) != 2 {
		t.Fatalf("%d persons", len(persons))
	}
	for _, p := range persons {
		if _, err := puller.PullPerson(ctx, src, p.ID, nil); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(1100 * time.Millisecond)
	// One Condition of each deleted upstream.
	for _, patient := range patients {
		conds := srv.Resources(t, "Condition", "patient=Patient/"+patient)
		if len(conds) == 0 {
			t.Fatalf("Patient/%s has no Condition", patient)
		}
		var c struct{ ID string }
		if err := json.Unmarshal(conds[0], &c); err != nil {
			t.Fatal(err)
		}
		if status, body := srv.Do(t, "DELETE", "/Condition/"+c.ID, nil); status != http.StatusOK && status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", status, body)
		}
	}
	first, err := puller.PullPerson(ctx, src, persons[0].ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	second, err := puller.PullPerson(ctx, src, persons[1].ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if first.Deleted != 1 || first.DeletedOthers != 1 || second.Deleted != 0 || second.DeletedOthers != 0 {
		t.Errorf("deleted: first person's sync %d of theirs and %d of others', second's %d and %d; want 1 and 1, then none (removed already)",
			first.Deleted, first.DeletedOthers, second.Deleted, second.DeletedOthers)
	}
}

package fhirsync_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
	"github.com/mycarerecord/portal/store/fhirsync"
)

// Review: the process dies just after PatientMerged commits (here: the sync
// is stopped at its first search by the new Patient). The merge also
// deleted a duplicate result upstream. Uninterrupted, the pull is
// "switched": it lists every type, reads what is cached under the old
// Patient again, removes the deleted duplicate, and warns the operator.
// Resumed, switched is false (PatientAt already gives the new Patient), so
// nothing is listed, the history window was skipped by the reset
// checkpoints, the duplicate stays, and the operator is never told.
// A sync stopped just after following a Patient merged upstream leaves the
// listing to the next, which removes what the merge deleted upstream (a
// review: the restart searched again but listed nothing).
func TestStoppedAfterFollowingAMergeTheNextSyncLists(t *testing.T) {
	ctx := context.Background()
	srv, oldID := serverWithJane(t)
	obs := func(subject, text string) string {
		return fmt.Sprintf(`{"resourceType":"Observation","status":"final","code":{"text":%q},"subject":{"reference":"Patient/%s"},"effectiveDateTime":"2026-01-01T00:00:00Z","valueQuantity":{"value":48,"unit":"mmol/mol"}}`, text, subject)
	}
	o1 := post(t, srv, "/Observation", obs(oldID, "HbA1c"))
	dup := post(t, srv, "/Observation", obs(oldID, "HbA1c (duplicate)"))
	var newID atomic.Value
	newID.Store("")
	var stop atomic.Pointer[context.CancelFunc]
	proxy := newStubProxy(t, srv.URL, func(w http.ResponseWriter, r *http.Request) bool {
		if id := newID.Load().(string); id != "" && r.URL.Path == "/fhir/AllergyIntolerance" && strings.Contains(r.URL.RawQuery, id) {
			if c := stop.Load(); c != nil {
				(*c)() // kill -9 here: PatientMerged has committed
				stop.Store(nil)
			}
		}
		return false
	}, nil)
	db := openDB(t)
	src, err := db.AddSource(ctx, store.Source{Name: "lth", BaseURL: proxy.URL})
	if err != nil {
		t.Fatal(err)
	}
	puller := &fhirsync.Puller{DB: db, Client: fhirsync.NewClients(func(string) string { return "" }, fastClient).Get, Reconcile: 24 * time.Hour}
	person, err := puller.FindPerson(ctx, src, fhir.NHSNumberSystem, janeNHS)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := puller.PullPerson(ctx, src, person.ID, nil); err != nil { // reconciled today
		t.Fatal(err)
	}
	if got, want := cachedObservations(t, db, person.ID), sorted(o1, dup); !slices.Equal(got, want) {
		t.Fatalf("before the merge: %v", got)
	}
	time.Sleep(10 * time.Millisecond)
	nid := post(t, srv, "/Patient", `{"resourceType":"Patient","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"`+janeNHS+`"}],"name":[{"given":["Jane"],"family":"Example"}],"birthDate":"1957-03-14"}`)
	putOK(t, srv, "/Patient/"+oldID, mergedPatient(oldID, nid, janeNHS))
	putOK(t, srv, "/Observation/"+o1, strings.Replace(obs(nid, "HbA1c"), `{"resourceType":"Observation",`, `{"resourceType":"Observation","id":"`+o1+`",`, 1))
	if status, b := srv.Do(t, "DELETE", "/Observation/"+dup, nil); status >= 300 {
		t.Fatalf("DELETE: %d %s", status, b)
	}
	newID.Store(nid)

	killed, cancel := context.WithCancel(ctx)
	stop.Store(&cancel)
	if _, err := puller.PullPerson(killed, src, person.ID, nil); err == nil {
		t.Fatal("the first run was not stopped")
	}
	if at, _ := db.PatientAt(ctx, src.ID, person.ID); at != nid {
		t.Fatalf("precondition: PatientMerged not committed (PatientAt %q)", at)
	}
	_, err = puller.PullPerson(ctx, src, person.ID, nil) // the restart
	got := cachedObservations(t, db, person.ID)
	if slices.Contains(got, dup) || !slices.Contains(got, o1) || err != nil {
		t.Errorf("resumed after a kill just after PatientMerged: Observations %v (the duplicate %s was deleted by the merge), err %v; want the duplicate gone, as an uninterrupted run has it",
			got, dup, err)
	}
}

func sorted(s ...string) []string { slices.Sort(s); return s }

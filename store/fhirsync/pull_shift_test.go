package fhirsync_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mycarerecord/portal/e2e/upstream"
	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
	"github.com/mycarerecord/portal/store/fhirsync"
)

// addObservations adds n observations of the patient upstream and returns
// their ids, oldest first.
func addObservations(t *testing.T, srv *upstream.Server, patientID string, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		obs := fmt.Sprintf(`{"resourceType":"Observation","status":"final","code":{"text":"Test %d"},"subject":{"reference":"Patient/%s"},
"effectiveDateTime":"2026-01-01T00:00:00Z","valueQuantity":{"value":%d,"unit":"mmol/L"}}`, i, patientID, i)
		status, body := srv.Do(t, "POST", "/Observation", []byte(obs))
		if status != http.StatusCreated {
			t.Fatalf("add observation: %d %s", status, body)
		}
		id, _ := idVersion(t, body)
		ids = append(ids, id)
	}
	return ids
}

// amend updates an observation upstream (a new version, last updated now),
// so it moves to the end of a search sorted by _lastUpdated.
func amend(t *testing.T, srv *upstream.Server, id string) {
	t.Helper()
	var obs map[string]any
	if err := json.Unmarshal(srv.Search(t, "Observation?_id="+id).Entry[0].Resource, &obs); err != nil {
		t.Fatal(err)
	}
	obs["status"] = "amended"
	obs["issued"] = time.Now().UTC().Format(time.RFC3339Nano)
	raw, err := json.Marshal(obs)
	if err != nil {
		t.Fatal(err)
	}
	if status, body := srv.Do(t, "PUT", "/Observation/"+id, raw); status != http.StatusOK {
		t.Fatalf("amend observation: %d %s", status, body)
	}
}

// janeFound is a store with the FHIR server at base as the source "lth", a
// puller for it reading 10 resources a page that never reconciles, and
// Jane (serverWithJane), found there but not yet synced. Almost no overlap,
// so each search starts just before its watermark.
func janeFound(t *testing.T, base string) (*store.DB, store.Source, *fhirsync.Puller, store.Person) {
	t.Helper()
	ctx := context.Background()
	db := openDB(t)
	src, err := db.AddSource(ctx, store.Source{Name: "lth", BaseURL: base})
	if err != nil {
		t.Fatal(err)
	}
	puller := &fhirsync.Puller{DB: db, Client: fhirsync.NewClients(func(string) string { return "" }, fastClient).Get, Reconcile: -1, PageSize: 10, Overlap: time.Millisecond}
	person, err := puller.FindPerson(ctx, src, fhir.NHSNumberSystem, janeNHS)
	if err != nil {
		t.Fatal(err)
	}
	return db, src, puller, person
}

// TestPullSearchesAgainWhenAnUpdateShiftedThePages syncs 11 cached
// observations, all updated upstream since, 10 a page; after the first page
// is stored, the first of them is updated again, so it moves to the end of
// the _lastUpdated order and the second page (offset 10) starts past the
// 11th. The search receives as many as its first page counted (the first one
// twice), and the listing finds the skipped one cached (an older version),
// so only searching again from where the search started fetches its update
// before the watermark passes it.
func TestPullSearchesAgainWhenAnUpdateShiftedThePages(t *testing.T) {
	ctx := context.Background()
	srv, patientID := serverWithJane(t)
	ids := addObservations(t, srv, patientID, 11)
	db, src, puller, person := janeFound(t, srv.URL)
	// Each step in a second of its own, so a page looks changed while the
	// search was read only when it was (a Date header has whole seconds).
	time.Sleep(1100 * time.Millisecond)
	if _, err := puller.PullPerson(ctx, src, person.ID, nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	for _, id := range ids {
		amend(t, srv, id)
	}
	time.Sleep(1100 * time.Millisecond)
	amended := false
	progress := func(pr fhirsync.Progress) {
		if pr.ResourceType != "Observation" || amended {
			return
		}
		amended = true
		amend(t, srv, ids[0])
	}
	if _, err := puller.PullPerson(ctx, src, person.ID, progress); err != nil {
		t.Fatal(err)
	}
	if !amended {
		t.Fatal("no observation page was stored: the test changed nothing")
	}
	sameCopy(t, upstreamCopy(t, srv, patientID), localCopy(t, db, person.ID))
}

// TestPullSearchesAgainAfterResuming stops a sync of 11 observations, 10 a
// page, after their first page is stored, then updates the first of them
// upstream, so the saved next link (offset 10) now starts past the 11th.
// The resumed search cannot tell that its pages shifted (it does not know
// when its first page was served) and receives as many as that page
// counted, so it searches again from where it started: the next sync
// fetches the 11th, which the watermark would otherwise pass for good.
func TestPullSearchesAgainAfterResuming(t *testing.T) {
	srv, patientID := serverWithJane(t)
	ids := addObservations(t, srv, patientID, 11)
	db, src, puller, person := janeFound(t, srv.URL)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	progress := func(pr fhirsync.Progress) {
		if pr.ResourceType == "Observation" {
			cancel() // as if the process were stopped once the first page is stored
		}
	}
	if _, err := puller.PullPerson(ctx, src, person.ID, progress); !errors.Is(err, context.Canceled) {
		t.Fatalf("sync 1: %v; want it stopped", err)
	}
	if cp, err := db.Checkpoint(context.Background(), src.ID, person.ID, "Observation"); err != nil || cp.NextURL == "" {
		t.Fatalf("after sync 1, checkpoint %+v, %v; want a next link to resume from", cp, err)
	}
	amend(t, srv, ids[0])
	if _, err := puller.PullPerson(context.Background(), src, person.ID, nil); err != nil {
		t.Fatal(err)
	}
	sameCopy(t, upstreamCopy(t, srv, patientID), localCopy(t, db, person.ID))
}

// TestPullSearchesPastAHistoryLinkItCannotFollow syncs through a server whose
// Observation history pages link to another host, as a server behind a proxy
// that names its inner address does: the deletions cannot be read, which the
// sync reports, and the history is read from the same place next time, but
// the search still runs, so a new observation arrives.
func TestPullSearchesPastAHistoryLinkItCannotFollow(t *testing.T) {
	ctx := context.Background()
	srv, patientID := serverWithJane(t)
	addObservations(t, srv, patientID, 1)
	stub := newStubProxy(t, srv.URL, nil, func(r *http.Request, body []byte) []byte {
		if r.URL.Path != upstream.BasePath+"/Observation/_history" {
			return body
		}
		return []byte(strings.Replace(string(body), `"link":[`, `"link":[{"relation":"next","url":"http://inner.example:8080/fhir/Observation/_history?_offset=500"},`, 1))
	})
	db, src, puller, person := janeFound(t, stub.URL)
	if _, err := puller.PullPerson(ctx, src, person.ID, nil); err != nil {
		t.Fatal(err)
	}
	checked, err := db.DeletionsChecked(ctx, src.ID, person.ID, "Observation")
	if err != nil || checked == "" {
		t.Fatalf("after sync 1, deletions checked %q, %v; want a time", checked, err)
	}
	time.Sleep(1100 * time.Millisecond)
	addObservations(t, srv, patientID, 1)
	for run := 2; run <= 3; run++ {
		_, err := puller.PullPerson(ctx, src, person.ID, nil)
		if !errors.Is(err, fhirsync.ErrForeignURL) || !strings.Contains(err.Error(), "Observation") {
			t.Errorf("sync %d: %v; want it to say the Observation history link was not followed", run, err)
		}
		sameCopy(t, upstreamCopy(t, srv, patientID), localCopy(t, db, person.ID))
		if now, err := db.DeletionsChecked(ctx, src.ID, person.ID, "Observation"); err != nil || now != checked {
			t.Errorf("sync %d: deletions checked %q, %v; want it left at %q", run, now, err, checked)
		}
	}
}

// TestPullStoresOnlyThePersonsResources syncs Jane's observations through a
// server that puts more in the first page of them: a Patient (as _include
// does), or a resource of another type or another patient. None is stored:
// no one else becomes a person of the portal, Jane's Patient stays the one
// synced, and her record holds only what is hers.
func TestPullStoresOnlyThePersonsResources(t *testing.T) {
	ctx := context.Background()
	srv, patientID := serverWithJane(t)
	addObservations(t, srv, patientID, 1)
	for _, tt := range []struct {
		name, entry string
	}{
		{"another patient", `{"search":{"mode":"include"},"resource":{"resourceType":"Patient","id":"stranger",
"identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9000000009"}],"name":[{"given":["Someone"],"family":"Else"}]}}`},
		{"a Patient with Jane's NHS number", `{"search":{"mode":"include"},"resource":{"resourceType":"Patient","id":"-stray",
"identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"` + janeNHS + `"}],"name":[{"given":["Jane"],"family":"Example"}]}}`},
		{"another patient's observation", `{"resource":{"resourceType":"Observation","id":"theirs","status":"final","code":{"text":"Their test"},
"subject":{"reference":"Patient/stranger"}}}`},
		{"a condition of Jane's in an observation page", `{"resource":{"resourceType":"Condition","id":"elsewhere","code":{"text":"Not upstream"},
"subject":{"reference":"Patient/` + patientID + `"}}}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			stub := newStubProxy(t, srv.URL, nil, func(r *http.Request, body []byte) []byte {
				if r.URL.Path != upstream.BasePath+"/Observation" || r.URL.Query().Has("_id") {
					return body
				}
				return []byte(strings.Replace(string(body), `"entry":[`, `"entry":[`+tt.entry+`,`, 1))
			})
			db, src, puller, person := janeFound(t, stub.URL)
			if _, err := puller.PullPerson(ctx, src, person.ID, nil); err != nil {
				t.Fatal(err)
			}
			if people, err := db.Persons(ctx); err != nil || len(people) != 1 {
				t.Errorf("persons %+v, %v; want Jane alone", people, err)
			}
			if id, err := db.PatientAt(ctx, src.ID, person.ID); err != nil || id != patientID {
				t.Errorf("Patient synced for Jane: %q, %v; want %q", id, err, patientID)
			}
			for _, stray := range []string{"stranger", "-stray"} {
				for _, typ := range []string{"Patient", "Observation"} {
					if ids, err := db.CachedIDs(ctx, src.ID, stray, typ); err != nil || len(ids) != 0 {
						t.Errorf("%s of Patient/%s cached: %v, %v; want none", typ, stray, ids, err)
					}
				}
			}
			sameCopy(t, upstreamCopy(t, srv, patientID), localCopy(t, db, person.ID))
		})
	}
}

package fhirsync_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
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
// The resumed search receives as many as its first page counted, but the
// first observation, on its second page, changed after the first page was
// served (the checkpoint keeps when), so it searches again from where it
// started: the next sync fetches the 11th, which the watermark would
// otherwise pass for good.
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
// Observation history links to another host, as a server behind a proxy
// that names its inner address does. Deletions of observations are then
// left to the periodic full listing, as with a server that refuses history:
// the sync does not fail for them (the patient is told of no failure), the
// operator is warned, the history is read from the same place next time,
// the search still runs, so a new observation arrives, and the listing,
// when due, finds an observation deleted upstream.
func TestPullSearchesPastAHistoryLinkItCannotFollow(t *testing.T) {
	ctx := context.Background()
	srv, patientID := serverWithJane(t)
	ids := addObservations(t, srv, patientID, 2)
	stub := newStubProxy(t, srv.URL, nil, func(r *http.Request, body []byte) []byte {
		if r.URL.Path != upstream.BasePath+"/Observation/_history" {
			return body
		}
		// Nothing on the first page, so a deletion reaches the cache only by the listing.
		return []byte(`{"resourceType":"Bundle","type":"history","entry":[],
"link":[{"relation":"next","url":"http://inner.example:8080/fhir/Observation/_history?_offset=500"}]}`)
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
	if status, body := srv.Do(t, "DELETE", "/Observation/"+ids[0], nil); status != http.StatusOK && status != http.StatusNoContent {
		t.Fatalf("delete observation: %d %s", status, body)
	}
	for run := 2; run <= 3; run++ {
		sum, err := puller.PullPerson(ctx, src, person.ID, nil)
		if err != nil {
			t.Errorf("sync %d: %v; want no failure", run, err)
		}
		if !slices.ContainsFunc(sum.Warnings, func(w string) bool { return strings.Contains(w, "Observation deletions") }) {
			t.Errorf("sync %d warned %q; want a warning that Observation deletions were not read", run, sum.Warnings)
		}
		if now, err := db.DeletionsChecked(ctx, src.ID, person.ID, "Observation"); err != nil || now != checked {
			t.Errorf("sync %d: deletions checked %q, %v; want it left at %q", run, now, err, checked)
		}
		if st := syncStatus(t, db, src.ID, person.ID); st.LastError != "" || st.LastSuccessAt == "" {
			t.Errorf("sync %d: status %+v; want a success", run, st)
		}
	}
	local := localCopy(t, db, person.ID)
	if _, ok := local["Observation/"+ids[0]]; !ok {
		t.Fatal("the deleted observation left the cache before a listing: the test shows nothing")
	}
	delete(local, "Observation/"+ids[0])
	sameCopy(t, upstreamCopy(t, srv, patientID), local) // the new one arrived
	puller.Reconcile = time.Nanosecond                  // the full listing is due
	if _, err := puller.PullPerson(ctx, src, person.ID, nil); err != nil {
		t.Fatal(err)
	}
	sameCopy(t, upstreamCopy(t, srv, patientID), localCopy(t, db, person.ID))
	// The listing found every deletion before it began: the history is read
	// from there next time, not from ever further back.
	if now, err := db.DeletionsChecked(ctx, src.ID, person.ID, "Observation"); err != nil || now <= checked {
		t.Errorf("after the full listing, deletions checked %q, %v; want later than %q", now, err, checked)
	}
}

// syncStatus is the sync status of the person at the source.
func syncStatus(t *testing.T, db *store.DB, sourceID, personID int64) store.SyncStatus {
	t.Helper()
	sts, err := db.SyncStatuses(context.Background(), personID)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range sts {
		if st.Source.ID == sourceID {
			return st
		}
	}
	t.Fatalf("no sync status for source %d", sourceID)
	return store.SyncStatus{}
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

// stopAfter is a progress function that stops the sync (cancel) once n pages
// of the type are stored, as a server asking the sync to wait, or a restart,
// would; pages counts them.
func stopAfter(typ string, n int, pages *int, cancel func()) func(fhirsync.Progress) {
	return func(pr fhirsync.Progress) {
		if pr.ResourceType == typ {
			if *pages++; *pages == n {
				cancel()
			}
		}
	}
}

// TestPullEndsASearchStoppedEveryTwoPages syncs 25 observations, 10 a
// page, through syncs each stopped once two pages of them are stored. The
// second resumes at the third page, which changed nothing since the first
// page was served (kept with the next link), so it ends the search and
// moves the watermark. Taking every resumed search to have shifted, each
// searched again from the watermark, was stopped in turn, and the search
// never ended.
func TestPullEndsASearchStoppedEveryTwoPages(t *testing.T) {
	srv, patientID := serverWithJane(t)
	addObservations(t, srv, patientID, 25)
	db, src, puller, person := janeFound(t, srv.URL)
	time.Sleep(1100 * time.Millisecond) // the first page is served in a second after every change
	for run := 1; run <= 4; run++ {
		ctx, cancel := context.WithCancel(context.Background())
		pages := 0
		_, err := puller.PullPerson(ctx, src, person.ID, stopAfter("Observation", 2, &pages, cancel))
		cancel()
		if err == nil {
			if run != 2 {
				t.Errorf("the search ended in sync %d, want 2", run)
			}
			sameCopy(t, upstreamCopy(t, srv, patientID), localCopy(t, db, person.ID))
			if cp, err := db.Checkpoint(context.Background(), src.ID, person.ID, "Observation"); err != nil || cp.Watermark == "" || cp != (store.Checkpoint{Watermark: cp.Watermark}) {
				t.Errorf("checkpoint %+v, %v; want a watermark alone", cp, err)
			}
			return
		}
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("sync %d: %v", run, err)
		}
	}
	t.Errorf("after 4 syncs of 2 pages each, a search of 3 pages has not ended")
}

// TestPullSearchesAgainOnceThoughStoppedEveryTwoPages syncs 25 observations,
// 10 a page, through syncs each stopped once two pages of them are stored,
// and before each sync but the first an observation is updated upstream, so
// every resumed search sees its pages shifted. The second sync's search
// shifted and runs again; that search is resumed by the third sync and,
// shifted too, is not run again (the checkpoint says it is the search run
// again): the watermark moves on, and the listing of ids that follows a
// shift fetches what the shift skipped.
func TestPullSearchesAgainOnceThoughStoppedEveryTwoPages(t *testing.T) {
	srv, patientID := serverWithJane(t)
	ids := addObservations(t, srv, patientID, 25)
	db, src, puller, person := janeFound(t, srv.URL)
	time.Sleep(1100 * time.Millisecond)
	for run := 1; run <= 5; run++ {
		if run > 1 {
			amend(t, srv, ids[run])
		}
		ctx, cancel := context.WithCancel(context.Background())
		pages := 0
		_, err := puller.PullPerson(ctx, src, person.ID, stopAfter("Observation", 2, &pages, cancel))
		cancel()
		cp, cerr := db.Checkpoint(context.Background(), src.ID, person.ID, "Observation")
		if cerr != nil {
			t.Fatal(cerr)
		}
		if run == 2 && (!cp.Repeat || cp.NextURL == "") {
			t.Errorf("after sync 2, checkpoint %+v; want the search run again, part read", cp)
		}
		if cp.NextURL == "" && cp.Watermark != "" && !cp.Repeat {
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Fatalf("sync %d: %v", run, err)
			}
			if run != 3 {
				t.Errorf("the search ended in sync %d, want 3", run)
			}
			// The watermark, and, stopped before the listing the shift asks
			// for, that it is due (migration 0071).
			if cp != (store.Checkpoint{Watermark: cp.Watermark, ListDue: cp.ListDue}) || (err == nil && cp.ListDue) {
				t.Errorf("checkpoint %+v after %v; want a watermark alone, and the listing due only if stopped", cp, err)
			}
			// The third sync may have been stopped as the last page was stored:
			// the next finishes, and the cache is whole.
			if _, err := puller.PullPerson(context.Background(), src, person.ID, nil); err != nil {
				t.Fatal(err)
			}
			sameCopy(t, upstreamCopy(t, srv, patientID), localCopy(t, db, person.ID))
			if cp, err := db.Checkpoint(context.Background(), src.ID, person.ID, "Observation"); err != nil || cp.ListDue {
				t.Errorf("after the listing, checkpoint %+v, %v; want it no longer due", cp, err)
			}
			return
		}
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("sync %d: %v; want it stopped", run, err)
		}
	}
	t.Errorf("after 5 syncs of 2 pages each, the search has not ended")
}

// TestPullSearchesOnceForAnotherPatientsMatch syncs Jane's appointment with
// another patient, named first: the server finds it by patient=Jane and
// counts it in the search's total, and the sync leaves it out as the other
// patient's. It still counts as received, and its time moves the watermark,
// so the search is whole: each sync searches Appointment once, and the
// appointment is not searched for again.
func TestPullSearchesOnceForAnotherPatientsMatch(t *testing.T) {
	ctx := context.Background()
	srv, patientID := serverWithJane(t)
	status, body := srv.Do(t, "POST", "/Patient", []byte(`{"resourceType":"Patient","name":[{"given":["John"],"family":"Example"}]}`))
	if status != http.StatusCreated {
		t.Fatalf("add patient: %d %s", status, body)
	}
	other, _ := idVersion(t, body)
	appt := fmt.Sprintf(`{"resourceType":"Appointment","status":"booked","start":"2026-03-01T09:00:00Z","end":"2026-03-01T09:30:00Z",
"description":"Joint review","participant":[{"actor":{"reference":"Patient/%s"},"status":"accepted"},{"actor":{"reference":"Patient/%s"},"status":"accepted"}]}`, other, patientID)
	status, body = srv.Do(t, "POST", "/Appointment", []byte(appt))
	if status != http.StatusCreated {
		t.Fatalf("add appointment: %d %s", status, body)
	}
	apptID, _ := idVersion(t, body)
	stub := newStubProxy(t, srv.URL, nil, nil)
	db, src, puller, person := janeFound(t, stub.URL)
	for run := 1; run <= 2; run++ {
		before := stub.Requests(upstream.BasePath + "/Appointment")
		if _, err := puller.PullPerson(ctx, src, person.ID, nil); err != nil {
			t.Fatal(err)
		}
		if n := stub.Requests(upstream.BasePath+"/Appointment") - before; n != 1 {
			t.Errorf("sync %d searched Appointment %d times, want once", run, n)
		}
		cp, err := db.Checkpoint(ctx, src.ID, person.ID, "Appointment")
		if err != nil || cp.Watermark == "" || cp.NextURL != "" {
			t.Errorf("after sync %d, checkpoint %+v, %v; want a watermark past the appointment", run, cp, err)
		}
	}
	for _, patient := range []string{patientID, other} {
		if ids, err := db.CachedIDs(ctx, src.ID, patient, "Appointment"); err != nil || len(ids) != 0 {
			t.Errorf("appointments of Patient/%s cached: %v, %v; want none (%s is the other patient's)", patient, ids, err, apptID)
		}
	}
}

// TestPullResumesAnOldCheckpointAsShifted stops a sync of 11 observations,
// 10 a page, once their first page is stored, changes nothing, and resumes
// it. A checkpoint that says when the first page was served resumes with the
// one page left; one saved before checkpoints kept that time cannot tell
// whether its pages shifted, so its search runs again from where it started.
func TestPullResumesAnOldCheckpointAsShifted(t *testing.T) {
	for _, tt := range []struct {
		name     string
		forget   bool // the time the first page was served, as a checkpoint saved before it was kept
		searches int  // Observation requests of the resumed sync
	}{
		{"time kept", false, 1},
		{"no time", true, 3}, // the page left, then the search again: 2 pages
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, patientID := serverWithJane(t)
			addObservations(t, srv, patientID, 11)
			stub := newStubProxy(t, srv.URL, nil, nil)
			db, src, puller, person := janeFound(t, stub.URL)
			time.Sleep(1100 * time.Millisecond)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			pages := 0
			if _, err := puller.PullPerson(ctx, src, person.ID, stopAfter("Observation", 1, &pages, cancel)); !errors.Is(err, context.Canceled) {
				t.Fatalf("sync 1: %v; want it stopped", err)
			}
			cp, err := db.Checkpoint(context.Background(), src.ID, person.ID, "Observation")
			if err != nil || cp.NextURL == "" || cp.Started == "" || cp.Repeat {
				t.Fatalf("after sync 1, checkpoint %+v, %v; want a next link and when the first page was served", cp, err)
			}
			if tt.forget {
				cp.Started = ""
				if _, err := db.ApplyPage(context.Background(), store.PageUpdate{Source: src.Name, SourceID: src.ID, PersonID: person.ID, ResourceType: "Observation", Origin: "test", Checkpoint: &cp}); err != nil {
					t.Fatal(err)
				}
			}
			before := stub.Requests(upstream.BasePath + "/Observation")
			if _, err := puller.PullPerson(context.Background(), src, person.ID, nil); err != nil {
				t.Fatal(err)
			}
			if n := stub.Requests(upstream.BasePath+"/Observation") - before; n != tt.searches {
				t.Errorf("the resumed sync asked for %d Observation pages, want %d", n, tt.searches)
			}
			sameCopy(t, upstreamCopy(t, srv, patientID), localCopy(t, db, person.ID))
		})
	}
}

// deleteOnFirstPage deletes the observation upstream once the first page of
// observations is stored (a Progress callback), then waits past it, so the
// search run again starts seconds after the deletion. deleted says whether
// it did.
func deleteOnFirstPage(t *testing.T, srv *upstream.Server, id string) (progress func(fhirsync.Progress), deleted func() bool) {
	done := false
	return func(pr fhirsync.Progress) {
		if pr.ResourceType != "Observation" || done {
			return
		}
		done = true
		if status, body := srv.Do(t, "DELETE", "/Observation/"+id, nil); status != 200 && status != 204 {
			t.Fatalf("delete observation: %d %s", status, body)
		}
		time.Sleep(2100 * time.Millisecond)
	}, func() bool { return done }
}

// As TestPullFetchesWhatADeletionMidSearchSkipped, with a resource of the
// type on the second page as an include (search.mode), which Bundle.total
// does not count: counted as received, it made a search short of the one a
// deletion skipped look whole (found by a review).
func TestPullCountsNoIncludeAsAMatch(t *testing.T) {
	ctx := context.Background()
	srv, patientID := serverWithJane(t)
	added := addObservations(t, srv, patientID, 11)
	time.Sleep(50 * time.Millisecond) // the 12th clearly newer than the 11th, which the shift skips
	added = append(added, addObservations(t, srv, patientID, 1)...)
	included := srv.Search(t, "Observation?_id="+added[5]).Entry[0].Resource
	stub := newStubProxy(t, srv.URL, nil, func(r *http.Request, body []byte) []byte {
		if r.URL.Path != upstream.BasePath+"/Observation" || r.URL.Query().Get("_offset") != "10" {
			return body
		}
		var b map[string]any
		if json.Unmarshal(body, &b) != nil {
			return body
		}
		entries, _ := b["entry"].([]any)
		b["entry"] = append(entries, map[string]any{"resource": json.RawMessage(included), "search": map[string]any{"mode": "include"}})
		out, _ := json.Marshal(b)
		return out
	})
	db, src, puller, person := janeFound(t, stub.URL)
	time.Sleep(1100 * time.Millisecond)
	progress, _ := deleteOnFirstPage(t, srv, added[0])
	if _, err := puller.PullPerson(ctx, src, person.ID, progress); err != nil {
		t.Fatal(err)
	}
	local := localCopy(t, db, person.ID)
	for _, id := range added[1:] {
		if _, ok := local["Observation/"+id]; !ok {
			t.Errorf("Observation/%s, skipped when the pages shifted, is not cached", id)
		}
	}
	if _, err := puller.PullPerson(ctx, src, person.ID, nil); err != nil { // the next sync does not bring it either
		t.Fatal(err)
	}
	sameCopy(t, upstreamCopy(t, srv, patientID), localCopy(t, db, person.ID))
}

// A resource upstream files under another patient, as when a result filed
// against the wrong person is corrected, leaves this person's record at the
// next sync: the search by patient no longer finds it, and the type's
// history shows the version that moved it (found by a review: it stayed until
// the daily listing). One moved away and back stays.
func TestPullRemovesWhatMovedToAnotherPatient(t *testing.T) {
	for _, tc := range []struct {
		name  string
		moves []bool // for each update, whether it files the result under the other patient
		stays bool
	}{
		{"moved away", []bool{true}, false},
		{"moved away and back", []bool{true, false}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			srv, janeID := serverWithJane(t)
			status, body := srv.Do(t, "POST", "/Patient", []byte(`{"resourceType":"Patient","name":[{"family":"Else"}]}`))
			if status != http.StatusCreated {
				t.Fatalf("add another patient: %d %s", status, body)
			}
			otherID, _ := idVersion(t, body)
			ids := addObservations(t, srv, janeID, 2)
			db, src, puller, person := janeFound(t, srv.URL)
			puller.Reconcile = 0 // the default: the full listing once a day, so not at the next sync
			if _, err := puller.PullPerson(ctx, src, person.ID, nil); err != nil {
				t.Fatal(err)
			}
			time.Sleep(1100 * time.Millisecond)
			for _, away := range tc.moves {
				var obs map[string]any
				if err := json.Unmarshal(srv.Search(t, "Observation?_id="+ids[0]).Entry[0].Resource, &obs); err != nil {
					t.Fatal(err)
				}
				to := janeID
				if away {
					to = otherID
				}
				obs["subject"] = map[string]any{"reference": "Patient/" + to}
				raw, _ := json.Marshal(obs)
				if status, body := srv.Do(t, "PUT", "/Observation/"+ids[0], raw); status != http.StatusOK {
					t.Fatalf("file under Patient/%s: %d %s", to, status, body)
				}
			}
			sum, err := puller.PullPerson(ctx, src, person.ID, nil)
			if err != nil {
				t.Fatal(err)
			}
			local := localCopy(t, db, person.ID)
			if _, ok := local["Observation/"+ids[0]]; ok != tc.stays {
				t.Errorf("after the sync, Observation/%s in Jane's record: %v; want %v (summary %+v)", ids[0], ok, tc.stays, sum)
			}
			if _, ok := local["Observation/"+ids[1]]; !ok {
				t.Errorf("Observation/%s, never moved, has gone", ids[1])
			}
			sameCopy(t, upstreamCopy(t, srv, janeID), local)
		})
	}
}

// janeTwiceAndOther is a server with Jane, a second Patient of hers (the
// same NHS number) and another patient, Else; it returns their ids.
func janeTwiceAndOther(t *testing.T) (srv *upstream.Server, janeID, secondID, otherID string) {
	t.Helper()
	srv, janeID = serverWithJane(t)
	status, body := srv.Do(t, "POST", "/Patient", []byte(`{"resourceType":"Patient","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"`+janeNHS+`"}],
"name":[{"given":["Jane"],"family":"Example"}],"birthDate":"1957-03-14"}`))
	if status != http.StatusCreated {
		t.Fatalf("add Jane's second Patient: %d %s", status, body)
	}
	secondID, _ = idVersion(t, body)
	status, body = srv.Do(t, "POST", "/Patient", []byte(`{"resourceType":"Patient","name":[{"family":"Else"}]}`))
	if status != http.StatusCreated {
		t.Fatalf("add another patient: %d %s", status, body)
	}
	otherID, _ = idVersion(t, body)
	return srv, janeID, secondID, otherID
}

// fileUnder has upstream file the observation under the patient.
func fileUnder(t *testing.T, srv *upstream.Server, id, patient string) {
	t.Helper()
	var obs map[string]any
	if err := json.Unmarshal(srv.Search(t, "Observation?_id="+id).Entry[0].Resource, &obs); err != nil {
		t.Fatal(err)
	}
	obs["subject"] = map[string]any{"reference": "Patient/" + patient}
	raw, _ := json.Marshal(obs)
	if status, body := srv.Do(t, "PUT", "/Observation/"+id, raw); status != http.StatusOK {
		t.Fatalf("file under Patient/%s: %d %s", patient, status, body)
	}
}

// linkSecond stores Jane's second Patient, which links it to her.
func linkSecond(t *testing.T, srv *upstream.Server, db *store.DB, src store.Source, personID int64, secondID string) {
	t.Helper()
	second, err := fhir.ParseResource(srv.Search(t, "Patient?_id="+secondID).Entry[0].Resource)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ApplyPage(context.Background(), store.PageUpdate{Source: src.Name, SourceID: src.ID, PersonID: personID, ResourceType: "Patient",
		Origin: "test", Resources: []fhir.Resource{second}}); err != nil {
		t.Fatal(err)
	}
	if at, _ := db.PatientAt(context.Background(), src.ID, personID); at == secondID {
		t.Fatalf("the sync searches by Jane's second Patient, want her first")
	}
}

// A result filed under another of Jane's Patient ids, on its way elsewhere or
// not, is judged where it ends (found by reviews): filed under her second (a
// merge) it stays hers; moved through it to another patient, or deleted
// after, with its versions on history pages apart, it leaves her record, and
// a later move is still seen, by the history or the daily listing.
func TestPullFollowsWhatMovesThroughTheSamePersonsOtherPatient(t *testing.T) {
	for _, tc := range []struct {
		name        string
		historySize int // 0: the default; -1: a server without type history
		reconcile   time.Duration
		moves       func(t *testing.T, srv *upstream.Server, id, secondID, otherID string, sync func(time.Duration))
		stays       bool
	}{
		{"to her second Patient", 0, 0, func(t *testing.T, srv *upstream.Server, id, secondID, _ string, _ func(time.Duration)) {
			fileUnder(t, srv, id, secondID)
		}, true},
		{"through her second Patient to another's, pages apart", 1, 0, func(t *testing.T, srv *upstream.Server, id, secondID, otherID string, sync func(time.Duration)) {
			fileUnder(t, srv, id, secondID)
			time.Sleep(20 * time.Millisecond)
			fileUnder(t, srv, id, otherID)
		}, false},
		{"to her second Patient, then deleted, pages apart", 1, 0, func(t *testing.T, srv *upstream.Server, id, secondID, _ string, _ func(time.Duration)) {
			fileUnder(t, srv, id, secondID)
			time.Sleep(20 * time.Millisecond)
			if status, body := srv.Do(t, "DELETE", "/Observation/"+id, nil); status != 200 && status != 204 {
				t.Fatalf("delete: %d %s", status, body)
			}
		}, false},
		{"to her second Patient, and later to another's, with the listing", 0, time.Nanosecond, func(t *testing.T, srv *upstream.Server, id, secondID, otherID string, sync func(time.Duration)) {
			fileUnder(t, srv, id, secondID)
			time.Sleep(1100 * time.Millisecond)
			fileUnder(t, srv, id, otherID)
		}, false},
		{"to her second Patient, stored there by the listing, and later to another's", 0, 0, func(t *testing.T, srv *upstream.Server, id, secondID, otherID string, sync func(time.Duration)) {
			fileUnder(t, srv, id, secondID)
			sync(time.Nanosecond) // the listing reads it, and stores it about her second Patient
			time.Sleep(1100 * time.Millisecond)
			fileUnder(t, srv, id, otherID)
		}, false},
		{"the same, without history", -1, time.Nanosecond, func(t *testing.T, srv *upstream.Server, id, secondID, otherID string, sync func(time.Duration)) {
			fileUnder(t, srv, id, secondID)
			sync(time.Nanosecond)
			time.Sleep(1100 * time.Millisecond)
			fileUnder(t, srv, id, otherID)
		}, false},
		{"to her second Patient, stored there by the listing, and later deleted, without history", -1, time.Nanosecond, func(t *testing.T, srv *upstream.Server, id, secondID, otherID string, sync func(time.Duration)) {
			fileUnder(t, srv, id, secondID)
			sync(time.Nanosecond)
			time.Sleep(1100 * time.Millisecond)
			if status, body := srv.Do(t, "DELETE", "/Observation/"+id, nil); status != 200 && status != 204 {
				t.Fatalf("delete: %d %s", status, body)
			}
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			srv, janeID, secondID, otherID := janeTwiceAndOther(t)
			ids := addObservations(t, srv, janeID, 2)
			db, src, puller, person := janeFound(t, srv.URL)
			puller.Reconcile, puller.HistorySize = 0, max(tc.historySize, 0) // the listing once a day: not at the next sync
			if tc.historySize < 0 {
				opts := fastClient
				opts.HTTPClient = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
					if strings.HasSuffix(r.URL.Path, "/_history") {
						return &http.Response{StatusCode: http.StatusNotFound, Header: http.Header{"Content-Type": {"application/fhir+json"}}, Body: http.NoBody, Request: r}, nil
					}
					return http.DefaultTransport.RoundTrip(r)
				})}
				puller.Client = fhirsync.NewClients(func(string) string { return "" }, opts).Get
			}
			linkSecond(t, srv, db, src, person.ID, secondID)
			if _, err := puller.PullPerson(ctx, src, person.ID, nil); err != nil {
				t.Fatal(err)
			}
			time.Sleep(1100 * time.Millisecond)
			sync := func(reconcile time.Duration) {
				puller.Reconcile = reconcile
				if _, err := puller.PullPerson(ctx, src, person.ID, nil); err != nil {
					t.Fatal(err)
				}
			}
			tc.moves(t, srv, ids[0], secondID, otherID, sync)
			for range 2 {
				sync(tc.reconcile)
			}
			local := localCopy(t, db, person.ID)
			if _, ok := local["Observation/"+ids[0]]; ok != tc.stays {
				t.Errorf("Observation/%s in Jane's record: %v; want %v", ids[0], ok, tc.stays)
			}
			if _, ok := local["Observation/"+ids[1]]; !ok {
				t.Errorf("Observation/%s, never moved, has gone", ids[1])
			}
		})
	}
}

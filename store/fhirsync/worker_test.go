package fhirsync_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/mycarerecord/portal/e2e/upstream"
	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhirsync"
)

// otherSmallPatient is a second small patient, for tests of several persons.
const otherSmallPatient = "Levi940_Gusikowski974_b71e39bd-d33f-0b50-a8e5-ed4142d306fe.json"

// hangingSource is a proxy in front of srv that takes every request and never
// answers it (until the caller gives up), as a server that has stalled does.
func hangingSource(t *testing.T, srv *upstream.Server) *upstream.FaultProxy {
	t.Helper()
	return upstream.NewFaultProxy(t, srv.URL, upstream.Faults{Rate: 1, Kinds: []upstream.Fault{upstream.FaultDelay}, Delay: time.Hour})
}

// statusOf is the person's sync status with the named source.
func statusOf(t *testing.T, db *store.DB, personID int64, name string) store.SyncStatus {
	t.Helper()
	sts, err := db.SyncStatuses(context.Background(), personID)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range sts {
		if st.Source.Name == name {
			return st
		}
	}
	t.Fatalf("no sync status for source %s", name)
	return store.SyncStatus{}
}

// hangingAndLive is a database with two sources in front of srv, a-hang
// (hangingSource) and b-live (srv itself), with a person for each patient
// srv holds, found at b-live; and a puller whose requests take 10 s and 8
// tries, so a-hang takes over a minute to give up on.
func hangingAndLive(t *testing.T, srv *upstream.Server) (*store.DB, *fhirsync.Puller, *upstream.FaultProxy, []store.Person) {
	t.Helper()
	ctx := context.Background()
	hang := hangingSource(t, srv)
	db := openDB(t)
	if _, err := db.AddSource(ctx, store.Source{Name: "a-hang", BaseURL: hang.URL}); err != nil {
		t.Fatal(err)
	}
	live, err := db.AddSource(ctx, store.Source{Name: "b-live", BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	puller := &fhirsync.Puller{DB: db, Client: fhirsync.NewClients(func(string) string { return "" }, fastClient).Get}
	var persons []store.Person
	for _, raw := range srv.Resources(t, "Patient", "") {
		var pt struct{ ID string }
		if err := json.Unmarshal(raw, &pt); err != nil {
			t.Fatal(err)
		}
		p, err := puller.FindPerson(ctx, live, syntheaSystem, pt.ID)
		if err != nil {
			t.Fatal(err)
		}
		persons = append(persons, p)
	}
	return db, puller, hang, persons
}

// runWorker runs w with the persons queued; stop ends it, failing the test
// unless it stops within 10 s of being told to.
func runWorker(t *testing.T, w *fhirsync.Worker, persons []store.Person) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	stopped := make(chan struct{})
	go func() { w.Run(ctx); close(stopped) }()
	for _, p := range persons {
		if !w.Enqueue(p.ID) {
			t.Fatal("not queued")
		}
	}
	return func() {
		t.Helper()
		cancel()
		select {
		case <-stopped:
		case <-time.After(10 * time.Second):
			t.Fatal("the worker did not stop within 10 s of being told to")
		}
	}
}

// waitForLive waits until b-live has synced each person, well under the
// minute and more a-hang takes to fail.
func waitForLive(t *testing.T, db *store.DB, persons []store.Person) {
	t.Helper()
	start := time.Now()
	deadline := start.Add(60 * time.Second)
	for _, p := range persons {
		for {
			st := statusOf(t, db, p.ID, "b-live")
			if st.LastError != "" {
				t.Fatalf("b-live failed for person %d: %s", p.ID, st.LastError)
			}
			if st.LastSuccessAt != "" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("b-live was not synced for person %d after %s: it waited behind the hanging source", p.ID, time.Since(start).Round(time.Second))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	t.Logf("b-live synced %d persons %s after they were queued", len(persons), time.Since(start).Round(time.Millisecond))
}

// TestWorkerHangingSourceDoesNotHoldUpAnother: a person's sources are pulled
// at once, so one that takes requests and never answers (listed first, and
// taking minutes to give up on) does not keep a live one waiting; and the
// worker stops at once when told to, hanging pull and all.
func TestWorkerHangingSourceDoesNotHoldUpAnother(t *testing.T) {
	srv, _ := startServer(t)
	db, puller, hang, persons := hangingAndLive(t, srv)
	stop := runWorker(t, fhirsync.NewWorker(puller, slog.New(slog.NewTextHandler(io.Discard, nil)), fhirsync.WorkerOptions{}), persons)
	waitForLive(t, db, persons)
	person := persons[0]
	if st := statusOf(t, db, person.ID, "a-hang"); st.RunningSince == "" || st.LastError != "" {
		t.Errorf("a-hang should still be waiting for its answer when b-live is done: %+v", st)
	}
	if hang.Requests() == 0 {
		t.Error("the hanging source was never asked")
	}
	stop()
	// Stopped, not failed: after a restart the pages warn of nothing.
	// Its attempt counts for nothing either: the next sign-in takes it up again.
	if st := statusOf(t, db, person.ID, "a-hang"); st.RunningSince != "" || st.LastError != "" || st.FailingSince != "" || st.LastAttemptAt != "" {
		t.Errorf("a-hang after the worker stopped: %+v; want it neither running nor failing, and no attempt counted", st)
	}
}

// TestWorkerHangingSourceHoldsUpNoOneElse: with one pull at a time from each
// source, a second person's pull from a live source goes on while the first
// person's pull from a hanging source waits for its answer, and the second
// person's pull from the hanging one waits its turn there, not at the live one;
// and a person queued again meanwhile is pulled from the live one again.
func TestWorkerHangingSourceHoldsUpNoOneElse(t *testing.T) {
	srv := upstream.Start(t, upstream.SharedBundle(t, upstream.HospitalBundle), upstream.SharedBundle(t, upstream.PractitionerBundle),
		upstream.SharedBundle(t, smallPatient), upstream.SharedBundle(t, otherSmallPatient))
	db, puller, _, persons := hangingAndLive(t, srv)
	if len(persons) != 2 {
		t.Fatalf("%d persons, want 2", len(persons))
	}
	// Every source is due a pull at once, so the person queued again below is.
	w := fhirsync.NewWorker(puller, slog.New(slog.NewTextHandler(io.Discard, nil)), fhirsync.WorkerOptions{Concurrency: 1, Freshness: time.Nanosecond})
	stop := runWorker(t, w, persons)
	waitForLive(t, db, persons)
	running := 0
	for _, p := range persons {
		if st := statusOf(t, db, p.ID, "a-hang"); st.LastError != "" || st.LastSuccessAt != "" {
			t.Errorf("a-hang answered for person %d: %+v", p.ID, st)
		} else if st.RunningSince != "" {
			running++
		}
	}
	if running != 1 {
		t.Errorf("%d pulls from a-hang under way, want 1: one at a time from each source", running)
	}
	// Queued again while its pull from a-hang waits, a person is pulled from b-live again.
	before := statusOf(t, db, persons[0].ID, "b-live").LastSuccessAt
	if !w.Enqueue(persons[0].ID) {
		t.Fatal("not queued again")
	}
	deadline := time.Now().Add(60 * time.Second)
	for statusOf(t, db, persons[0].ID, "b-live").LastSuccessAt == before {
		if time.Now().After(deadline) {
			t.Fatal("a person queued again was not pulled from b-live: their pull from a-hang held them up")
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
}

package fhirsync_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/mycarerecord/portal/e2e/upstream"
	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhirsync"
)

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

// TestWorkerHangingSourceDoesNotHoldUpAnother: a person's sources are pulled
// at once, so one that takes requests and never answers (listed first, and
// taking minutes to give up on) does not keep a live one waiting; and the
// worker stops at once when told to, hanging pull and all.
func TestWorkerHangingSourceDoesNotHoldUpAnother(t *testing.T) {
	ctx := context.Background()
	srv, patientID := startServer(t)
	hang := hangingSource(t, srv)
	db := openDB(t)
	if _, err := db.AddSource(ctx, store.Source{Name: "a-hang", BaseURL: hang.URL}); err != nil {
		t.Fatal(err)
	}
	live, err := db.AddSource(ctx, store.Source{Name: "b-live", BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	// 10 s a request and 8 tries: the hanging source takes over a minute to give up on.
	puller := &fhirsync.Puller{DB: db, Client: fhirsync.NewClients(func(string) string { return "" }, fastClient).Get}
	person, err := puller.FindPerson(ctx, live, syntheaSystem, patientID)
	if err != nil {
		t.Fatal(err)
	}

	w := fhirsync.NewWorker(puller, slog.New(slog.NewTextHandler(io.Discard, nil)), fhirsync.WorkerOptions{})
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	stopped := make(chan struct{})
	go func() { w.Run(runCtx); close(stopped) }()
	if !w.Enqueue(person.ID) {
		t.Fatal("not queued")
	}

	start := time.Now()
	deadline := start.Add(60 * time.Second) // well under the minute and more the hanging source takes to fail
	for {
		st := statusOf(t, db, person.ID, "b-live")
		if st.LastSuccessAt != "" || st.LastError != "" {
			if st.LastError != "" {
				t.Fatalf("b-live failed: %s", st.LastError)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("b-live was not synced after %s: it waited behind the hanging source", time.Since(start).Round(time.Second))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("b-live synced %s after it was queued", time.Since(start).Round(time.Millisecond))
	if st := statusOf(t, db, person.ID, "a-hang"); st.RunningSince == "" || st.LastError != "" {
		t.Errorf("a-hang should still be waiting for its answer when b-live is done: %+v", st)
	}
	if hang.Requests() == 0 {
		t.Error("the hanging source was never asked")
	}

	stop()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("the worker did not stop within 10 s of being told to")
	}
	if st := statusOf(t, db, person.ID, "a-hang"); st.RunningSince != "" {
		t.Errorf("a-hang is still marked running after the worker stopped: %+v", st)
	}
}

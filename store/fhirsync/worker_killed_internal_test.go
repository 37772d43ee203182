package fhirsync

import (
	"io"
	"log/slog"
	"testing"
	"time"
)

// A killed portal sync's mark reads as nothing running, and its attempt as
// none, so sign-in queues a sync at once rather than after serve's round
// clears the mark (found by a review).
func TestSignInAfterAKilledSyncQueuesOne(t *testing.T) {
	ctx := t.Context()
	db, srcs, person := personWithSources(t, "lth")
	killed := "portal sync pid 1073741824" // no such process
	if err := db.SyncStarted(ctx, srcs[0].ID, person.ID, killed); err != nil {
		t.Fatal(err)
	}
	w := NewWorker(&Puller{DB: db}, slog.New(slog.NewTextHandler(io.Discard, nil)), WorkerOptions{})
	later := time.Now().Add(time.Minute)
	w.now = func() time.Time { return later }
	w.EnqueueIfStale(ctx, person.ID) // as sign-in does
	if !w.queued[person.ID] {
		t.Errorf("a minute after a portal sync was killed, sign-in queued no sync (freshness %s): the killed sync's start counts as an attempt until serve's round runs ClearRunning", w.freshness)
	}
}

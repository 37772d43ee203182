package fhirsync_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// A review found: a source that refuses every request (its credentials revoked, a
// 403 for every read) brings nothing, yet each part failing alone makes the
// pull a "partial" one: SyncFinishedInPart stamps last_success_at = now and
// the pages say "The rest was updated just now".
func TestEverythingRefusedIsNoPartialSync(t *testing.T) {
	srv, patientID := startServer(t)
	ctx := context.Background()
	var refusing atomic.Bool
	stub := newStubProxy(t, srv.URL, func(w http.ResponseWriter, r *http.Request) bool {
		if refusing.Load() {
			refuse(w)
			return true
		}
		return false
	}, nil)
	db, src, puller, person := foundPerson(t, stub.URL, patientID)
	if _, err := puller.PullPerson(ctx, src, person.ID, nil); err != nil {
		t.Fatal(err)
	}
	before := statusOf(t, db, person.ID, "lth")
	time.Sleep(20 * time.Millisecond)
	refusing.Store(true)
	_, err := puller.PullPerson(ctx, src, person.ID, nil)
	if err == nil {
		t.Fatal("a sync refused everything succeeded")
	}
	st := statusOf(t, db, person.ID, "lth")
	t.Logf("error: %v", err)
	t.Logf("before: last success %s; after: last success %s partial=%v error=%q", before.LastSuccessAt, st.LastSuccessAt, st.Partial, st.LastError)
	if st.Partial || st.LastSuccessAt != before.LastSuccessAt {
		t.Errorf("nothing came from the source, yet the status says the sync was partial (%v) and the record was last updated %s (was %s)", st.Partial, st.LastSuccessAt, before.LastSuccessAt)
	}
}

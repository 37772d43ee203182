package fhirsync_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mycarerecord/portal/e2e/upstream"
	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhirsync"
)

// A source that refuses only AuditEvent (who looked at the record upstream,
// which many servers keep from API clients) still sends everything else on
// every sync, and the record shows it: the sync is the record's last update,
// and the part refused is warned of (SyncStatus.Partial). A review found the
// pages saying "You are seeing what it sent on <that day>" of data that came
// minutes ago.
func TestPartialSyncIsTheRecordsLastUpdate(t *testing.T) {
	ctx := context.Background()
	srv, patientID, db, src, puller, person, refusing := syncedThenRefused(t, func(r *http.Request) bool {
		return strings.HasPrefix(r.URL.Path, upstream.BasePath+"/AuditEvent")
	})
	first := statusOf(t, db, person.ID, "lth").LastSuccessAt
	time.Sleep(20 * time.Millisecond)

	cond := `{"resourceType":"Condition","subject":{"reference":"Patient/` + patientID + `"},"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},
"code":{"coding":[{"system":"http://snomed.info/sct","code":"73211009","display":"Diabetes mellitus"}],"text":"A new diagnosis"},"recordedDate":"2026-11-20"}`
	if status, body := srv.Do(t, "POST", "/Condition", []byte(cond)); status != http.StatusCreated {
		t.Fatalf("add condition: %d %s", status, body)
	}
	refusing.Store(true)
	began := time.Now().UTC()
	_, err := puller.PullPerson(ctx, src, person.ID, nil)
	if err == nil || !strings.Contains(err.Error(), "AuditEvent") {
		t.Fatalf("sync with AuditEvent refused: %v", err)
	}
	if got, want := len(localCopy(t, db, person.ID)), len(without(upstreamCopy(t, srv, patientID), "AuditEvent")); got != want {
		t.Fatalf("cached %d resources, want %d: the new Condition did not come", got, want)
	}
	st := statusOf(t, db, person.ID, "lth")
	t.Logf("status after the partial sync: last success %s (first sync), error %q", st.LastSuccessAt, st.LastError)
	last, _ := time.Parse(time.RFC3339Nano, st.LastSuccessAt)
	if last.Before(began) {
		t.Errorf("the new Condition came in the sync begun at %s, but the pages will say the record is what the source sent at %s (last_success_at unchanged: %v)",
			began.Format(time.RFC3339Nano), st.LastSuccessAt, st.LastSuccessAt == first)
	}
	if !st.Partial || st.LastError == "" {
		t.Errorf("status %+v; want the part that failed noted", st)
	}
	// The next sync, with nothing refused, is whole again.
	refusing.Store(false)
	if _, err := puller.PullPerson(ctx, src, person.ID, nil); err != nil {
		t.Fatal(err)
	}
	if st := statusOf(t, db, person.ID, "lth"); st.Partial || st.LastError != "" {
		t.Errorf("after a whole sync: %+v; want no failure noted", st)
	}
}

// A source that refuses every request (its credentials revoked, a 403 for
// every read) brings nothing: a failure, not a partial sync, so the pages do
// not say "The rest was updated just now" (a review found they did: each
// part failing alone made the pull look partial).
func TestEverythingRefusedIsNoPartialSync(t *testing.T) {
	ctx := context.Background()
	_, _, db, src, puller, person, refusing := syncedThenRefused(t, func(*http.Request) bool { return true })
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

// syncedThenRefused is a person synced from the real server through a proxy
// that, once refusing is set, refuses (403) the requests refuses picks.
func syncedThenRefused(t *testing.T, refuses func(*http.Request) bool) (*upstream.Server, string, *store.DB, store.Source, *fhirsync.Puller, store.Person, *atomic.Bool) {
	t.Helper()
	srv, patientID := startServer(t)
	refusing := new(atomic.Bool)
	stub := newStubProxy(t, srv.URL, func(w http.ResponseWriter, r *http.Request) bool {
		if refusing.Load() && refuses(r) {
			refuse(w)
			return true
		}
		return false
	}, nil)
	db, src, puller, person := foundPerson(t, stub.URL, patientID)
	if _, err := puller.PullPerson(context.Background(), src, person.ID, nil); err != nil {
		t.Fatal(err)
	}
	return srv, patientID, db, src, puller, person, refusing
}

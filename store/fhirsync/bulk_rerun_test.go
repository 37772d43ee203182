package fhirsync_test

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mycarerecord/portal/e2e/upstream"
	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhirsync"
)

// A bulk load stopped part way (Ctrl-C, kill, a file that failed) and
// run again ends with the cache holding what upstream holds: a resource
// the stopped run stored and upstream deleted before the next run goes, though
// a full export lists no deletions (a review; store Unseen).
func TestBulkRerunAfterAStopRemovesWhatUpstreamDeleted(t *testing.T) {
	srv, db, rerun := stoppedBulkLoad(t)
	// Upstream deletes one of the conditions the stopped run stored.
	var cond struct{ ID string }
	if err := json.Unmarshal(srv.Search(t, "Condition?_count=1").Entry[0].Resource, &cond); err != nil {
		t.Fatal(err)
	}
	deleteUpstream(t, srv, "Condition", cond.ID)
	rerun()
	got := mustCounts(t, db)
	want := serverCounts(t, srv, slices.Collect(maps.Keys(got)))
	if got["Condition"] != want["Condition"] {
		t.Errorf("after a stopped run and two complete ones: %d Conditions cached, %d upstream: Condition/%s, deleted upstream, is still in the record", got["Condition"], want["Condition"], cond.ID)
	}
	if !maps.Equal(got, want) {
		t.Errorf("cached %v, upstream %v; want the same", got, want)
	}
}

// A load stopped once the Conditions are stored; upstream then deletes
// every Condition. The next full export has no Condition file (a server
// lists only types it holds): the sweep reads again what it did not list of
// every type, so the deleted diagnoses go (a review: they stayed for good).
func TestBulkRerunRemovesATypeUpstreamNoLongerHolds(t *testing.T) {
	srv, db, rerun := stoppedBulkLoad(t)
	for _, raw := range srv.Resources(t, "Condition", "") {
		var c struct{ ID string }
		if err := json.Unmarshal(raw, &c); err != nil {
			t.Fatal(err)
		}
		deleteUpstream(t, srv, "Condition", c.ID)
	}
	rerun()
	if got := mustCounts(t, db)["Condition"]; got != 0 {
		t.Errorf("after a stopped run and two complete ones: %d Conditions cached, none upstream", got)
	}
}

// stoppedBulkLoad is a bulk load from the test server stopped once its
// Condition file is stored (as Ctrl-C or kill -9 would), and rerun, which
// runs two more loads to their end.
func stoppedBulkLoad(t *testing.T) (srv *upstream.Server, db *store.DB, rerun func()) {
	t.Helper()
	srv = bulkServer(t)
	db, _ = bulkDB(t)
	src, err := db.AddSource(context.Background(), store.Source{Name: "lth", BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	puller := &fhirsync.Puller{DB: db, Client: fhirsync.NewClients(func(string) string { return "" },
		fhirsync.ClientOptions{Timeout: 10 * time.Second, Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }}).Get}
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := puller.PullBulk(ctx, src, func(s string) {
		if strings.HasPrefix(s, "Condition: ") {
			cancel()
		}
	}); err == nil {
		t.Fatal("the first run was not stopped")
	}
	if mustCounts(t, db)["Condition"] == 0 {
		t.Fatal("the stopped run stored no Condition")
	}
	time.Sleep(5 * time.Millisecond) // deletions after what the stopped run stored
	return srv, db, func() {
		for run := 2; run <= 3; run++ {
			if _, err := puller.PullBulk(context.Background(), src, func(s string) { t.Log(s) }); err != nil {
				t.Fatalf("run %d: %v", run, err)
			}
		}
	}
}

// deleteUpstream deletes a resource at the test server.
func deleteUpstream(t *testing.T, srv *upstream.Server, typ, id string) {
	t.Helper()
	if status, body := srv.Do(t, "DELETE", typ+"/"+id, nil); status != 200 && status != 204 {
		t.Fatalf("delete %s/%s: %d %s", typ, id, status, body)
	}
}

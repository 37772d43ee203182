package fhirsync_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mycarerecord/portal/e2e/upstream"
	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
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

// A source synced person by person holds 120 appointments; its system-level
// export has no Appointment file, yet it still holds 119 of them: the sweep
// after the full export finds those by a search by id, 50 at a time, reads
// only the one it did not list (404), and removes that one alone (a review:
// it read every resource one by one).
func TestBulkSweepLooksForWhatTheExportLeftOutFiftyAtATime(t *testing.T) {
	const n = 120
	appt := func(id string) string {
		return `{"resourceType":"Appointment","id":"` + id + `","status":"booked","serviceType":[{"text":"Clinic"}],"start":"2026-06-01T09:00:00Z","participant":[{"actor":{"reference":"Patient/pt1"}}]}`
	}
	const patient = `{"resourceType":"Patient","id":"pt1","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}]}`
	const gone = "a0007"
	var searches, reads atomic.Int64
	var base string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := strings.TrimPrefix(r.URL.Path, "/fhir/")
		w.Header().Set("Content-Type", "application/fhir+json")
		switch {
		case p == "$export":
			w.Header().Set("Content-Location", base+"/status")
			w.WriteHeader(http.StatusAccepted)
		case p == "status" && r.Method == http.MethodDelete:
			w.WriteHeader(http.StatusAccepted)
		case p == "status":
			fmt.Fprintf(w, `{"transactionTime":"%s","request":"%s/$export","requiresAccessToken":true,"output":[{"type":"Patient","url":"%s/files/Patient.ndjson"}],"error":[]}`,
				time.Now().UTC().Format(time.RFC3339), base, base)
		case p == "files/Patient.ndjson":
			fmt.Fprintln(w, patient)
		case p == "Appointment":
			searches.Add(1)
			var entries []string
			for _, id := range strings.Split(r.URL.Query().Get("_id"), ",") {
				if id != gone {
					entries = append(entries, `{"resource":`+appt(id)+`}`)
				}
			}
			fmt.Fprintf(w, `{"resourceType":"Bundle","type":"searchset","entry":[%s]}`, strings.Join(entries, ","))
		case strings.HasPrefix(p, "Appointment/"):
			reads.Add(1)
			if strings.TrimPrefix(p, "Appointment/") == gone {
				w.WriteHeader(http.StatusGone)
				return
			}
			fmt.Fprint(w, appt(strings.TrimPrefix(p, "Appointment/")))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	base = srv.URL + "/fhir"
	db, _ := bulkDB(t)
	ctx := context.Background()
	src, err := db.AddSource(ctx, store.Source{Name: "lth", BaseURL: base})
	if err != nil {
		t.Fatal(err)
	}
	raws := []string{patient}
	for i := range n {
		raws = append(raws, appt(fmt.Sprintf("a%04d", i)))
	}
	var rs []fhir.Resource
	for _, raw := range raws {
		r, err := fhir.ParseResource([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "lth", SourceID: src.ID}, "sync", rs); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond) // stored before the export begins
	puller := &fhirsync.Puller{DB: db, Client: fhirsync.NewClients(func(string) string { return "" },
		fhirsync.ClientOptions{Timeout: 10 * time.Second, Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }}).Get}
	if _, err := puller.PullBulk(ctx, src, func(s string) { t.Log(s) }); err != nil {
		t.Fatal(err)
	}
	if s, r := searches.Load(), reads.Load(); s != 3 || r != 1 {
		t.Errorf("the sweep made %d searches and %d reads; want 3 searches of up to 50 ids and the one read of what they did not list", s, r)
	}
	if got := mustCounts(t, db)["Appointment"]; got != n-1 {
		t.Errorf("%d appointments cached; want %d, the one gone upstream removed", got, n-1)
	}
}

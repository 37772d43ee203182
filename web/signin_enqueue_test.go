package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/mycarerecord/portal/e2e/upstream"
	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhirsync"
	"github.com/mycarerecord/portal/web"
)

// withStalledSync makes f's server queue syncs with a real fhirsync.Worker,
// running, whose one FHIR server source stalls; it returns that source.
func withStalledSync(t *testing.T, f *fixture) *upstream.Stalled {
	t.Helper()
	ctx := context.Background()
	stalled := upstream.StartStalled(t)
	if _, err := f.db.AddSource(ctx, store.Source{Name: "stalled", BaseURL: stalled.URL}); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	puller := &fhirsync.Puller{DB: f.db, Runner: store.RunnerID("serve"),
		Client: fhirsync.NewClients(func(string) string { return "" }, fhirsync.ClientOptions{Timeout: time.Hour, MaxAttempts: 1}).Get}
	w := fhirsync.NewWorker(puller, log, fhirsync.WorkerOptions{})
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); w.Run(runCtx) }()
	t.Cleanup(func() { cancel(); <-done })
	h, err := web.New(web.Config{Origin: "http://localhost:8080", HashKey: testHashKey, BlockKey: testBlockKey, Sync: w}, f.db, log)
	if err != nil {
		t.Fatal(err)
	}
	f.handler = h
	return stalled
}

// promptly sends the request and returns its response, failing the test if
// it takes longer than bound.
func promptly(t *testing.T, bound time.Duration, send func() *httptest.ResponseRecorder) *httptest.ResponseRecorder {
	t.Helper()
	got := make(chan *httptest.ResponseRecorder, 1)
	start := time.Now()
	go func() { got <- send() }()
	select {
	case rec := <-got:
		t.Logf("answered in %s", time.Since(start).Round(time.Millisecond))
		return rec
	case <-time.After(bound):
		t.Fatalf("no answer within %s while the upstream stalls: the request waited on it", bound)
		return nil
	}
}

// queued is a request that queues a person's sync from a stalled source.
type queued struct {
	send    func() *httptest.ResponseRecorder
	want    int // its status
	person  store.Person
	stalled *upstream.Stalled
}

// TestQueueingSyncNeverWaitsOnUpstream: each request that queues a sync
// (enrolling, signing in, a carer switching to act for someone) is answered
// within 2 s while the FHIR server the person is to be synced from takes the
// request and never answers; and the sync is under way behind it, asking
// that server about the person.
func TestQueueingSyncNeverWaitsOnUpstream(t *testing.T) {
	const bound = 2 * time.Second
	tests := []struct {
		name  string
		queue func(t *testing.T, f *fixture) queued
	}{
		{"enrolling", func(t *testing.T, f *fixture) queued {
			stalled := withStalledSync(t, f)
			c := f.enrolForm(t, f.amir)
			opts := c.must(c.json("/enrol/passkey/begin", nil), http.StatusOK, "enrol begin")
			body := keyCreate(t, newSoftKey(t, "http://localhost:8080", "localhost"), opts)
			return queued{func() *httptest.ResponseRecorder { return c.json("/enrol/passkey/finish", body) }, http.StatusOK, f.amir, stalled}
		}},
		{"signing in", func(t *testing.T, f *fixture) queued {
			k, _ := f.enrolWithKey(t, f.jane) // before sync is wired, so that enrolling queues nothing
			stalled := withStalledSync(t, f)
			c := newPasskeyBrowser(t, f.handler)
			c.page("/signin")
			opts := c.must(c.json("/signin/begin", nil), http.StatusOK, "sign-in begin")
			body := keyGet(t, k, opts)
			return queued{func() *httptest.ResponseRecorder { return c.json("/signin/finish", body) }, http.StatusOK, f.jane, stalled}
		}},
		{"a carer switching to act for someone", func(t *testing.T, f *fixture) queued {
			f.signIn(t, f.jane)
			john := f.newCarer(t, "John")
			g := f.grant(t, f.jane, f.ownAccount(t, f.jane), john, "medicines")
			stalled := withStalledSync(t, f)
			form := url.Values{"csrf": {sessionCSRF(t, f, john.id)}, "who": {strconv.FormatInt(g.ID, 10)}}
			return queued{func() *httptest.ResponseRecorder { return f.post(t, "/acting-for", john.cookie, form) }, http.StatusSeeOther, f.jane, stalled}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			q := tt.queue(t, f)
			if q.stalled.AskedAbout(q.person.NHSNumber) {
				t.Fatal("the stalled source was asked about the person before the request")
			}
			rec := promptly(t, bound, q.send)
			if rec.Code != q.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, q.want, rec.Body.String())
			}
			waitSyncUnderWay(t, f.db, q.stalled, q.person)
		})
	}
}

// waitSyncUnderWay waits up to 3 s for the person's sync from the stalled
// source to be marked under way and asking it about them.
func waitSyncUnderWay(t *testing.T, db *store.DB, stalled *upstream.Stalled, p store.Person) {
	t.Helper()
	start := time.Now()
	for {
		sts, err := db.SyncStatuses(context.Background(), p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(sts) == 1 && sts[0].RunningSince != "" && stalled.AskedAbout(p.NHSNumber) {
			return
		}
		if time.Since(start) > 3*time.Second {
			t.Fatalf("%s's sync was not under way 3 s after the request: %+v", p.Name(), sts)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

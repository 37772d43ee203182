package fhirsync

import (
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// personWithSources is a database with FHIR server sources of those names
// (at an address nothing answers) and a person imported from files.
func personWithSources(t *testing.T, names ...string) (*store.DB, []store.Source, store.Person) {
	t.Helper()
	ctx := t.Context()
	db := tempStore(t)
	var srcs []store.Source
	for _, name := range names {
		src, err := db.AddSource(ctx, store.Source{Name: name, BaseURL: "http://127.0.0.1:1/" + name + "/fhir"})
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, src)
	}
	pt, err := fhir.ParseResource([]byte(`{"resourceType":"Patient","id":"p1","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "files"}, "test", []fhir.Resource{pt}); err != nil {
		t.Fatal(err)
	}
	person, err := db.PersonByNHSNumber(ctx, "9434765919")
	if err != nil {
		t.Fatal(err)
	}
	return db, srcs, person
}

// TestEnqueueIfStaleReadsTheRunningMark: a sync under way is not queued
// again, but a running mark left by a portal sync that was killed (never
// cleared, as serve clears only its own at start) stops holding the person
// up once it is store.RunningMarkLife old, as pages already take it.
func TestEnqueueIfStaleReadsTheRunningMark(t *testing.T) {
	tests := []struct {
		name     string
		finished bool          // the sync ended and cleared its mark
		after    time.Duration // how long after it started the worker looks
		carer    bool          // a carer's request asks (switching to the person): a source that shows them nothing yet counts too
		want     bool          // queued
	}{
		{"a sync under way", false, 5 * time.Minute, false, false},
		{"a mark left by a killed sync", false, store.RunningMarkLife + time.Minute, false, true},
		{"finished, and fresh", true, 30 * time.Second, false, false},
		{"finished, and stale", true, 5 * time.Minute, false, true},
		{"finished, stale, and a carer asks", true, 5 * time.Minute, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			db, srcs, person := personWithSources(t, "lth")
			src := srcs[0]
			if err := db.SyncStarted(ctx, src.ID, person.ID, store.RunnerID("serve")); err != nil {
				t.Fatal(err)
			}
			if tt.finished {
				if err := db.SyncFinished(ctx, src.ID, person.ID, store.RunnerID("serve"), "", false); err != nil {
					t.Fatal(err)
				}
			}
			w := NewWorker(&Puller{DB: db}, slog.New(slog.NewTextHandler(io.Discard, nil)), WorkerOptions{Freshness: time.Minute})
			later := time.Now().Add(tt.after)
			w.now = func() time.Time { return later }
			if tt.carer {
				ctx = store.ForCarer(ctx, fhir.SectionMedicines)
			}
			w.EnqueueIfStale(ctx, person.ID)
			if got := len(w.queue) == 1; got != tt.want {
				t.Errorf("queued: got %v, want %v", got, tt.want)
			}
		})
	}
}

// The worker's log says when someone was not looked for at a source for want
// of an identifier, rather than that the source has no record of them.
func TestWorkerLogsWhoWasNotLookedFor(t *testing.T) {
	ctx := t.Context()
	db := tempStore(t)
	src, err := db.AddSource(ctx, store.Source{Name: "lth", BaseURL: "http://127.0.0.1:1/fhir"})
	if err != nil {
		t.Fatal(err)
	}
	// From files, with no NHS number and no linking system: nothing to look for them by.
	pt, err := fhir.ParseResource([]byte(`{"resourceType":"Patient","id":"p1","identifier":[{"system":"https://github.com/synthetichealth/synthea","value":"p1"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "files"}, "test", []fhir.Resource{pt}); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	w := NewWorker(&Puller{DB: db, Client: NewClients(func(string) string { return "" }, ClientOptions{}).Get}, slog.New(slog.NewTextHandler(&log, nil)), WorkerOptions{})
	w.pullOne(ctx, src, 1)
	if !strings.Contains(log.String(), "not looked for there") || strings.Contains(log.String(), "no record there") {
		t.Errorf("the worker logged:\n%s\nwant that the person was not looked for", log.String())
	}
}

// A person queued while their pull from one source is still due is pulled
// from the sources whose data of them is stale, not again from one pulled
// within the freshness.
func TestPullAllSkipsFreshSources(t *testing.T) {
	ctx := t.Context()
	db, srcs, person := personWithSources(t, "a-fresh", "b-stale")
	fresh := srcs[0]
	if err := db.SyncStarted(ctx, fresh.ID, person.ID, store.RunnerID("serve")); err != nil {
		t.Fatal(err)
	}
	if err := db.SyncFinished(ctx, fresh.ID, person.ID, store.RunnerID("serve"), "", false); err != nil {
		t.Fatal(err)
	}
	attempts := func() map[string]string {
		sts, err := db.SyncStatuses(ctx, person.ID)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, st := range sts {
			out[st.Source.Name] = st.LastAttemptAt
		}
		return out
	}
	before := attempts()
	w := NewWorker(&Puller{DB: db, Client: NewClients(func(string) string { return "" }, ClientOptions{MaxAttempts: 1}).Get},
		slog.New(slog.NewTextHandler(io.Discard, nil)), WorkerOptions{Freshness: time.Hour})
	var wg sync.WaitGroup
	w.pullAll(ctx, &wg, person.ID)
	wg.Wait()
	after := attempts()
	if after["a-fresh"] != before["a-fresh"] {
		t.Errorf("a-fresh, pulled a moment ago, was pulled again: last attempt %s, then %s", before["a-fresh"], after["a-fresh"])
	}
	if after["b-stale"] == "" {
		t.Error("b-stale, never pulled, was not pulled")
	}
}

// tempStore is a new store in a file of the test's own, closed when it ends.
func tempStore(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "portal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestEnqueueIfStaleGoesByWhenLastBrought: on sign-in, data is stale by when
// it was last brought, not last tried, though a source is not tried again
// within a minute of a try that failed (a review: signing in with data five
// hours old, three minutes after a try failed, queued nothing).
func TestEnqueueIfStaleGoesByWhenLastBrought(t *testing.T) {
	tests := []struct {
		name    string
		brought time.Duration // how long ago the last sync that worked ended, 0 for never
		failed  time.Duration // how long ago the last try failed, 0 for none since
		want    bool
	}{
		{"brought 5 hours ago, a try failed 3 minutes ago", 5 * time.Hour, 3 * time.Minute, true},
		{"brought 5 hours ago, a try failed 30 seconds ago", 5 * time.Hour, 30 * time.Second, false},
		{"never brought, a try failed 3 minutes ago", 0, 3 * time.Minute, true},
		{"brought 5 minutes ago, a try failed 3 minutes ago", 5 * time.Minute, 3 * time.Minute, false},
		{"brought 5 minutes ago", 5 * time.Minute, 0, false},
		{"brought 20 minutes ago", 20 * time.Minute, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			db, srcs, person := personWithSources(t, "lth")
			src, by, now := srcs[0], store.RunnerID("serve"), time.Now()
			sync := func(ago time.Duration, why string) {
				db.SetClock(func() time.Time { return now.Add(-ago) })
				if err := db.SyncStarted(ctx, src.ID, person.ID, by); err != nil {
					t.Fatal(err)
				}
				if err := db.SyncFinished(ctx, src.ID, person.ID, by, why, false); err != nil {
					t.Fatal(err)
				}
			}
			if tt.brought != 0 {
				sync(tt.brought, "")
			}
			if tt.failed != 0 {
				sync(tt.failed, "Their system did not answer. We will try again soon.")
			}
			db.SetClock(time.Now)
			w := NewWorker(&Puller{DB: db}, slog.New(slog.NewTextHandler(io.Discard, nil)), WorkerOptions{Freshness: 15 * time.Minute})
			w.now = func() time.Time { return now }
			w.EnqueueIfStale(ctx, person.ID)
			if got := len(w.queue) == 1; got != tt.want {
				t.Errorf("queued: got %v, want %v", got, tt.want)
			}
		})
	}
}

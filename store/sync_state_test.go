package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// syncSource adds a FHIR server source "lth" (never reached) and a person to sync from it.
func syncSource(t *testing.T, db *store.DB) (store.Source, store.Person) {
	t.Helper()
	src, err := db.AddSource(context.Background(), store.Source{Name: "lth", BaseURL: "http://localhost:1/fhir"})
	if err != nil {
		t.Fatal(err)
	}
	return src, addPerson(t, db, "9434765919", "1957-03-14")
}

// TestDeletionsCheckedStandsApart: the time deletions were read up to is
// stored with the page that ends the read, or not at all, and a checkpoint
// written later leaves it as it is.
func TestDeletionsCheckedStandsApart(t *testing.T) {
	ctx := context.Background()
	db, path := mustOpenDBFile(t)
	// A page whose checkpoint the database refuses, after the page's other
	// writes: the transaction must take the time deletions were read with it.
	raw, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`CREATE TRIGGER test_refuse_checkpoint BEFORE UPDATE ON sync_checkpoints WHEN NEW.next_url = 'refused'
BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`); err != nil {
		t.Fatal(err)
	}
	src, person := syncSource(t, db)
	for _, tt := range []struct {
		name string
		u    store.PageUpdate
		want string
		fail bool
	}{
		{"none yet", store.PageUpdate{Checkpoint: &store.Checkpoint{NextURL: "http://localhost:1/fhir/Observation?_offset=100"}}, "", false},
		{"a first search", store.PageUpdate{DeletionsChecked: "2026-01-01T10:00:00Z", Checkpoint: &store.Checkpoint{Watermark: "2025-12-31T00:00:00Z"}}, "2026-01-01T10:00:00Z", false},
		{"a checkpoint alone", store.PageUpdate{Checkpoint: &store.Checkpoint{Watermark: "2026-01-02T00:00:00Z"}}, "2026-01-01T10:00:00Z", false},
		{"a history read", store.PageUpdate{DeletionsChecked: "2026-01-03T10:00:00Z", Deleted: []fhir.Resource{{Type: "Observation", ID: "o1"}}}, "2026-01-03T10:00:00Z", false},
		{"a page that did not commit", store.PageUpdate{DeletionsChecked: "2026-01-04T10:00:00Z", Checkpoint: &store.Checkpoint{Watermark: "2026-01-02T00:00:00Z", NextURL: "refused"}}, "2026-01-03T10:00:00Z", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.u.Source, tt.u.PersonID, tt.u.ResourceType, tt.u.Origin = "lth", person.ID, "Observation", "test"
			_, err := db.ApplyPage(ctx, tt.u)
			if (err != nil) != tt.fail {
				t.Fatalf("apply: %v", err)
			}
			got, err := db.DeletionsChecked(ctx, src.ID, person.ID, "Observation")
			if err != nil || got != tt.want {
				t.Errorf("deletions checked %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	if cp, err := db.Checkpoint(ctx, src.ID, person.ID, "Observation"); err != nil || cp.Watermark != "2026-01-02T00:00:00Z" {
		t.Errorf("checkpoint %+v, %v; want the watermark left by the page that set it", cp, err)
	}
}

// TestCheckpointKeepsTheSearchCount: a search in progress keeps its first
// page's total and what it has received with its next link, so a sync that
// resumes it still counts from the first page.
func TestCheckpointKeepsTheSearchCount(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	src, person := syncSource(t, db)
	for _, want := range []store.Checkpoint{
		{Watermark: "2026-01-01T00:00:00Z", NextURL: "http://localhost:1/fhir/Observation?_offset=100", Pending: "2026-01-02T00:00:00Z", Total: 101, Received: 100},
		{Watermark: "2026-01-02T00:00:00Z"},
	} {
		if _, err := db.ApplyPage(ctx, store.PageUpdate{Source: "lth", PersonID: person.ID, ResourceType: "Observation", Origin: "test", Checkpoint: &want}); err != nil {
			t.Fatal(err)
		}
		if got, err := db.Checkpoint(ctx, src.ID, person.ID, "Observation"); err != nil || got != want {
			t.Errorf("checkpoint %+v, %v; want %+v", got, err, want)
		}
	}
}

// TestAPageKeepsItsSyncRunning: a sync that is still storing pages is
// running, however long ago it started; a page with no sync running (an
// import) marks none.
func TestAPageKeepsItsSyncRunning(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	src, person := syncSource(t, db)
	status := func() store.SyncStatus {
		t.Helper()
		sts, err := db.SyncStatuses(ctx, person.ID)
		if err != nil || len(sts) != 1 {
			t.Fatalf("%v, %d statuses", err, len(sts))
		}
		return sts[0]
	}
	start := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	now := start
	db.SetClock(func() time.Time { return now })
	page := store.PageUpdate{Source: "lth", PersonID: person.ID, ResourceType: "Observation", Origin: "test",
		Checkpoint: &store.Checkpoint{NextURL: "http://localhost:1/fhir/Observation?_offset=10"}}
	if err := db.SyncStarted(ctx, src.ID, person.ID, store.RunnerID("serve")); err != nil {
		t.Fatal(err)
	}
	now = start.Add(25 * time.Minute)
	if _, err := db.ApplyPage(ctx, page); err != nil {
		t.Fatal(err)
	}
	if st := status(); !st.Running(now.Add(time.Minute)) {
		t.Errorf("25 minutes in, a page stored a minute ago: running since %s, not running", st.RunningSince)
	}
	if err := db.SyncFinished(ctx, src.ID, person.ID, store.RunnerID("serve"), "", false); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ApplyPage(ctx, page); err != nil {
		t.Fatal(err)
	}
	if st := status(); st.RunningSince != "" {
		t.Errorf("a page with no sync running marked one running since %s", st.RunningSince)
	}
}

// A sync stopped part way, in good order (SyncStopped) or by a process
// killed and started again (ClearRunning), is running no longer, neither
// succeeded nor failed, and its attempt counts for nothing: the person's data
// is as old as their last sync that finished.
func TestAStoppedSyncCountsForNothing(t *testing.T) {
	live, killed := store.RunnerID("serve"), "serve pid 1073741824" // this process; no such process, as one killed
	for _, tt := range []struct {
		name string
		by   string // the process that ran the sync
		stop func(ctx context.Context, db *store.DB, src store.Source, person store.Person) error
	}{
		{"stopped in good order", live, func(ctx context.Context, db *store.DB, src store.Source, person store.Person) error {
			return db.SyncStopped(ctx, src.ID, person.ID, live)
		}},
		{"the process was killed", killed, func(ctx context.Context, db *store.DB, _ store.Source, _ store.Person) error {
			return db.ClearRunning(ctx)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			db := mustOpenDB(t)
			src, person := syncSource(t, db)
			now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
			db.SetClock(func() time.Time { return now })
			if err := db.SyncStarted(ctx, src.ID, person.ID, tt.by); err != nil {
				t.Fatal(err)
			}
			if err := db.SyncFinished(ctx, src.ID, person.ID, tt.by, "", false); err != nil {
				t.Fatal(err)
			}
			finished := now
			now = now.Add(time.Hour)
			if err := db.SyncStarted(ctx, src.ID, person.ID, tt.by); err != nil {
				t.Fatal(err)
			}
			if err := tt.stop(ctx, db, src, person); err != nil {
				t.Fatal(err)
			}
			sts, err := db.SyncStatuses(ctx, person.ID)
			if err != nil || len(sts) != 1 {
				t.Fatalf("%v, %d statuses", err, len(sts))
			}
			st := sts[0]
			if st.RunningSince != "" || st.LastError != "" || st.FailingSince != "" {
				t.Errorf("after the stop: %+v; want it neither running nor failing", st)
			}
			if got, _ := time.Parse(time.RFC3339Nano, st.LastAttemptAt); !got.Equal(finished) {
				t.Errorf("last attempt %s, want the last sync that finished, %s", st.LastAttemptAt, finished)
			}
		})
	}
}

// A sync marked running is not started again beside itself, by this process
// or another, while the process that marked it runs and its mark is fresh;
// one a killed process left is taken over at once, and serve (at its start
// and in its rounds) clears only the marks of processes that have stopped,
// never a portal sync's still running.
func TestARunningSyncIsNotStartedTwice(t *testing.T) {
	ctx := context.Background()
	db, path := mustOpenDBFile(t)
	src, person := syncSource(t, db)
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	db.SetClock(func() time.Time { return now })
	raw, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	// running is the mark as stored (SyncStatuses shows a killed process's as none).
	running := func() string {
		t.Helper()
		var since string
		if err := raw.QueryRowContext(ctx, `SELECT running_since FROM sync_status WHERE source_id = ? AND person_id = ?`, src.ID, person.ID).Scan(&since); err != nil {
			t.Fatal(err)
		}
		return since
	}
	shownRunning := func() bool {
		t.Helper()
		sts, err := db.SyncStatuses(ctx, person.ID)
		if err != nil || len(sts) != 1 {
			t.Fatalf("%v, %d statuses", err, len(sts))
		}
		return sts[0].Running(now)
	}
	// This process; no process; and a process that had this one's id before
	// it, as a serve killed and started again does, being process 1 in its container.
	live, killed, earlier := store.RunnerID("portal sync"), "portal sync pid 1073741824", fmt.Sprintf("serve pid %d started 1", os.Getpid())
	if err := db.SyncStarted(ctx, src.ID, person.ID, live); err != nil {
		t.Fatal(err)
	}
	since := running()
	if !shownRunning() {
		t.Error("a live process's mark is not shown as a sync running")
	}
	now = now.Add(time.Minute)
	if err := db.SyncStarted(ctx, src.ID, person.ID, "serve 1"); !errors.Is(err, store.ErrSyncUnderWay) {
		t.Errorf("a second start beside a running sync: %v, want ErrSyncUnderWay", err)
	}
	if err := db.ClearRunning(ctx); err != nil {
		t.Fatal(err)
	}
	if got := running(); got != since {
		t.Errorf("serve cleared a running portal sync's mark: running since %q, want %q", got, since)
	}
	// Left behind by a process still running (its pull stalled): it lasts RunningMarkLife.
	now = now.Add(store.RunningMarkLife)
	if err := db.SyncStarted(ctx, src.ID, person.ID, killed); err != nil {
		t.Errorf("a start after the mark grew old: %v", err)
	}
	// Left by a killed process: taken over at once, and cleared by serve.
	now = now.Add(time.Minute)
	if err := db.SyncStarted(ctx, src.ID, person.ID, live); err != nil {
		t.Errorf("a start beside a killed process's mark: %v", err)
	}
	if err := db.SyncFinished(ctx, src.ID, person.ID, live, "", false); err != nil {
		t.Fatal(err)
	}
	if err := db.SyncStarted(ctx, src.ID, person.ID, killed); err != nil {
		t.Fatal(err)
	}
	// Pages and the worker read a killed process's mark as nothing running at
	// once, not after serve's round clears it (found by a review).
	if shownRunning() {
		t.Error("a killed process's mark is shown as a sync running")
	}
	if err := db.ClearRunning(ctx); err != nil {
		t.Fatal(err)
	}
	if got := running(); got != "" {
		t.Errorf("serve left a killed process's mark: running since %q", got)
	}
	if err := db.SyncStarted(ctx, src.ID, person.ID, earlier); err != nil {
		t.Fatal(err)
	}
	if err := db.SyncStarted(ctx, src.ID, person.ID, live); err != nil {
		t.Errorf("a start beside the mark of a process that had this one's id: %v", err)
	}
	if err := db.SyncFinished(ctx, src.ID, person.ID, live, "", false); err != nil {
		t.Fatal(err)
	}
	if err := db.SyncStarted(ctx, src.ID, person.ID, earlier); err != nil {
		t.Fatal(err)
	}
	if err := db.ClearRunning(ctx); err != nil {
		t.Fatal(err)
	}
	if got := running(); got != "" {
		t.Errorf("serve, started again with the id it had, left its own old mark: running since %q", got)
	}
	if err := db.SyncStarted(ctx, src.ID, person.ID, "serve 1"); err != nil {
		t.Errorf("a start after the mark was cleared: %v", err)
	}
}

// A sync whose mark another process took over (its own grew old while its
// pull stalled) leaves that process's mark when it finishes or stops, so the
// pull is not started a third time beside the one now running.
func TestAnEndLeavesAMarkTakenOver(t *testing.T) {
	for _, tt := range []struct {
		name string
		end  func(ctx context.Context, db *store.DB, src store.Source, person store.Person, by string) error
	}{
		{"finished", func(ctx context.Context, db *store.DB, src store.Source, person store.Person, by string) error {
			return db.SyncFinished(ctx, src.ID, person.ID, by, "", false)
		}},
		{"failed", func(ctx context.Context, db *store.DB, src store.Source, person store.Person, by string) error {
			return db.SyncFinished(ctx, src.ID, person.ID, by, "The server did not answer.", false)
		}},
		{"stopped", func(ctx context.Context, db *store.DB, src store.Source, person store.Person, by string) error {
			return db.SyncStopped(ctx, src.ID, person.ID, by)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			db := mustOpenDB(t)
			src, person := syncSource(t, db)
			now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
			db.SetClock(func() time.Time { return now })
			first, second := store.RunnerID("portal sync"), store.RunnerID("serve")
			if err := db.SyncStarted(ctx, src.ID, person.ID, first); err != nil {
				t.Fatal(err)
			}
			now = now.Add(store.RunningMarkLife + time.Second)
			if err := db.SyncStarted(ctx, src.ID, person.ID, second); err != nil {
				t.Fatalf("taking over a mark grown old: %v", err)
			}
			if err := tt.end(ctx, db, src, person, first); err != nil {
				t.Fatal(err)
			}
			if err := db.SyncStarted(ctx, src.ID, person.ID, "serve 3"); !errors.Is(err, store.ErrSyncUnderWay) {
				t.Errorf("after the first runner's end, a third start: %v, want ErrSyncUnderWay (the second still runs)", err)
			}
			if err := tt.end(ctx, db, src, person, second); err != nil {
				t.Fatal(err)
			}
			if err := db.SyncStarted(ctx, src.ID, person.ID, "serve 3"); err != nil {
				t.Errorf("after the second runner's own end, a start: %v", err)
			}
		})
	}
}

// A mark left by a process in another container sharing the file (one that
// sees other process ids, on a machine of another name) cannot be checked
// against this machine's processes: it holds until it grows old, and serve
// does not clear it. One left by this container before it was started again
// (the same host name, other process ids) is taken over at once, and
// cleared by serve.
func TestAMarkFromAnotherContainerHoldsUntilOld(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	src, person := syncSource(t, db)
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	db.SetClock(func() time.Time { return now })
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	before := "serve pid 1 started 1 on " + host + " in pid:[1]"
	if err := db.SyncStarted(ctx, src.ID, person.ID, before); err != nil {
		t.Fatal(err)
	}
	if err := db.ClearRunning(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.SyncStarted(ctx, src.ID, person.ID, store.RunnerID("serve")); err != nil {
		t.Errorf("a start beside this container's mark from before it was started again: %v", err)
	}
	if err := db.SyncFinished(ctx, src.ID, person.ID, store.RunnerID("serve"), "", false); err != nil {
		t.Fatal(err)
	}
	other := "portal sync pid 1073741824 started 1 on another-host.example in pid:[1]"
	if err := db.SyncStarted(ctx, src.ID, person.ID, other); err != nil {
		t.Fatal(err)
	}
	if err := db.ClearRunning(ctx); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Minute)
	if err := db.SyncStarted(ctx, src.ID, person.ID, store.RunnerID("serve")); !errors.Is(err, store.ErrSyncUnderWay) {
		t.Errorf("a start beside another container's fresh mark: %v, want ErrSyncUnderWay", err)
	}
	now = now.Add(store.RunningMarkLife)
	if err := db.SyncStarted(ctx, src.ID, person.ID, store.RunnerID("serve")); err != nil {
		t.Errorf("a start after another container's mark grew old: %v", err)
	}
}

package store_test

import (
	"context"
	"database/sql"
	"sync"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
)

// TestAnotherProcessWritingLongerThanTheBusyTimeout: another process (a
// large portal import stores a file in one transaction) holds the database
// for longer than the 5-second busy timeout. A page's touch of its session
// failed with "database is locked" and the page was a 500; a sync's end was
// lost, so pages said "Updating…" for 10 minutes and the person's next sync
// was refused as under way (found by a concurrency review). Now the session
// is served, its last-seen time left as it was, and a sync's end waits the
// other writer out.
func TestAnotherProcessWritingLongerThanTheBusyTimeout(t *testing.T) {
	ctx := context.Background()
	db, path := mustOpenDBFile(t)
	now := time.Now()
	db.SetClock(func() time.Time { return now })
	person := addPerson(t, db, "9990000018", "1957-03-14")
	src, err := db.AddSource(ctx, store.Source{Name: "yh", OrgName: "Yorkshire and Humber Care Record", BaseURL: "http://127.0.0.1:1/fhir"})
	if err != nil {
		t.Fatal(err)
	}
	sessionID, _, err := db.CreateSession(ctx, 0, store.DefaultSessionPolicy())
	if err != nil {
		t.Fatal(err)
	}
	var others []string // other people's sessions, paging at the same time
	for range 4 {
		id, _, err := db.CreateSession(ctx, 0, store.DefaultSessionPolicy())
		if err != nil {
			t.Fatal(err)
		}
		others = append(others, id)
	}
	me := store.RunnerID("serve")
	if err := db.SyncStarted(ctx, src.ID, person.ID, me); err != nil {
		t.Fatal(err)
	}

	// Another connection, as another process would, holds the write lock for 11 seconds.
	other, err := sql.Open("sqlite3", "file:"+store.URIPath(path))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `UPDATE sources SET org_name = org_name`); err != nil {
		t.Fatal(err)
	}
	released := make(chan struct{})
	go func() {
		time.Sleep(11 * time.Second)
		conn.ExecContext(ctx, `COMMIT`)
		close(released)
	}()

	now = now.Add(2 * time.Minute) // the sessions are due to be touched
	if s, err := db.Session(ctx, sessionID, store.DefaultSessionPolicy()); err != nil {
		t.Errorf("a session touched while another process writes: %v; want it served", err)
	} else if !s.LastSeenAt.Before(now) {
		t.Errorf("last seen %v; want it left as it was", s.LastSeenAt)
	}
	// Others' pages meanwhile do not each wait the busy timeout out: four at
	// once took 20 s, one after another (found by a review).
	start := time.Now()
	var wg sync.WaitGroup
	for _, id := range others {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := db.Session(ctx, id, store.DefaultSessionPolicy()); err != nil {
				t.Errorf("another session while another process writes: %v", err)
			}
		}()
	}
	wg.Wait()
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("four pages at once took %v to read their sessions; want them served at once", took)
	}
	fctx, cancel := context.WithTimeout(ctx, 30*time.Second) // as PullPerson's
	defer cancel()
	if err := db.SyncFinished(fctx, src.ID, person.ID, me, "", true); err != nil {
		t.Errorf("a sync's end while another process writes: %v; want it recorded once the other is done", err)
	}
	<-released
	sts, err := db.SyncStatuses(ctx, person.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range sts {
		if st.Source.ID == src.ID && st.Running(now) {
			t.Error("the sync ended, yet it is marked running")
		}
	}
	if err := db.SyncStarted(ctx, src.ID, person.ID, me); err != nil {
		t.Errorf("the next sync: %v", err)
	}
}

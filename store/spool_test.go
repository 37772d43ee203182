package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// spoolDB opens a database in dir with its access log spool.
func spoolDB(t *testing.T, dir string) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(dir, "portal.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.OpenAccessSpool(SpoolPath(filepath.Join(dir, "portal.db"), "")); err != nil {
		db.Close()
		t.Fatal(err)
	}
	return db
}

// tableWhats is what each entry in the access_log table was a look at, in chain order.
func tableWhats(t *testing.T, db *DB) []string {
	t.Helper()
	rows, err := db.db.Query(`SELECT what FROM access_log ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var w string
		if err := rows.Scan(&w); err != nil {
			t.Fatal(err)
		}
		out = append(out, w)
	}
	return out
}

func wantChain(t *testing.T, db *DB, entries int) {
	t.Helper()
	c, err := db.CheckAccessLog(context.Background())
	if err != nil || !c.Intact() || c.Entries != entries {
		t.Fatalf("chain check = %+v, %v; want %d intact entries", c, err, entries)
	}
}

func TestAccessSpool(t *testing.T) {
	ctx := context.Background()
	look := func(i int) Access {
		return Access{AccountID: 1, PersonID: 7, Action: "view", What: fmt.Sprint("page ", i)}
	}

	t.Run("entries wait in the spool, then join the chain in order", func(t *testing.T) {
		db := spoolDB(t, t.TempDir())
		defer db.Close()
		for i := range 3 {
			if err := db.LogAccess(ctx, look(i)); err != nil {
				t.Fatal(err)
			}
		}
		if got := tableWhats(t, db); len(got) != 0 || db.AccessesWaiting() != 3 {
			t.Fatalf("before the move: table %q, %d waiting; want nothing in the table and 3 waiting", got, db.AccessesWaiting())
		}
		if n, err := db.MoveAccessSpool(ctx); err != nil || n != 3 {
			t.Fatalf("move = %d, %v; want 3", n, err)
		}
		if got := strings.Join(tableWhats(t, db), ","); got != "page 0,page 1,page 2" || db.AccessesWaiting() != 0 {
			t.Fatalf("after the move: table %q, %d waiting", got, db.AccessesWaiting())
		}
		if st, err := os.Stat(db.spool.path); err != nil || st.Size() != 0 {
			t.Fatalf("the spool is not emptied once moved: %v, %v", st, err)
		}
		wantChain(t, db, 3)
		// The person's own access log page moves the spool in first, so it never misses the latest look.
		if err := db.LogAccess(ctx, look(3)); err != nil {
			t.Fatal(err)
		}
		lp, err := db.PersonAccessLog(ctx, 7, AccessFilter{}, 1, 10)
		if err != nil || lp.Total != 4 || lp.Behind {
			t.Fatalf("access log page = %d entries (behind %v), %v; want 4", lp.Total, lp.Behind, err)
		}
	})

	t.Run("many at once: each confirmed entry is stored once", func(t *testing.T) {
		db := spoolDB(t, t.TempDir())
		defer db.Close()
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 50 {
					if err := db.LogAccess(ctx, look(w*100+i)); err != nil {
						t.Error(err)
					}
					if i%10 == 0 {
						if _, err := db.MoveAccessSpool(ctx); err != nil {
							t.Error(err)
						}
					}
				}
			}()
		}
		wg.Wait()
		if _, err := db.MoveAccessSpool(ctx); err != nil {
			t.Fatal(err)
		}
		got := tableWhats(t, db)
		seen := map[string]bool{}
		for _, w := range got {
			if seen[w] {
				t.Fatalf("%q stored twice", w)
			}
			seen[w] = true
		}
		if len(got) != 400 {
			t.Fatalf("%d entries stored, want 400", len(got))
		}
		wantChain(t, db, 400)
	})

	t.Run("a long backlog moves a part at a time, in order", func(t *testing.T) {
		db := spoolDB(t, t.TempDir())
		defer db.Close()
		const n = 1500 // several times spoolRead
		for i := range n {
			if err := db.LogAccess(ctx, look(i)); err != nil {
				t.Fatal(err)
			}
		}
		if st, err := os.Stat(db.spool.path); err != nil || st.Size() < 3*spoolRead {
			t.Fatalf("the backlog is %v bytes, want several times %d (%v)", st.Size(), spoolRead, err)
		}
		if got, err := db.MoveAccessSpool(ctx); err != nil || got != n {
			t.Fatalf("move = %d, %v; want %d", got, err, n)
		}
		got := tableWhats(t, db)
		for i, w := range got {
			if w != fmt.Sprint("page ", i) {
				t.Fatalf("entry %d is %q, want page %d", i, w, i)
			}
		}
		wantChain(t, db, n)
	})

	t.Run("a crash after the move, before the spool is emptied, stores nothing twice", func(t *testing.T) {
		dir := t.TempDir()
		db := spoolDB(t, dir)
		for i := range 3 {
			if err := db.LogAccess(ctx, look(i)); err != nil {
				t.Fatal(err)
			}
		}
		kept, err := os.ReadFile(db.spool.path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.MoveAccessSpool(ctx); err != nil {
			t.Fatal(err)
		}
		db.Close()
		// As if the portal died between committing the move and emptying the
		// file, with one more entry written after the move began, and half of
		// another written when it died.
		extra := `{"spool_id":"ffff","At":"2026-11-26T10:00:00.000000000Z","AccountID":1,"PersonID":7,"Action":"view","What":"page 3","ActorKind":"self"}` + "\n"
		half := `{"spool_id":"eeee","At":"2026-11-26T10:00:01.0`
		if err := os.WriteFile(SpoolPath(filepath.Join(dir, "portal.db"), ""), []byte(string(kept)+extra+half), 0o600); err != nil {
			t.Fatal(err)
		}
		db = spoolDB(t, dir)
		defer db.Close()
		if db.AccessesWaiting() != 4 {
			t.Fatalf("%d waiting after the restart, want the 4 whole lines", db.AccessesWaiting())
		}
		if n, err := db.MoveAccessSpool(ctx); err != nil || n != 4 {
			t.Fatalf("move = %d, %v", n, err)
		}
		if got := strings.Join(tableWhats(t, db), ","); got != "page 0,page 1,page 2,page 3" {
			t.Fatalf("table after the restart: %q", got)
		}
		// The half-written line was cut off: the next entry reads whole.
		if err := db.LogAccess(ctx, look(4)); err != nil {
			t.Fatal(err)
		}
		if n, err := db.MoveAccessSpool(ctx); err != nil || n != 1 {
			t.Fatalf("move after the restart = %d, %v", n, err)
		}
		wantChain(t, db, 5)
	})

	t.Run("one portal per spool", func(t *testing.T) {
		dir := t.TempDir()
		db := spoolDB(t, dir)
		defer db.Close()
		other, err := Open(ctx, filepath.Join(dir, "portal.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		err = other.OpenAccessSpool(SpoolPath(filepath.Join(dir, "portal.db"), ""))
		if err == nil || !strings.Contains(err.Error(), "another portal is using it") {
			t.Fatalf("a second portal on the same spool: %v, want it refused", err)
		}
	})

	t.Run("closing moves what is waiting", func(t *testing.T) {
		dir := t.TempDir()
		db := spoolDB(t, dir)
		if err := db.LogAccess(ctx, look(0)); err != nil {
			t.Fatal(err)
		}
		db.Close()
		db, err := Open(ctx, filepath.Join(dir, "portal.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if got := tableWhats(t, db); len(got) != 1 {
			t.Fatalf("after close: table %q, want the one entry", got)
		}
	})
}

// TestDamagedSpoolLinesAreKept: a spool line that does not read as an entry
// is kept, as it was, in a file beside the spool before the spool is emptied;
// the warning says where and why. When that file cannot be written nothing
// moves, and the spool keeps every line.
func TestDamagedSpoolLinesAreKept(t *testing.T) {
	ctx := context.Background()
	good, err := json.Marshal(spooled{SpoolID: "a1", Access: Access{At: "2026-11-26T10:00:00.000000000Z", AccountID: 1, PersonID: 7, Action: "view", What: "page 0", ActorKind: ActorSelf}})
	if err != nil {
		t.Fatal(err)
	}
	damaged := "garbage not json\n{\"x\":1}\n"
	content := damaged + string(good) + "\n"

	t.Run("kept beside the spool", func(t *testing.T) {
		dir := t.TempDir()
		spool := SpoolPath(filepath.Join(dir, "portal.db"), "")
		if err := os.WriteFile(spool, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		var logged bytes.Buffer
		defer slog.SetDefault(slog.Default())
		slog.SetDefault(slog.New(slog.NewTextHandler(&logged, nil)))
		db := spoolDB(t, dir)
		defer db.Close()
		if n, err := db.MoveAccessSpool(ctx); err != nil || n != 1 {
			t.Fatalf("move = %d, %v; want 1", n, err)
		}
		if got := tableWhats(t, db); len(got) != 1 || got[0] != "page 0" {
			t.Errorf("table %q, want the one good entry", got)
		}
		kept, err := os.ReadFile(DamagedSpoolPath(spool))
		if err != nil || string(kept) != damaged {
			t.Errorf("kept aside %q (%v), want %q", kept, err, damaged)
		}
		for _, want := range []string{
			"offset=0 kept_in=" + DamagedSpoolPath(spool) + ` reason="invalid character 'g' looking for beginning of value"`,
			"offset=17 kept_in=" + DamagedSpoolPath(spool) + ` reason="it is JSON but not an access log entry (it has no spool_id)"`,
		} {
			if !strings.Contains(logged.String(), want) {
				t.Errorf("the warnings do not say %q:\n%s", want, logged.String())
			}
		}
		if strings.Contains(logged.String(), "<nil>") {
			t.Errorf("a warning says <nil>:\n%s", logged.String())
		}
	})

	t.Run("nowhere to keep them: nothing moves", func(t *testing.T) {
		dir := t.TempDir()
		spool := SpoolPath(filepath.Join(dir, "portal.db"), "")
		if err := os.WriteFile(spool, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(DamagedSpoolPath(spool), 0o700); err != nil {
			t.Fatal(err)
		}
		db := spoolDB(t, dir)
		defer db.Close()
		_, err := db.MoveAccessSpool(ctx)
		if err == nil || !strings.Contains(err.Error(), "2 lines that do not read could not be kept in "+DamagedSpoolPath(spool)) {
			t.Errorf("move: %v", err)
		}
		if got, _ := os.ReadFile(spool); string(got) != content {
			t.Errorf("the spool holds %q, want %q", got, content)
		}
	})
}

// A damaged line is kept aside once, though the database refuses the batch
// it is in (the very case the spool is for) and the move is tried again.
func TestDamagedLineKeptOnceAcrossRetries(t *testing.T) {
	ctx := context.Background()
	good, _ := json.Marshal(spooled{SpoolID: "a1", Access: Access{At: "2026-11-26T10:00:00.000000000Z", AccountID: 1, PersonID: 7, Action: "view", What: "page 0", ActorKind: ActorSelf}})
	damaged := "garbage not json\n"
	dir := t.TempDir()
	spool := SpoolPath(filepath.Join(dir, "portal.db"), "")
	if err := os.WriteFile(spool, []byte(damaged+string(good)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	db := spoolDB(t, dir)
	defer db.Close()
	if _, err := db.db.Exec(`CREATE TRIGGER refuse BEFORE INSERT ON access_log BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END`); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := db.MoveAccessSpool(ctx); err == nil {
			t.Fatal("move succeeded while the table refused")
		}
	}
	if _, err := db.db.Exec(`DROP TRIGGER refuse`); err != nil {
		t.Fatal(err)
	}
	if n, err := db.MoveAccessSpool(ctx); err != nil || n != 1 {
		t.Fatalf("move = %d, %v", n, err)
	}
	kept, _ := os.ReadFile(DamagedSpoolPath(spool))
	if string(kept) != damaged {
		t.Errorf("kept aside %q, want the damaged line once %q", kept, damaged)
	}
}

// TestARefusedLookIsNotMovedIntoTheLog: once syncing the spool has failed
// (Linux reports a failed fdatasync once, so syncTo keeps the error), every
// page logged from then on is refused, so no line written for one may reach
// the access log as a look that happened; a look logged before the failure
// still does (a review: the lines stayed in the file and were moved).
func TestARefusedLookIsNotMovedIntoTheLog(t *testing.T) {
	ctx := context.Background()
	db := spoolDB(t, t.TempDir())
	defer db.Close()
	if err := db.LogAccess(ctx, Access{AccountID: 1, PersonID: 7, Action: "view", What: "summary"}); err != nil {
		t.Fatal(err)
	}
	db.spool.syncErr = fmt.Errorf("log access: syncing the spool %s: %w", db.spool.path, syscall.EIO) // what syncTo keeps after a failed fdatasync
	for i := range 3 {
		err := db.LogAccess(ctx, Access{AccountID: 1, PersonID: 7, Action: "view", What: fmt.Sprint("medicines page ", i)})
		if !errors.Is(err, syscall.EIO) {
			t.Fatalf("LogAccess = %v; want the sync's error, so the page is not shown", err)
		}
	}
	if _, err := db.MoveAccessSpool(ctx); err != nil {
		t.Fatal(err)
	}
	if got := tableWhats(t, db); len(got) != 1 || got[0] != "summary" {
		t.Errorf("the access log holds %q; want only the look logged before the sync failed", got)
	}
	if n := db.AccessesWaiting(); n != 0 {
		t.Errorf("%d entries waiting; want none", n)
	}
}

// TestASyncedLookIsNotRefusedByALaterFailedSync: a page whose look another
// page's sync took to disk is shown, though a later sync fails before it
// asks; so it belongs in the log (a review: it was refused, yet moved). And
// a look written before the spool was emptied is not synced again.
func TestASyncedLookIsNotRefusedByALaterFailedSync(t *testing.T) {
	ctx := context.Background()
	db := spoolDB(t, t.TempDir())
	defer db.Close()
	line := func(what string) []byte {
		b, _ := json.Marshal(spooled{SpoolID: what, Access: Access{AccountID: 1, PersonID: 7, Action: "view", What: what}})
		return append(b, '\n')
	}
	endX, err := db.spool.append(line("page X"))
	if err != nil {
		t.Fatal(err)
	}
	endG, err := db.spool.append(line("page G"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.spool.syncTo(endX); err != nil { // X's sync takes in G's line as well
		t.Fatal(err)
	}
	if _, err := db.MoveAccessSpool(ctx); err != nil { // both moved, and the file emptied
		t.Fatal(err)
	}
	db.spool.syncMu.Lock() // a third page's fdatasync fails
	db.spool.syncErr = fmt.Errorf("log access: syncing the spool %s: %w", db.spool.path, syscall.EIO)
	db.spool.forgetUnsynced()
	db.spool.syncMu.Unlock()
	if err := db.spool.syncTo(endG); err != nil {
		t.Errorf("page G's look is on disk and in the log (%q), yet its page is refused: %v", tableWhats(t, db), err)
	}
}

package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
)

// auditDB is a database whose access log holds n entries, in a fresh folder.
func auditDB(t *testing.T, n int) string {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "portal.db")
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i := range n {
		a := store.Access{AccountID: 1, PersonID: 7, Action: "view", What: []string{"summary", "medicines", "allergies"}[i%3], Device: "Chrome on Linux", ActorName: "Jane Example"}
		if i%2 == 1 {
			a.AccountID, a.ActorKind, a.ActorName, a.Relationship = 2, store.ActorCarer, "John Smith", "son"
		}
		if err := db.LogAccess(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// tamper changes the database behind the portal's back, as someone with the file could:
// the append-only triggers dropped first.
func tamper(t *testing.T, path string, stmts ...string) {
	t.Helper()
	raw, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, s := range append([]string{`DROP TRIGGER access_log_no_update`, `DROP TRIGGER access_log_no_delete`}, stmts...) {
		if _, err := raw.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func TestAuditVerify(t *testing.T) {
	t.Run("intact", func(t *testing.T) {
		db := auditDB(t, 6)
		out, _, err := portal(t, "audit", "verify", "--db", db)
		if err != nil {
			t.Fatalf("verify: %v\n%s", err, out)
		}
		if !strings.HasPrefix(out, "access log intact: 6 entries\n") || !regexp.MustCompile(`newest entry 6 has hash [0-9a-f]{64}\n`).MatchString(out) {
			t.Errorf("output:\n%s", out)
		}
	})
	t.Run("empty", func(t *testing.T) {
		out, _, err := portal(t, "audit", "verify", "--db", auditDB(t, 0))
		if err != nil || out != "access log intact: 0 entries\n" {
			t.Errorf("%v\n%s", err, out)
		}
	})
	for _, tt := range []struct {
		name  string
		stmts []string
		want  string // the start of the line reported
	}{
		{"a field changed", []string{`UPDATE access_log SET what = 'documents' WHERE id = 4`},
			"access log broken at entry 4 (at "},
		{"a carer's entry made to look like the person's own", []string{`UPDATE access_log SET actor_kind = 'self', actor_name = 'Jane Example', relationship = '' WHERE id = 2`},
			"access log broken at entry 2 (at "},
		{"a row deleted", []string{`DELETE FROM access_log WHERE id = 3`},
			"access log broken at entry 4 (at "},
		{"two rows re-ordered", []string{`UPDATE access_log SET id = 100 WHERE id = 3`, `UPDATE access_log SET id = 3 WHERE id = 5`, `UPDATE access_log SET id = 5 WHERE id = 100`},
			"access log broken at entry 3 (at "},
		{"a row re-dated and its hash re-made by hand", []string{`UPDATE access_log SET at = '2020-01-01T00:00:00.000000000Z', hash = X'00' WHERE id = 2`},
			"access log broken at entry 2 (at 2020-01-01T00:00:00.000000000Z): "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			db := auditDB(t, 6)
			tamper(t, db, tt.stmts...)
			out, _, err := portal(t, "audit", "verify", "--db", db)
			if err == nil {
				t.Fatalf("verify passed a tampered log:\n%s", out)
			}
			if !strings.HasPrefix(out, tt.want) || strings.Count(out, "\n") != 1 {
				t.Errorf("got %q, want one line starting %q", out, tt.want)
			}
		})
	}
	t.Run("usage", func(t *testing.T) {
		if _, stderr, err := portal(t, "audit"); err == nil || !strings.Contains(stderr, "portal audit verify") {
			t.Errorf("no subcommand: %v\n%s", err, stderr)
		}
		if _, _, err := portal(t, "audit", "repair"); err == nil {
			t.Error("unknown subcommand accepted")
		}
	})
}

// TestAuditVerifyNoticesLooksLeftOutOfTheChain: a look written to the access
// log spool whose line no longer reads (a damaged disk, an edit) is kept
// aside, out of the hash chain, so the log misses a look that happened:
// audit verify fails, naming the file, rather than saying the log is intact
// (a review). Looks still waiting in the spool are counted, and are no failure.
func TestAuditVerifyNoticesLooksLeftOutOfTheChain(t *testing.T) {
	path, spool, db := spooledLooks(t, "summary", "mental health entry 12", "medicines")
	// Looks waiting in the spool: counted, no failure.
	out, _, err := portal(t, "audit", "verify", "--db", path)
	if err != nil || !strings.Contains(out, "access log intact: 0 entries") || !strings.Contains(out, "3 more looks wait in the access log spool") {
		t.Fatalf("with 3 looks waiting: %v\n%s", err, out)
	}
	// One byte of the second look's line changes on the spool's disk before it is moved.
	data, err := os.ReadFile(spool)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	lines[1][0] = 'X'
	if err := os.WriteFile(spool, bytes.Join(lines, nil), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil { // moves the spool into the table, as serve does
		t.Fatal(err)
	}
	out, _, err = portal(t, "audit", "verify", "--db", path)
	if !errors.Is(err, errAccessLogBroken) || !strings.Contains(out, "access log incomplete: 1 look written") || !strings.Contains(out, store.DamagedSpoolPath(spool)) {
		t.Errorf("3 looks were shown, 2 are in the access log, and audit verify says:\n%s(err %v)", out, err)
	}
}

// TestAuditVerifyDoesNotCountMovedLooksAsWaiting: looks in the spool that
// are in the access log already (a stop between moving them and emptying
// the file) are not counted as waiting (a review).
func TestAuditVerifyDoesNotCountMovedLooksAsWaiting(t *testing.T) {
	path, spool, db := spooledLooks(t, "summary", "medicines", "results")
	kept, err := os.ReadFile(spool)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil { // moves the three looks into the table
		t.Fatal(err)
	}
	// The portal stopped after the move committed, before the file was emptied.
	if err := os.WriteFile(spool, kept, 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err := portal(t, "audit", "verify", "--db", path)
	if err != nil || !strings.Contains(out, "access log intact: 3 entries") || strings.Contains(out, "wait") {
		t.Errorf("all three looks are in the access log; audit verify says:\n%s(err %v)", out, err)
	}
}

// spooledLooks is a database in a fresh folder with its access log spool
// open, holding a carer's looks at each of whats, not yet moved.
func spooledLooks(t *testing.T, whats ...string) (path, spool string, db *store.DB) {
	t.Helper()
	ctx := context.Background()
	path = filepath.Join(t.TempDir(), "portal.db")
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	spool = store.SpoolPath(path, "")
	if err := db.OpenAccessSpool(spool); err != nil {
		t.Fatal(err)
	}
	for _, what := range whats {
		if err := db.LogAccess(ctx, store.Access{AccountID: 2, PersonID: 7, Action: "view", What: what, ActorKind: store.ActorCarer, ActorName: "John Smith", Relationship: "son"}); err != nil {
			t.Fatal(err)
		}
	}
	return path, spool, db
}

package main

import (
	"context"
	"database/sql"
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

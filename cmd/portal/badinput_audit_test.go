package main

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
)

// TestAuditHead: audit head prints the newest entry as N:HASH, for keeping
// elsewhere; verify --head N:HASH then fails when the newest entries were
// removed (which leaves a shorter chain that still verifies) or the log was
// rewritten, and passes while entries are only added.
func TestAuditHead(t *testing.T) {
	db := auditDB(t, 6)
	out, _, err := portal(t, "audit", "head", "--db", db)
	if err != nil || !regexp.MustCompile(`^6:[0-9a-f]{64}\n$`).MatchString(out) {
		t.Fatalf("audit head: %v %q, want 6:HASH", err, out)
	}
	head := strings.TrimSpace(out)
	out, _, err = portal(t, "audit", "head", "--db", db)
	if err != nil || strings.TrimSpace(out) != head {
		t.Fatalf("audit head again: %v %q, want %s", err, out, head)
	}
	_, hash, _ := strings.Cut(head, ":")

	tests := []struct {
		name    string
		stmts   []string // tampering
		more    int      // entries added after the head was taken
		head    string   // "" for the head audit head printed before the tampering
		wantOut string   // the start of the line printed
		wantErr string
	}{
		{"as it was", nil, 0, "", "access log intact: 6 entries", ""},
		{"with entries added since", nil, 3, "", "access log intact: 9 entries", ""},
		{"the newest entry removed", []string{`DELETE FROM access_log WHERE id = 6`}, 0, "",
			"access log broken: it has 5 entries, and entry 6 recorded with --head is gone: the newest entries were removed", "audit verify: the access log has been changed"},
		{"the newest two removed and two written", []string{`DELETE FROM access_log WHERE id >= 5`}, 2, "",
			"access log broken at entry 6: its hash is not the one recorded with --head: the log was rewritten up to it, or --head is another database's", "audit verify: the access log has been changed"},
		{"the head of another log", nil, 0, "6:" + strings.Repeat("ab", 32),
			"access log broken at entry 6: its hash is not the one recorded with --head: the log was rewritten up to it, or --head is another database's", "audit verify: the access log has been changed"},
		{"not N:HASH", nil, 0, "6", "", `audit verify: --head "6": write it as N:HASH, as portal audit head prints it, e.g. 42:3f1a9c07…`},
		{"not a number", nil, 0, "x:" + hash, "", `audit verify: --head "x:` + hash + `": write it as N:HASH, as portal audit head prints it, e.g. 42:3f1a9c07…`},
		{"a short hash", nil, 0, "6:abc", "", `audit verify: --head "6:abc": write it as N:HASH, as portal audit head prints it, e.g. 42:3f1a9c07…`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := auditDB(t, 6)
			if tt.head == "" {
				out, _, err := portal(t, "audit", "head", "--db", db)
				if err != nil {
					t.Fatal(err)
				}
				tt.head = strings.TrimSpace(out)
			}
			if len(tt.stmts) > 0 {
				tamper(t, db, tt.stmts...)
			}
			addEntries(t, db, tt.more)
			out, _, err := portal(t, "audit", "verify", "--db", db, "--head", tt.head)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr) {
				t.Errorf("got %v, want %q", err, tt.wantErr)
			}
			if tt.wantOut == "" && out != "" || !strings.HasPrefix(out, tt.wantOut) {
				t.Errorf("printed %q, want it to start %q", out, tt.wantOut)
			}
		})
	}
	t.Run("the others", func(t *testing.T) {
		if out, _, err := portal(t, "audit", "head", "--db", auditDB(t, 0)); err == nil || err.Error() != "audit head: the access log has no entries yet: nothing to record" || out != "" {
			t.Errorf("an empty log: %v %q", err, out)
		}
		if _, _, err := portal(t, "audit", "head", "--db", db, "--head", head); err == nil || err.Error() != "audit head: --head goes with audit verify" {
			t.Errorf("--head with head: %v", err)
		}
		broken := auditDB(t, 6)
		tamper(t, broken, `UPDATE access_log SET what = 'x' WHERE id = 2`)
		if out, _, err := portal(t, "audit", "head", "--db", broken); err == nil || !strings.HasPrefix(out, "access log broken at entry 2 (at ") {
			t.Errorf("a broken log: %v %q", err, out)
		}
	})
	if out, _, _ := portal(t, "audit", "-h"); !strings.Contains(out, "portal audit head") || !strings.Contains(out, "--head N:HASH") {
		t.Errorf("help does not tell of head:\n%s", out)
	}
}

// addEntries appends n entries to the access log at path.
func addEntries(t *testing.T, path string, n int) {
	t.Helper()
	if n == 0 {
		return
	}
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for range n {
		if err := db.LogAccess(context.Background(), store.Access{AccountID: 1, PersonID: 7, Action: "view", What: "summary", Device: "Chrome on Linux", ActorName: "Jane Example"}); err != nil {
			t.Fatal(err)
		}
	}
}

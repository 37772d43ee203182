package store

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// insertV1 writes an entry the way the portal did before migration 0013: the
// old columns, the old formula, the new columns left to their defaults.
func insertV1(t *testing.T, db *DB, a Access) {
	t.Helper()
	ctx := context.Background()
	prev := []byte{}
	if err := db.db.QueryRowContext(ctx, `SELECT hash FROM access_log ORDER BY id DESC LIMIT 1`).Scan(&prev); err != nil && !strings.Contains(err.Error(), "no rows") {
		t.Fatal(err)
	}
	a.At = db.stamp()
	if _, err := db.db.ExecContext(ctx, `INSERT INTO access_log (at, account_id, person_id, action, what, device, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		a.At, a.AccountID, a.PersonID, a.Action, a.What, a.Device, prev, a.hash1(prev)); err != nil {
		t.Fatal(err)
	}
}

func TestAccessLogEntriesFromBeforeActingForStillVerify(t *testing.T) {
	ctx := context.Background()
	open := func(t *testing.T) *DB {
		db, err := Open(ctx, filepath.Join(t.TempDir(), "portal.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		insertV1(t, db, Access{AccountID: 1, PersonID: 7, Action: "view", What: "summary", Device: "Chrome on Linux"})
		insertV1(t, db, Access{AccountID: 1, PersonID: 7, Action: "download", What: "whole record (FHIR)", Device: "Chrome on Linux"})
		if err := db.LogAccess(ctx, Access{AccountID: 2, PersonID: 7, Action: "view", What: "medicines", ActorKind: ActorCarer, ActorName: "John Smith", Relationship: "son"}); err != nil {
			t.Fatal(err)
		}
		if err := db.LogAccess(ctx, Access{AccountID: 1, PersonID: 7, Action: "view", What: "allergies"}); err != nil {
			t.Fatal(err)
		}
		return db
	}
	exec := func(t *testing.T, db *DB, sql string) {
		t.Helper()
		if _, err := db.db.ExecContext(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("old and new entries in one chain", func(t *testing.T) {
		db := open(t)
		c, err := db.CheckAccessLog(ctx)
		if err != nil || !c.Intact() || c.Entries != 4 || c.LastID != 4 {
			t.Fatalf("check = %+v, %v; want 4 intact entries", c, err)
		}
		got, err := db.AccessLog(ctx, 7, 10)
		if err != nil || len(got) != 4 || got[3].ActorKind != ActorSelf || got[1].Relationship != "son" {
			t.Fatalf("log = %+v, %v", got, err)
		}
	})
	for _, tt := range []struct {
		name, sql string
		id        int64
		reason    string
	}{
		{"an old entry given an actor", `UPDATE access_log SET actor_kind = 'carer', actor_name = 'Eve' WHERE id = 1`, 1, "yet it now says so"},
		{"an old entry's words", `UPDATE access_log SET what = 'medicines' WHERE id = 2`, 2, "do not match its hash"},
		{"a new entry's relationship", `UPDATE access_log SET relationship = 'daughter' WHERE id = 3`, 3, "do not match its hash"},
		{"a carer's entry passed off as old", `UPDATE access_log SET hash_version = 1 WHERE id = 3`, 3, "yet it now says so"},
		{"a new entry passed off as old", `UPDATE access_log SET hash_version = 1 WHERE id = 4`, 4, "older hash formula"},
		{"two entries swapped", `UPDATE access_log SET id = 0 WHERE id = 2; UPDATE access_log SET id = 2 WHERE id = 3; UPDATE access_log SET id = 3 WHERE id = 0`, 2, "does not follow on from entry 1"},
		{"an unknown formula", `UPDATE access_log SET hash_version = 9 WHERE id = 2`, 2, "does not know (9)"},
		{"the first entry removed", `DELETE FROM access_log WHERE id = 1`, 2, "is the first entry"},
		{"a middle entry removed", `DELETE FROM access_log WHERE id = 2`, 3, "does not follow on from entry 1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			db := open(t)
			exec(t, db, `DROP TRIGGER access_log_no_update`)
			exec(t, db, `DROP TRIGGER access_log_no_delete`)
			exec(t, db, tt.sql)
			c, err := db.CheckAccessLog(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if c.BrokenID != tt.id || !strings.Contains(c.Reason, tt.reason) || c.BrokenAt == "" {
				t.Errorf("check = %+v; want broken at %d because %q", c, tt.id, tt.reason)
			}
		})
	}
	t.Run("the triggers refuse changes", func(t *testing.T) {
		db := open(t)
		for _, sql := range []string{`UPDATE access_log SET what = 'x' WHERE id = 1`, `DELETE FROM access_log WHERE id = 1`} {
			if _, err := db.db.ExecContext(ctx, sql); err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s: %v, want refused", sql, err)
			}
		}
	})
}

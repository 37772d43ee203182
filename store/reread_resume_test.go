package store_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
)

// TestARereadStoppedHalfWayGoesOnAtOnce: stored records read again after an
// update, stopped half way (serve restarted while it worked, which marks the
// work alive), are read on at serve's worker's next finish, not after the quiet period a
// bulk load that may still be running is given (an operator review: the
// re-read waited 15 minutes, the pages showing what the old version made of
// the records).
func TestARereadStoppedHalfWayGoesOnAtOnce(t *testing.T) {
	ctx := context.Background()
	db, path := mustOpenDBFile(t)
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "gp"}, "test", parsed(t,
		`{"resourceType":"Patient","id":"p1","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}],"birthDate":"1957-03-14"}`,
		`{"resourceType":"Condition","id":"c1","subject":{"reference":"Patient/p1"},"code":{"text":"Asthma"},"recordedDate":"2024-01-05"}`)); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, q := range []string{`INSERT INTO reread_backlog (after_rowid, upto_rowid, kept_out_first) SELECT 0, MAX(rowid), 1 FROM resources`,
		`INSERT INTO bulk_load_alive (id, at) VALUES (1, '` + time.Now().UTC().Format(time.RFC3339Nano) + `')`} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	// A command leaves it to serve, as it may take hours (a review: portal
	// sync ran all of it).
	if done, err := db.FinishStalledBulkLoad(ctx, false); err != nil || done {
		t.Fatalf("a command's finish: %v, %v; want the re-read left to serve", done, err)
	}
	done, err := db.FinishStalledBulkLoad(ctx, true) // serve's worker
	if err != nil || !done {
		t.Fatalf("finish: %v, %v; want the re-read done at once", done, err)
	}
	var left int
	if err := raw.QueryRowContext(ctx, `SELECT COUNT(*) FROM reread_backlog`).Scan(&left); err != nil || left != 0 {
		t.Errorf("after the finish, %d re-reads left, %v; want none", left, err)
	}
}

// TestACommandLeavesAFreshUpgradesRereadToServe: just after a migration
// queued a re-read, with no load marked alive, a command's finish leaves it
// to serve, as it may take hours (a review: only a fresh mark kept it out).
func TestACommandLeavesAFreshUpgradesRereadToServe(t *testing.T) {
	ctx := context.Background()
	db, path := mustOpenDBFile(t)
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "gp"}, "test", parsed(t,
		`{"resourceType":"Patient","id":"p1","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}],"birthDate":"1957-03-14"}`)); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	// What migration 0070 does, and nothing else.
	if _, err := raw.ExecContext(ctx, `INSERT INTO reread_backlog (after_rowid, upto_rowid) SELECT 0, MAX(rowid) FROM resources HAVING COUNT(*) > 0`); err != nil {
		t.Fatal(err)
	}
	if done, err := db.FinishStalledBulkLoad(ctx, false); err != nil || done {
		t.Errorf("a command's finish right after an upgrade: %v, %v; want the re-read left to serve", done, err)
	}
}

package store_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
)

// TestOpenWhileAnotherWrites: a database whose schema is up to date opens
// while another process holds its write lock (serve reading every record
// again after an upgrade, one batch after another), taking no write lock of
// its own (an operator review: every command failed "migration 0001_init.sql:
// database is locked" until the re-read ended).
func TestOpenWhileAnotherWrites(t *testing.T) {
	ctx := context.Background()
	db, path := mustOpenDBFile(t)
	db.Close()
	other, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := other.BeginTx(ctx, nil) // holds the write lock
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (100000, 'held')`); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	again, err := store.Open(ctx, path)
	if err != nil {
		t.Fatalf("opened while another process writes: %v (after %s)", err, time.Since(start).Round(time.Millisecond))
	}
	defer again.Close()
	if _, err := again.Sources(ctx); err != nil {
		t.Errorf("reading while another process writes: %v", err)
	}
}

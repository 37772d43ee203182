package store_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/mycarerecord/portal/store"
)

// mustOpenDB opens a fresh database file in a temporary directory and closes it when the test ends.
func mustOpenDB(tb testing.TB) *store.DB {
	tb.Helper()
	db, err := store.Open(context.Background(), filepath.Join(tb.TempDir(), "portal.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

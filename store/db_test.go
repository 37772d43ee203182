package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// mustOpenDB opens a fresh database file in a temporary directory and closes it when the test ends.
func mustOpenDB(tb testing.TB) *store.DB {
	tb.Helper()
	db, _ := mustOpenDBFile(tb)
	return db
}

// mustOpenDBFile is mustOpenDB, also giving the file's path.
func mustOpenDBFile(tb testing.TB) (*store.DB, string) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "portal.db")
	db, err := store.Open(context.Background(), path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db, path
}

// parsed reads each raw resource, failing the test on any that does not read.
func parsed(t testing.TB, raws ...string) []fhir.Resource {
	t.Helper()
	out := make([]fhir.Resource, len(raws))
	for i, raw := range raws {
		r, err := fhir.ParseResource([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		out[i] = r
	}
	return out
}

// rerunMigration closes db, runs stmts on its file to put the data back as
// it stood before migration version, forgets that the migration ran, and
// opens the file again, which runs it once more.
func rerunMigration(t *testing.T, db *store.DB, path string, version int, stmts ...string) *store.DB {
	t.Helper()
	return reopenWith(t, db, path, append(stmts, fmt.Sprintf(`DELETE FROM schema_migrations WHERE version = %d`, version))...)
}

// reopenWith closes db, runs stmts on its file, and opens it again.
func reopenWith(t *testing.T, db *store.DB, path string, stmts ...string) *store.DB {
	t.Helper()
	db.Close()
	raw, err := sql.Open("sqlite3", "file:"+store.URIPath(path))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range stmts {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()
	db, err = store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// A database in a folder whose name has URI characters in it opens as itself.
func TestOpenPathWithURICharacters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a#b?c%d")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "portal.db")
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the database is not where it was asked for: %v", err)
	}
}

// A database a newer portal migrated further than this one knows is refused,
// every time and unchanged, never used as if this portal understood it.
func TestOpenRefusesNewerSchema(t *testing.T) {
	db, path := mustOpenDBFile(t)
	before, err := db.SchemaVersion(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	raw, err := sql.Open("sqlite3", "file:"+store.URIPath(path))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (999, '2030-01-01T00:00:00Z')`); err != nil {
		t.Fatal(err)
	}
	rows := func() int {
		t.Helper()
		var n int
		if err := raw.QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	stored := rows()
	want := fmt.Sprintf("%s was made by a newer version of My Care Record (schema 999; this one knows up to %d). Nothing was changed.", path, before)
	for range 2 {
		db, err := store.Open(context.Background(), path)
		if err == nil {
			db.Close()
		}
		if err == nil || err.Error() != want {
			t.Fatalf("got %v, want %q", err, want)
		}
	}
	if got := rows(); got != stored {
		t.Errorf("schema_migrations holds %d rows, want the %d it held", got, stored)
	}
}

// TestOpenMakesFilesPrivate: a database, its WAL files and its access log
// spool left readable by every user (an older version, a loose umask) are
// not once opened; what a file allows its owner and group is kept.
func TestOpenMakesFilesPrivate(t *testing.T) {
	ctx := context.Background()
	db, path := mustOpenDBFile(t)
	if err := db.OpenAccessSpool(store.SpoolPath(path, "")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.CreateSession(ctx, 0, store.DefaultSessionPolicy()); err != nil { // so the WAL holds something
		t.Fatal(err)
	}
	files := []string{path, path + "-wal", path + "-shm", store.SpoolPath(path, "")}
	for _, f := range files {
		if err := os.Chmod(f, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.OpenAccessSpool(store.SpoolPath(path, "")); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o640 {
			t.Errorf("%s has mode %v, want -rw-r-----", filepath.Base(f), fi.Mode().Perm())
		}
	}
}

// TestPingReadsTheFile: a database whose file was damaged under it does not
// answer Ping, though its connections are still open.
func TestPingReadsTheFile(t *testing.T) {
	ctx := context.Background()
	db, path := mustOpenDBFile(t)
	if err := db.Ping(ctx); err != nil {
		t.Fatalf("a whole database: %v", err)
	}
	junk := bytes.Repeat([]byte("not a database "), 4096)
	if err := os.WriteFile(path, junk, 0o600); err != nil {
		t.Fatal(err)
	}
	os.Remove(path + "-wal")
	if err := db.Ping(ctx); err == nil {
		t.Error("Ping answered for a file overwritten with junk")
	}
}

// TestPingNoticesAFilePutInPlace: another SQLite database renamed over the
// portal's file (which the portal still has open, unlinked) fails Ping.
func TestPingNoticesAFilePutInPlace(t *testing.T) {
	ctx := context.Background()
	db, path := mustOpenDBFile(t)
	_, other := mustOpenDBFile(t)
	if err := os.Rename(other, path); err != nil {
		t.Fatal(err)
	}
	if err := db.Ping(ctx); err == nil {
		t.Error("Ping answered for another database put in the file's place")
	}
}

// A file that is not a My Care Record database (another application's, named
// by a mistyped --db) is refused and left exactly as it was: not put in WAL
// mode, given no tables, its permissions unchanged.
func TestOpenRefusesAnotherApplicationsDatabase(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		make       func(t *testing.T, path string)
	}{
		{"another application's SQLite file", "is not a My Care Record database: it holds other tables (customers, orders)", func(t *testing.T, path string) {
			raw, err := sql.Open("sqlite3", "file:"+store.URIPath(path))
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			for _, q := range []string{`CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)`, `CREATE TABLE orders (id INTEGER PRIMARY KEY)`, `INSERT INTO customers (name) VALUES ('Ada')`} {
				if _, err := raw.Exec(q); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{"a text file", "is not an SQLite database", func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte("name,phone\nAda,0113 000 0000\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "other.db")
			tc.make(t, path)
			before, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			st, _ := os.Stat(path)
			db, err := store.Open(context.Background(), path)
			if err == nil {
				db.Close()
				t.Fatal("opened; want it refused")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "Nothing was changed") || store.ErrorCode(err) != store.EINVALID {
				t.Errorf("error %q; want it to say it %s and that nothing was changed", err, tc.want)
			}
			after, _ := os.ReadFile(path)
			st2, _ := os.Stat(path)
			if string(after) != string(before) || st2.Mode() != st.Mode() {
				t.Error("the file was changed")
			}
			if _, err := os.Stat(path + "-wal"); err == nil {
				t.Error("a WAL file was made beside it")
			}
		})
	}
	// An empty file is a new database.
	path := filepath.Join(t.TempDir(), "empty.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("an empty file: %v", err)
	}
	db.Close()
}

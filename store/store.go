// Package store keeps everything the portal knows in one SQLite file:
// people and their sign-in, and the cached record synced from upstream.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mattn/go-sqlite3" // the SQLite driver, registered as "sqlite3" (the writer's is writerConnector)

	"github.com/mycarerecord/portal/store/fhir"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Error codes the web layer maps to a status and a page.
const (
	ECONFLICT  = "conflict"
	EINTERNAL  = "internal"
	EINVALID   = "invalid"
	ENOTFOUND  = "not_found"
	EFORBIDDEN = "forbidden"
	ELOCKED    = "locked"
	EEXPIRED   = "expired"
)

// Error is a domain error: a code for the program and a message a person can read.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with the given code and a formatted, user-safe message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for any other error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-safe message of err, or a generic one for internal errors.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Sorry, there is a problem with the service. Try again later."
}

// DB is the portal's SQLite database.
type DB struct {
	db *sql.DB // writes, and reads that need no transaction
	// reader is for read transactions. Its connections begin deferred and may
	// only query, so a page reading a consistent snapshot never takes the
	// write lock (every transaction on db begins immediate, for writing).
	reader *sql.DB
	// writing lets one write transaction of this process at a time reach
	// SQLite. The others queue here, in order, and start the moment it ends,
	// rather than in SQLite's busy handler, which sleeps in steps of up to
	// 100 ms and so turns a few milliseconds of waiting into tens.
	writing chan struct{}
	path    string      // the file, absolute; "" in memory
	file    os.FileInfo // the file as opened, to tell it from one put in its place
	now     func() time.Time
	space   space        // the disk's free space, and the reserve kept for when it fills (space.go)
	spool   *accessSpool // where access log entries are written first, when open (spool.go)
	codeKey []byte       // the key codes are stored under (UseCodeKey); nil: plain SHA-256
	// touchesFrom is when sessions may be marked seen again (Unix ns), after
	// another process held the database past the busy timeout: until then
	// pages do not each wait that timeout out to mark a session seen.
	touchesFrom atomic.Int64
}

// writerConnector opens the writer's connections, on which migrations run,
// with the SQL functions they call: mcr_entry_refs(json, base, others) is what the
// importer stores of a resource's references to what it is about
// (fhir.EntryRefs, fhir.LocalReason at the source's address), as a JSON
// list, so that a migration filling stored entries stores exactly that (a
// review: one written in SQL trimmed less, and missed some); the others
// likewise, each said beside it below.
type writerConnector struct{ dsn string }

func (c writerConnector) Connect(context.Context) (driver.Conn, error) { return c.Driver().Open(c.dsn) }

func (c writerConnector) Driver() driver.Driver {
	return &sqlite3.SQLiteDriver{ConnectHook: func(conn *sqlite3.SQLiteConn) error {
		for _, f := range []struct {
			name string
			fn   any
		}{
			{"mcr_entry_refs", func(raw []byte, base, others string) string {
				bases := basesOf(others)
				refs := []string{}
				for _, r := range fhir.EntryRefs(raw) {
					refs = append(refs, fhir.LocalReason(r, base, bases))
				}
				return jsonList(refs)
			}},
			// mcr_other_source_ref(code) is what the importer stores beside a
			// reference kept whole (crossRef): "Type/id" and the reference.
			{"mcr_other_source_ref", crossRef},
			// mcr_local_ref(ref, base) is ref as "Type/id" when it is under
			// the server at base, else "" (fhir.LocalRef).
			{"mcr_local_ref", fhir.LocalRef},
			// mcr_own_codes(type, json, part, base, others) is what the importer
			// stores of an entry's own codes besides its first (fhir.OwnCodes),
			// its Medication ("medref") read at the source's address (addReasons).
			{"mcr_own_codes", func(typ string, raw []byte, part, base, others string) string {
				bases := basesOf(others)
				codes := fhir.OwnCodes(fhir.Resource{Type: typ, Raw: raw}, part)
				for i, c := range codes {
					if ref, ok := strings.CutPrefix(c, "medref|"); ok {
						codes[i] = "medref|" + fhir.LocalReason(ref, base, bases)
					}
				}
				return jsonList(codes)
			}},
			// mcr_named_codes(type, json) is a Medication's other codes, as the
			// items it names hold them (fhir.Named.Others).
			{"mcr_named_codes", func(typ string, raw []byte) string {
				var codes []string
				if n := fhir.NameOf(typ, raw); n != nil {
					codes = unitList(n.Others)
				}
				return jsonList(codes)
			}},
			// mcr_medication_codes(code_system, code, other_codes) is every code
			// of a Medication as reference_names notes it, as the medicines
			// naming it hold them (fhir.Named.Codes).
			{"mcr_medication_codes", func(system, code, others string) string {
				return jsonList(unitList(fhir.Named{CodeSystem: system, Code: code, Others: others}.Codes()))
			}},
		} {
			if err := conn.RegisterFunc(f.name, f.fn, true); err != nil {
				return err
			}
		}
		return nil
	}}
}

// jsonList is codes as a JSON list, [] for none: what the SQL functions
// above return, for json_each.
func jsonList(codes []string) string {
	if codes == nil {
		codes = []string{}
	}
	out, _ := json.Marshal(codes)
	return string(out)
}

// basesOf is a JSON list of the other sources' addresses, as the migrations
// pass it; none when it cannot be read.
func basesOf(others string) []string {
	var bases []string
	json.Unmarshal([]byte(others), &bases)
	return bases
}

// unitList is a list of reasons as fhir.Item.Reasons writes them, each
// ended by the unit separator (0x1F).
func unitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == 0x1f })
}

// Open opens (creating if needed) the SQLite file at path in WAL mode with
// foreign keys and a busy timeout, and applies any pending migrations.
func Open(ctx context.Context, path string) (*DB, error) {
	// synchronous=FULL: a commit is on the disk before it returns, so a change
	// a person saw confirmed survives a power cut or a failing disk, not only
	// a crash of the portal (NORMAL, in WAL mode, would lose the last ones).
	// secure_delete: what is deleted (a source removed, a resource deleted
	// upstream, a session ended) is overwritten, not left in free pages for
	// a copy of the file to carry (a privacy review). The search index keeps
	// a deleted entry's words in its blocks until they are merged, which
	// removing a source does at once (RemoveSource).
	dsn := "file:" + URIPath(path) + "?_journal_mode=WAL&_foreign_keys=on&_busy_timeout=5000&_synchronous=FULL&_txlock=immediate&_secure_delete=true" + connOptions
	if err := refuseForeign(ctx, path); err != nil {
		return nil, err
	}
	sqldb := sql.OpenDB(writerConnector{dsn: dsn})
	keepConnections(sqldb)
	var err error
	if err = sqldb.PingContext(ctx); err != nil {
		sqldb.Close()
		if path != ":memory:" {
			if why := whyNotOpened(path); why != nil {
				return nil, why
			}
			if syscall.Access(dirOf(path), wOK) == syscall.EROFS {
				return nil, fmt.Errorf("open %s: its disk is read-only, and the portal needs to write to it (sessions, and WAL mode's shared-memory file): repair or remount the disk and start again (%w)", path, err)
			}
		}
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db := &DB{db: sqldb, reader: sqldb, writing: make(chan struct{}, 1), now: time.Now}
	if err := db.refuseNewer(ctx, path); err != nil {
		sqldb.Close()
		return nil, err
	}
	if err := db.migrate(ctx); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	var keptOutFirst bool // a re-read waits to read kept-out entries first: read with no lock, as migrate reads
	if err := sqldb.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM reread_backlog WHERE NOT kept_out_first)`).Scan(&keptOutFirst); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if keptOutFirst {
		if err := db.tx(ctx, func(tx *sql.Tx) error { return rereadKeptOutFirst(ctx, tx, db.stamp()) }); err != nil {
			sqldb.Close()
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
	}
	if path != ":memory:" {
		// Opened after the migrations, so it never sees a file without its tables.
		db.reader, err = sql.Open("sqlite3", "file:"+URIPath(path)+"?_foreign_keys=on&_busy_timeout=5000&_txlock=deferred&_query_only=true"+connOptions)
		if err == nil {
			keepConnections(db.reader)
			err = db.reader.PingContext(ctx)
		}
		if err != nil {
			sqldb.Close()
			return nil, fmt.Errorf("open %s for reading: %w", path, err)
		}
		db.openSpace(path)
		if db.path, err = filepath.Abs(path); err == nil {
			db.file, err = os.Stat(db.path)
		}
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
		// Files made by an older version, or under a looser umask, hold health
		// records too: for the portal's own user alone from now on.
		if err := ownerOnly(path, path+"-wal", path+"-shm"); err != nil {
			db.Close()
			return nil, err
		}
	}
	return db, nil
}

// Modes for syscall.Access.
const (
	rOK = 4
	wOK = 2
	xOK = 1
)

// whyNotOpened says why SQLite could not open or create the file at path
// when the file system refuses it, e.g. "cannot create ro/x.db: permission
// denied"; nil when it does not. SQLite's own message names an errno left
// from another call ("unable to open database file: no such file or
// directory" for a folder the user may not write).
func whyNotOpened(path string) error {
	dir := dirOf(path)
	_, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := syscall.Access(dir, wOK|xOK); err == syscall.EACCES {
			return fmt.Errorf("cannot create %s: %w", path, err)
		}
	case err != nil:
		if pe, ok := err.(*fs.PathError); ok && pe.Err == syscall.EACCES {
			return fmt.Errorf("cannot open %s: %w", path, pe.Err)
		}
	default:
		if err := syscall.Access(path, rOK|wOK); err == syscall.EACCES {
			return fmt.Errorf("cannot open %s: %w", path, err)
		}
		// WAL mode keeps files beside the database while it is open.
		if err := syscall.Access(dir, wOK|xOK); err == syscall.EACCES {
			return fmt.Errorf("cannot create %s-wal beside %s: %w", path, path, err)
		}
	}
	return nil
}

// ErrNoDatabase and ErrNotPortal are why OpenExisting refused a file. Either
// way nothing was created or changed.
var (
	ErrNoDatabase = errors.New("no database")
	ErrNotPortal  = errors.New("not a My Care Record database")
)

// OpenExisting is Open for a database that must be there already, for the
// commands that only read or change what is stored: a missing or empty file
// is ErrNoDatabase, and any other file, or an SQLite file without the
// portal's schema, is ErrNotPortal, both found before anything is written.
func OpenExisting(ctx context.Context, path string) (*DB, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNoDatabase
	}
	if err == nil {
		err = syscall.Access(path, rOK)
	}
	if errors.Is(err, fs.ErrPermission) {
		// Not "not a My Care Record database": it could not be read to tell.
		return nil, fmt.Errorf("cannot open %s: %w", path, fs.ErrPermission)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a file: %w", path, ErrNotPortal)
	}
	// Read-only, so a file that is not the portal's is looked at, never changed.
	raw, err := sql.Open("sqlite3", "file:"+URIPath(path)+"?mode=ro")
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	var tables, ours int
	err = raw.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(*) FILTER (WHERE name = 'schema_migrations') FROM sqlite_master WHERE type = 'table'`).Scan(&tables, &ours)
	raw.Close()
	switch {
	case err != nil:
		// A folder it cannot write beside stops even a read of a WAL-mode
		// file: that, not the file, is what is wrong.
		if why := whyNotOpened(path); why != nil {
			return nil, why
		}
		return nil, fmt.Errorf("%w: %w", ErrNotPortal, err)
	case tables == 0:
		return nil, ErrNoDatabase
	case ours == 0:
		return nil, ErrNotPortal
	}
	return Open(ctx, path)
}

// ownerOnly takes away the access of users outside the file's owner and
// group (a group may be how an operator lets a backup user in) from the files
// that exist. A file it may not change (another user's, shared through the
// group; one on a disk gone read-only) is left as it is: what opening it
// needs was already checked, and refusing here would stop the portal for a
// mode it cannot mend.
func ownerOnly(paths ...string) error {
	for _, p := range paths {
		fi, err := os.Stat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			return err
		}
		if mode := fi.Mode().Perm(); mode&0o007 != 0 {
			err := os.Chmod(p, mode&^0o007)
			if err != nil && !errors.Is(err, fs.ErrPermission) && !errors.Is(err, syscall.EROFS) {
				return fmt.Errorf("%s can be read by every user of this computer, and could not be made private: %w", p, err)
			}
		}
	}
	return nil
}

// connOptions keep each connection's prepared statements for the next time
// the same SQL runs: parsing a query costs more than running most of them.
const connOptions = "&_stmt_cache_size=64"

// keepConnections keeps open connections for reuse when a burst of requests
// is over. database/sql keeps two by default, so under load it would close
// and reopen connections all the time, and each new one reads the whole
// schema again before its first query.
func keepConnections(db *sql.DB) {
	db.SetMaxIdleConns(32)
	db.SetConnMaxIdleTime(5 * time.Minute)
}

// URIPath escapes a file path for an SQLite "file:" URI, in which "?" starts
// the options and "#" a fragment, so a folder named "a#b" is opened as itself.
func URIPath(path string) string {
	return strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(path)
}

// Now is the time by the store's clock, the one sessions are stamped with.
func (db *DB) Now() time.Time { return db.now() }

// SetClock replaces the clock; tests use it to move time forward.
func (db *DB) SetClock(now func() time.Time) { db.now = now }

// Close closes the database.
func (db *DB) Close() error {
	if db.spool != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		db.MoveAccessSpool(ctx) // what the database cannot take now waits in the spool for the next start
		cancel()
		db.spool.close()
	}
	if db.reader != db.db {
		db.reader.Close()
	}
	return db.db.Close()
}

// Ping checks the database answers a query and its file still reads as an
// SQLite database: an open connection alone (what database/sql's Ping
// checks) says nothing of a file damaged or gone, and a query may be
// answered from the connection's cache.
func (db *DB) Ping(ctx context.Context) error {
	var n int
	if err := db.reader.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil {
		return err
	}
	if db.path == "" {
		return nil
	}
	f, err := os.Open(db.path)
	if err != nil {
		return err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !os.SameFile(fi, db.file) {
		return fmt.Errorf("%s is no longer the file the portal opened (moved, or another put in its place)", db.path)
	}
	header := make([]byte, 16)
	if _, err := io.ReadFull(f, header); err != nil {
		return fmt.Errorf("read %s: %w", db.path, err)
	}
	if string(header) != "SQLite format 3\x00" {
		return fmt.Errorf("%s no longer reads as an SQLite database", db.path)
	}
	return nil
}

// SchemaVersion returns the number of the last migration applied.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := db.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

// migration is one embedded migration file and its number.
type migration struct {
	n    int
	name string // its path in migrations
}

// migrationFiles lists the embedded migrations in the order they apply.
func migrationFiles() ([]migration, error) {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	out := make([]migration, 0, len(names))
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		n, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a number", base)
		}
		out = append(out, migration{n, name})
	}
	return out, nil
}

// refuseForeign refuses an existing SQLite file that holds tables but is not
// a My Care Record database (it has no schema_migrations): another
// application's, named by a mistyped --db. It is read without changing it,
// before Open would put it in WAL mode and add the portal's tables.
func refuseForeign(ctx context.Context, path string) error {
	if path == ":memory:" {
		return nil
	}
	if st, err := os.Stat(path); err != nil || st.Size() == 0 {
		return nil // a new file, or one Open reports on itself
	}
	ro, err := sql.Open("sqlite3", "file:"+URIPath(path)+"?mode=ro&_busy_timeout=5000"+connOptions)
	if err != nil {
		return nil
	}
	defer ro.Close()
	rows, err := ro.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`)
	if err != nil {
		if strings.Contains(err.Error(), "not a database") {
			return Errorf(EINVALID, "%s is not an SQLite database, so not a My Care Record one. Nothing was changed. Name another file with --db.", path)
		}
		return nil // Open says what is wrong
	}
	defer rows.Close()
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil
		}
		if name == "schema_migrations" {
			return nil
		}
		tables = append(tables, name)
	}
	if len(tables) == 0 {
		return nil
	}
	if len(tables) > 3 {
		tables = append(tables[:3], "…")
	}
	return Errorf(EINVALID, "%s is not a My Care Record database: it holds other tables (%s). Nothing was changed. Name another file with --db.", path, strings.Join(tables, ", "))
}

// refuseNewer refuses a database a newer portal has migrated past the last
// migration this one holds: its tables may mean things this one does not
// know, so it is neither used nor changed.
func (db *DB) refuseNewer(ctx context.Context, path string) error {
	var tables int
	if err := db.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&tables); err != nil || tables == 0 {
		return err
	}
	have, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	ms, err := migrationFiles()
	if err != nil {
		return err
	}
	if known := ms[len(ms)-1].n; have > known {
		return Errorf(EINVALID, "%s was made by a newer version of My Care Record (schema %d; this one knows up to %d). Nothing was changed.", path, have, known)
	}
	return nil
}

func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
		return err
	}
	ms, err := migrationFiles()
	if err != nil {
		return err
	}
	// Read first, with no lock: a file whose schema is up to date is opened
	// without taking the write lock once a migration, so a command started
	// while serve works through a long write (the re-read after an upgrade)
	// is not refused as locked (an operator review).
	applied := map[int]bool{}
	rows, err := db.db.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var n int
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return err
		}
		applied[n] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, m := range ms {
		if applied[m.n] {
			continue
		}
		if err := db.applyMigration(ctx, m.n, m.name); err != nil {
			return fmt.Errorf("migration %s: %w", strings.TrimPrefix(m.name, "migrations/"), err)
		}
	}
	return nil
}

func (db *DB) applyMigration(ctx context.Context, n int, name string) error {
	body, err := migrations.ReadFile(name)
	if err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		var done int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, n).Scan(&done); err != nil {
			return err
		}
		if done > 0 {
			return nil
		}
		if n > deferredIndexesSince {
			// A later migration may change an index a bulk load deferred.
			if err := buildDeferredIndexes(ctx, tx); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, n, db.stamp())
		return err
	})
}

// tx runs fn in one transaction, committing if it returns nil.
func (db *DB) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	select {
	case db.writing <- struct{}{}:
		defer func() { <-db.writing }()
	case <-ctx.Done():
		return ctx.Err()
	}
	return db.runTx(ctx, fn)
}

// errWriterBusy means this process's writes stayed queued for longer than
// a write that may be skipped (txWithin) would wait.
var errWriterBusy = errors.New("this process's writes are queued")

// txWithin is tx for a write that may be skipped, such as marking a session
// seen: it waits at most wait for this process's other writes, then gives
// up with errWriterBusy, so pages never queue behind them.
func (db *DB) txWithin(ctx context.Context, wait time.Duration, fn func(*sql.Tx) error) error {
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case db.writing <- struct{}{}:
		defer func() { <-db.writing }()
	case <-t.C:
		return errWriterBusy
	case <-ctx.Done():
		return ctx.Err()
	}
	return db.runTx(ctx, fn)
}

// runTx runs fn in one transaction, the write slot held.
func (db *DB) runTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// txUntilDone is tx for a write that must not be lost to another process
// writing for longer than the busy timeout (a sync's end, without which
// pages say "Updating…" until the mark grows old): it tries again while the
// database is busy, until ctx ends.
func (db *DB) txUntilDone(ctx context.Context, fn func(*sql.Tx) error) error {
	for {
		err := db.tx(ctx, fn)
		if !IsBusy(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stamp is the current time as stored: UTC RFC 3339 with nanoseconds, so text order is time order.
func (db *DB) stamp() string { return formatTime(db.now()) }

func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

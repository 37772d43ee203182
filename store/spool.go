package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The access log spool is a file of access log entries, one JSON line each,
// written and synced to disk before the page they log is shown, and moved
// into the access_log table (and its hash chain) a moment later by
// MoveAccessSpool.
//
// It is there so that logging a look at a record never waits for the
// database's write lock, which a sync in another process may hold for a
// while, and so that record pages can still be shown, and logged, while the
// database cannot be written (a disk that went read-only): entries wait in
// the spool, which can live on another disk (serve --access-spool), until
// the database takes them.
type accessSpool struct {
	path string
	f    *os.File // opened for appending, and locked: one portal per spool

	mu     sync.Mutex // appends
	size   int64      // bytes of whole lines in the file
	broken error      // a half-written line that could not be cut off: no more appends
	gone   int64      // bytes emptied from the file so far: where a line ends is gone + its end in the file

	syncMu  sync.Mutex // one fdatasync at a time; whoever holds it syncs every line written so far
	synced  int64      // bytes known to be on disk
	syncErr error      // the first failed fdatasync: Linux reports it once, so every later sync must fail too

	moving  chan struct{} // one move at a time (a channel, so a page can give up waiting)
	moved   int64         // bytes at the start of the file already in the table
	asideTo int64         // bytes at the start of the file whose damaged lines are kept aside already
	waiting atomic.Int64  // entries in the file not yet in the table
}

// spooled is an access log entry as the spool holds it.
type spooled struct {
	SpoolID string `json:"spool_id"`
	Access
}

// SpoolPath is where the access log spool of the database at dbPath lives:
// beside it, or in dir when one is given.
func SpoolPath(dbPath, dir string) string {
	if dir == "" {
		return dbPath + "-access-spool"
	}
	return filepath.Join(dir, filepath.Base(dbPath)+"-access-spool")
}

// OpenAccessSpool opens, creating it if needed, the access log spool at path
// and from then on writes access log entries there. Entries a portal left
// in it are moved into the table when it can take them (MoveAccessSpool).
func (db *DB) OpenAccessSpool(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("access log spool: %w", err)
	}
	if err := ownerOnly(path); err != nil {
		f.Close()
		return fmt.Errorf("access log spool: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return fmt.Errorf("access log spool %s: another portal is using it (%w)", path, err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		f.Close()
		return fmt.Errorf("access log spool: %w", err)
	}
	// A line half written when the portal stopped was never confirmed, and
	// the page it was for never shown: cut it off, so the next line starts clean.
	whole := int64(bytes.LastIndexByte(data, '\n') + 1)
	if whole < int64(len(data)) {
		if err := f.Truncate(whole); err != nil {
			f.Close()
			return fmt.Errorf("access log spool %s: cutting off a half-written line: %w", path, err)
		}
	}
	s := &accessSpool{path: path, f: f, size: whole, synced: whole, moving: make(chan struct{}, 1)}
	s.waiting.Store(int64(bytes.Count(data[:whole], []byte{'\n'})))
	db.spool = s
	return nil
}

// AccessesWaiting is the number of access log entries in the spool that are
// not in the table yet.
func (db *DB) AccessesWaiting() int64 {
	if db.spool == nil {
		return 0
	}
	return db.spool.waiting.Load()
}

// spoolAccess writes the entry to the spool and syncs it to disk. When the
// disk is full the reserve is given up (space.go) and the write tried again.
func (db *DB) spoolAccess(a Access) error {
	id := make([]byte, 16)
	rand.Read(id)
	line, err := json.Marshal(spooled{SpoolID: hex.EncodeToString(id), Access: a})
	if err != nil {
		return fmt.Errorf("log access: %w", err)
	}
	line = append(line, '\n')
	end, err := db.spool.append(line)
	if IsNoSpace(err) {
		db.WriteFailed(err)
		end, err = db.spool.append(line)
	}
	if err != nil {
		return fmt.Errorf("log access: %w", err)
	}
	return db.spool.syncTo(end)
}

// append writes one line, whole or not at all, and returns where it ends.
func (s *accessSpool) append(line []byte) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return 0, errors.New("the access log spool is closed")
	}
	if s.broken != nil {
		return 0, s.broken
	}
	if _, err := s.f.Write(line); err != nil {
		// Part of the line may be there: cut it off, or the next line would
		// run into it. If that fails too, take no more lines: the next start
		// cuts it off (OpenAccessSpool).
		if terr := s.f.Truncate(s.size); terr != nil {
			s.broken = fmt.Errorf("access log spool %s: a half-written line could not be cut off: %w", s.path, terr)
		}
		return 0, err
	}
	s.size += int64(len(line))
	s.waiting.Add(1)
	return s.gone + s.size, nil
}

// syncTo returns once the file is on disk up to end (as append gave it).
// Callers that arrive while a sync runs are covered by the next one, which
// takes in every line written by then: one fdatasync for many entries under
// load. A line another's sync took in is on disk, and its page is shown,
// whatever a later sync does (a review: one was refused, yet moved into the
// log). The file being emptied meanwhile (MoveAccessSpool, once every line
// is in the table) leaves end where it was: s.gone counts what it emptied.
func (s *accessSpool) syncTo(end int64) error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	if s.gone+s.synced >= end {
		return nil
	}
	if s.syncErr != nil {
		s.forgetUnsynced()
		return s.syncErr
	}
	s.mu.Lock()
	target, f := s.size, s.f
	s.mu.Unlock()
	if f == nil {
		return errors.New("the access log spool is closed")
	}
	if err := syscall.Fdatasync(int(f.Fd())); err != nil {
		s.syncErr = fmt.Errorf("log access: syncing the spool %s: %w", s.path, err)
		s.forgetUnsynced()
		return s.syncErr
	}
	s.synced = max(s.synced, target)
	return nil
}

// forgetUnsynced, once a sync has failed, takes no more lines and cuts off
// those not known to be on disk: the page each was for was refused, as its
// sync failed, so it must never reach the access log as a look that happened
// (found by a review). Should cutting them off fail too, MoveAccessSpool
// still moves nothing past what was synced. Called with syncMu held.
func (s *accessSpool) forgetUnsynced() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.broken == nil {
		s.broken = s.syncErr
	}
	if s.f == nil || s.size <= s.synced {
		return
	}
	cut := make([]byte, s.size-s.synced)
	n, _ := s.f.ReadAt(cut, s.synced)
	if err := s.f.Truncate(s.synced); err != nil {
		return
	}
	s.waiting.Add(-int64(bytes.Count(cut[:n], []byte{'\n'})))
	s.size = s.synced
}

// spoolRead is how much of the spool one transaction moves: about 250
// entries, enough that a busy portal keeps up, few enough that the write lock
// is held only briefly and a long backlog is never read into memory at once.
const spoolRead = 64 << 10

// MoveAccessSpool moves the entries waiting in the spool into the access_log
// table, in the order they were written, and empties the spool when it has
// caught up. It returns how many entries it moved. An entry already in the
// table (moved just before a crash) is not added again. While another move
// runs it waits for it, or for ctx to end.
func (db *DB) MoveAccessSpool(ctx context.Context) (int, error) {
	s := db.spool
	if s == nil {
		return 0, nil
	}
	select {
	case s.moving <- struct{}{}:
		defer func() { <-s.moving }()
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	// Only lines known to be on disk: a line whose sync has not returned may
	// yet fail it, and then its page is not shown (forgetUnsynced).
	s.syncMu.Lock()
	s.mu.Lock()
	end, f := min(s.size, s.synced), s.f
	s.mu.Unlock()
	s.syncMu.Unlock()
	moved := 0
	for f != nil && s.moved < end {
		data := make([]byte, min(end-s.moved, spoolRead))
		if _, err := f.ReadAt(data, s.moved); err != nil {
			return moved, fmt.Errorf("access log spool: %w", err)
		}
		whole := bytes.LastIndexByte(data, '\n') + 1
		if whole == 0 {
			return moved, fmt.Errorf("access log spool %s: no whole line in %d bytes at offset %d", s.path, len(data), s.moved)
		}
		data = data[:whole]
		var batch []spooled
		var damaged []damagedLine
		lines := 0
		for used := 0; used < len(data); lines++ {
			n := bytes.IndexByte(data[used:], '\n') + 1
			var e spooled
			err := json.Unmarshal(data[used:used+n-1], &e)
			switch {
			case err != nil:
				damaged = append(damaged, damagedLine{s.moved + int64(used), data[used : used+n], err.Error()})
			case e.SpoolID == "":
				damaged = append(damaged, damagedLine{s.moved + int64(used), data[used : used+n], "it is JSON but not an access log entry (it has no spool_id)"})
			default:
				batch = append(batch, e)
			}
			used += n
		}
		// Only a damaged disk makes a line that does not read; stopping at it
		// would hold back every entry after it. It is kept, as it was, in a file
		// beside the spool before the spool can be emptied: if that cannot be
		// written, nothing moves, so nothing is lost.
		// A batch the database refuses is read again at the next move: its
		// damaged lines are kept aside once, not again at every try.
		damaged = slices.DeleteFunc(damaged, func(d damagedLine) bool { return d.offset < s.asideTo })
		if err := s.setAside(damaged); err != nil {
			return moved, err
		}
		s.asideTo = max(s.asideTo, s.moved+int64(whole))
		if err := db.tx(ctx, func(tx *sql.Tx) error { return insertAccesses(ctx, tx, batch) }); err != nil {
			return moved, err
		}
		moved += len(batch)
		s.moved += int64(whole)
		s.waiting.Add(-int64(lines))
	}
	// Caught up: empty the file, unless an entry arrived meanwhile (then the next move will).
	s.syncMu.Lock()
	s.mu.Lock()
	if s.size == s.moved && s.moved > 0 && s.f != nil {
		if err := s.f.Truncate(0); err == nil {
			s.gone += s.size
			s.size, s.synced, s.moved, s.asideTo = 0, 0, 0, 0
		}
	}
	s.mu.Unlock()
	s.syncMu.Unlock()
	return moved, nil
}

// SpoolWaiting counts the entries in the access log spool at path that are
// not in the access log yet: a line moved already is in the file until the
// file is emptied, or after a stop between the two (a review: audit verify
// counted those as waiting). A line that does not read is not counted.
func (db *DB) SpoolWaiting(ctx context.Context, path string) (int, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("access log spool: %w", err)
	}
	n := 0
	for line := range bytes.SplitSeq(data, []byte{'\n'}) {
		var e spooled
		if json.Unmarshal(line, &e) != nil || e.SpoolID == "" {
			continue
		}
		var in bool
		if err := db.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM access_log WHERE spool_id = ?)`, e.SpoolID).Scan(&in); err != nil {
			return 0, fmt.Errorf("access log spool: %w", err)
		}
		if !in {
			n++
		}
	}
	return n, nil
}

// damagedLine is a line of the spool that does not read as an entry.
type damagedLine struct {
	offset int64  // where it starts in the spool
	line   []byte // as it was, with its newline
	reason string
}

// DamagedSpoolPath is where the lines of the spool at spoolPath that do not
// read as access log entries are kept, as they were, one after another.
func DamagedSpoolPath(spoolPath string) string { return spoolPath + ".damaged" }

// setAside appends damaged lines to the damaged spool file and syncs it to
// disk, then says where each went.
func (s *accessSpool) setAside(damaged []damagedLine) error {
	if len(damaged) == 0 {
		return nil
	}
	path := DamagedSpoolPath(s.path)
	var all []byte
	for _, d := range damaged {
		all = append(all, d.line...)
	}
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err == nil {
		_, err = f.Write(all)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil && os.IsNotExist(statErr) {
		err = syncDir(filepath.Dir(path)) // the new file's name is on disk before the spool is emptied
	}
	if err != nil {
		return fmt.Errorf("access log spool %s: %d lines that do not read could not be kept in %s, so they stay in the spool: %w", s.path, len(damaged), path, err)
	}
	for _, d := range damaged {
		slog.Warn("access log spool: a line that does not read is kept aside, as it was, and left out of the access log",
			"file", s.path, "offset", d.offset, "kept_in", path, "reason", d.reason)
	}
	return nil
}

// MoveAccessSpoolEvery moves the spool's entries into the table every
// interval until ctx ends (Close moves whatever is left). It says when the
// database stops taking them, and when it takes them again.
func (db *DB) MoveAccessSpoolEvery(ctx context.Context, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		_, err := db.MoveAccessSpool(ctx)
		switch {
		case ctx.Err() != nil:
		case err != nil && !failing:
			failing = true
			log.Warn("the database is not taking access log entries: they are kept in the spool until it does",
				"spool", db.spool.path, "waiting", db.AccessesWaiting(), "err", err)
		case err == nil && failing:
			failing = false
			log.Info("the database is taking access log entries again: the spool is moved in", "spool", db.spool.path)
		}
	}
}

// close closes the spool file, after which access log entries can no longer be written.
func (s *accessSpool) close() error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}

// syncDir syncs a folder, so a file just made in it is found after a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

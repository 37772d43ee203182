package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mattn/go-sqlite3"
)

// ReserveSize is the space kept back beside the database, in a file of
// zeros, for when the disk fills: giving it up lets the access log and
// sign-ins go on while the portal refuses every other change. 8 MB holds
// tens of thousands of access log entries.
const ReserveSize = 8 << 20

// space watches the free space on the database's disk.
type space struct {
	reserve string // path of the reserve file
	low     atomic.Bool
	mu      sync.Mutex // one check at a time
	log     *slog.Logger
}

// LowSpace says whether the disk is full: the reserve has been given up, and
// changes other than the access log and sign-ins must be refused.
func (db *DB) LowSpace() bool { return db.space.low.Load() }

// IsNoSpace says whether err is the disk being full.
func IsNoSpace(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) && se.Code == sqlite3.ErrFull {
		return true
	}
	return errors.Is(err, syscall.ENOSPC)
}

// IsReadOnly says whether err is the database refusing writes because it, or
// its disk, is read-only.
func IsReadOnly(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) && (se.Code == sqlite3.ErrReadonly || se.Code == sqlite3.ErrPerm || se.SystemErrno == syscall.EROFS) {
		return true
	}
	return errors.Is(err, syscall.EROFS)
}

// IsBusy says whether err is the database being written by another
// process for longer than the busy timeout (5 seconds): a large portal
// import, say. Nothing was changed, and trying again later will do.
func IsBusy(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && (se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked)
}

// WriteFailed is told of a failed write, so a full disk is noticed at once
// rather than at the next check.
func (db *DB) WriteFailed(err error) {
	if IsNoSpace(err) {
		db.CheckSpace()
	}
}

// WatchSpace checks the disk every interval until ctx ends.
func (db *DB) WatchSpace(ctx context.Context, every time.Duration, log *slog.Logger) {
	db.space.log = log
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		db.CheckSpace()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// CheckSpace gives up the reserve when the disk is (nearly) full and takes it
// back once there is room for it three times over.
func (db *DB) CheckSpace() {
	s := &db.space
	if s.reserve == "" {
		return // an in-memory database
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	free, err := freeBytes(s.reserve)
	if err != nil {
		return
	}
	switch {
	case !s.low.Load() && free < ReserveSize/2:
		if err := os.Remove(s.reserve); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.logf("could not give up the disk space reserve", "err", err)
		}
		s.low.Store(true)
		s.logf("the disk is full: refusing changes other than the access log and sign-ins", "free_bytes", free)
	case s.low.Load() && free > 3*ReserveSize:
		if err := makeReserve(s.reserve); err != nil {
			s.logf("could not take back the disk space reserve", "err", err)
			return
		}
		s.low.Store(false)
		s.logf("disk space is back: accepting changes again", "free_bytes", free)
	}
}

func (s *space) logf(msg string, args ...any) {
	if s.log != nil {
		s.log.Warn(msg, args...)
	}
}

// openSpace keeps the reserve beside the database at path, making it when there is room.
func (db *DB) openSpace(path string) {
	db.space.reserve = path + "-reserve"
	if st, err := os.Stat(db.space.reserve); err == nil && st.Size() == ReserveSize {
		return
	}
	if free, err := freeBytes(path); err == nil && free > 3*ReserveSize {
		if err := makeReserve(db.space.reserve); err == nil {
			return
		}
	}
	db.space.low.Store(true) // no room for the reserve: treat the disk as full until a check finds room
}

// makeReserve makes the reserve file and syncs it, so its blocks are really taken.
func makeReserve(path string) error {
	tmp := path + ".new"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	// fallocate takes the blocks without writing them; where the file system
	// cannot, zeros are written.
	if err = syscall.Fallocate(int(f.Fd()), 0, 0, ReserveSize); err != nil {
		zeros := make([]byte, 1<<20)
		for i := 0; i < ReserveSize/len(zeros); i++ {
			if _, err = f.Write(zeros); err != nil {
				break
			}
		}
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("disk space reserve: %w", err)
	}
	return os.Rename(tmp, path)
}

// freeBytes is the space an unprivileged writer may still use on path's disk.
func freeBytes(path string) (int64, error) {
	var st syscall.Statfs_t
	dir := path
	if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
		dir = dirOf(path)
	}
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

func dirOf(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == '/' {
			if i == 0 {
				return "/"
			}
			return path[:i]
		}
	}
	return "."
}

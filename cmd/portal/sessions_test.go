package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
)

// sessionRows counts the rows in the sessions table for each session id, read
// from the file itself over a read-only connection of its own: db.Session
// would hide a row left behind, since it refuses (and deletes) a session past
// its idle time whether the cleaner ran or not.
func sessionRows(t *testing.T, path string, ids ...string) []int {
	t.Helper()
	raw, err := sql.Open("sqlite3", "file:"+store.URIPath(path)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	out := make([]int, len(ids))
	for i, id := range ids {
		hash := sha256.Sum256([]byte(id)) // the store keeps only the id's hash (store/sessions.go hashToken)
		if err := raw.QueryRow(`SELECT COUNT(*) FROM sessions WHERE id_hash = ?`, hash[:]).Scan(&out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// The session cleaner ends sessions by the idle time serve runs with: with
// --session-idle 2h a session last used 40 minutes ago is kept, and one last
// used 3 hours ago is deleted. (It used the 30-minute default, so a longer
// setting ended sessions early, with no warning.) Both are read from the
// sessions table itself, so a cleaner that deletes nothing fails, and the
// recent one is checked only once the old one is gone: the cleaner has run,
// and kept it.
func TestCleanSessionsByTheIdleTimeSet(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	path := filepath.Join(t.TempDir(), "portal.db")
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	policy := store.DefaultSessionPolicy()
	policy.Idle = 2 * time.Hour
	now := time.Now()
	db.SetClock(func() time.Time { return now })
	// Signed in: a session that only carries a form's token lasts a day
	// (store.BareIdle).
	acct, err := db.CreateCarerAccount(ctx, []byte("handle"), "John Smith", store.Passkey{CredentialID: []byte("c1"), PublicKey: []byte("k")})
	if err != nil {
		t.Fatal(err)
	}
	recent, _, err := db.CreateSession(ctx, acct.ID, policy)
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(-3 * time.Hour)
	old, _, err := db.CreateSession(ctx, acct.ID, policy)
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(3*time.Hour + 40*time.Minute)
	if got := sessionRows(t, path, recent, old); got[0] != 1 || got[1] != 1 {
		t.Fatalf("before cleaning: %v rows for the recent and old sessions, want 1 each", got)
	}
	done := make(chan struct{})
	go func() {
		cleanSessions(ctx, db, policy, 5*time.Millisecond, slog.New(slog.NewTextHandler(io.Discard, nil)))
		close(done)
	}()
	defer func() { cancel(); <-done }()
	// The cleaner ticks every 5 ms; the deadline is for a slow machine, not a guess at the tick.
	deadline := time.Now().Add(30 * time.Second)
	for sessionRows(t, path, old)[0] != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the session idle for 3 hours is still in the sessions table after 30 s of cleaning")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The old session went in a cleaning that read the recent one too (one
	// DELETE for all): it is still there, so the 2-hour idle time was used.
	if got := sessionRows(t, path, recent)[0]; got != 1 {
		t.Errorf("the session idle for 40 minutes: %d rows, want 1 (kept)", got)
	}
}

package main

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
)

// The session cleaner ends sessions by the idle time serve runs with: with
// --session-idle 2h a session last used 40 minutes ago is kept, and one last
// used 3 hours ago is not. (It used the 30-minute default, so a longer
// setting ended sessions early, with no warning.)
func TestCleanSessionsByTheIdleTimeSet(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "portal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	policy := store.DefaultSessionPolicy()
	policy.Idle = 2 * time.Hour
	now := time.Now()
	db.SetClock(func() time.Time { return now })
	recent, _, err := db.CreateSession(ctx, 0, policy)
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(-3 * time.Hour)
	old, _, err := db.CreateSession(ctx, 0, policy)
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(3*time.Hour + 40*time.Minute)
	done := make(chan struct{})
	go func() {
		cleanSessions(ctx, db, policy, 5*time.Millisecond, slog.New(slog.NewTextHandler(io.Discard, nil)))
		close(done)
	}()
	time.Sleep(100 * time.Millisecond)
	cancel()
	<-done
	for id, want := range map[string]bool{recent: true, old: false} {
		_, err := db.Session(context.Background(), id, policy)
		if kept := err == nil; kept != want {
			t.Errorf("session kept: %v (%v); want %v", kept, err, want)
		}
	}
}

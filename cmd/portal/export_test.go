package main

import (
	"context"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
)

// TestExportIsOnTheAccessLog: an operator reading a whole record from the
// command line is on the person's access log, as a download from the web is,
// and the log's chain still verifies.
func TestExportIsOnTheAccessLog(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "portal.db")
	if _, _, err := portal(t, "import", "--db", path, "--source", "synthea", largestBundle); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"export", "--db", path, "--person", "1", "--out", filepath.Join(dir, "e.json")},
		{"export", "--db", path, "--person", "1"},
	} {
		if _, _, err := portal(t, args...); err != nil {
			t.Fatal(err)
		}
	}
	db, err := store.OpenExisting(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	log, err := db.AccessLog(context.Background(), 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 2 {
		t.Fatalf("got %d access log entries, want 2 (one a download): %+v", len(log), log)
	}
	me, _ := user.Current()
	for _, a := range log {
		got := store.Access{AccountID: a.AccountID, PersonID: a.PersonID, Action: a.Action, What: a.What, Device: a.Device, ActorKind: a.ActorKind, ActorName: a.ActorName}
		want := store.Access{PersonID: 1, Action: "download", What: "whole record (FHIR)", Device: store.OperatorDevice, ActorKind: store.ActorOperator, ActorName: me.Username}
		if got != want {
			t.Errorf("got %+v\nwant %+v", got, want)
		}
	}
	if out, _, err := portal(t, "audit", "verify", "--db", path); err != nil || !strings.HasPrefix(out, "access log intact: 2 entries") {
		t.Errorf("audit verify: %v %q", err, out)
	}
}

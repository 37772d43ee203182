package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
)

// TestSyncSummaryCountsPeopleNotSynced: a source that is down for everyone
// says so in its summary line, which otherwise read as one with nothing new
// ("gp: 0 added, 0 updated, 0 deleted, 0 failed to read"), and a command's
// output makes no promise to try again (an operator review).
func TestSyncSummaryCountsPeopleNotSynced(t *testing.T) {
	_, db := syncedFromLTH(t)
	// A second source, holding them by the same identifier, that is down (nothing listens on port 9 here).
	if _, _, err := portal(t, "source", "add", "gp", "http://127.0.0.1:9", "--db", db); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := portal(t, "sync", "--db", db)
	if err == nil {
		t.Fatalf("a source that is down is no failure:\n%s%s", out, errOut)
	}
	if !regexp.MustCompile(`(?m)^gp: 0 added, 0 updated, 0 deleted, 0 failed to read; 1 person not synced, as above$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^lth: \d+ added, \d+ updated, \d+ deleted, \d+ failed to read$`).MatchString(out) {
		t.Errorf("summary lines:\n%s\nwant gp's to say one person was not synced, and lth's none", out)
	}
	if strings.Contains(out, "try again") {
		t.Errorf("a command's output promises to try again:\n%s", out)
	}
}

// TestSyncSaysOnceASourcesSignInCannotBeRead: a source whose token cannot
// be read is named once, not once for each person (an operator review: 2
// lines a person).
func TestSyncSaysOnceASourcesSignInCannotBeRead(t *testing.T) {
	_, db := syncedFromLTH(t)
	if out, errOut, err := portal(t, "import", largestBundle, "--db", db, "--source", "files"); err != nil {
		t.Fatalf("%v\n%s%s", err, out, errOut)
	}
	env := map[string]string{"UP_TOKEN": "t0ken"}
	var out, errOut strings.Builder
	if err := run(context.Background(), []string{"source", "add", "--db", db, "up", "http://127.0.0.1:9", "--auth", "bearer", "--token-env", "UP_TOKEN"},
		func(k string) string { return env[k] }, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	o, e, err := portal(t, "sync", "--db", db, "--source", "up")
	if err == nil || strings.Count(o+e, "UP_TOKEN") != 1 || !strings.Contains(o, "up: not synced: its sign-in could not be read") || strings.Contains(o+e, "t0ken") {
		t.Errorf("sync of two people from a source whose token is unset: %v\n%s%s\nwant it said once, naming UP_TOKEN", err, o, e)
	}
}

package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
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

// TestSyncSummaryCountsEveryoneAStopLeftUnsynced: a sync of everyone stopped
// part way counts each person it left, not only the one it stopped before
// (a review: 2 of 3 were counted).
func TestSyncSummaryCountsEveryoneAStopLeftUnsynced(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "portal.db")
	var lines []string
	for i, nhs := range []string{"9434765919", "9434765927", "9434765935"} {
		lines = append(lines, `{"resourceType":"Patient","id":"p`+strconv.Itoa(i+1)+`","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"`+nhs+`"}],"name":[{"family":"Example","given":["A"]}],"birthDate":"1957-03-14"}`)
	}
	file := filepath.Join(dir, "p.ndjson")
	if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := portal(t, "import", "--db", db, "--source", "files", file); err != nil {
		t.Fatal(err)
	}
	if _, _, err := portal(t, "source", "add", "gp", "http://127.0.0.1:9", "--db", db, "--org", "GP"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &cancelOnWrite{cancel: cancel} // stopped at its first line
	var errOut strings.Builder
	if err := run(ctx, []string{"sync", "--db", db, "--source", "gp"}, noEnv, out, &errOut); err == nil {
		t.Fatalf("a stopped sync: no error\n%s", out.String())
	}
	if m := regexp.MustCompile(`(?m)^gp: .*; (\d+) (?:person|people) not synced, as above$`).FindStringSubmatch(out.String()); m == nil || m[1] != "3" {
		t.Errorf("summary after a stop that left all 3 people unsynced:\n%s\nwant 3 people not synced", out.String())
	}
}

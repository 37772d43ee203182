package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A name from a record is printed made safe (printable), as persons and
// import print it: a source's Patient name could otherwise send terminal
// control sequences (here, set the window title and the colour) to the operator's terminal (a review).
func TestExportPrintsNoControlCharactersFromARecord(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "portal.db")
	file := filepath.Join(dir, "p.ndjson")
	if err := os.WriteFile(file, []byte(`{"resourceType":"Patient","id":"p1","birthDate":"1970-01-01","name":[{"family":"Smith\u001b]0;pwned\u0007\u001b[31m","given":["Ann"]}]}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := portal(t, "import", "--db", db, "--source", "gp", file); err != nil {
		t.Fatal(err)
	}
	out, _, err := portal(t, "export", "--db", db, "--person", "1", "--out", filepath.Join(dir, "out.json"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(out, "\x1b\x07") || !strings.Contains(out, "Wrote 1 resource for Ann Smith") {
		t.Errorf("export printed control characters from the record, or not the one resource: %q", out)
	}
}

// TestPersonsPrintsNoTextTurnedBackwards: a name from a record that turns
// the text after it backwards (U+202E) is printed without it, by persons and
// export alike (an operator review: "Leeds \u202e latipsoH" reached the terminal).
func TestPersonsPrintsNoTextTurnedBackwards(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "portal.db")
	file := filepath.Join(dir, "p.ndjson")
	if err := os.WriteFile(file, []byte(`{"resourceType":"Patient","id":"p1","birthDate":"1970-01-01","name":[{"family":"Smith\u202e\u2066nhoJ","given":["Ann"]}]}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := portal(t, "import", "--db", db, "--source", "gp", file); err != nil {
		t.Fatal(err)
	}
	listed, _, err := portal(t, "persons", "--db", db)
	if err != nil {
		t.Fatal(err)
	}
	exported, _, err := portal(t, "export", "--db", db, "--person", "1", "--out", filepath.Join(dir, "out.json"))
	if err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"persons": listed, "export": exported} {
		if strings.ContainsAny(out, "\u202e\u2066") || !strings.Contains(out, "Ann Smith  nhoJ") {
			t.Errorf("%s printed a character turning the text backwards, or not the name: %q", name, out)
		}
	}
}

// TestExportStoppedSaysSo: an export stopped by Ctrl-C or a signal says it
// was stopped before it was finished, as import and sync do, rather than
// "context canceled" (an operator review).
func TestExportStoppedSaysSo(t *testing.T) {
	db := filepath.Join(t.TempDir(), "portal.db")
	if _, _, err := portal(t, "import", largestBundle, "--db", db, "--source", "synthea"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &cancelOnWrite{cancel: cancel} // stopped at its first write
	var errOut strings.Builder
	err := run(ctx, []string{"export", "--db", db, "--person", "1"}, noEnv, out, &errOut)
	if err == nil || err.Error() != "export: stopped before it was finished: what was written above is not the whole record" {
		t.Errorf("an export stopped after writing %d bytes: %v; want it to say it was stopped before it was finished", len(out.String()), err)
	}
}

// TestExportRemovesWhatAKilledExportLeft: an export killed before it could
// remove its part-written file beside the target (kill -9) leaves part of a
// record there; the next export into that folder removes it, saying so,
// but not one written to within the hour, which may be another export's
// under way (an operator review found eight left).
func TestExportRemovesWhatAKilledExportLeft(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "portal.db")
	if _, _, err := portal(t, "import", largestBundle, "--db", db, "--source", "synthea"); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	stale, live := filepath.Join(out, ".portal-export-1111244180.part"), filepath.Join(out, ".portal-export-2222.part")
	for _, name := range []string{stale, live} {
		if err := os.WriteFile(name, []byte(`{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient"`), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	_, errOut, err := portal(t, "export", "--db", db, "--person", "1", "--out", filepath.Join(out, "record.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) || !strings.Contains(errOut, "removed "+stale) {
		t.Errorf("the part-written record a killed export left: %v; stderr %q; want it removed, saying so", err, errOut)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("a file written to within the hour, maybe another export's under way, was removed: %v", err)
	}
}

// TestExportRemovesOnlyItsOwnLeftovers: an export removes only files named
// as exports name their part-written files, in the folder itself: not the
// operator's own file beginning ".export-", nor one in another folder that
// the folder's name, read as a pattern, would match (a review: both were).
func TestExportRemovesOnlyItsOwnLeftovers(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "portal.db")
	if _, _, err := portal(t, "import", largestBundle, "--db", db, "--source", "synthea"); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * time.Hour)
	plant := func(name string) {
		if err := os.WriteFile(name, []byte("keep me\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(name, old, old); err != nil {
			t.Fatal(err)
		}
	}
	base := t.TempDir()
	out, other := filepath.Join(base, "reports[1]"), filepath.Join(base, "reports1")
	for _, d := range []string{out, other} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	keep := []string{filepath.Join(out, ".export-settings"), filepath.Join(out, ".portal-export-notes.part"), filepath.Join(other, ".portal-export-12345.part")}
	for _, name := range keep {
		plant(name)
	}
	_, errOut, err := portal(t, "export", "--db", db, "--person", "1", "--out", filepath.Join(out, "record.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range keep {
		if _, err := os.Stat(name); err != nil {
			t.Errorf("export into %s removed %s: %v\nstderr: %s", out, name, err, errOut)
		}
	}
}

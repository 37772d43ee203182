package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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

package main

import (
	"os"
	"path/filepath"
	"testing"
)

// A source add that is refused leaves no database behind (as
// TestSourceAddAddress asks for a bad address): a mistyped --db would
// otherwise be an empty database every later command opens without a word (a review).
func TestRefusedSourceAddLeavesNoDatabase(t *testing.T) {
	for _, args := range [][]string{
		{"source", "add", "lth"}, // the address left out
		{"source", "add", "leeds hospitals", "http://127.0.0.1:1/fhir"},                                  // not one word
		{"source", "add", "lth", "http://127.0.0.1:1/fhir", "--auth", "bearer"},                          // no token named
		{"source", "add", "lth", "http://127.0.0.1:1/fhir", "--auth", "bearer", "--token-env", "NOPE_X"}, // variable not set
	} {
		db := filepath.Join(t.TempDir(), "typo", "portal.db")
		_, _, err := portal(t, append(args, "--db", db)...)
		if err == nil {
			t.Fatalf("%q was accepted", args)
		}
		if _, serr := os.Stat(db); !os.IsNotExist(serr) {
			t.Errorf("%q was refused (%v) but left a database at %s", args, err, db)
		}
	}
}

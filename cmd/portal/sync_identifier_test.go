package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// --identifier SYSTEM|VALUE where VALUE holds a '|' or a ',' (both
// allowed in an identifier's value) is sent to the server's search escaped, and
// a Patient stored only when it carries the identifier: unescaped, the server
// matched someone else, and a person was made for them (a review).
func TestSyncIdentifierValueIsEscaped(t *testing.T) {
	srv, patientID := startFHIR(t)
	for _, value := range []string{patientID + "|x", patientID + ",x"} {
		t.Run(value, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "portal.db")
			if _, _, err := portal(t, "source", "add", "lth", srv.URL, "--db", db); err != nil {
				t.Fatal(err)
			}
			out, errOut, err := portal(t, "sync", "--db", db, "--source", "lth", "--identifier", syntheaSystem+"|"+value)
			if err == nil || !strings.Contains(err.Error(), "no source has a record of this person") {
				t.Errorf("sync: %v\n%s%s", err, out, errOut)
			}
			persons, _, err := portal(t, "persons", "--db", db)
			if err != nil || strings.Count(persons, "\n") != 1 {
				t.Errorf("a person was made for an identifier no one has:\n%s", persons)
			}
		})
	}
}

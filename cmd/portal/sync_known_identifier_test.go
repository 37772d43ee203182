package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// A person known here by an identifier a cached Patient carries, synced from
// a source by that identifier, is looked for there by it and synced (a
// review: the sync said they could not be looked for).
func TestSyncByIdentifierOfAKnownPersonSearchesByIt(t *testing.T) {
	srv, patientID := startFHIR(t)
	db := filepath.Join(t.TempDir(), "portal.db")
	if _, _, err := portal(t, "import", "--db", db, "--source", "files", "../../../shared/fhir/synthea/"+smallBundle); err != nil {
		t.Fatal(err)
	}
	if _, _, err := portal(t, "source", "add", "gp", srv.URL, "--db", db); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := portal(t, "sync", "--db", db, "--source", "gp", "--identifier", syntheaSystem+"|"+patientID)
	if err != nil || !strings.Contains(out, "brought up to date") || strings.Contains(out, "new person") {
		t.Errorf("sync --source gp --identifier %s|%s: err %v\nstdout:\n%s\nstderr:\n%s\nwant the Patient found at gp by that identifier and synced, for the person known here",
			syntheaSystem, patientID, err, out, errOut)
	}
}

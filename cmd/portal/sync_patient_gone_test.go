package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/e2e/upstream"
)

// syncedFromLTH starts the test FHIR server holding one Synthea patient,
// adds it as the source lth to a new database and syncs that patient,
// returning the server and the database's path.
func syncedFromLTH(t *testing.T) (*upstream.Server, string) {
	t.Helper()
	srv, patientID := startFHIR(t)
	db := filepath.Join(t.TempDir(), "portal.db")
	if _, _, err := portal(t, "source", "add", "lth", srv.URL, "--db", db, "--org", "Leeds Teaching Hospitals"); err != nil {
		t.Fatal(err)
	}
	if out, errOut, err := portal(t, "sync", "--db", db, "--identifier", syntheaSystem+"|"+patientID); err != nil {
		t.Fatalf("%v\n%s%s", err, out, errOut)
	}
	return srv, db
}

// TestAPatientGoneUpstreamKeepsTheRecord: the source no longer holds the
// person's Patient, as when its store was rebuilt or restored empty. The
// sync fails saying what was stored of them is kept, and keeps it, even
// when the full listing is due (an operator review: the listing went on,
// found nothing, and took 303 of 310 resources away).
func TestAPatientGoneUpstreamKeepsTheRecord(t *testing.T) {
	srv, db := syncedFromLTH(t)
	before, _, err := portal(t, "export", "--db", db, "--person", "1")
	if err != nil {
		t.Fatal(err)
	}
	if status, body := srv.Do(t, "POST", "/$reset", nil); status >= 300 {
		t.Fatalf("reset: %d %s", status, body)
	}
	out, errOut, err := portal(t, "sync", "--db", db, "--full")
	if err == nil || !strings.Contains(errOut, "no longer holds their Patient/") || !strings.Contains(errOut, "what was stored of them is kept") {
		t.Errorf("sync --full of a Patient gone upstream: %v\n%s%s\nwant a failure saying what was stored is kept", err, out, errOut)
	}
	if !strings.Contains(out, "lth: 0 added, 0 updated, 0 deleted") {
		t.Errorf("sync --full of a Patient gone upstream:\n%s\nwant nothing deleted", out)
	}
	after, _, err := portal(t, "export", "--db", db, "--person", "1")
	if err != nil {
		t.Fatal(err)
	}
	if b, a := strings.Count(before, `"fullUrl"`), strings.Count(after, `"fullUrl"`); a != b || b < 100 {
		t.Errorf("the record went from %d resources to %d; want every one kept", b, a)
	}
}

package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// A line of an export file that cannot be read is set aside; like
// portal import and portal sync, sync --bulk says which (file, line,
// resource) and why, not only how many (a review).
func TestSyncBulkNamesWhatItSetAside(t *testing.T) {
	srv, patientID := startFHIR(t)
	bad := `{"resourceType":"Observation","id":"rev-bad-1","status":"final","code":{"text":"Weight"},"subject":{"reference":"Patient/` + patientID + `"},"valueQuantity":{"value":"abc","unit":"kg"}}`
	if status, body := srv.Do(t, "PUT", "/Observation/rev-bad-1", []byte(bad)); status >= 300 {
		t.Fatalf("put: %d %s", status, body)
	}
	db := filepath.Join(t.TempDir(), "portal.db")
	if _, _, err := portal(t, "source", "add", "lth", srv.URL, "--db", db); err != nil {
		t.Fatal(err)
	}
	out, stderr, err := portal(t, "sync", "--bulk", "lth", "--db", db)
	if !strings.Contains(out, "1 set aside") {
		t.Fatalf("the bad line was not set aside: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`sync --bulk lth: \S+ line \d+: Observation/rev-bad-1: .*valueQuantity\.value.* \(set aside\)`).MatchString(stderr) {
		t.Errorf("sync --bulk counted a resource set aside but did not say which or why (exit error: %v):\n--- stdout\n%s--- stderr\n%s", err, out, stderr)
	}
}

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/mycarerecord/portal/e2e/upstream"
)

const (
	largestBundle = "Lawerence6_Baumbach677_ea8d2576-4a23-4906-c353-bfed5adb23bd.json"
	syntheaSystem = "https://github.com/synthetichealth/synthea"
)

// pullTypes are the types the portal pulls (fhirsync.PullTypes), listed here
// so the test states what it expects rather than asking the code under test.
var pullTypes = []string{
	"AllergyIntolerance", "MedicationRequest", "MedicationStatement", "Condition", "Immunization", "Observation",
	"DiagnosticReport", "Encounter", "Appointment", "Procedure", "DocumentReference", "CarePlan", "CareTeam",
}

// portalCmd runs the portal binary to completion and returns its output.
func portalCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.Command(suite.portalBin, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// TestSyncResumesAfterKill runs `portal sync` against a real FHIR server,
// kills it with SIGKILL at random moments several times, then lets it finish:
// the database must be intact and an exact copy of upstream, with nothing twice.
func TestSyncResumesAfterKill(t *testing.T) {
	srv, patientID := upstream.StartWithPatient(t, largestBundle)
	// Every request is slowed, so a kill lands in the middle of the sync.
	proxy := upstream.NewFaultProxy(t, srv.URL, upstream.Faults{Rate: 1, Seed: 7, Kinds: []upstream.Fault{upstream.FaultDelay}, Delay: 80 * time.Millisecond})
	db := filepath.Join(t.TempDir(), "portal.db")
	if out, err := portalCmd(t, "source", "add", "lth", proxy.URL, "--db", db, "--org", "Leeds Teaching Hospitals"); err != nil {
		t.Fatalf("source add: %v\n%s", err, out)
	}
	ident := syntheaSystem + "|" + patientID
	rng := rand.New(rand.NewPCG(1, 2))
	kills := 0
	for i := 0; i < 5; i++ {
		cmd := exec.Command(suite.portalBin, "sync", "--db", db, "--source", "lth", "--identifier", ident)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-time.After(time.Duration(300+rng.IntN(1500)) * time.Millisecond):
			if err := cmd.Process.Kill(); err != nil { // SIGKILL: no chance to tidy up
				t.Fatal(err)
			}
			<-done
			kills++
		case err := <-done:
			t.Logf("run %d finished before the kill (%v)", i, err)
		}
	}
	proxy.SetFaults(upstream.Faults{})
	out, err := portalCmd(t, "sync", "--db", db, "--source", "lth", "--identifier", ident)
	if err != nil {
		t.Fatalf("final sync: %v\n%s", err, out)
	}
	t.Logf("killed %d times; final run:\n%s", kills, lastLines(out, 2))
	if kills == 0 {
		t.Fatal("no run was killed: the test proved nothing")
	}

	raw := intactDB(t, db)
	var dupItems int
	if err := raw.QueryRow(`SELECT COUNT(*) FROM (SELECT resource_type, resource_id FROM record_items WHERE resource_type != 'CareTeam'
GROUP BY source_id, resource_type, resource_id HAVING COUNT(*) > 1)`).Scan(&dupItems); err != nil || dupItems != 0 {
		t.Errorf("%d resources shown twice (%v)", dupItems, err)
	}

	// The exported record is exactly what upstream holds, version for version.
	file := filepath.Join(t.TempDir(), "record.json")
	if out, err := portalCmd(t, "export", "--db", db, "--identifier", ident, "--out", file); err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	got := exportedVersions(t, file, proxy.URL)
	want := map[string]string{}
	for _, typ := range pullTypes {
		for _, r := range srv.Resources(t, typ, "patient=Patient/"+patientID) {
			id, v := idVersion(t, r)
			want[typ+"/"+id] = v
		}
	}
	missing, wrong := 0, 0
	for k, v := range want {
		if g, ok := got[k]; !ok {
			missing++
		} else if g != v {
			wrong++
		}
	}
	if missing+wrong > 0 || len(got) != len(want) {
		t.Errorf("after %d kills the cache has %d of %d resources (%d missing, %d at the wrong version)", kills, len(got), len(want), missing, wrong)
	}
}

// TestSyncCommandWithADeadSource checks that a source that does not answer
// fails on its own, in words, while the other source syncs.
func TestSyncCommandWithADeadSource(t *testing.T) {
	srv, patientID := upstream.StartWithPatient(t, largestBundle)
	db := filepath.Join(t.TempDir(), "portal.db")
	for _, args := range [][]string{
		{"source", "add", "a-dead", "http://127.0.0.1:1/fhir", "--org", "Dead Hospital"},
		{"source", "add", "b-live", srv.URL, "--org", "Live Hospital"},
	} {
		if out, err := portalCmd(t, append(args, "--db", db)...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	if out, err := portalCmd(t, "sync", "--db", db, "--source", "b-live", "--identifier", syntheaSystem+"|"+patientID); err != nil {
		t.Fatalf("first sync: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, suite.portalBin, "sync", "--db", db)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err == nil {
		t.Fatalf("sync with a dead source reported success:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "b-live: 0 added, 0 updated") {
		t.Errorf("the live source did not sync after the dead one failed:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "a-dead:") {
		t.Errorf("the dead source's failure is not reported:\n%s", out.String())
	}
	if sources, err := portalCmd(t, "source", "list", "--db", db); err != nil || !strings.Contains(sources, "Live Hospital") {
		t.Errorf("source list: %v\n%s", err, sources)
	}
}

func idVersion(t *testing.T, raw []byte) (string, string) {
	t.Helper()
	var r struct {
		ID   string
		Meta struct{ VersionID string }
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	return r.ID, r.Meta.VersionID
}

// exportedVersions reads an exported Bundle: "Type/id" → versionId for the
// pulled types, checking every resource names its source.
func exportedVersions(t *testing.T, path, source string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var b struct {
		ResourceType, Type string
		Entry              []struct{ Resource json.RawMessage }
	}
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatalf("export is not JSON: %v", err)
	}
	if b.ResourceType != "Bundle" || b.Type != "collection" {
		t.Fatalf("export is a %s %s, want a collection Bundle", b.Type, b.ResourceType)
	}
	pulled := map[string]bool{}
	for _, typ := range pullTypes {
		pulled[typ] = true
	}
	out := map[string]string{}
	for _, e := range b.Entry {
		var r struct {
			ResourceType, ID string
			Meta             struct{ VersionID, Source string }
		}
		if err := json.Unmarshal(e.Resource, &r); err != nil {
			t.Fatal(err)
		}
		if r.Meta.Source != source {
			t.Errorf("%s/%s: meta.source %q, want %q", r.ResourceType, r.ID, r.Meta.Source, source)
		}
		if pulled[r.ResourceType] {
			if _, dup := out[r.ResourceType+"/"+r.ID]; dup {
				t.Errorf("%s/%s exported twice", r.ResourceType, r.ID)
			}
			out[r.ResourceType+"/"+r.ID] = r.Meta.VersionID
		}
	}
	return out
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

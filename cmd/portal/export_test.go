package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"unicode/utf8"

	"github.com/mycarerecord/portal/store"
)

// TestExportIsOnTheAccessLog: an operator reading a whole record from the
// command line is on the person's access log, as a download from the web is,
// and the log's chain still verifies.
func TestExportIsOnTheAccessLog(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "portal.db")
	if _, _, err := portal(t, "import", "--db", path, "--source", "synthea", largestBundle); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"export", "--db", path, "--person", "1", "--out", filepath.Join(dir, "e.json")},
		{"export", "--db", path, "--person", "1"},
	} {
		if _, _, err := portal(t, args...); err != nil {
			t.Fatal(err)
		}
	}
	db, err := store.OpenExisting(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	log, err := db.AccessLog(context.Background(), 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 2 {
		t.Fatalf("got %d access log entries, want 2 (one a download): %+v", len(log), log)
	}
	me, _ := user.Current()
	for _, a := range log {
		got := store.Access{AccountID: a.AccountID, PersonID: a.PersonID, Action: a.Action, What: a.What, Device: a.Device, ActorKind: a.ActorKind, ActorName: a.ActorName}
		want := store.Access{PersonID: 1, Action: "download", What: "whole record (FHIR)", Device: store.OperatorDevice, ActorKind: store.ActorOperator, ActorName: me.Username}
		if got != want {
			t.Errorf("got %+v\nwant %+v", got, want)
		}
	}
	if out, _, err := portal(t, "audit", "verify", "--db", path); err != nil || !strings.HasPrefix(out, "access log intact: 2 entries") {
		t.Errorf("audit verify: %v %q", err, out)
	}
}

// TestExportOut: --out names a file to write. A folder, anything else that is
// not a regular file, and a path whose folder is not there are refused before
// the record is read, naming the path given; a regular file is replaced.
// (A pipe stands for devices: a test that could replace /dev/null as root
// if the check were lost is not worth it.)
func TestExportOut(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "portal.db")
	if _, _, err := portal(t, "import", "--db", path, "--source", "synthea", largestBundle); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	folder := filepath.Join(out, "folder")
	fifo := filepath.Join(out, "fifo")
	link := filepath.Join(out, "link.json")
	existing := filepath.Join(out, "existing.json")
	for _, err := range []error{
		os.Mkdir(folder, 0o700),
		syscall.Mkfifo(fifo, 0o600),
		os.WriteFile(existing, []byte("old"), 0o600),
		os.Symlink(existing, link),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name, out, wantErr string
		wantMode           fs.FileMode // of what is at out afterwards
	}{
		{"a folder", folder, "export: --out " + folder + " is a folder: name a file to write, e.g. " + filepath.Join(folder, "record.json"), fs.ModeDir},
		{"no such folder", filepath.Join(out, "nonexistent", "e.json"), "export: --out " + filepath.Join(out, "nonexistent", "e.json") + ": there is no folder " + filepath.Join(out, "nonexistent"), 0},
		{"a pipe", fifo, "export: --out " + fifo + " exists and is not a regular file (a device, pipe or socket): name a new file or one to replace", fs.ModeNamedPipe},
		{"a link", link, "export: --out " + link + " is a symbolic link: name the file itself", fs.ModeSymlink},
		{"a regular file", existing, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, _, err := portal(t, "export", "--db", path, "--person", "1", "--out", tt.out)
			if tt.wantErr == "" {
				if err != nil || !strings.HasPrefix(stdout, "Wrote ") {
					t.Fatalf("got %v, %q", err, stdout)
				}
				if b, _ := os.ReadFile(tt.out); !bytes.HasPrefix(b, []byte(`{"resourceType":"Bundle"`)) {
					t.Errorf("%s holds %.40q", tt.out, b)
				}
				return
			}
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("got %v\nwant %q", err, tt.wantErr)
			}
			if stdout != "" {
				t.Errorf("printed %q", stdout)
			}
			if st, err := os.Lstat(tt.out); tt.wantMode != 0 && (err != nil || st.Mode().Type() != tt.wantMode) {
				t.Errorf("%s is now %v (%v), want %v", tt.out, st.Mode().Type(), err, tt.wantMode)
			}
		})
	}
	if left, _ := filepath.Glob(filepath.Join(out, ".export-*")); len(left) > 0 {
		t.Errorf("temporary files left: %q", left)
	}
	if out, _, err := portal(t, "audit", "verify", "--db", path); err != nil || !strings.HasPrefix(out, "access log intact: 1 entries") {
		t.Errorf("only the export that was written should be logged: %v %q", err, out)
	}
}

// TestImportSetsAsideTextThatIsNotUTF8: a resource holding bytes that are not
// UTF-8 is set aside, naming the byte's line and column in the file, and the
// export stays valid JSON.
func TestImportSetsAsideTextThatIsNotUTF8(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "portal.db")
	obs := `{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"Pul` + "\xff" + `se"},"subject":{"reference":"Patient/p1"}}`
	basic := `{"resourceType":"Basic","id":"b1","subject":{"reference":"Patient/p1"},"code":{"text":"` + "\xc3\x28" + `"}}` // a type the pages do not show
	bundle := filepath.Join(dir, "gp.json")
	if err := os.WriteFile(bundle, []byte(`{"resourceType":"Bundle","type":"collection","entry":[
{"resource":{"resourceType":"Patient","id":"p1","name":[{"family":"Example"}]}},
{"resource":`+obs+`},
{"resource":`+basic+`}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	ndjson := filepath.Join(dir, "obs.ndjson")
	if err := os.WriteFile(ndjson, []byte(strings.Replace(obs, `"o1"`, `"o2"`, 1)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, err := portal(t, "import", "--db", db, bundle, ndjson)
	if err == nil || !strings.Contains(err.Error(), "3 resources were set aside") {
		t.Errorf("got %v", err)
	}
	// Each is placed by the file's line and column, as an editor shows them.
	at := strings.IndexByte(obs, 0xff)
	for _, want := range []string{
		fmt.Sprintf("import: %s: line 3, column %d: Observation/o1: not UTF-8 text (FHIR JSON must be UTF-8) (set aside)\n", bundle, len(`{"resource":`)+at+1),
		fmt.Sprintf("import: %s: line 4, column %d: Basic/b1: not UTF-8 text (FHIR JSON must be UTF-8) (set aside)\n", bundle, len(`{"resource":`)+strings.IndexByte(basic, 0xc3)+1),
		fmt.Sprintf("import: %s: line 1, column %d: Observation/o2: not UTF-8 text (FHIR JSON must be UTF-8) (set aside)\n", ndjson, at+1),
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not say %q:\n%s", want, stderr)
		}
	}
	out, _, err := portal(t, "export", "--db", db, "--person", "1")
	if err != nil || !json.Valid([]byte(out)) || !utf8.ValidString(out) || strings.Contains(out, "Pul") {
		t.Errorf("export: %v, valid JSON %v, UTF-8 %v, holds the damaged resource %v", err, json.Valid([]byte(out)), utf8.ValidString(out), strings.Contains(out, "Pul"))
	}
}

// TestExportOutDiskFull: an export that fills the disk says so naming the
// file asked for (not the temporary one it wrote beside it), leaves the file
// it would have replaced as it was, and leaves nothing else behind.
func TestExportOutDiskFull(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "portal.db")
	if _, _, err := portal(t, "import", "--db", path, "--source", "synthea", largestBundle); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if err := syscall.Mount("tmpfs", out, "tmpfs", 0, "size=256k"); err != nil {
		if errors.Is(err, syscall.EPERM) {
			t.Skip("mounting a small disk for this test needs the right to mount (root, outside a container that forbids it; CI runs as root)")
		}
		t.Fatalf("mount a 256 kB tmpfs: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(out, syscall.MNT_DETACH) })
	target := filepath.Join(out, "record.json")
	if err := os.WriteFile(target, []byte("the last good export"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := portal(t, "export", "--db", path, "--person", "1", "--out", target)
	if want := "export: --out " + target + ": no space left on device"; err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %q", err, want)
	}
	if b, _ := os.ReadFile(target); string(b) != "the last good export" {
		t.Errorf("%s now holds %.40q", target, b)
	}
	if left, _ := filepath.Glob(filepath.Join(out, ".export-*")); len(left) > 0 {
		t.Errorf("temporary files left: %q", left)
	}
}

// portal export is "one entry per cached resource": every resource a file
// imported for the person, of every type, is in the Bundle (a review: a
// Synthea bundle's Provenance, which names the patient only among its
// targets, by the Patient entry's address, was cached about nobody).
func TestExportHoldsEveryResourceImported(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "portal.db")
	if _, _, err := portal(t, "import", "--db", db, "--source", "synthea", largestBundle); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.json")
	if _, _, err := portal(t, "export", "--db", db, "--person", "1", "--out", out); err != nil {
		t.Fatal(err)
	}
	count := func(path string) map[string]int {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var bundle struct {
			Entry []struct {
				Resource struct{ ResourceType string } `json:"resource"`
			} `json:"entry"`
		}
		if err := json.Unmarshal(b, &bundle); err != nil {
			t.Fatal(err)
		}
		n := map[string]int{}
		for _, e := range bundle.Entry {
			n[e.Resource.ResourceType]++
		}
		return n
	}
	in, got := count(largestBundle), count(out)
	for typ, n := range in {
		if got[typ] != n {
			t.Errorf("%s: %d in the file imported, %d in the export", typ, n, got[typ])
		}
	}
}

// A cache that stored Provenance about nobody (before migration 0056) has
// them given their patient when it opens, and exports them.
func TestExportHoldsProvenanceStoredBefore(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "portal.db")
	if _, _, err := portal(t, "import", "--db", db, "--source", "synthea", largestBundle); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite3", "file:"+db)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`UPDATE resources SET patient_id = '' WHERE type = 'Provenance'`, `DELETE FROM schema_migrations WHERE version = 56`} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()
	bundle, _, err := portal(t, "export", "--db", db, "--person", "1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(bundle, `"resourceType":"Provenance"`) {
		t.Error("the export of a cache stored before 0056 holds no Provenance")
	}
}

// portal export --identifier SYSTEM|VALUE names the person by an identifier
// their cached Patient carries (here the record number the file gives them;
// a review: only identifiers linked with --link-system or a sync found them).
func TestExportByAnIdentifierTheCachedPatientCarries(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "portal.db")
	if _, _, err := portal(t, "import", "--db", db, "--source", "synthea", largestBundle); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{
		"http://hospital.smarthealthit.org|ea8d2576-4a23-4906-c353-bfed5adb23bd", // MR
		syntheaSystem + "|ea8d2576-4a23-4906-c353-bfed5adb23bd",
	} {
		out := filepath.Join(dir, "out.json")
		if _, _, err := portal(t, "export", "--db", db, "--identifier", id, "--out", out); err != nil {
			t.Errorf("export --identifier %s: %v", id, err)
		}
	}
}

package main

import (
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
)

// asNobody says whether this process should do the work of a test of what
// the file system refuses a user. Root is refused nothing, so as root it
// runs the test again in a copy of this test binary as the user nobody
// (with setpriv), reports that run's failures as the test's own, and says
// false; without setpriv the test is skipped, saying so.
func asNobody(t *testing.T) bool {
	t.Helper()
	if os.Geteuid() != 0 {
		return true
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("running as root, whom no permission refuses, and there is no setpriv to run the test as nobody")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skipf("running as root, whom no permission refuses, and there is no user nobody: %v", err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The test binary's own folder is root's alone.
	dir, err := os.MkdirTemp("", "portal-as-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin := filepath.Join(dir, "portal.test")
	body, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, body, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(setpriv, "--reuid="+nobody.Uid, "--regid="+nobody.Gid, "--clear-groups",
		bin, "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Errorf("as nobody: %v\n%s", err, out)
	}
	return false
}

// TestImportIntoAFolderItMayNotWrite: a database the user may not create
// is refused saying so, not with SQLite's "unable to open database file: no
// such file or directory".
func TestImportIntoAFolderItMayNotWrite(t *testing.T) {
	if !asNobody(t) {
		return
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "p.ndjson")
	if err := os.WriteFile(file, []byte(`{"resourceType":"Patient","id":"p1"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ro := filepath.Join(dir, "ro")
	if err := os.Mkdir(ro, 0o555); err != nil {
		t.Fatal(err)
	}
	noSearch := filepath.Join(dir, "nosearch")
	if err := os.Mkdir(noSearch, 0o600); err != nil {
		t.Fatal(err)
	}
	walled := filepath.Join(dir, "walled")
	mine := filepath.Join(walled, "mine.db")
	if _, _, err := portal(t, "migrate", "--db", mine); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(walled, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(walled, 0o700) }) // before TempDir's removal, which it lets in
	unreadable := filepath.Join(dir, "unreadable.db")
	if _, _, err := portal(t, "migrate", "--db", unreadable); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(unreadable, 0o200); err != nil {
		t.Fatal(err)
	}
	besideMine := "cannot open " + mine + ": its folder " + walled + " does not let this user make files in it, and SQLite must make mine.db-wal and mine.db-shm beside the database to open it (WAL mode)"
	tests := []struct{ name, db, want string }{
		{"a folder it may not write", filepath.Join(ro, "x.db"), "cannot create " + filepath.Join(ro, "x.db") + ": permission denied"},
		{"a folder it may not make", filepath.Join(ro, "sub", "x.db"), "cannot create " + filepath.Join(ro, "sub") + ": permission denied"},
		{"a folder it may not open", filepath.Join(noSearch, "x.db"), "cannot open " + filepath.Join(noSearch, "x.db") + ": permission denied"},
		{"a database it may not read", unreadable, "cannot open " + unreadable + ": permission denied"},
		// WAL mode keeps files beside the database while it is open.
		{"a database in a folder it may not write", mine, besideMine},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := portal(t, "import", "--db", tt.db, file)
			if err == nil || err.Error() != tt.want {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
	// A command that needs a database already made says the same, not that
	// the file is not a My Care Record database.
	if _, _, err := portal(t, "export", "--db", unreadable, "--person", "1"); err == nil || err.Error() != "cannot open "+unreadable+": permission denied" {
		t.Errorf("export: got %v", err)
	}
	if _, _, err := portal(t, "export", "--db", mine, "--person", "1"); err == nil || err.Error() != besideMine {
		t.Errorf("export from a folder it may not write: got %v", err)
	}
}

// TestImportSkipsAFolderItMayNotRead: a folder under the one named that
// cannot be read is named, the files beside it are imported, and the exit
// status says so.
func TestImportSkipsAFolderItMayNotRead(t *testing.T) {
	if !asNobody(t) {
		return
	}
	dir := t.TempDir()
	records := filepath.Join(dir, "records")
	closed := filepath.Join(records, "closed")
	for name, content := range map[string]string{
		filepath.Join(records, "a.json"):    `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","id":"p1"}}]}`,
		filepath.Join(closed, "b.json"):     `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","id":"p2"}}]}`,
		filepath.Join(records, "z.ndjson"):  `{"resourceType":"Patient","id":"p3"}` + "\n",
		filepath.Join(records, "notes.txt"): "not FHIR",
	} {
		if err := os.MkdirAll(filepath.Dir(name), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(closed, 0o000); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(closed, 0o700) })
	db := filepath.Join(dir, "portal.db")

	stdout, stderr, err := portal(t, "import", "--db", db, records)
	if want := "import: 1 folder could not be read (see above); the rest was stored"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
	if want := "import: " + closed + ": permission denied (nothing in this folder was imported)\n"; stderr != want {
		t.Errorf("stderr %q, want %q", stderr, want)
	}
	for _, want := range []string{filepath.Join(records, "a.json") + ": 1 resource (1 added", filepath.Join(records, "z.ndjson") + ": 1 resource (1 added", "Imported 2 files"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout does not say %q:\n%s", want, stdout)
		}
	}

	// Named itself, it is the only thing there was to import.
	_, stderr, err = portal(t, "import", "--db", db, closed)
	if want := "import: 1 folder could not be read (see above)"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
	if want := "import: " + closed + ": permission denied (nothing in this folder was imported)\n"; stderr != want {
		t.Errorf("stderr %q, want %q", stderr, want)
	}
}

// TestImportIntoAReadOnlyDatabaseNamesIt: a database file the user may read
// but not write is named once, as the fault, not each file in turn as if it
// were theirs ("a.json: add source: attempt to write a readonly database",
// then b.json's, a review).
func TestImportIntoAReadOnlyDatabaseNamesIt(t *testing.T) {
	if !asNobody(t) {
		return
	}
	dir := importFiles(t, map[string]string{"a.json": importGPA, "b.json": importGPA})
	db := filepath.Join(dir, "portal.db")
	if _, _, err := portal(t, "migrate", "--db", db); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(db, 0o400); err != nil {
		t.Fatal(err)
	}
	_, stderr, err := portal(t, "import", "--db", db, filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json"))
	if err == nil || !strings.Contains(err.Error(), "the database "+db+" cannot be written (read-only)") || strings.Contains(stderr, "b.json") {
		t.Errorf("got %v, want the read-only database %s named once, and b.json not blamed:\n%s", err, db, stderr)
	}
}

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExportOutIsNotTheDatabase: --out naming the database, or a file the
// store keeps beside it, however it is written (relative, through a linked
// folder, a second name for the same file), is refused naming both, before
// anything is written; the database is as it was.
func TestExportOutIsNotTheDatabase(t *testing.T) {
	db := withPatient(t)
	dir := filepath.Dir(db)
	spool := t.TempDir()
	// Side files that exist now (the reserve) and ones that do not (the WAL, while no one has the database open).
	if err := os.WriteFile(db+"-access-spool", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	linked := filepath.Join(t.TempDir(), "linked")
	if err := os.Symlink(dir, linked); err != nil {
		t.Fatal(err)
	}
	hard := filepath.Join(t.TempDir(), "same.db")
	if err := os.Link(db, hard); err != nil {
		t.Fatal(err)
	}
	itself := func(out string) string {
		return "export: --out " + out + " is the database itself (" + db + "): the export would destroy it: name another file"
	}
	beside := func(out, side string) string {
		return "export: --out " + out + " is one of the files the database " + db + " keeps beside it (" + side + "): the export would replace it: name another file"
	}
	tests := []struct {
		name, out, wantErr string
		env                map[string]string
	}{
		{"the database", db, itself(db), nil},
		{"the database, relative", "./portal.db", itself("./portal.db"), nil},
		{"through a linked folder", filepath.Join(linked, "portal.db"), itself(filepath.Join(linked, "portal.db")), nil},
		{"another name for it", hard, itself(hard), nil},
		{"its write-ahead log", db + "-wal", beside(db+"-wal", "portal.db-wal"), nil},
		{"its shared memory", db + "-shm", beside(db+"-shm", "portal.db-shm"), nil},
		{"its rollback journal", db + "-journal", beside(db+"-journal", "portal.db-journal"), nil},
		{"its reserve", db + "-reserve", beside(db+"-reserve", "portal.db-reserve"), nil},
		{"its access log spool", db + "-access-spool", beside(db+"-access-spool", "portal.db-access-spool"), nil},
		{"its damaged spool", db + "-access-spool.damaged", beside(db+"-access-spool.damaged", "portal.db-access-spool.damaged"), nil},
		{"its spool elsewhere", filepath.Join(spool, "portal.db-access-spool"), beside(filepath.Join(spool, "portal.db-access-spool"), "portal.db-access-spool"), map[string]string{"PORTAL_ACCESS_SPOOL": spool}},
	}
	before, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Chdir(dir)
			var out, stderr bytes.Buffer
			err := run(t.Context(), []string{"export", "--db", db, "--person", "1", "--out", tt.out}, func(k string) string { return tt.env[k] }, &out, &stderr)
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("got %v\nwant %q", err, tt.wantErr)
			}
			if after, _ := os.ReadFile(db); !bytes.Equal(after, before) {
				t.Errorf("the database was changed: it starts %.40q", after)
			}
		})
	}
	// A --db that is a link to the file: SQLite's files are beside the file.
	link := filepath.Join(t.TempDir(), "link.db")
	if err := os.Symlink(db, link); err != nil {
		t.Fatal(err)
	}
	if _, _, err := portal(t, "export", "--db", link, "--person", "1", "--out", db+"-wal"); err == nil || !strings.Contains(err.Error(), "keeps beside it (portal.db-wal)") {
		t.Errorf("--out the WAL of the file a linked --db names: %v; want it refused", err)
	}
	for _, side := range []string{"-wal", "-shm", "-journal", "-reserve", "-access-spool", "-access-spool.damaged"} {
		if b, err := os.ReadFile(db + side); err == nil && bytes.HasPrefix(b, []byte(`{"resourceType"`)) {
			t.Errorf("the export was written to %s", side)
		}
	}
	if out, _, err := portal(t, "persons", "--db", db); err != nil || !strings.Contains(out, "Example") {
		t.Errorf("the database no longer lists its person: %v %q", err, out)
	}
	// Beside it, under another name, is fine.
	if _, _, err := portal(t, "export", "--db", db, "--person", "1", "--out", db+".json"); err != nil {
		t.Errorf("an export beside the database: %v", err)
	}
}

// TestExportOutInAFolderThatTakesNoFiles: a folder no file can be made in
// (/proc) is named as such, not as "no such file or directory".
func TestExportOutInAFolderThatTakesNoFiles(t *testing.T) {
	if _, err := os.Stat("/proc/version"); err != nil {
		t.Skip("no /proc here")
	}
	db := withPatient(t)
	_, _, err := portal(t, "export", "--db", db, "--person", "1", "--out", "/proc/version")
	if want := "export: --out /proc/version: no file can be made in its folder /proc (a system folder, such as /proc or /sys, takes none): name a file in another folder"; err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %q", err, want)
	}
}

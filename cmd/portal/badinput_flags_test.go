package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// withPatient is a database holding one person (id 1), in a fresh folder.
func withPatient(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "p.json")
	writePatient(t, file, "p1", "Example", "")
	db := filepath.Join(dir, "portal.db")
	if _, _, err := portal(t, "import", "--db", db, file); err != nil {
		t.Fatal(err)
	}
	return db
}

// TestFlagGivenTwiceOrWithoutItsValue: a flag that takes one value, given
// twice, is refused rather than the last one winning; a flag whose value was
// left out is refused rather than taking the next flag for its value (import
// --db --source gp would make a database called --source); a file or name
// that starts with "-" is refused, saying how to name such a file. Nothing
// is made in the folder the command runs in, and no secret is repeated.
func TestFlagGivenTwiceOrWithoutItsValue(t *testing.T) {
	db := withPatient(t)
	bundle := filepath.Join(filepath.Dir(db), "p.json")
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"a person twice", []string{"export", "--db", db, "--person", "1", "--person", "2"},
			"export: --person is given more than once: it takes one value, so give it once"},
		{"a person twice, as -person=", []string{"export", "--db", db, "-person=1", "--person=2"},
			"export: --person is given more than once: it takes one value, so give it once"},
		{"the database twice", []string{"persons", "--db", db, "--db", db + "x"},
			"persons: --db is given more than once: it takes one value, so give it once"},
		{"a source twice", []string{"import", "--db", db, "--source", "gp", bundle, "--source", "lab"},
			"import: --source is given more than once: it takes one value, so give it once"},
		{"a switch twice", []string{"source", "add", "gp", "http://127.0.0.1:1/fhir", "--db", db, "--social-care", "--social-care=false"},
			"source add: --social-care is given more than once: it takes one value, so give it once"},
		{"a token file twice", []string{"source", "add", "gp", "http://127.0.0.1:1/fhir", "--db", db, "--auth", "bearer", "--token-file", "sekr3t-a", "--token-file", "sekr3t-b"},
			"source add: --token-file is given more than once: it takes one value, so give it once"},
		{"the database's value left out", []string{"import", "--db", "--source", "gp", bundle},
			"import: --db has no value: the word after it, --source, is another of its flags"},
		{"the out file left out", []string{"export", "--db", db, "--out", "--person", "1"},
			"export: --out has no value: the word after it, --person, is another of its flags"},
		{"an organisation left out", []string{"import", "--db", db, "--org", "--source=gp", bundle},
			"import: --org has no value: the word after it, --source=gp, is another of its flags"},
		{"a file named like a flag", []string{"export", "--db", db, "--person", "1", "--out", "-record.json"},
			`export: --out "-record.json" starts with "-", as a flag does: if the file is called that, write ./-record.json`},
		{"a database named like a flag", []string{"migrate", "--db=-x.db"},
			`migrate: --db "-x.db" starts with "-", as a flag does: if the file is called that, write ./-x.db`},
		{"a source named like a flag", []string{"import", "--db", db, "--source", "-gp", bundle},
			`import: --source "-gp" starts with "-", as a flag does: was its value left out?`},
		{"a token file named like a flag", []string{"source", "add", "gp", "http://127.0.0.1:1/fhir", "--db", db, "--auth", "bearer", "--token-file", "-sekr3t"},
			`source add: --token-file: the value given starts with "-", as a flag does: if the file's name starts so, write ./ before it`},
		{"a period not a length of time", []string{"invite", "--db", db, "--person", "1", "--valid", "abc"},
			`invite: --valid "abc": not a length of time such as 90s, 15m or 168h (7 days)`},
		{"a period in days", []string{"serve", "--demo", "--db", db, "--enrol-valid", "7d"},
			`serve: --enrol-valid "7d": not a length of time such as 90s, 15m or 168h (7 days)`},
		// An empty value, as an unset variable gives, is no flag left out (a
		// review: each of these did what the flag left out does).
		{"an empty out file", []string{"export", "--db", db, "--person", "1", "--out", ""},
			"export: --out is empty (an unset variable?): give it a value, or leave it out"},
		{"an empty origin", []string{"invite", "--db", db, "--person", "1", "--origin="},
			"invite: --origin is empty (an unset variable?): give it a value, or leave it out"},
		{"an empty address", []string{"serve", "--demo", "--db", db, "--addr", ""},
			"serve: --addr is empty (an unset variable?): give it a value, or leave it out"},
		{"an empty head", []string{"audit", "verify", "--db", db, "--head", " "},
			"audit verify: --head is empty (an unset variable?): give it a value, or leave it out"},
		{"an empty organisation", []string{"import", "--db", db, "--org", "", bundle},
			"import: --org is empty (an unset variable?): give it a value, or leave it out"},
		{"an empty identifier to export", []string{"export", "--db", db, "--identifier", ""},
			"export: --identifier is empty (an unset variable?): give it a value, or leave it out"},
		{"a spool folder not there, to verify", []string{"audit", "verify", "--db", db, "--access-spool", "no-such-folder"},
			`audit verify: --access-spool "no-such-folder": no such folder: give the folder serve was given for the access log spool`},
		{"a spool folder that is a file", []string{"serve", "--demo", "--db", db, "--access-spool", db},
			`serve: --access-spool "` + db + `" is a file: give the folder the access log spool is in`},
		{"a database path ending as a folder's does", []string{"migrate", "--db", "x.db/"},
			`migrate: --db "x.db/" ends in /, as a folder does: give the database file's path, e.g. --db x.db`},
		{"an organisation with a new line and an escape", []string{"source", "add", "gp", "http://127.0.0.1:1/fhir", "--db", db, "--org", "Leeds\nTeaching\x1b[31m"},
			"source add: --org holds a control character, such as a new line, a tab, an escape or one that turns the text's direction: give it without"},
		{"an organisation whose text turns backwards", []string{"source", "add", "gp", "http://127.0.0.1:1/fhir", "--db", db, "--org", "Leeds \u202e latipsoH"},
			"source add: --org holds a control character, such as a new line, a tab, an escape or one that turns the text's direction: give it without"},
		{"a token file with a new line", []string{"source", "add", "gp", "http://127.0.0.1:1/fhir", "--db", db, "--auth", "bearer", "--token-file", "sekr3t\n"},
			"source add: --token-file holds a control character, such as a new line, a tab, an escape or one that turns the text's direction: give it without"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			out, stderr, err := portal(t, tt.args...)
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("got %v\nwant %q", err, tt.wantErr)
			}
			if strings.Contains(out+stderr+errString(err), "sekr3t") {
				t.Errorf("a secret was repeated: %q %q %v", out, stderr, err)
			}
			if made, _ := os.ReadDir("."); len(made) > 0 {
				t.Errorf("made %v in the current folder", made)
			}
		})
	}
	// Flags that add to one another may be repeated; any flag may be given
	// twice the same, which leaves nothing in doubt.
	t.Run("repeatable flags", func(t *testing.T) {
		if _, _, err := portal(t, "persons", "--db", db, "--db", db); err != nil {
			t.Errorf("--db twice the same: %v", err)
		}
		if _, _, err := portal(t, "import", "--db", db, "--link-system", "urn:oid:1.2", "--link-system", "urn:oid:1.3", bundle); err != nil {
			t.Errorf("--link-system twice: %v", err)
		}
		_, _, err := portal(t, "sync", "--db", db, "--bulk", "lth", "--files-from", "https://a.example", "--files-from", "https://b.example")
		if err == nil || strings.Contains(err.Error(), "more than once") {
			t.Errorf("--files-from twice: %v; want only the missing source refused", err)
		}
	})
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestEmptyDatabasePath: --db "" is refused by every command before anything
// is made: SQLite would take it for a temporary database, lost when the
// command ends, and the store's files beside it would land in the current folder.
func TestEmptyDatabasePath(t *testing.T) {
	dir := t.TempDir()
	bundle := filepath.Join(dir, "p.json")
	writePatient(t, bundle, "p1", "Example", "")
	tests := []struct {
		name string
		args []string
	}{
		{"import", []string{"import", bundle}},
		{"source add", []string{"source", "add", "gp", "http://127.0.0.1:1/fhir"}},
		{"source list", []string{"source", "list"}},
		{"migrate", []string{"migrate"}},
		{"serve", []string{"serve", "--demo", "--addr", "127.0.0.1:0"}},
		{"persons", []string{"persons"}},
		{"export", []string{"export", "--person", "1"}},
		{"invite", []string{"invite", "--person", "1"}},
		{"sync", []string{"sync"}},
		{"audit", []string{"audit", "verify"}},
		{"outbox", []string{"outbox"}},
	}
	for _, tt := range tests {
		for _, db := range []string{"", " "} {
			t.Run(tt.name+" "+strings.ReplaceAll(db, " ", "blank"), func(t *testing.T) {
				t.Chdir(t.TempDir())
				cmd := strings.Join(tt.args[:1], "")
				if tt.args[0] == "source" || tt.args[0] == "audit" {
					cmd = tt.args[0] + " " + tt.args[1]
				}
				want := cmd + `: --db "` + db + `" names no file: give the database's path, e.g. --db data/portal.db`
				ctx, cancel := context.WithCancel(context.Background())
				if tt.args[0] == "serve" {
					cancel() // serve, were it to start, stops at once
				}
				defer cancel()
				var out, stderr bytes.Buffer
				err := run(ctx, append(tt.args, "--db", db), noEnv, &out, &stderr)
				if err == nil || err.Error() != want {
					t.Errorf("got %v\nwant %q", err, want)
				}
				if made, _ := os.ReadDir("."); len(made) > 0 {
					t.Errorf("made %v in the current folder", made)
				}
			})
		}
	}
}

// TestDatabaseIsAFolder: --db naming a folder says so, whichever way it was given.
func TestDatabaseIsAFolder(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr string
	}{
		{"persons", nil, []string{"persons", "--db", dir}, "persons: --db " + dir + " is a folder: name the database file in it, e.g. --db " + filepath.Join(dir, "portal.db")},
		{"migrate", nil, []string{"migrate", "--db", dir}, "migrate: --db " + dir + " is a folder: name the database file in it, e.g. --db " + filepath.Join(dir, "portal.db")},
		{"import", nil, []string{"import", "--db", dir, "x.json"}, "import: --db " + dir + " is a folder: name the database file in it, e.g. --db " + filepath.Join(dir, "portal.db")},
		{"from the environment", map[string]string{"PORTAL_DB": dir}, []string{"audit", "verify"}, "audit verify: PORTAL_DB=" + dir + " is a folder: name the database file in it, e.g. " + filepath.Join(dir, "portal.db")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, stderr bytes.Buffer
			err := run(context.Background(), tt.args, func(k string) string { return tt.env[k] }, &out, &stderr)
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("got %v\nwant %q", err, tt.wantErr)
			}
			if made, _ := os.ReadDir(dir); len(made) > 0 {
				t.Errorf("made %v in the folder", made)
			}
		})
	}
}

// TestDatabaseInAFolderItMayNotWrite: a database in a folder this user may
// not make files in is refused saying it is the folder, whether or not the
// user may change the file itself: WAL mode makes its files beside the
// database to open it. A read-only file in a folder they may write opens.
func TestDatabaseInAFolderItMayNotWrite(t *testing.T) {
	if !asNobody(t) {
		return
	}
	dir := t.TempDir()
	ro := filepath.Join(dir, "ro")
	rw := filepath.Join(dir, "rw")
	readOnly, writable, inRW := filepath.Join(ro, "r.db"), filepath.Join(ro, "w.db"), filepath.Join(rw, "r.db")
	for _, db := range []string{readOnly, writable, inRW} {
		if _, _, err := portal(t, "migrate", "--db", db); err != nil {
			t.Fatal(err)
		}
	}
	for _, db := range []string{readOnly, inRW} {
		if err := os.Chmod(db, 0o400); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(ro, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(ro, 0o700) })
	folder := func(db string) string {
		base := filepath.Base(db)
		return "cannot open " + db + ": its folder " + ro + " does not let this user make files in it, and SQLite must make " + base + "-wal and " + base + "-shm beside the database to open it (WAL mode)"
	}
	tests := []struct{ name, db, want string }{
		{"a read-only file", readOnly, folder(readOnly)},
		{"a file it may change", writable, folder(writable)},
		{"a read-only file in a folder it may write", inRW, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, cmd := range [][]string{{"persons"}, {"audit", "verify"}, {"export", "--person", "1"}} {
				_, _, err := portal(t, append(cmd, "--db", tt.db)...)
				if tt.want == "" && err != nil && !strings.Contains(err.Error(), "No person with id 1") || tt.want != "" && (err == nil || err.Error() != tt.want) {
					t.Errorf("%s: got %v\nwant %q", cmd[0], err, tt.want)
				}
			}
		})
	}
}

// TestAddressesWithAPasswordAreNotRepeated: source add never repeats an
// address holding a user name and password, but --files-from and --origin
// (or PORTAL_ORIGIN) printed the password back, in the refusal that says
// an address must not hold one (a review).
func TestAddressesWithAPasswordAreNotRepeated(t *testing.T) {
	db := filepath.Join(t.TempDir(), "portal.db")
	if _, _, err := portal(t, "migrate", "--db", db); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"sync", "--db", db, "--bulk", "lth", "--files-from", "https://exports:S3CRETPW@exports.example.nhs.uk"},
		{"sync", "--db", db, "--bulk", "lth", "--files-from", "https://exports.example.nhs.uk/?sig=S3CRETPW"},
		{"invite", "--db", db, "--person", "1", "--origin", "https://admin:S3CRETPW@care.example.org"},
		{"serve", "--demo", "--db", db, "--addr", "127.0.0.1:0", "--origin", "https://admin:S3CRETPW@care.example.org"},
	} {
		out, stderr, err := portal(t, args...)
		if err == nil || strings.Contains(out+stderr+err.Error(), "S3CRETPW") {
			t.Errorf("%v: %v; the password is repeated:\n%s%s", args[:1], err, out, stderr)
		}
	}
}

// TestSessionKeySaysWhyItIsRefused: a key with a new line after it, as an
// env file leaves, is the key; one refused says what is wrong with it, by
// count or place, never repeating it (a review: each was told it needed "at
// least 64 hex characters", having 64 or more).
func TestSessionKeySaysWhyItIsRefused(t *testing.T) {
	key := strings.Repeat("ab", 32)
	for _, tt := range []struct{ key, wantErr string }{
		{key + "\n", ""},
		{" " + key + " ", ""},
		{key + "c", "PORTAL_SESSION_KEY has 65 hex characters: it needs an even number, at least 64, for example from `openssl rand -hex 32`"},
		{key[:62], "PORTAL_SESSION_KEY has 62 hex characters: it needs at least 64 (32 bytes), for example from `openssl rand -hex 32`"},
		{key[:10] + "g" + key[11:], "PORTAL_SESSION_KEY must be hex characters only (0 to 9 and a to f): character 11 is not one"},
	} {
		secret, err := Config{SessionKey: tt.key}.sessionSecret()
		switch {
		case tt.wantErr == "" && (err != nil || len(secret) != 32):
			t.Errorf("%q: %d bytes, %v; want the key's 32", tt.key, len(secret), err)
		case tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr):
			t.Errorf("%q: %v; want %q", tt.key, err, tt.wantErr)
		}
	}
}

// TestAPasswordAnAddressCannotParseIsNotRepeated: a password holding "/",
// "%", "#" or "?" makes the address fail to parse, and the message that
// refused it printed it whole (a review of the redaction).
func TestAPasswordAnAddressCannotParseIsNotRepeated(t *testing.T) {
	db := filepath.Join(t.TempDir(), "portal.db")
	if _, _, err := portal(t, "migrate", "--db", db); err != nil {
		t.Fatal(err)
	}
	for _, pw := range []string{"S3CRET/PW", "S3CRET%PW", "S3CRET#PW", "S3CRET?PW"} {
		for _, args := range [][]string{
			{"invite", "--db", db, "--person", "1", "--origin", "https://admin:" + pw + "@care.example.org"},
			{"serve", "--demo", "--db", db, "--addr", "127.0.0.1:0", "--origin", "https://admin:" + pw + "@care.example.org"},
			{"sync", "--db", db, "--bulk", "lth", "--files-from", "https://exports:" + pw + "@exports.example.nhs.uk"},
		} {
			out, stderr, err := portal(t, args...)
			msg := out + stderr
			if err != nil {
				msg += err.Error()
			}
			if err == nil || strings.Contains(msg, "S3CRET") {
				t.Errorf("%s %q: the password is repeated: %s", args[0], pw, msg)
			}
		}
	}
}

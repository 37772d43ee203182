package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

const largestBundle = "../../../shared/fhir/synthea/Lawerence6_Baumbach677_ea8d2576-4a23-4906-c353-bfed5adb23bd.json"

func noEnv(string) string { return "" }

// portal runs the program as a command line would, returning what it printed.
func portal(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), args, noEnv, &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestImportCommand(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "portal.db")

	// Flags may come after the arguments.
	out, _, err := portal(t, "import", largestBundle, "--db", db, "--source", "synthea")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^\s+Observation\s+\d+$`).MatchString(out) || !strings.Contains(out, "Imported 1 file into") {
		t.Errorf("import did not print counts per type:\n%s", out)
	}

	again, _, err := portal(t, "import", "--db", db, "--source", "synthea", largestBundle)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(again, "(0 added, 0 updated,") {
		t.Errorf("re-import should change nothing:\n%s", again)
	}

	bad := filepath.Join(dir, "broken.json")
	if err := os.WriteFile(bad, []byte("{\"resourceType\": \"Bundle\",\n\"type\": \"collection\",\n\"entry\": [,]}"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, err := portal(t, "import", "--db", db, bad, largestBundle)
	if err == nil {
		t.Fatal("a malformed file must give a non-zero exit")
	}
	if !strings.Contains(stderr, bad+": line 3, column 11") {
		t.Errorf("error should name the file and place, got:\n%s", stderr)
	}
	// A fault inside an entry or an NDJSON line is placed once, by the file's
	// own line; a Bundle with such an entry is not stored, while an NDJSON
	// line is a resource of its own, kept aside as the rest is stored.
	entry := filepath.Join(dir, "entry.json")
	if err := os.WriteFile(entry, []byte("{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":[\n{\"resource\":{\"resourceType\":\"Patient\",\"id\":\"p1\"}},\n{\"resource\":{\n\"resourceType\": 5,\n\"id\":\"o2\"}}]}"), 0o600); err != nil {
		t.Fatal(err)
	}
	lines := filepath.Join(dir, "lines.ndjson")
	if err := os.WriteFile(lines, []byte("{\"resourceType\":\"Patient\",\"id\":\"p1\"}\n\n{\"resourceType\":\"Patient\", \"id\": 5}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, err = portal(t, "import", "--db", db, entry, lines)
	for _, want := range []string{
		"import: " + entry + ": line 4, column 18: resourceType should be text, not a number (nothing from this file was stored)\n",
		"import: " + lines + ": line 3, column 35: id should be text, not a number (set aside)\n",
	} {
		if err == nil || !strings.Contains(stderr, want) {
			t.Errorf("stderr does not say %q (%v):\n%s", want, err, stderr)
		}
	}
	check, _, err := portal(t, "import", "--db", db, "--source", "synthea", largestBundle)
	if err != nil || !strings.Contains(check, "(0 added, 0 updated,") {
		t.Errorf("data stored before the bad file changed: %v\n%s", err, check)
	}

	if _, _, err := portal(t, "import", "--db", db, filepath.Join(dir, "missing.json")); err == nil || !strings.Contains(err.Error(), "1 of 1 files failed") {
		t.Errorf("missing file: got %v", err)
	}
	if _, _, err := portal(t, "import", "--db", db); err == nil {
		t.Error("import with no files should fail")
	}
}

func TestInviteCommand(t *testing.T) {
	db := filepath.Join(t.TempDir(), "portal.db")
	if _, _, err := portal(t, "import", "--db", db, "--source", "synthea", largestBundle); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		wantOut string
		wantErr string
	}{
		{"by person id", []string{"--person", "1"}, "/enrol?code=", ""},
		{"flags after nothing else", []string{"--db", db, "--person", "1", "--origin", "https://care.example.org"}, "https://care.example.org/enrol?code=", ""},
		{"unknown person", []string{"--person", "99"}, "", "invite: No person with id 99 in " + db},
		{"bad NHS number", []string{"--nhs-number", "123"}, "", "10 digits"},
		{"neither", nil, "", "name the person"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := portal(t, append([]string{"invite", "--db", db}, tt.args...)...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("got error %v, want it to say %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !strings.Contains(out, tt.wantOut) {
				t.Errorf("got %v, output %q; want %q", err, out, tt.wantOut)
			}
		})
	}
}

func TestServeNeedsSessionKeyOutsideDemo(t *testing.T) {
	_, _, err := portal(t, "serve", "--db", filepath.Join(t.TempDir(), "portal.db"))
	if err == nil || !strings.Contains(err.Error(), "PORTAL_SESSION_KEY") {
		t.Errorf("got %v, want a clear error about PORTAL_SESSION_KEY", err)
	}
}

func TestUnknownCommand(t *testing.T) {
	_, stderr, err := portal(t, "frobnicate")
	if err == nil || !strings.Contains(stderr, "Usage:") {
		t.Errorf("got %v, %q", err, stderr)
	}
}

func TestServeDemoPrintsEnrolmentLinks(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	done := make(chan error, 1)
	db := filepath.Join(t.TempDir(), "data", "portal.db")
	go func() {
		done <- run(ctx, []string{"serve", "--demo", "--db", db, "--addr", "127.0.0.1:0"}, noEnv, &out, &bytes.Buffer{})
	}()
	for !strings.Contains(out.String(), "is serving on") {
		select {
		case err := <-done:
			t.Fatalf("serve stopped: %v\n%s", err, out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	// The links name the port the system chose for :0, where it serves.
	serving := regexp.MustCompile(`is serving on (http://localhost:[1-9][0-9]*)\n`).FindStringSubmatch(out.String())
	if serving == nil {
		t.Fatalf("no port in the serving line:\n%s", out.String())
	}
	line := regexp.MustCompile(`Enrol Mrs Jane Example \(NHS 943 476 5919, born 14 March 1957\): ` + regexp.QuoteMeta(serving[1]) + `/enrol\?code=[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}`)
	if !line.MatchString(out.String()) {
		t.Errorf("demo enrolment line missing:\n%s", out.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("graceful shutdown: %v", err)
	}
	if _, err := os.Stat(db); err != nil {
		t.Errorf("database file not created: %v", err)
	}
}

// TestServeListensFirst: a portal that cannot listen, or whose address makes
// an origin passkeys cannot use, says so naming the flag or variable, before
// it stores or prints anything: no database, no enrolment codes, no links.
func TestServeListensFirst(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr string // at the start of the error
	}{
		{"no address", map[string]string{"PORTAL_ADDR": "nonsense"}, nil, `serve: PORTAL_ADDR="nonsense": cannot listen there: `},
		{"no address flag", map[string]string{"PORTAL_ADDR": "127.0.0.1:0"}, []string{"--addr", "nonsense"}, `serve: --addr "nonsense": cannot listen there: `},
		{"port in use", nil, []string{"--addr", busy.Addr().String()}, `serve: --addr "` + busy.Addr().String() + `": cannot listen there: `},
		{"port in use variable", map[string]string{"PORTAL_ADDR": busy.Addr().String()}, nil, `serve: PORTAL_ADDR="` + busy.Addr().String() + `": cannot listen there: `},
		{"an IP address origin", nil, []string{"--addr", "127.0.0.2:0"}, `serve: the origin http://127.0.0.2:`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "data", "portal.db")
			var out, stderr bytes.Buffer
			err := run(context.Background(), append([]string{"serve", "--demo", "--db", db}, tt.args...), func(k string) string { return tt.env[k] }, &out, &stderr)
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Errorf("got %v\nwant it to start %q", err, tt.wantErr)
			}
			if out.Len() > 0 {
				t.Errorf("printed before refusing:\n%s", out.String())
			}
			if _, err := os.Stat(filepath.Dir(db)); !os.IsNotExist(err) {
				t.Errorf("the database's folder was made: %v", err)
			}
		})
	}
	_, _, err = portal(t, "serve", "--demo", "--db", filepath.Join(t.TempDir(), "portal.db"), "--addr", "127.0.0.2:0")
	if want := `made from --addr "127.0.0.2:0": passkeys need a domain name, not an IP address (127.0.0.2)`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want it to say %q", err, want)
	}
}

// serveAWhile runs serve until it says it is serving, then stops it; or
// until it stops by itself, returning its error.
func serveAWhile(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), noEnv, &out, &bytes.Buffer{})
	}()
	for !strings.Contains(out.String(), "is serving on") {
		select {
		case err := <-done:
			return out.String(), err
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	return out.String(), <-done
}

// TestServeDemoOnlyIntoADemoDatabase: demo data goes into a new database or
// one holding only the demo; a database with other records is refused, saying
// so and what to do, with no codes made and nothing loaded.
func TestServeDemoOnlyIntoADemoDatabase(t *testing.T) {
	dir := t.TempDir()
	demoDB := filepath.Join(dir, "demo.db")
	for i := range 2 {
		out, err := serveAWhile(t, "--demo", "--db", demoDB)
		if err != nil || strings.Count(out, "/enrol?code=") != 3 {
			t.Fatalf("run %d on a demo database: %v\n%s", i+1, err, out)
		}
	}

	db := filepath.Join(dir, "portal.db")
	if _, _, err := portal(t, "import", "--db", db, "--source", "synthea", largestBundle); err != nil {
		t.Fatal(err)
	}
	out, err := serveAWhile(t, "--demo", "--db", db)
	want := "serve --demo: " + db + " holds records that are not demo data (1 person), so the demo was not loaded and nothing was changed: demo data goes only into a new database or one that holds only the demo. Name another file with --db, such as --db " + demoDB + ", or start without --demo"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %q", err, want)
	}
	if strings.Contains(out, "Enrol") || strings.Contains(out, "demo") {
		t.Errorf("printed links or a demo notice:\n%s", out)
	}
	raw, err := sql.Open("sqlite3", "file:"+store.URIPath(db))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var persons, codes int
	if err := raw.QueryRow(`SELECT (SELECT COUNT(*) FROM persons), (SELECT COUNT(*) FROM enrolment_codes)`).Scan(&persons, &codes); err != nil {
		t.Fatal(err)
	}
	if persons != 1 || codes != 0 {
		t.Errorf("%d persons and %d enrolment codes after the refusal, want 1 and 0", persons, codes)
	}
}

// syncBuffer is a bytes.Buffer safe to read while the server writes to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestSourceSocialCare: a source is marked as a social care service when it is
// added, or later (as one made by an import must be), and the list says which.
func TestSourceSocialCare(t *testing.T) {
	db := filepath.Join(t.TempDir(), "portal.db")
	if _, _, err := portal(t, "source", "add", "adult-care", "http://127.0.0.1:1/fhir", "--social-care", "--org", "Leeds Adult Social Care", "--db", db); err != nil {
		t.Fatal(err)
	}
	if _, _, err := portal(t, "import", largestBundle, "--db", db, "--source", "synthea"); err != nil {
		t.Fatal(err)
	}
	socialCare := func() map[string]string {
		t.Helper()
		out, _, err := portal(t, "source", "list", "--db", db)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
			f := strings.Fields(line)
			got[f[0]] = f[len(f)-1]
		}
		return got
	}
	if got := socialCare(); got["adult-care"] != "yes" || got["synthea"] != "no" {
		t.Fatalf("after add: social care %v", got)
	}
	for _, c := range []struct{ name, answer, want string }{
		{"synthea", "yes", "yes"},
		{"adult-care", "no", "no"},
	} {
		if _, _, err := portal(t, "source", "social-care", c.name, c.answer, "--db", db); err != nil {
			t.Fatal(err)
		}
		if got := socialCare(); got[c.name] != c.want {
			t.Errorf("source social-care %s %s: list says %q", c.name, c.answer, got[c.name])
		}
	}
	for _, args := range [][]string{{"no-such-source", "yes"}, {"synthea", "maybe"}, {"synthea"}} {
		if _, _, err := portal(t, append(append([]string{"source", "social-care"}, args...), "--db", db)...); err == nil {
			t.Errorf("source social-care %v: no error", args)
		}
	}
}

// A bulk load that stopped half way, and has been quiet since, is finished
// by the next import command; one that may still be running is left alone.
func TestImportFinishesAStalledBulkLoad(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "portal.db")
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	var res []fhir.Resource
	for _, raw := range []string{
		`{"resourceType":"Patient","id":"p1","name":[{"family":"Bulk"}]}`,
		`{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"Pulse"},"subject":{"reference":"Patient/p1"},"effectiveDateTime":"2026-01-02","valueQuantity":{"value":70,"unit":"/min"}}`,
	} {
		r, err := fhir.ParseResource([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		res = append(res, r)
	}
	if _, err := db.ImportBulk(ctx, store.ImportOptions{Source: "region"}, "test", store.PrepareAll(res)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	file := filepath.Join(dir, "other.json")
	if err := os.WriteFile(file, []byte(`{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","id":"p2","name":[{"family":"Other"}]}}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	backlog := func() int {
		raw, err := sql.Open("sqlite3", "file:"+store.URIPath(path))
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		var n int
		if err := raw.QueryRow(`SELECT COUNT(*) FROM search_backlog`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	out, _, err := portal(t, "import", "--db", path, "--source", "files", file)
	if err != nil || strings.Contains(out, "Finished a bulk load") || backlog() != 1 {
		t.Fatalf("an import just after a bulk load batch: %v, backlog %d\n%s", err, backlog(), out)
	}
	raw, err := sql.Open("sqlite3", "file:"+store.URIPath(path))
	if err != nil {
		t.Fatal(err)
	}
	quiet := time.Now().Add(-store.BulkLoadQuiet - time.Minute).UTC().Format("2006-01-02T15:04:05.000000000Z")
	if _, err := raw.Exec(`UPDATE bulk_load_alive SET at = ?`, quiet); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	out, _, err = portal(t, "import", "--db", path, "--source", "files", file)
	if err != nil || !strings.Contains(out, "a bulk load that had stopped half way") || backlog() != 0 {
		t.Fatalf("an import after the load went quiet: %v, backlog %d\n%s", err, backlog(), out)
	}
}

// TestStrayArguments: a word a command does not use is refused, never
// ignored; "portal --db b.db migrate" must not start the web server.
func TestStrayArguments(t *testing.T) {
	db := filepath.Join(t.TempDir(), "portal.db")
	if _, _, err := portal(t, "import", "--db", db, "--source", "synthea", largestBundle); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"a command after serve's flags", []string{"--db", db, "migrate"}, `serve: unexpected argument "migrate": a command goes first, before its flags, e.g. portal migrate --db ` + db},
		{"a word after serve", []string{"serve", "--db", db, "extra"}, `serve: unexpected argument "extra"`},
		{"export", []string{"export", "--db", db, "--person", "1", "extra"}, `export: unexpected argument "extra"`},
		{"invite", []string{"invite", "--db", db, "--person", "1", "extra"}, `invite: unexpected argument "extra"`},
		{"migrate", []string{"migrate", "--db", db, "extra"}, `migrate: unexpected argument "extra"`},
		{"persons", []string{"persons", "--db", db, "extra"}, `persons: unexpected argument "extra"`},
		{"source list", []string{"source", "list", "--db", db, "extra"}, `source list: unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := portal(t, tt.args...)
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("got error %v, want %q", err, tt.wantErr)
			}
			if out != "" {
				t.Errorf("printed %d bytes before refusing", len(out))
			}
		})
	}
}

// TestCommandsNeedADatabase: only serve, migrate, import and source add may
// make a database. The other commands refuse a path with none, or with a file
// that is not the portal's, and leave it as it was: a mistyped --db must not
// give an empty database and a false all-clear.
func TestCommandsNeedADatabase(t *testing.T) {
	commands := [][]string{
		{"audit", "verify"},
		{"outbox"},
		{"outbox", "push"},
		{"export", "--person", "1"},
		{"invite", "--person", "1"},
		{"persons"},
		{"sync"},
		{"source", "list"},
		{"source", "remove", "gp"},
		{"source", "social-care", "gp", "yes"},
	}
	t.Run("missing", func(t *testing.T) {
		for _, args := range commands {
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				dir := filepath.Join(t.TempDir(), "typo")
				path := filepath.Join(dir, "portal.db")
				_, _, err := portal(t, append(args, "--db", path)...)
				want := "no database at " + path + " (run portal migrate --db " + path + " to create one)"
				if err == nil || err.Error() != want {
					t.Errorf("got %v, want %q", err, want)
				}
				if _, err := os.Stat(dir); !os.IsNotExist(err) {
					t.Errorf("the folder was made: %v", err)
				}
			})
		}
	})
	t.Run("not the portal's", func(t *testing.T) {
		for _, args := range commands {
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				dir := t.TempDir()
				path := filepath.Join(dir, "other.db")
				raw, err := sql.Open("sqlite3", "file:"+path)
				if err != nil {
					t.Fatal(err)
				}
				defer raw.Close()
				if _, err := raw.Exec(`CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)`); err != nil {
					t.Fatal(err)
				}
				_, _, err = portal(t, append(args, "--db", path)...)
				if want := path + " is not a My Care Record database"; err == nil || err.Error() != want {
					t.Errorf("got %v, want %q", err, want)
				}
				var tables int
				if err := raw.QueryRow(`SELECT COUNT(*) FROM sqlite_master`).Scan(&tables); err != nil || tables != 1 {
					t.Errorf("the file now holds %d tables (%v), want its one", tables, err)
				}
				if entries, _ := os.ReadDir(dir); len(entries) != 1 {
					t.Errorf("files were made beside it: %v", entries)
				}
			})
		}
	})
	t.Run("migrate makes one", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "new", "portal.db")
		if _, _, err := portal(t, "migrate", "--db", path); err != nil {
			t.Fatal(err)
		}
		if out, _, err := portal(t, "audit", "verify", "--db", path); err != nil || !strings.HasPrefix(out, "access log intact: 0 entries") {
			t.Errorf("after migrate: %v %q", err, out)
		}
	})
}

// TestSourceAddAddress: the address is checked as it was written, as every
// sync checks it, and one holding a password, a query or a fragment (any of
// which may be a secret) is never stored or printed.
func TestSourceAddAddress(t *testing.T) {
	db := filepath.Join(t.TempDir(), "portal.db")
	tests := []struct{ addr, wantErr string }{
		{"http://user:s3cret@127.0.0.1:1/fhir", "source add: The FHIR server address must not hold a user name or password"},
		{"http://", `source add: The FHIR server address "http://" has no server name after http://.`},
		// Each of these was stored, then refused by every sync.
		{"http://127.0.0.1:1/fhir?api_key=s3cret", "source add: The FHIR server address must not have a query (a part from ?)"},
		{"http://127.0.0.1:1/fhir#s3cret", "source add: The FHIR server address must not have a fragment (a part from #)"},
		{"http://127.0.0.1:99999/fhir", `source add: The FHIR server address "http://127.0.0.1:99999/fhir" has port 99999: a port is a number from 1 to 65535.`},
		{" http://127.0.0.1:1/fhir", `source add: The FHIR server address " http://127.0.0.1:1/fhir" has a space in it`},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			out, stderr, err := portal(t, "source", "add", "gp", tt.addr, "--db", db)
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Errorf("got %v, want %q", err, tt.wantErr)
			}
			if strings.Contains(out+stderr+fmt.Sprint(err), "s3cret") {
				t.Errorf("the secret was printed: %q %q %v", out, stderr, err)
			}
		})
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("a refused source left a database behind: %v", err)
	}
	out, _, err := portal(t, "source", "add", "gp", "http://127.0.0.1:1/fhir/", "--db", db, "--org", "Meanwood Group Practice")
	if err != nil || out != "Added source gp (http://127.0.0.1:1/fhir).\n" {
		t.Errorf("got %v, %q", err, out)
	}
}

// TestPersonArguments: the ways of naming a person are checked before the
// database is opened (here there is none), and a person not found is named.
func TestPersonArguments(t *testing.T) {
	dir := t.TempDir()
	none := filepath.Join(dir, "none", "portal.db")
	db := filepath.Join(dir, "portal.db")
	if _, _, err := portal(t, "import", "--db", db, "--source", "synthea", largestBundle); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"two ways", []string{"--db", none, "--person", "1", "--nhs-number", "9434765919"}, "give only one of --person, --nhs-number or --identifier"},
		{"three ways", []string{"--db", none, "--person", "1", "--nhs-number", "9434765919", "--identifier", "a|b"}, "give only one of --person, --nhs-number or --identifier"},
		{"wrong check digit", []string{"--db", none, "--nhs-number", "943 476 5918"}, "NHS number 943 476 5918 is not valid: its check digit is wrong"},
		{"too short", []string{"--db", none, "--nhs-number", "123"}, `--nhs-number "123": an NHS number is 10 digits`},
		// The same written out as an identifier (a review: it went to the source unchecked).
		{"wrong check digit as an identifier", []string{"--db", none, "--identifier", "https://fhir.nhs.uk/Id/nhs-number|9434765918"}, "NHS number 943 476 5918 is not valid: its check digit is wrong"},
		{"too short as an identifier", []string{"--db", none, "--identifier", "https://fhir.nhs.uk/Id/nhs-number|123"}, `--identifier "123": an NHS number is 10 digits`},
		{"identifier without a system", []string{"--db", none, "--identifier", "nopipe"}, `--identifier "nopipe": write it as SYSTEM|VALUE`},
		{"negative id", []string{"--db", none, "--person", "-3"}, "--person -3: a person's id is a number above 0"},
		{"id 0", []string{"--db", none, "--person", "0"}, "--person 0: a person's id is a number above 0"},
		{"no such id", []string{"--db", db, "--person", "99"}, "No person with id 99 in " + db},
		{"no such NHS number", []string{"--db", db, "--nhs-number", "9434765919"}, "No person with NHS number 943 476 5919 in " + db},
		{"no such identifier", []string{"--db", db, "--identifier", "https://example.org/mrn|42"}, "No person with identifier https://example.org/mrn|42 in " + db},
	}
	for _, cmd := range []string{"export", "invite", "sync"} {
		for _, tt := range tests {
			if cmd == "sync" && tt.args[1] == db && tt.name != "no such id" {
				continue // sync looks for them at its sources
			}
			t.Run(cmd+" "+tt.name, func(t *testing.T) {
				out, _, err := portal(t, append([]string{cmd}, tt.args...)...)
				if want := cmd + ": " + tt.wantErr; err == nil || !strings.HasPrefix(err.Error(), want) {
					t.Errorf("got %v, want %q", err, want)
				}
				if out != "" {
					t.Errorf("printed %d bytes", len(out))
				}
			})
		}
	}
	if _, err := os.Stat(filepath.Dir(none)); !os.IsNotExist(err) {
		t.Errorf("a command opened the database before checking its arguments: %v", err)
	}
}

// TestSyncNamesAMissingPersonOnce: a person named by id who is not here is
// one error, not one for each source.
func TestSyncNamesAMissingPersonOnce(t *testing.T) {
	db := filepath.Join(t.TempDir(), "portal.db")
	for _, name := range []string{"a", "b"} {
		if _, _, err := portal(t, "source", "add", name, "http://127.0.0.1:1/"+name+"/fhir", "--db", db); err != nil {
			t.Fatal(err)
		}
	}
	out, stderr, err := portal(t, "sync", "--db", db, "--person", "99")
	if want := "sync: No person with id 99 in " + db; err == nil || err.Error() != want || out != "" || stderr != "" {
		t.Errorf("got %v, out %q, stderr %q; want only %q", err, out, stderr, want)
	}
}

// TestImportSaysWhatWasSetAside: each resource that cannot be read is named
// with its file, place and a plain reason, and the exit status says so.
func TestImportSaysWhatWasSetAside(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "portal.db")
	bundle := filepath.Join(dir, "gp.json")
	if err := os.WriteFile(bundle, []byte(`{"resourceType":"Bundle","type":"collection","entry":[
{"resource":{"resourceType":"Patient","id":"p1","name":[{"family":"Example"}]}},
{"resource":{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"Pulse"},"subject":{"reference":"Patient/p1"},"valueQuantity":{"value":"abc"}}},
{"resource":{"resourceType":"Patient","id":"p2","name":{"family":"Other"}}}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	ndjson := filepath.Join(dir, "obs.ndjson")
	if err := os.WriteFile(ndjson, []byte(`{"resourceType":"Observation","id":"o2","status":"final","code":{"text":"Pulse"},"subject":{"reference":"Patient/p1"},"valueQuantity":{"value":70}}`+"\n\n"+
		`{"resourceType":"Observation","id":"o3","status":"final","code":{"text":"Pulse"},"subject":{"reference":"Patient/p1"},"valueQuantity":{"value":70,"unit":5}}`+"\n"+
		`{"resourceType":"Observation","id":"o4", cut short`+"\n"+`{"resourceType":"Observation"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, err := portal(t, "import", "--db", db, bundle, ndjson)
	for _, want := range []string{
		"import: " + bundle + ": entry 2: Observation/o1: valueQuantity.value should be a number, not text (set aside)\n",
		"import: " + bundle + ": entry 3: Patient/p2: name should be a list [ … ], not an object (set aside)\n",
		"import: " + ndjson + ": line 3: Observation/o3: valueQuantity.unit should be text, not a number (set aside)\n",
		// A line that is not JSON, or names no resource, is one resource kept aside: the rest of the file is stored.
		"import: " + ndjson + ": line 4, column 42: invalid JSON: invalid character 'c' looking for beginning of object key string (set aside)\n",
		"import: " + ndjson + ": line 5: the Observation has no id (set aside)\n",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not say %q:\n%s", want, stderr)
		}
	}
	if want := "import: 5 resources were set aside (see above); the rest was stored"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
	if out, _, _ := portal(t, "persons", "--db", db); !strings.Contains(out, "Example") {
		t.Errorf("the person in the bundle was not stored:\n%s", out)
	}
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if n, err := st.ResourceCounts(context.Background()); err != nil || n["Observation"] != 1 {
		t.Errorf("observations stored: %v, %v; want o2, the one line that reads", n, err)
	}
}

// TestImportSourceName: --source is checked once, before anything is opened
// or read, by the rule source add names a source by.
func TestImportSourceName(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		source  string
		wantErr string // "" for a name both accept
	}{
		{"two words", "bad name", `import: --source "bad name": a source name must be one word of letters, digits, dots, hyphens or underscores, like leeds-hospitals: character 4, ' ', is not one of those`},
		{"none", "", `import: --source is empty (an unset variable?): give it a value, or leave it out`},
		{"only a space", " ", `import: --source is empty (an unset variable?): give it a value, or leave it out`},
		{"a tab", "gp\tpractice", `import: --source holds a control character, such as a new line, a tab, an escape or one that turns the text's direction: give it without`},
		{"a new line", "gp\n", `import: --source holds a control character, such as a new line, a tab, an escape or one that turns the text's direction: give it without`},
		{"a slash", "gp/x", `import: --source "gp/x": a source name must be one word of letters, digits, dots, hyphens or underscores, like leeds-hospitals: character 3, '/', is not one of those`},
		{"a character a URI escapes", "gp#2", `import: --source "gp#2": a source name must be one word of letters, digits, dots, hyphens or underscores, like leeds-hospitals: character 3, '#', is not one of those`},
		{"a space after it", "leeds-hospitals ", `import: --source "leeds-hospitals ": a source name must be one word of letters, digits, dots, hyphens or underscores, like leeds-hospitals: character 16, ' ', is not one of those`},
		{"65 characters", strings.Repeat("a", 65), `import: --source "` + strings.Repeat("a", 65) + `": a source name must be one word of letters, digits, dots, hyphens or underscores, like leeds-hospitals, of at most 64 characters: this one has 65`},
		{"a dot first", ".gp", `import: --source ".gp": a source name must be one word of letters, digits, dots, hyphens or underscores, like leeds-hospitals, starting with a letter or digit: it starts with '.'`},
		{"one word", "leeds-hospitals", ""},
		{"dots and digits", "gp.2", ""},
	}
	ctx := context.Background()
	added, err := store.Open(ctx, filepath.Join(dir, "added.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer added.Close()
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := filepath.Join(dir, fmt.Sprint(i), "portal.db")
			out, stderr, err := portal(t, "import", "--db", db, "--source", tt.source, largestBundle)
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("refused: %v\n%s", err, stderr)
				}
			} else {
				if err == nil || err.Error() != tt.wantErr {
					t.Errorf("got %v\nwant %q", err, tt.wantErr)
				}
				if out != "" || stderr != "" {
					t.Errorf("said more than the error: %q %q", out, stderr)
				}
				if _, err := os.Stat(filepath.Dir(db)); !os.IsNotExist(err) {
					t.Errorf("the database's folder was made: %v", err)
				}
			}
			// The same rule as source add's.
			_, addErr := added.AddSource(ctx, store.Source{Name: tt.source, BaseURL: fmt.Sprintf("http://127.0.0.1:%d/fhir", i+1)})
			if (addErr == nil) != (tt.wantErr == "") {
				t.Errorf("source add says %v, import %v", addErr, err)
			}
		})
	}
}

// TestImportSummaryIsTrue: the summary of what was imported is printed only
// when something was: an import that stored nothing prints nothing on
// standard output, and its error says why.
func TestImportSummaryIsTrue(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "portal.db")
	bad := filepath.Join(dir, "broken.json")
	if err := os.WriteFile(bad, []byte(`{"resourceType": "Bundle", "entry": [,]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o700); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		paths   []string
		wantOut string // in standard output; "" for nothing there
		wantErr string
	}{
		{"a broken file", []string{bad}, "", "import: 1 of 1 files failed"},
		{"a missing file", []string{filepath.Join(dir, "missing.json")}, "", "import: 1 of 1 files failed"},
		{"an empty folder", []string{empty}, "", "import: 1 of 1 files failed"},
		{"one good, one broken", []string{bad, largestBundle}, `Imported 1 file into source "files" in`, "import: 1 of 2 files failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := portal(t, append([]string{"import", "--db", db}, tt.paths...)...)
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("got %v, want %q", err, tt.wantErr)
			}
			if (tt.wantOut == "" && out != "") || !strings.Contains(out, tt.wantOut) {
				t.Errorf("stdout %q, want %q", out, tt.wantOut)
			}
		})
	}
}

// TestImportIndexesNamesFromALaterFile: a file holding the practice that
// entries of a file imported before name only by reference makes them
// found by its name.
func TestImportIndexesNamesFromALaterFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "portal.db")
	entries := filepath.Join(dir, "1-entries.json")
	practice := filepath.Join(dir, "2-practice.json")
	for name, body := range map[string]string{
		entries: `{"resourceType":"Bundle","type":"collection","entry":[
{"resource":{"resourceType":"Patient","id":"p1","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}]}},
{"resource":{"resourceType":"Encounter","id":"e1","status":"finished","class":{"code":"AMB"},"subject":{"reference":"Patient/p1"},"period":{"start":"2026-02-01"},"serviceProvider":{"reference":"Organization/o1"}}}]}`,
		practice: `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Organization","id":"o1","name":"Meanwood Group Practice"}}]}`,
	} {
		if err := os.WriteFile(name, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, stderr, err := portal(t, "import", "--db", path, "--source", "gp", dir); err != nil {
		t.Fatalf("import: %v\n%s", err, stderr)
	}
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, err := db.PersonByNHSNumber(ctx, "9434765919")
	if err != nil {
		t.Fatal(err)
	}
	if res, err := db.SearchRecord(ctx, p.ID, "meanwood", store.SearchOptions{PerSection: 5}); err != nil || res.Total != 1 {
		t.Errorf("search for the practice's name: %d found, %v; want the encounter", res.Total, err)
	}
}

// TestInviteUsesServesSecret: codes are stored under the server's secret
// (PORTAL_SESSION_KEY). Once serve has stored codes under it, portal invite
// without it, or with another, is refused, saying so, since the code it made
// would never be recognised; with it, the code is made.
func TestInviteUsesServesSecret(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "portal.db")
	if _, _, err := portal(t, "import", "--db", db, "--source", "synthea", largestBundle); err != nil {
		t.Fatal(err)
	}
	secret := strings.Repeat("ab", 32)
	s, err := store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := hex.DecodeString(secret)
	if _, err := s.UseCodeKey(ctx, raw, true); err != nil { // as serve does when it starts
		t.Fatal(err)
	}
	s.Close()
	for _, tt := range []struct {
		name, key, wantErr string
	}{
		{"no secret", "", "invite: PORTAL_SESSION_KEY is not set: portal serve stores this database's codes under that secret"},
		{"another secret", strings.Repeat("cd", 32), "invite: This database's codes are checked with the secret portal serve uses"},
		{"serve's secret", secret, ""},
	} {
		var out, stderr bytes.Buffer
		err := run(ctx, []string{"invite", "--db", db, "--person", "1"}, func(k string) string {
			if k == "PORTAL_SESSION_KEY" {
				return tt.key
			}
			return ""
		}, &out, &stderr)
		switch {
		case tt.wantErr == "" && (err != nil || !strings.Contains(out.String(), "/enrol?code=")):
			t.Errorf("%s: %v, %q; want a code", tt.name, err, out.String())
		case tt.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.wantErr)):
			t.Errorf("%s: %v; want %q", tt.name, err, tt.wantErr)
		}
	}
}

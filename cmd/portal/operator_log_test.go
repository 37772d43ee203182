package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"database/sql"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhirsync"
)

// TestInviteIsLogged: portal invite puts on the person's access log that an
// operator made an enrolment code, which with their date of birth opens
// their record (a privacy review: nothing said so).
func TestInviteIsLogged(t *testing.T) {
	dir := importFiles(t, map[string]string{"a.json": importGPA})
	db := filepath.Join(dir, "portal.db")
	portal(t, "import", "--db", db, filepath.Join(dir, "a.json"))
	if _, _, err := portal(t, "invite", "--db", db, "--person", "1"); err != nil {
		t.Fatal(err)
	}
	if n := importCount(t, db, `SELECT COUNT(*) FROM access_log WHERE person_id = 1 AND actor_kind = 'operator' AND action = 'account' AND what = 'made an enrolment code'`); n != 1 {
		t.Errorf("after portal invite: %d operator entries saying a code was made, want 1", n)
	}
}

// TestOperatorNamedThroughSudo: the portal's files are its own user's, so
// operators run commands through sudo: the log names who ran sudo, as whom
// (a privacy review: every entry named the service account).
func TestOperatorNamedThroughSudo(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"SUDO_USER": "alice", "USER": "portal"}, "alice (as "},
		{map[string]string{"USER": "portal"}, ""},
	} {
		env := func(k string) string { return tc.env[k] }
		got := operatorName(env)
		if tc.want != "" && !strings.HasPrefix(got, tc.want) || tc.want == "" && strings.Contains(got, "(as") {
			t.Errorf("with %v, the operator is %q; want it to start %q", tc.env, got, tc.want)
		}
	}
	db := filepath.Join(t.TempDir(), "portal.db")
	portal(t, "import", "--db", db, "--source", "synthea", largestBundle)
	env := func(k string) string { return map[string]string{"SUDO_USER": "alice", "USER": "portal"}[k] }
	if err := run(context.Background(), []string{"export", "--db", db, "--person", "1"}, env, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	if n := importCount(t, db, `SELECT COUNT(*) FROM access_log WHERE actor_name LIKE 'alice (as %'`); n != 1 {
		t.Errorf("alice exported the record through sudo; %d access log entries name her, want 1", n)
	}
}

// TestSyncOfEveryoneNamesNoOne: a sync of everyone names each person by id,
// not by name beside the source, which would say who is treated where (a
// privacy review: "leeds-sexual-health: Ms. Cecelia Romaguera brought up to
// date", and no log said it had been printed); a sync of a person named
// names them.
func TestSyncOfEveryoneNamesNoOne(t *testing.T) {
	srv, patientID := startFHIR(t)
	db := filepath.Join(t.TempDir(), "portal.db")
	portal(t, "source", "add", "leeds-sexual-health", srv.URL, "--db", db)
	named, _, err := portal(t, "sync", "--db", db, "--identifier", syntheaSystem+"|"+patientID)
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := portal(t, "sync", "--db", db)
	if err != nil {
		t.Fatal(err)
	}
	var name string
	raw, err := sql.Open("sqlite3", "file:"+db+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if err := raw.QueryRow(`SELECT json_extract(json, '$.name[0].family') FROM resources WHERE type = 'Patient'`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	name = strings.TrimRight(name, "0123456789") // Synthea numbers its names; the portal shows them without
	if name == "" || !strings.Contains(named, name) {
		t.Fatalf("the sync of the person named does not name them (%q):\n%s", name, named)
	}
	if strings.Contains(out, name) || !strings.Contains(out, "leeds-sexual-health: person 1 brought up to date") {
		t.Errorf("a sync of everyone said:\n%s\nwant person 1, not %s", out, name)
	}
}

// TestAcceptNHSNumberIsLogged: an operator accepting a source's new NHS
// number for a person changes what their record is found by, and files what
// was held into it: their access log says so (a privacy review).
func TestAcceptNHSNumberIsLogged(t *testing.T) {
	dir := importFiles(t, map[string]string{"a.json": importGPA, "b.json": importGPB})
	db := filepath.Join(dir, "portal.db")
	portal(t, "import", "--db", db, filepath.Join(dir, "a.json"))
	portal(t, "import", "--db", db, filepath.Join(dir, "b.json")) // set aside: another NHS number
	if _, _, err := portal(t, "source", "accept-nhs-number", "--db", db, "files", "1"); err != nil {
		t.Fatal(err)
	}
	if n := importCount(t, db, `SELECT COUNT(*) FROM access_log WHERE person_id = 1 AND actor_kind = 'operator' AND action = 'account' AND what LIKE 'changed the NHS number%'`); n != 1 {
		t.Errorf("after accept-nhs-number: %d operator entries saying the NHS number changed, want 1", n)
	}
}

// TestStoppedBulkSaysSo: sync --bulk stopped (Ctrl-C, a signal) says it was
// stopped and that the next --bulk finishes the load, not the pages' "we will
// try again soon", which nothing would (an operator review).
func TestStoppedBulkSaysSo(t *testing.T) {
	db := filepath.Join(t.TempDir(), "portal.db")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cancel() // stopped while the export is asked for
		<-r.Context().Done()
	}))
	defer srv.Close()
	if _, _, err := portal(t, "source", "add", "lth", srv.URL+"/fhir", "--db", db); err != nil {
		t.Fatal(err)
	}
	var out, errOut strings.Builder
	err := run(ctx, []string{"sync", "--bulk", "lth", "--db", db}, func(string) string { return "" }, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "stopped before it was finished") || strings.Contains(out.String()+errOut.String()+err.Error(), "We will try again") {
		t.Errorf("sync --bulk stopped: %v\n%s%s", err, out.String(), errOut.String())
	}
}

// TestSourceAddSavesTheScope: a SMART source added with no --scope is saved
// asking to read the record and write Consent (fhirsync.DefaultSMARTScope),
// and one given --scope keeps it; a source saved with none, added before,
// still asks only to read (an operator review, and a review of that fix: an
// upgrade that asked such a source for more could have every sync refused).
func TestSourceAddSavesTheScope(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "portal.db")
	ec, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key := writeKey(t, dir, "ec.pem", ec, 0o600)
	for name, scope := range map[string][]string{"gp": nil, "lth": {"--scope", "system/*.rs"}} {
		args := append([]string{"source", "add", name, "http://127.0.0.1:1/" + name, "--db", db, "--auth", "smart-backend", "--client-id", "c",
			"--key-id", "k", "--token-url", "http://localhost:2/token", "--key-file", key}, scope...)
		if _, _, err := portal(t, args...); err != nil {
			t.Fatal(err)
		}
	}
	s, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	srcs, err := s.Sources(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, src := range srcs {
		got[src.Name] = src.AuthConfig["scope"]
	}
	if got["gp"] != fhirsync.DefaultSMARTScope || got["lth"] != "system/*.rs" {
		t.Errorf("scopes saved: %q; want gp %q and lth system/*.rs", got, fhirsync.DefaultSMARTScope)
	}
}

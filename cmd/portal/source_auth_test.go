package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
)

// TestSourceAuthKeepsTheSource: portal source auth changes how the portal
// signs in to a source, a key or token rotated to a new file, a new client
// id, with the source, and so everything cached from it, kept; removing and
// adding it again, the only way before, lost the whole cache (an operator's
// review). What it would not sign in with is refused, changing nothing.
func TestSourceAuthKeepsTheSource(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "portal.db")
	tokenA, tokenB := filepath.Join(dir, "token-a"), filepath.Join(dir, "token-b")
	for _, f := range []string{tokenA, tokenB} {
		if err := os.WriteFile(f, []byte("secret-"+filepath.Base(f)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := portal(t, "source", "add", "lth", "http://127.0.0.1:1/fhir", "--auth", "bearer", "--token-file", tokenA, "--db", db); err != nil {
		t.Fatal(err)
	}
	stored := func() store.Source {
		t.Helper()
		s, err := store.Open(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		src, err := s.SourceByName(context.Background(), "lth")
		if err != nil {
			t.Fatal(err)
		}
		return src
	}
	before := stored()

	out, _, err := portal(t, "source", "auth", "lth", "--auth", "bearer", "--token-file", tokenB, "--db", db)
	if got := stored(); err != nil || got.ID != before.ID || got.AuthConfig["token-file"] != tokenB || !strings.Contains(out, "everything cached from it is kept") {
		t.Fatalf("source auth to another token file: %v, %q; source %d with %v, want source %d with --token-file %s", err, out, got.ID, got.AuthConfig, before.ID, tokenB)
	}
	if out, _, err := portal(t, "import", "--db", db, "--source", "files", writeFile(t, dir, "a.json", importGPA)); err != nil {
		t.Fatal(err, out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"lth"}, "give the source's name and --auth"},
		{[]string{"lth", "--token-file", tokenA}, "give the source's name and --auth"},
		{[]string{"lth", "--auth", "bearer", "--token-file", filepath.Join(dir, "missing")}, "cannot read the file --token-file names"},
		{[]string{"lth", "--auth", "bearer", "--token-file", tokenA, "--client-id", "portal"}, "--client-id is only for --auth smart-backend"},
		{[]string{"lth", "--auth", "magic"}, `unknown authentication "magic"`},
		{[]string{"nosuch", "--auth", "none"}, `There is no source called "nosuch"`},
		{[]string{"files", "--auth", "none"}, "a source of imported files"},
	} {
		out, _, err := portal(t, append(append([]string{"source", "auth"}, tc.args...), "--db", db)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("source auth %q: %v, %q; want refused, saying %q", tc.args, err, out, tc.want)
		}
		if got := stored(); got.AuthKind != store.AuthBearer || got.AuthConfig["token-file"] != tokenB {
			t.Fatalf("source auth %q, refused, left %s %v; want bearer with %s", tc.args, got.AuthKind, got.AuthConfig, tokenB)
		}
	}
	if _, _, err := portal(t, "source", "auth", "lth", "--auth", "none", "--db", db); err != nil {
		t.Fatal(err)
	}
	if got := stored(); got.AuthKind != store.AuthNone || len(got.AuthConfig) != 0 {
		t.Errorf("after source auth --auth none: %s %v", got.AuthKind, got.AuthConfig)
	}
}

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

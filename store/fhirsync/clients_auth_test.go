package fhirsync_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhirsync"
)

// TestClientsTakeANewSignIn: a serve running keeps one client a source, and
// makes it again once the source signs in otherwise (portal source auth), so
// a new key or client id is used from the next call, with no restart; the
// same sign-in keeps the client, its breaker and its hold.
func TestClientsTakeANewSignIn(t *testing.T) {
	dir := t.TempDir()
	tokenA, tokenB := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for _, f := range []string{tokenA, tokenB} {
		if err := os.WriteFile(f, []byte("token-"+filepath.Base(f)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	src := store.Source{ID: 7, Name: "lth", BaseURL: "http://127.0.0.1:1/fhir", AuthKind: store.AuthBearer, AuthConfig: map[string]string{"token-file": tokenA}}
	clients := fhirsync.NewClients(func(string) string { return "" }, fhirsync.ClientOptions{MaxAttempts: 1})
	first, err := clients.Get(src)
	if err != nil {
		t.Fatal(err)
	}
	same := src
	same.AuthConfig = map[string]string{"token-file": tokenA}
	if again, err := clients.Get(same); err != nil || again != first {
		t.Errorf("the same sign-in read again: %v, a new client %v; want the one made", err, again != first)
	}
	changed := src
	changed.AuthConfig = map[string]string{"token-file": tokenB}
	if next, err := clients.Get(changed); err != nil || next == first {
		t.Errorf("after the source's token file changed: %v, the same client %v; want one made with the new", err, next == first)
	}
	none := src
	none.AuthKind, none.AuthConfig = store.AuthNone, map[string]string{}
	if next, err := clients.Get(none); err != nil || next == first {
		t.Errorf("after the source signs in with nothing: %v, the same client %v; want a new one", err, next == first)
	}
}

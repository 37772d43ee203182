package fhirsync

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
)

// A secret rotated in its file (a bearer token, a SMART private key) is
// used from the next request by the client serve already holds: serve makes
// one client a source for as long as it runs, and kept the first secret, so
// once the old one was revoked every sync and consent delivery of the source
// failed until a restart (found by a review).
func TestRotatedSecretFilesAreUsed(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		t.Helper()
		path := filepath.Join(dir, name)
		// As a rotation does: a new file renamed over the old.
		if err := os.WriteFile(path+".new", b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".new", path); err != nil {
			t.Fatal(err)
		}
		return path
	}

	t.Run("bearer token", func(t *testing.T) {
		var mu sync.Mutex
		current := "TokenOne1111"
		srv := fhirServer(t, nil, func(tok string) bool {
			mu.Lock()
			defer mu.Unlock()
			return tok == current
		})
		tok := write("token", []byte("TokenOne1111\n"))
		src := store.Source{ID: 1, Name: "lth", BaseURL: srv.URL, AuthKind: store.AuthBearer, AuthConfig: map[string]string{"token-file": tok}}
		clients := NewClients(os.Getenv, ClientOptions{MaxAttempts: 1})
		search := func() error {
			c, err := clients.Get(src)
			if err != nil {
				return err
			}
			_, err = c.Search(context.Background(), "Patient", nil)
			return err
		}
		if err := search(); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		current = "TokenTwo2222" // the old one revoked
		mu.Unlock()
		write("token", []byte("TokenTwo2222\n"))
		if err := search(); err != nil {
			t.Errorf("after the token file was rotated: %v", err)
		}
		// Both stay secrets: neither is ever shown in an error.
		c, _ := clients.Get(src)
		if got := strings.Join(c.auth.(secretHolder).secrets(), " "); !strings.Contains(got, "TokenOne1111") || !strings.Contains(got, "TokenTwo2222") {
			t.Errorf("secrets scrubbed: %q", got)
		}
	})

	t.Run("SMART private key", func(t *testing.T) {
		keys := newTestKeys(t)
		ts := newTokenServer(t, &keys.ec.PublicKey, AlgES384, time.Now) // as the client's own clock
		srv := fhirServer(t, ts, func(tok string) bool {
			issued := ts.tokens()
			return len(issued) > 0 && tok == issued[len(issued)-1]
		})
		key := write("key.pem", pkcs8(t, keys.ec))
		src := store.Source{ID: 2, Name: "gp", BaseURL: srv.URL, AuthKind: store.AuthSMARTBackend, AuthConfig: map[string]string{
			"client-id": ts.clientID, "token-url": ts.url(), "key-file": key, "key-id": ts.kid, "scope": ts.scope}}
		clients := NewClients(os.Getenv, ClientOptions{MaxAttempts: 1})
		c, err := clients.Get(src)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Search(context.Background(), "Patient", nil); err != nil {
			t.Fatal(err)
		}
		// The client's key is replaced: the token server now knows only the new one.
		next, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		write("key.pem", pkcs8(t, next))
		ts.mu.Lock()
		ts.pub = &next.PublicKey
		ts.issued = append(ts.issued, "revoked") // the token the old key got no longer works
		ts.mu.Unlock()
		c, _ = clients.Get(src)
		if _, err := c.Search(context.Background(), "Patient", nil); err != nil {
			t.Errorf("after the key file was rotated: %v", err)
		}
		if n := len(ts.tokens()); n != 3 {
			t.Errorf("%d tokens issued, want a new one for the new key", n)
		}
	})
}

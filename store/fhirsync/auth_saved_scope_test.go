package fhirsync

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
)

// TestASourceSavedWithoutAScopeAsksToRead: a SMART Backend Services source
// saved with no scope, added before source add saved DefaultSMARTScope, asks
// only to read, as it did: asked for more, a server that lets the client
// only read could refuse the token, and every sync (a review).
func TestASourceSavedWithoutAScopeAsksToRead(t *testing.T) {
	keys := newTestKeys(t)
	ts := newTokenServer(t, &keys.ec.PublicKey, AlgES384, time.Now)
	ts.scope = "system/*.read" // the token server refuses any other
	fsrv := fhirServer(t, ts, func(string) bool { return true })
	keyFile := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(keyFile, pkcs8(t, keys.ec), 0o600); err != nil {
		t.Fatal(err)
	}
	src := store.Source{ID: 1, Name: "lth", BaseURL: fsrv.URL, AuthKind: store.AuthSMARTBackend, AuthConfig: map[string]string{
		"client-id": ts.clientID, "token-url": ts.url(), "key-file": keyFile, "key-id": ts.kid}}
	c, err := NewClients(os.Getenv, ClientOptions{MaxAttempts: 1}).Get(src)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Search(context.Background(), "Observation", nil); err != nil {
		t.Errorf("a search by a source saved with no scope: %v", err)
	}
}

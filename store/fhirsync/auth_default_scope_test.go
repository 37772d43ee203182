package fhirsync

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
)

// TestSMARTSourceAsksToWriteConsentByDefault: a SMART Backend Services
// source added with no --scope asks for reading the record and writing
// Consent, which every change of a person's choices sends (an operator
// review: with system/*.read alone, every choice sent was refused).
func TestSMARTSourceAsksToWriteConsentByDefault(t *testing.T) {
	keys := newTestKeys(t)
	ts := newTokenServer(t, &keys.ec.PublicKey, AlgES384, time.Now)
	ts.scope = DefaultSMARTScope // the token server refuses any other
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
		t.Errorf("a search with the default scope: %v", err)
	}
	if DefaultSMARTScope != "system/*.read system/Consent.write" {
		t.Errorf("the default scope is %q", DefaultSMARTScope)
	}
}

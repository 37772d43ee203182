package fhirsync

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
)

// Two requests are in flight with the same token when the server revokes
// it. The first one's 401 gets a new token. The second one's 401, which
// comes later, names the token already replaced: it uses the new token. So
// for a SMART source as `portal source add` makes it (a --key-file, so
// AuthFor wraps the SMART auth in rereadAuth), as for the SMART auth itself
// (a review: rereadAuth threw the whole Auth away, so every late 401 for the
// old token cost another token request).
func TestLateRefusalOfAReplacedTokenFetchesNoOther(t *testing.T) {
	for _, direct := range []bool{false, true} {
		t.Run(map[bool]string{false: "through a key file", true: "the SMART auth itself"}[direct], func(t *testing.T) {
			keys := newTestKeys(t)
			ts := newTokenServer(t, &keys.ec.PublicKey, AlgES384, time.Now)
			firstDone := make(chan struct{})
			slowArrived := make(chan struct{})
			fsrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
				if strings.HasPrefix(tok, "tok-1-") { // revoked
					if r.URL.Path == "/Condition" {
						close(slowArrived)
						<-firstDone // this answer comes after the other request got its new token
					}
					writeFHIR(w, http.StatusUnauthorized, outcome("token revoked"))
					return
				}
				writeFHIR(w, http.StatusOK, searchset(0, ""))
			}))
			defer fsrv.Close()
			var c *Client
			if direct {
				auth, err := SMARTBackendAuth(SMARTConfig{TokenURL: ts.url(), ClientID: ts.clientID, Scope: ts.scope, KeyID: ts.kid, PrivateKeyPEM: pkcs8(t, keys.ec)})
				if err != nil {
					t.Fatal(err)
				}
				c = mustClient(t, fsrv.URL, auth, ClientOptions{MaxAttempts: 1})
			} else {
				keyFile := filepath.Join(t.TempDir(), "key.pem")
				if err := os.WriteFile(keyFile, pkcs8(t, keys.ec), 0o600); err != nil {
					t.Fatal(err)
				}
				src := store.Source{ID: 1, Name: "lth", BaseURL: fsrv.URL, AuthKind: store.AuthSMARTBackend, AuthConfig: map[string]string{
					"client-id": ts.clientID, "token-url": ts.url(), "key-file": keyFile, "key-id": ts.kid, "scope": ts.scope}}
				var err error
				if c, err = NewClients(os.Getenv, ClientOptions{MaxAttempts: 1}).Get(src); err != nil {
					t.Fatal(err)
				}
			}
			slowErr := make(chan error, 1)
			go func() {
				_, err := c.Search(context.Background(), "Condition", nil)
				slowErr <- err
			}()
			<-slowArrived
			if _, err := c.Search(context.Background(), "Observation", nil); err != nil {
				t.Fatal(err)
			}
			close(firstDone)
			if err := <-slowErr; err != nil {
				t.Fatal(err)
			}
			if got := ts.tokens(); len(got) != 2 {
				t.Errorf("%d tokens fetched from the token endpoint, want 2 (the revoked one and one replacement)", len(got))
			}
		})
	}
}

// expires_in "NaN" (a string, which the client takes as a number) is not a
// positive number (a review: it was taken, and the token then never cached,
// so every request fetched a new one).
func TestExpiresInNaNIsRefused(t *testing.T) {
	keys := newTestKeys(t)
	var fetched int
	tsrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetched++
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"access_token":"tok-abcdef","token_type":"bearer","expires_in":"NaN"}`))
	}))
	defer tsrv.Close()
	auth, err := SMARTBackendAuth(SMARTConfig{TokenURL: tsrv.URL + "/token", ClientID: "c", KeyID: "k", PrivateKeyPEM: pkcs8(t, keys.ec)})
	if err != nil {
		t.Fatal(err)
	}
	var errs int
	for range 3 {
		req := httptest.NewRequest(http.MethodGet, "http://fhir.example/Patient", nil)
		if err := auth.Authorize(context.Background(), req); err != nil {
			errs++
		}
	}
	if errs == 0 && fetched != 1 {
		t.Errorf("expires_in \"NaN\" was accepted, and the token was fetched %d times for 3 requests (never cached); want it refused as not a positive number, or cached", fetched)
	}
}

// Eight syncs in flight when the server stops accepting the token they all
// sent: one replacement token is enough (smartAuth on its own gets one).
func TestRequestsRefusedTogetherFetchOneToken(t *testing.T) {
	keys := newTestKeys(t)
	ts := newTokenServer(t, &keys.ec.PublicKey, AlgES384, time.Now)
	ts.delay = 20 * time.Millisecond
	const n = 8
	arrived := make(chan struct{}, n)
	release := make(chan struct{})
	fsrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if strings.HasPrefix(tok, "tok-1-") {
			arrived <- struct{}{}
			<-release
			writeFHIR(w, http.StatusUnauthorized, outcome("token expired"))
			return
		}
		writeFHIR(w, http.StatusOK, searchset(0, ""))
	}))
	defer fsrv.Close()
	keyFile := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(keyFile, pkcs8(t, keys.ec), 0o600); err != nil {
		t.Fatal(err)
	}
	src := store.Source{ID: 1, Name: "lth", BaseURL: fsrv.URL, AuthKind: store.AuthSMARTBackend, AuthConfig: map[string]string{
		"client-id": ts.clientID, "token-url": ts.url(), "key-file": keyFile, "key-id": ts.kid, "scope": ts.scope}}
	c, err := NewClients(os.Getenv, ClientOptions{MaxAttempts: 1}).Get(src)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, n)
	for range n {
		go func() { _, err := c.Search(context.Background(), "Observation", nil); errs <- err }()
	}
	for range n {
		<-arrived
	}
	close(release)
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if got := len(ts.tokens()); got != 2 {
		t.Errorf("%d tokens fetched for %d requests refused together, want 2 (the refused one and one replacement)", got, n)
	}
}

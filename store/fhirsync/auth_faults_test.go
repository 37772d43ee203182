package fhirsync

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// A failure at the token endpoint carries no HTTP status of the FHIR
// server's: a sync reads a 404 or 410 from a read as the resource deleted
// upstream, and the consent outbox a lasting 4xx as the source refusing.
func TestTokenEndpointStatusIsNotTheServers(t *testing.T) {
	keys := newTestKeys(t)
	for _, tc := range []struct {
		status int
		body   string
	}{
		{http.StatusNotFound, `{"error":"not_found"}`},
		{http.StatusBadRequest, `{"error":"invalid_client","error_description":"jti already used"}`},
	} {
		tok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(tc.status)
			fmt.Fprint(w, tc.body)
		}))
		defer tok.Close()
		var fhirCalls atomic.Int32
		fsrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fhirCalls.Add(1)
			writeFHIR(w, 200, observation("o1"))
		}))
		defer fsrv.Close()
		auth, err := SMARTBackendAuth(SMARTConfig{TokenURL: tok.URL + "/token", ClientID: "c", Scope: "system/*.rs", KeyID: "k", PrivateKeyPEM: pkcs8(t, keys.ec)})
		if err != nil {
			t.Fatal(err)
		}
		c := mustClient(t, fsrv.URL, auth, ClientOptions{Sleep: (&sleeps{}).Sleep})
		_, err = c.Read(context.Background(), "Observation", "o1")
		if err == nil {
			t.Fatalf("token endpoint %d: the read succeeded", tc.status)
		}
		var ue *UpstreamError
		if errors.As(err, &ue) {
			deleted := ue.Status == http.StatusNotFound || ue.Status == http.StatusGone
			refused := !ue.Retryable && ue.Status >= 400 && ue.Status < 500
			if deleted || refused {
				t.Errorf("token endpoint %d (FHIR server called %d times): %v reads as the server's answer: deleted %v, refused %v",
					tc.status, fhirCalls.Load(), err, deleted, refused)
			}
		}
	}
}

// A bulk file download answered 401 drops the refused token and tries once
// more with a new one, as every other call does.
func TestBulkFileRefusedTokenIsReplaced(t *testing.T) {
	keys := newTestKeys(t)
	ts := newTokenServer(t, &keys.ec.PublicKey, AlgES384, time.Now)
	var calls atomic.Int32
	fsrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if strings.HasPrefix(tok, "tok-1-") { // revoked
			writeFHIR(w, 401, outcome("token revoked"))
			return
		}
		w.Header().Set("Content-Type", "application/fhir+ndjson")
		fmt.Fprintln(w, observation("o1"))
	}))
	defer fsrv.Close()
	auth, err := SMARTBackendAuth(SMARTConfig{TokenURL: ts.url(), ClientID: ts.clientID, Scope: ts.scope, KeyID: ts.kid, PrivateKeyPEM: pkcs8(t, keys.ec)})
	if err != nil {
		t.Fatal(err)
	}
	c := mustClient(t, fsrv.URL, auth, ClientOptions{Sleep: (&sleeps{}).Sleep})
	u, _ := c.underBase(fsrv.URL + "/files/1.ndjson")
	body, err := c.openStream(context.Background(), u)
	if err == nil {
		body.Close()
	}
	if err != nil || len(ts.tokens()) != 2 || calls.Load() != 2 {
		t.Errorf("openStream: %v (tokens fetched %d, calls %d); want a new token and a second call that succeeds", err, len(ts.tokens()), calls.Load())
	}
}

// An error from the FHIR server that echoes the token sent leaves it out,
// even when another caller has meanwhile replaced the cached token (the
// sent one is still good for up to a minute).
func TestErrorsLeaveOutTheTokenSent(t *testing.T) {
	keys := newTestKeys(t)
	clock := newFakeClock()
	ts := newTokenServer(t, &keys.ec.PublicKey, AlgES384, clock.Now)
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	fsrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if r.URL.Path == "/Observation/slow" {
			arrived <- struct{}{}
			<-release
			writeFHIR(w, http.StatusForbidden, outcome("token "+tok+" lacks scope for this resource"))
			return
		}
		writeFHIR(w, 200, observation("o1"))
	}))
	defer fsrv.Close()
	auth, err := SMARTBackendAuth(SMARTConfig{TokenURL: ts.url(), ClientID: ts.clientID, Scope: ts.scope, KeyID: ts.kid, PrivateKeyPEM: pkcs8(t, keys.ec), Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	c := mustClient(t, fsrv.URL, auth, ClientOptions{Now: clock.Now, Sleep: (&sleeps{}).Sleep})
	errc := make(chan error, 1)
	go func() { _, err := c.Read(context.Background(), "Observation", "slow"); errc <- err }()
	<-arrived
	clock.Add(250 * time.Second) // first token now inside its 60 s refresh margin (still valid upstream)
	if _, err := c.Read(context.Background(), "Observation", "o1"); err != nil {
		t.Fatal(err)
	}
	close(release)
	err = <-errc
	first := ts.tokens()[0]
	if err == nil || len(ts.tokens()) != 2 {
		t.Fatalf("slow read: %v, %d tokens; want a refusal and two tokens", err, len(ts.tokens()))
	}
	if strings.Contains(err.Error(), first) {
		t.Errorf("error shows the still-valid token sent: %v", err)
	}
}

// A huge expires_in (which would overflow a time.Duration) still has the
// token kept, for a day at most.
func TestHugeExpiresInIsCapped(t *testing.T) {
	keys := newTestKeys(t)
	var n atomic.Int32
	tok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"abcd%d","token_type":"bearer","expires_in":1e10}`, n.Load())
	}))
	defer tok.Close()
	auth, err := SMARTBackendAuth(SMARTConfig{TokenURL: tok.URL, ClientID: "c", PrivateKeyPEM: pkcs8(t, keys.ec)})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		req := httptest.NewRequest("GET", "http://x/", nil)
		if err := auth.Authorize(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	}
	if n.Load() != 1 {
		t.Errorf("%d token requests for 3 calls, want 1", n.Load())
	}
}

// A SMART token endpoint asking, with Retry-After, for a longer wait than a
// call may make holds the source off until then, as the source asking would:
// no token, no call (found by a review: it was asked five times a call, the
// wait unread).
func TestTokenEndpointAskingToWaitHoldsOffTheSource(t *testing.T) {
	keys := newTestKeys(t)
	clock := newFakeClock()
	var tokenCalls, calls atomic.Int32
	tok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tokenCalls.Add(1)
		w.Header().Set("Retry-After", "3600")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write([]byte(`{"error":"slow_down"}`))
	}))
	defer tok.Close()
	fsrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		writeFHIR(w, http.StatusOK, observation("o1"))
	}))
	defer fsrv.Close()
	auth, err := SMARTBackendAuth(SMARTConfig{TokenURL: tok.URL + "/token", ClientID: "c", Scope: "system/*.rs", KeyID: "k", PrivateKeyPEM: pkcs8(t, keys.ec),
		Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	var sl sleeps
	c := mustClient(t, fsrv.URL, auth, ClientOptions{Sleep: sl.Sleep, MaxDelay: 30 * time.Second, Now: clock.Now})
	_, err = c.Read(context.Background(), "Observation", "o1")
	var we *WaitError
	if !errors.As(err, &we) || !we.Until.Equal(clock.Now().Add(time.Hour)) || !errors.Is(err, ErrAskedToWait) {
		t.Errorf("got %v; want the call ended, the source held off for the hour asked", err)
	}
	if n, slept := tokenCalls.Load(), sl.got(); n != 1 || len(slept) != 0 {
		t.Errorf("the token endpoint was asked %d times, with waits %v; want once, and no wait", n, slept)
	}
	clock.Add(time.Hour - time.Second)
	if _, err := c.Read(context.Background(), "Observation", "o1"); !errors.As(err, &we) {
		t.Errorf("a call before the hour is up: %v; want it refused without asking", err)
	}
	if n := tokenCalls.Load(); n != 1 || calls.Load() != 0 {
		t.Errorf("before the hour is up, the token endpoint was asked %d times and the source %d; want once and never", n, calls.Load())
	}
}

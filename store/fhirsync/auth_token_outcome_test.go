package fhirsync

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// What a server says in a 200 (a read answered with an OperationOutcome, an
// outcome beside a page's entries) never shows the token its request was sent
// with, though a newer one has replaced it meanwhile (a review).
func TestOutcomesOf200LeaveOutTheTokenSent(t *testing.T) {
	keys := newTestKeys(t)
	clock := newFakeClock()
	ts := newTokenServer(t, &keys.ec.PublicKey, AlgES384, clock.Now)
	release := make(chan struct{})
	arrived := make(chan struct{}, 2)
	fsrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		switch r.URL.Path {
		case "/Observation/slow":
			arrived <- struct{}{}
			<-release
			writeFHIR(w, http.StatusOK, outcome("token "+tok+" may not read this resource"))
			return
		case "/Condition":
			arrived <- struct{}{}
			<-release
			writeFHIR(w, http.StatusOK, searchset(1, "", match(observation("o9")),
				`{"resource":`+outcome("results withheld for token "+tok)+`,"search":{"mode":"outcome"}}`))
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
	readErr := make(chan error, 1)
	go func() { _, err := c.Read(context.Background(), "Observation", "slow"); readErr <- err }()
	pageC := make(chan Page, 1)
	go func() { p, _ := c.Search(context.Background(), "Condition", url.Values{}); pageC <- p }()
	<-arrived
	<-arrived
	clock.Add(250 * time.Second)
	if _, err := c.Read(context.Background(), "Observation", "o1"); err != nil {
		t.Fatal(err)
	}
	close(release)
	err = <-readErr
	page := <-pageC
	if len(ts.tokens()) != 2 {
		t.Fatalf("%d tokens issued; want two", len(ts.tokens()))
	}
	first := ts.tokens()[0]
	if err == nil || strings.Contains(err.Error(), first) {
		t.Errorf("read's error shows the still-valid token sent: %v", err)
	}
	for _, w := range page.Warnings {
		if strings.Contains(w, first) {
			t.Errorf("page warning shows the still-valid token sent: %q", w)
		}
	}
}

package fhirsync_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// The stale-sender case of TestStaleSenderNeverPutsBackAnOlderDecision, for
// a first delivery (a conditional create, not a PUT): serve's pusher (A)
// POSTs the person's first decision and is held past its lease; `portal
// outbox push` (B) claims it, creates the Consent, then sends the newer
// decision as a PUT, which replaces the Consent's identifier. A's POST then
// arrives: its If-None-Exist names the older decision's identifier, which no
// Consent carries any more, so the source creates a second active Consent
// holding the older choice, after the newer one was reported sent.
// A first create held up in the network past its sender's lease, arriving
// after another sender created the Consent and put a newer choice over it,
// finds that Consent, and leaves it (a review: it made a second, with the
// older choice).
func TestAStaleFirstCreateLeavesTheNewerChoice(t *testing.T) {
	ctx := context.Background()
	hold := newHoldOnce(true, func(r *http.Request) bool { return r.Method == http.MethodPost })
	f := newPushFixtureVia(t, func(upstreamURL string) string {
		return newStubProxy(t, upstreamURL, func(w http.ResponseWriter, r *http.Request) bool {
			hold.wait(r)
			return false
		}, nil).URL
	})
	older := f.change(t, store.QuestionResearch, "no")
	aDone := make(chan error, 1)
	go func() { _, err := f.pusher().PushDue(ctx); aDone <- err }() // serve's pusher
	<-hold.held
	f.advance(3 * time.Minute) // A's lease (2 minutes) runs out while its POST is under way

	newer := f.change(t, store.QuestionResearch, "yes")
	sumB, err := f.pusher().PushDue(ctx) // portal outbox push
	if err != nil || sumB.Sent != 2 {
		t.Fatalf("B: %+v %v", sumB, err)
	}
	close(hold.release)
	if err := <-aDone; err != nil {
		t.Fatal(err)
	}
	up := f.consents(t)
	for id, raw := range up {
		got, _ := fhir.ReadConsent(raw)
		t.Logf("upstream Consent/%s: identifier %s research=%v", id, got.Identifier, got.Research)
	}
	if len(up) != 1 {
		t.Errorf("%d active Consents upstream for the patient; want 1 (older %s, newer %s, newer reported %s)",
			len(up), older.Identifier, newer.Identifier, f.delivery(t, newer.ID).Status)
	}
}

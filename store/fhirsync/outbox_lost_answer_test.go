package fhirsync_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// TestALostAnswerToAnUpdateAfterAReadIsNoRefusal: a later decision's first
// try was claimed by a process killed before it sent anything, so the next
// try reads the Consent first and PUTs with the version just read. The PUT
// reaches the source and its answer is lost; the client's retry, with the
// same If-Match, is answered 412, as the source is at the new version. The
// Consent read then carries this decision: it is delivered (a review: it
// was shown as not accepted, never to be retried).
func TestALostAnswerToAnUpdateAfterAReadIsNoRefusal(t *testing.T) {
	ctx := context.Background()
	var dropNextPut atomic.Bool
	f := newPushFixtureVia(t, func(upstreamURL string) string {
		origin := upstreamURL[:strings.Index(upstreamURL, "/fhir")]
		return newStubProxy(t, upstreamURL, func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method != http.MethodPut || !dropNextPut.CompareAndSwap(true, false) {
				return false
			}
			// Forward it, then close the connection without an answer.
			req, _ := http.NewRequest(r.Method, origin+r.URL.RequestURI(), r.Body)
			req.Header = r.Header.Clone()
			if resp, err := http.DefaultTransport.RoundTrip(req); err == nil {
				io.Copy(io.Discard, resp.Body) //nolint:errcheck
				resp.Body.Close()
			}
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return true
		}, nil).URL
	})
	f.change(t, store.QuestionResearch, "no")
	if sum, err := f.pusher().PushDue(ctx); err != nil || sum.Sent != 1 {
		t.Fatalf("first: %+v %v", sum, err)
	}
	later := f.change(t, store.QuestionResearch, "yes")
	// A process claims it and is killed before sending.
	if claimed, err := f.db.ClaimConsentOutbox(ctx, 10, 2*time.Minute); err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %+v %v", claimed, err)
	}
	f.advance(3 * time.Minute)
	dropNextPut.Store(true)
	sum, err := f.pusher().PushDue(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d := f.delivery(t, later.ID)
	up := f.consents(t)
	var holds bool
	for _, raw := range up {
		if c, _ := fhir.ReadConsent(raw); c.Identifier == later.Identifier {
			holds = true
		}
	}
	t.Logf("push %+v; delivery %s (%q); source holds the later decision: %v", sum, d.Status, d.LastError, holds)
	if holds && d.Status == store.DeliveryFailed {
		t.Errorf("the source holds decision %s, but its delivery is shown as not accepted: %q", later.Identifier, d.LastError)
	}
}

package fhirsync_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// readingFixture is a push fixture behind a stub whose answers to reading a
// Consent get decides (nil: the real server's), and whose answers rewrite
// may change; it keeps each PUT's If-Match. firstThenFailedPut then sends a
// first decision, and a later one whose first PUT gets 503, so that its next
// try reads the Consent first.
func readingFixture(t *testing.T, get func(w http.ResponseWriter, r *http.Request) bool, rewrite func(r *http.Request, body []byte) []byte) (*pushFixture, *sync.Mutex, *bool, *[]string) {
	var mu sync.Mutex
	failPut := false
	var ifMatch []string
	f := newPushFixtureVia(t, func(u string) string {
		return newStubProxy(t, u, func(w http.ResponseWriter, r *http.Request) bool {
			mu.Lock()
			fp := failPut && r.Method == http.MethodPut
			if r.Method == http.MethodPut {
				ifMatch = append(ifMatch, r.Header.Get("If-Match"))
			}
			mu.Unlock()
			if fp {
				w.WriteHeader(http.StatusServiceUnavailable)
				return true
			}
			if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/Consent/") && get != nil {
				return get(w, r)
			}
			return false
		}, rewrite).URL
	})
	return f, &mu, &failPut, &ifMatch
}

func firstThenFailedPut(t *testing.T, f *pushFixture, mu *sync.Mutex, failPut *bool) store.ConsentDecision {
	ctx := context.Background()
	f.change(t, store.QuestionResearch, "no")
	if sum, err := f.pusher().PushDue(ctx); err != nil || sum.Sent != 1 {
		t.Fatalf("first: %+v %v", sum, err)
	}
	later := f.change(t, store.QuestionResearch, "yes")
	mu.Lock()
	*failPut = true
	mu.Unlock()
	if sum, err := f.pusher().PushDue(ctx); err != nil || sum.Retrying != 1 {
		t.Fatalf("first try of later: %+v %v", sum, err)
	}
	mu.Lock()
	*failPut = false
	mu.Unlock()
	f.advance(2 * time.Hour)
	return later
}

// TestPushReadAnswered404StillUpdates: a source answering 404 to reading a
// Consent (no read by id, or hiding what a token may not read) while its PUT
// works had the next try create a second Consent beside the first, with the
// older choice still active (found by a review). It updates the one there.
func TestPushReadAnswered404StillUpdates(t *testing.T) {
	ctx := context.Background()
	f, mu, failPut, _ := readingFixture(t, func(w http.ResponseWriter, r *http.Request) bool {
		writeOutcome(w, http.StatusNotFound, "not-supported", "Unknown route")
		return true
	}, nil)
	later := firstThenFailedPut(t, f, mu, failPut)
	if sum, err := f.pusher().PushDue(ctx); err != nil || sum.Sent != 1 {
		t.Fatalf("second try: %+v %v; want it sent", sum, err)
	}
	up := f.consents(t)
	if len(up) != 1 {
		t.Errorf("%d Consents upstream for the patient, want 1", len(up))
	}
	for _, raw := range up {
		if c, _ := fhir.ReadConsent(raw); c.Identifier != later.Identifier {
			t.Errorf("upstream holds %s; want the later decision, %s", c.Identifier, later.Identifier)
		}
	}
}

// TestPushNeverUpdatesBlind: an answer to the read that is no Consent (an
// OperationOutcome with 200), or a Consent with no version, had the next PUT
// go with no If-Match at all, over whatever the source held (found by a
// review). Every update carries a version.
func TestPushNeverUpdatesBlind(t *testing.T) {
	for name, tc := range map[string]struct {
		get     func(w http.ResponseWriter, r *http.Request) bool
		rewrite func(r *http.Request, body []byte) []byte
	}{
		"200 OperationOutcome": {get: func(w http.ResponseWriter, r *http.Request) bool {
			writeOutcome(w, http.StatusOK, "processing", "backend unavailable")
			return true
		}},
		"Consent without meta": {rewrite: func(r *http.Request, body []byte) []byte {
			if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/Consent/") {
				return []byte(strings.Replace(string(body), `"meta"`, `"_meta"`, 1))
			}
			return body
		}},
	} {
		t.Run(name, func(t *testing.T) {
			f, mu, failPut, ifMatch := readingFixture(t, tc.get, tc.rewrite)
			firstThenFailedPut(t, f, mu, failPut)
			mu.Lock()
			*ifMatch = nil
			mu.Unlock()
			f.pusher().PushDue(context.Background())
			mu.Lock()
			defer mu.Unlock()
			if slices.Contains(*ifMatch, "") {
				t.Errorf("a PUT went without If-Match (If-Match of each: %q)", *ifMatch)
			}
		})
	}
}

// TestPushRetriesABadAnswerToTheRead: a proxy's maintenance page with 200,
// or a body cut short, in answer to the read was shown to the person as not
// accepted (found by a review). It is tried again, as any read is.
func TestPushRetriesABadAnswerToTheRead(t *testing.T) {
	for name, body := range map[string]string{"html": "<html><body>Service temporarily unavailable</body></html>", "cut json": `{"resourceType":"Consent","id":"x","meta":{"versionId":"2"`} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			f, mu, failPut, _ := readingFixture(t, func(w http.ResponseWriter, r *http.Request) bool {
				w.Header().Set("Content-Type", "text/html")
				w.Write([]byte(body))
				return true
			}, nil)
			later := firstThenFailedPut(t, f, mu, failPut)
			sum, err := f.pusher().PushDue(ctx)
			d := f.delivery(t, later.ID)
			if d.Status == store.DeliveryFailed {
				t.Errorf("a transient bad answer to the read: %+v %v; delivery %s %q (refused, for the person to send again)", sum, err, d.Status, d.LastError)
			}
		})
	}
}

// TestPushRefusesAReadTheSourceDoesNotServe: 501 to the read, which the
// client does not retry, was neither refused nor given up, so the delivery
// went round for ever, holding up later decisions (found by a review). It
// is shown as not accepted, and the next decision is sent.
func TestPushRefusesAReadTheSourceDoesNotServe(t *testing.T) {
	ctx := context.Background()
	f, mu, failPut, _ := readingFixture(t, func(w http.ResponseWriter, r *http.Request) bool {
		w.WriteHeader(http.StatusNotImplemented)
		return true
	}, nil)
	later := firstThenFailedPut(t, f, mu, failPut)
	newest := f.change(t, store.QuestionResearch, "no")
	for range 30 {
		f.advance(2 * time.Hour)
		if _, err := f.pusher().PushDue(ctx); err != nil {
			t.Fatal(err)
		}
	}
	d, dn := f.delivery(t, later.ID), f.delivery(t, newest.ID)
	if d.Status != store.DeliveryFailed || dn.Attempts == 0 {
		t.Errorf("501 on every read, 60 hours on: %s after %d tries (%q), the newer decision tried %d times; want it not accepted, and the newer one tried", d.Status, d.Attempts, d.LastError, dn.Attempts)
	}
}

// TestPushWaitsAsTheReadAsks: 429 with a long Retry-After to the read is
// waited out, not refused.
func TestPushWaitsAsTheReadAsks(t *testing.T) {
	ctx := context.Background()
	f, mu, failPut, _ := readingFixture(t, func(w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Retry-After", "7200")
		w.WriteHeader(http.StatusTooManyRequests)
		return true
	}, nil)
	later := firstThenFailedPut(t, f, mu, failPut)
	if _, err := f.pusher().PushDue(ctx); err != nil {
		t.Fatal(err)
	}
	d := f.delivery(t, later.ID)
	if d.Status != store.DeliveryWaiting || d.NextAttemptAt.Before(f.clock().Add(2*time.Hour)) {
		t.Errorf("429 Retry-After 7200 on the read: %s, next %v", d.Status, d.NextAttemptAt)
	}
}

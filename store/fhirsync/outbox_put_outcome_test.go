package fhirsync_test

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// A PUT answered 200 with an OperationOutcome error is not recorded as sent,
// and the next change's PUT still carries If-Match (a review: both failed).
func TestPutAnswered200OperationOutcomeIsNotSent(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	ooPut := false
	var ifMatch []string
	f := newPushFixtureVia(t, func(u string) string {
		return newStubProxy(t, u, func(w http.ResponseWriter, r *http.Request) bool {
			mu.Lock()
			defer mu.Unlock()
			if r.Method == http.MethodPut {
				ifMatch = append(ifMatch, r.Header.Get("If-Match"))
			}
			if ooPut && r.Method == http.MethodPut {
				ooPut = false
				writeOutcome(w, http.StatusOK, "processing", "Consent could not be stored")
				return true
			}
			return false
		}, nil).URL
	})
	f.change(t, store.QuestionResearch, "no")
	if sum, err := f.pusher().PushDue(ctx); err != nil || sum.Sent != 1 {
		t.Fatalf("first: %+v %v", sum, err)
	}
	mu.Lock()
	ooPut = true
	mu.Unlock()
	later := f.change(t, store.QuestionResearch, "yes")
	sum, err := f.pusher().PushDue(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d := f.delivery(t, later.ID)
	up := f.consents(t)
	got, _ := fhir.ReadConsent(up[d.UpstreamID])
	if d.Status == store.DeliverySent && got.Identifier != later.Identifier {
		t.Errorf("push %+v: delivery recorded %q (version %q), yet the source still holds the earlier decision (research=%v); the PUT was answered 200 OperationOutcome error",
			sum, d.Status, d.UpstreamVersion, got.Research)
	}
	f.change(t, store.QuestionPlanning, "no")
	mu.Lock()
	ifMatch = nil
	mu.Unlock()
	f.pusher().PushDue(ctx)
	mu.Lock()
	defer mu.Unlock()
	if slices.Contains(ifMatch, "") {
		t.Errorf("the next decision's PUT went without If-Match (If-Match of each: %q)", ifMatch)
	}
}

// A PUT answered 200 with nothing to say which version the source now holds
// (no body, no ETag, no Location) is read for it, so the next change's PUT
// still carries If-Match (a review: it went without).
func TestAnUpdateAnsweredWithNoVersionIsReadForIt(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	var ifMatch []string
	f := newPushFixtureVia(t, func(u string) string {
		return newStubProxy(t, u, func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method == http.MethodPut {
				mu.Lock()
				ifMatch = append(ifMatch, r.Header.Get("If-Match"))
				mu.Unlock()
			}
			return false
		}, func(r *http.Request, body []byte) []byte {
			if r.Method == http.MethodPut {
				return nil // the stub proxy passes on no ETag or Location either
			}
			return body
		}).URL
	})
	for _, ch := range []struct{ q, a string }{{store.QuestionResearch, "no"}, {store.QuestionResearch, "yes"}, {store.QuestionPlanning, "no"}} {
		f.change(t, ch.q, ch.a)
		if sum, err := f.pusher().PushDue(ctx); err != nil || sum.Sent != 1 {
			t.Fatalf("push: %+v %v", sum, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ifMatch) != 2 || slices.Contains(ifMatch, "") {
		t.Errorf("the updates' If-Match: %q; want both to carry one", ifMatch)
	}
}

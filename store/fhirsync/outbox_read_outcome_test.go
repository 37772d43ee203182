package fhirsync_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
)

// A source that answers every read of the Consent with 200 and an
// OperationOutcome of severity error (a façade that reports refusals so):
// Client.Read gives an *UpstreamError with Status 200, not retryable, which
// push counts neither as a refusal (Status < 400) nor as anything else but a
// reason to try again. The delivery goes round for ever, and every later
// change to that source waits behind it, never tried.
// A read answered 200 with an OperationOutcome is a refusal, shown to the
// person, not tried for ever holding up later changes (a review).
func TestAReadAnswered200OperationOutcomeIsARefusal(t *testing.T) {
	ctx := context.Background()
	f, mu, failPut, _ := readingFixture(t, func(w http.ResponseWriter, r *http.Request) bool {
		writeOutcome(w, http.StatusOK, "forbidden", "Read of Consent is not permitted for this client")
		return true
	}, nil)
	later := firstThenFailedPut(t, f, mu, failPut)
	newest := f.change(t, store.QuestionPlanning, "no")
	for range 40 {
		f.advance(2 * time.Hour)
		if _, err := f.pusher().PushDue(ctx); err != nil {
			t.Fatal(err)
		}
	}
	d, dn := f.delivery(t, later.ID), f.delivery(t, newest.ID)
	if d.Status != store.DeliveryFailed || dn.Status == store.DeliveryFailed {
		t.Errorf("80 hours on, the delivery is still %q after %d tries (%q), and the newer change is %q after %d tries",
			d.Status, d.Attempts, d.LastError, dn.Status, dn.Attempts)
	}
}

package fhirsync_test

import (
	"context"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// A source removed and added again holds the portal's Consent already: the
// next change updates it, rather than make a second (a review).
func TestASourceConnectedAgainUpdatesItsConsent(t *testing.T) {
	ctx := context.Background()
	f := newPushFixture(t)
	f.change(t, store.QuestionResearch, "no")
	if sum, err := f.pusher().PushDue(ctx); err != nil || sum.Sent != 1 {
		t.Fatalf("push: %+v %v", sum, err)
	}
	f.reconnect(t)
	newer := f.change(t, store.QuestionResearch, "yes")
	if sum, err := f.pusher().PushDue(ctx); err != nil || sum.Sent != 1 {
		t.Fatalf("push after reconnecting: %+v %v", sum, err)
	}
	up := f.consents(t)
	for id, raw := range up {
		got, _ := fhir.ReadConsent(raw)
		t.Logf("Consent/%s: %s research=%v", id, got.Identifier, got.Research)
	}
	if len(up) != 1 {
		t.Errorf("%d active portal Consents for the patient after the person's newer choice (%s) was sent; want 1", len(up), newer.Identifier)
	}
}

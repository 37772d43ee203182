package views_test

import (
	"strings"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/views"
)

// The saved-change page promises no try that will not come: none for a
// delivery to a source since removed, nor "send it again" for one the
// history will not offer to (the source removed, or a later change queued
// there), as /choices/done/ID shows them when opened again later (a review).
func TestChoiceDoneSentencesAreTrue(t *testing.T) {
	when := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		d    store.ConsentDelivery
	}{
		{"waiting, source removed", store.ConsentDelivery{ID: 1, DecisionID: 3, SourceID: 0, SourceName: "Leeds Teaching Hospitals", Status: store.DeliveryWaiting}},
		{"refused, source removed", store.ConsentDelivery{ID: 1, DecisionID: 3, SourceID: 0, SourceName: "Leeds Teaching Hospitals", Status: store.DeliveryFailed, Attempts: 1}},
		{"refused, overtaken by a later change not yet sent", store.ConsentDelivery{ID: 1, DecisionID: 3, SourceID: 1, SourceName: "Leeds Teaching Hospitals", Status: store.DeliveryFailed, Attempts: 1, Overtaken: true}},
	} {
		dec := store.ConsentDecision{ID: 3, Question: store.QuestionResearch, Answer: "no", MadeAt: when, EffectiveFrom: when,
			Performer: store.Performer{AccountID: 9, Name: "Jane Example"}, Deliveries: []store.ConsentDelivery{tc.d}}
		d, _ := render(t, views.ChoiceDone(page("", "/choices/done/3", true), views.ChoiceDoneView{Person: jane, Decision: dec, ViewerID: 9}))
		done := strings.Join(strings.Fields(d.Find("main").Text()), " ")
		h, _ := render(t, views.ChoicesHistory(page("", "/choices/history", true), views.ChoicesHistoryView{Person: jane, Decisions: []store.ConsentDecision{dec}, ViewerID: 9}))
		retry := h.Find(`form[action$="/retry"]`).Length()
		t.Logf("%s:\n  saved page: %s\n  history retry buttons: %d", tc.name, done, retry)
		if tc.d.SourceID == 0 && tc.d.Status == store.DeliveryWaiting && strings.Contains(done, "We keep trying") {
			t.Errorf("%s: the page says we keep trying, though it can never be sent", tc.name)
		}
		if strings.Contains(done, "you can send it again from the history") && retry == 0 {
			t.Errorf("%s: the page says it can be sent again from the history, which offers no way to", tc.name)
		}
	}
}

package views_test

import (
	"strings"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/views"
)

// The saved-change page (/choices/done/ID, which can be opened again at
// any time) says "We keep trying until each one has it." under a delivery
// the organisation refused. A refusal is never tried again unless the person
// asks (fhirsync.Pusher; "Try sending again" is only on the history page,
// not here), so the sentence is untrue.
// The saved-change page never says a refused delivery is tried again: it
// waits for the person to send it again (a review).
func TestSavedPageDoesNotPromiseToRetryARefusal(t *testing.T) {
	when := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	decision := store.ConsentDecision{ID: 3, Question: store.QuestionResearch, Answer: "no", MadeAt: when, EffectiveFrom: when,
		Performer:  store.Performer{AccountID: 9, Name: "Jane Example"},
		Deliveries: []store.ConsentDelivery{{ID: 1, DecisionID: 3, SourceID: 1, SourceName: "Leeds Teaching Hospitals", Status: store.DeliveryFailed, Attempts: 1}}}
	d, _ := render(t, views.ChoiceDone(page("", "/choices/done/3", true), views.ChoiceDoneView{Person: jane, Decision: decision, ViewerID: 9}))
	main := strings.Join(strings.Fields(d.Find("main").Text()), " ")
	if strings.Contains(main, "Not accepted by Leeds Teaching Hospitals.") && strings.Contains(main, "We keep trying until each one has it.") {
		t.Errorf("a refused delivery is said to be tried again: %s", main)
	}
	if !strings.Contains(main, "Where it was not accepted, you can send it again from the history of your choices.") {
		t.Errorf("the page does not say how to send it again: %s", main)
	}
}

// With one refused and another still waiting, it says only those waiting are
// tried again.
func TestSavedPageSaysOnlyThoseWaitingAreTriedAgain(t *testing.T) {
	when := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	decision := store.ConsentDecision{ID: 3, Question: store.QuestionResearch, Answer: "no", MadeAt: when, EffectiveFrom: when,
		Performer: store.Performer{AccountID: 9, Name: "Jane Example"},
		Deliveries: []store.ConsentDelivery{{ID: 1, DecisionID: 3, SourceID: 1, SourceName: "Leeds Teaching Hospitals", Status: store.DeliveryFailed, Attempts: 1},
			{ID: 2, DecisionID: 3, SourceID: 2, SourceName: "Leeds GP", Status: store.DeliveryWaiting, Attempts: 1}}}
	d, _ := render(t, views.ChoiceDone(page("", "/choices/done/3", true), views.ChoiceDoneView{Person: jane, Decision: decision, ViewerID: 9}))
	main := strings.Join(strings.Fields(d.Find("main").Text()), " ")
	if strings.Contains(main, "until each one has it") || !strings.Contains(main, "We keep trying to send it where it is still waiting.") {
		t.Errorf("one refused, one waiting: %s", main)
	}
}

package fhirsync_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
	"github.com/mycarerecord/portal/store/fhirsync"
)

// reconnect removes the fixture's source and adds it again (a new id), the
// person found there again.
func (f *pushFixture) reconnect(t *testing.T) store.Source {
	t.Helper()
	ctx := context.Background()
	if _, err := f.db.RemoveSource(ctx, f.src.Name, false); err != nil {
		t.Fatal(err)
	}
	src, err := f.db.AddSource(ctx, store.Source{Name: "yh", OrgName: "Yorkshire and Humber Care Record", BaseURL: f.src.BaseURL})
	if err != nil {
		t.Fatal(err)
	}
	puller := &fhirsync.Puller{DB: f.db, Client: fhirsync.NewClients(func(string) string { return "" }, fastClient).Get}
	if p, err := puller.FindPerson(ctx, src, syntheaSystem, f.patientID); err != nil || p.ID != f.person.ID {
		t.Fatalf("found again: %+v %v", p, err)
	}
	f.src = src
	return src
}

// Two active Consents of the portal's for the patient at the source (as a
// source removed and added again was left with before): the first
// delivery's conditional create cannot say which to update, and makes this
// decision's own rather than be refused for ever (a review).
func TestTwoPortalConsentsUpstreamStillTakeTheChoices(t *testing.T) {
	ctx := context.Background()
	f := newPushFixture(t)
	first := f.change(t, store.QuestionResearch, "no")
	if sum, err := f.pusher().PushDue(ctx); err != nil || sum.Sent != 1 {
		t.Fatalf("push: %+v %v", sum, err)
	}
	// The second Consent of the portal's the older version made (its own urn:uuid).
	var c map[string]any
	up := f.consents(t)
	for _, raw := range up {
		json.Unmarshal(raw, &c)
	}
	delete(c, "id")
	delete(c, "meta")
	c["identifier"] = []any{map[string]any{"system": fhir.SystemConsentDecision, "value": "urn:uuid:0b7c4f0e-1111-4222-8333-944455556666"}}
	dup, _ := json.Marshal(c)
	if status, body := f.srv.Do(t, "POST", "/Consent", dup); status != http.StatusCreated {
		t.Fatalf("seed: %d %s", status, body)
	}
	_ = first

	f.reconnect(t)
	newer := f.change(t, store.QuestionResearch, "yes")
	sum, err := f.pusher().PushDue(ctx)
	d, _ := f.db.ConsentDecision(ctx, f.person.ID, newer.ID)
	t.Logf("push: %+v %v; delivery %+v", sum, err, d.Deliveries)
	if err != nil || sum.Sent != 1 {
		t.Errorf("the person's newer choice to the source connected again: %+v %v; want it sent (the source holds the portal's Consents: one updated)", sum, err)
	}
	// Retried by the person: refused again, the same way.
	for _, dl := range d.Deliveries {
		if dl.Status == store.DeliveryFailed {
			if err := f.db.RetryConsentDelivery(ctx, f.person.ID, dl.ID, store.Access{AccountID: 1, PersonID: f.person.ID, Action: "retry"}); err != nil {
				t.Fatal(err)
			}
			sum, err := f.pusher().PushDue(ctx)
			d, _ := f.db.ConsentDecision(ctx, f.person.ID, newer.ID)
			t.Errorf("retried: %+v %v; delivery now %s: %s", sum, err, d.Deliveries[0].Status, d.Deliveries[0].LastError)
		}
	}
}

// A Consent of the portal's the source marked entered-in-error is left so:
// the first delivery to the source connected again makes its own (a
// review: it was put over, and active again).
func TestAnEnteredInErrorConsentIsNotRevived(t *testing.T) {
	ctx := context.Background()
	f := newPushFixture(t)
	f.change(t, store.QuestionResearch, "no")
	if sum, err := f.pusher().PushDue(ctx); err != nil || sum.Sent != 1 {
		t.Fatalf("push: %+v %v", sum, err)
	}
	var withdrawn string
	for id, raw := range f.consents(t) {
		var c map[string]any
		json.Unmarshal(raw, &c)
		c["status"] = "entered-in-error"
		delete(c, "meta")
		b, _ := json.Marshal(c)
		if status, body := f.srv.Do(t, "PUT", "/Consent/"+id, b); status != http.StatusOK {
			t.Fatalf("mark entered-in-error: %d %s", status, body)
		}
		withdrawn = id
	}
	f.reconnect(t)
	newer := f.change(t, store.QuestionResearch, "yes")
	if sum, err := f.pusher().PushDue(ctx); err != nil || sum.Sent != 1 {
		t.Fatalf("push after reconnecting: %+v %v", sum, err)
	}
	d, _ := f.db.ConsentDecision(ctx, f.person.ID, newer.ID)
	var st struct{ Status string }
	for _, raw := range f.srv.Resources(t, "Consent", url.Values{"_id": {withdrawn}}.Encode()) {
		json.Unmarshal(raw, &st)
	}
	if d.Deliveries[0].UpstreamID == withdrawn || st.Status != "entered-in-error" {
		t.Errorf("Consent/%s, marked entered-in-error by the source, is now %q, the newer choice PUT over it (delivered as Consent/%s)",
			withdrawn, st.Status, d.Deliveries[0].UpstreamID)
	}
}

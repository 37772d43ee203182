package fhirsync_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/mycarerecord/portal/store"
)

// A Consent the source holds for the patient that is not the portal's (its
// own, by another identifier system) is left alone: the portal's first
// delivery creates its own beside it, as the conditional create asks only
// for one of the portal's.
func TestPushLeavesTheSourcesOwnConsentAlone(t *testing.T) {
	ctx := context.Background()
	f := newPushFixture(t)
	theirs := `{"resourceType":"Consent","status":"active","identifier":[{"system":"https://gp.example.org/consent","value":"c-1"}],` +
		`"patient":{"reference":"Patient/` + f.patientID + `"},` +
		`"scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},"category":[{"text":"the GP's own"}]}`
	if status, body := f.srv.Do(t, "POST", "/Consent", []byte(theirs)); status != http.StatusCreated {
		t.Fatalf("seed: %d %s", status, body)
	}
	dec := f.change(t, store.QuestionResearch, "no")
	if sum, err := f.pusher().PushDue(ctx); err != nil || sum.Sent != 1 {
		t.Fatalf("push: %+v %v", sum, err)
	}
	if n := f.withIdentifier(t, dec.Identifier); n != 1 {
		t.Errorf("%d Consents upstream carry the decision; want 1", n)
	}
	if all := f.srv.Resources(t, "Consent", url.Values{"patient": {"Patient/" + f.patientID}}.Encode()); len(all) != 2 {
		t.Errorf("%d Consents for the patient upstream; want the GP's and the portal's", len(all))
	}
}

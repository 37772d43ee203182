package fhirsync_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
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

// TestPushLeavesAnotherAppsURIIdentifiedConsentAlone: another app's active
// Consent for the patient, identified under urn:ietf:rfc:3986 (which any
// system uses for a URI), is not taken for the portal's and written over:
// the portal's Consents carry a system of its own (a review: the first
// delivery found it, read it and updated it with the person's choice).
func TestPushLeavesAnotherAppsURIIdentifiedConsentAlone(t *testing.T) {
	ctx := context.Background()
	f := newPushFixture(t)
	theirs := `{"resourceType":"Consent","status":"active","identifier":[{"system":"urn:ietf:rfc:3986","value":"urn:uuid:9f1c7e0a-2b3d-4c5e-8f6a-7b8c9d0e1f2a"}],` +
		`"patient":{"reference":"Patient/` + f.patientID + `"},` +
		`"scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},"category":[{"text":"another app's record of the patient's wishes"}]}`
	if status, body := f.srv.Do(t, "POST", "/Consent", []byte(theirs)); status != http.StatusCreated {
		t.Fatalf("seed: %d %s", status, body)
	}
	dec := f.change(t, store.QuestionResearch, "no")
	if sum, err := f.pusher().PushDue(ctx); err != nil || sum.Sent != 1 {
		t.Fatalf("push: %+v %v", sum, err)
	}
	all := f.srv.Resources(t, "Consent", url.Values{"patient": {"Patient/" + f.patientID}}.Encode())
	if len(all) != 2 {
		t.Fatalf("%d Consents for the patient upstream; want the other app's and the portal's", len(all))
	}
	for _, raw := range all {
		if strings.Contains(string(raw), "9f1c7e0a-2b3d-4c5e-8f6a-7b8c9d0e1f2a") && (strings.Contains(string(raw), dec.Identifier) || !strings.Contains(string(raw), "another app's record")) {
			t.Errorf("the other app's Consent was written over: %s", raw)
		}
	}
	if n := f.withIdentifier(t, dec.Identifier); n != 1 {
		t.Errorf("%d Consents upstream carry the decision; want 1", n)
	}
}

// TestASourceConnectedAgainUpdatesAConsentSentUnderTheOldSystem: a Consent
// the portal sent before its identifier system was its own is still found
// by its decision's urn:uuid, and updated, not left beside a second (a
// review of the change of system).
func TestASourceConnectedAgainUpdatesAConsentSentUnderTheOldSystem(t *testing.T) {
	ctx := context.Background()
	f := newPushFixture(t)
	f.change(t, store.QuestionResearch, "no")
	if sum, err := f.pusher().PushDue(ctx); err != nil || sum.Sent != 1 {
		t.Fatalf("push: %+v %v", sum, err)
	}
	for id, raw := range f.consents(t) { // as the portal sent it before
		old := strings.Replace(string(raw), fhir.SystemConsentDecision, fhir.SystemURI, 1)
		if status, body := f.srv.Do(t, "PUT", "/Consent/"+id, []byte(old)); status != http.StatusOK && status != http.StatusCreated {
			t.Fatalf("seed: %d %s", status, body)
		}
	}
	f.reconnect(t)
	f.change(t, store.QuestionResearch, "yes")
	if sum, err := f.pusher().PushDue(ctx); err != nil || sum.Sent != 1 {
		t.Fatalf("push after reconnecting: %+v %v", sum, err)
	}
	active := 0
	for _, raw := range f.consents(t) {
		if _, ok := fhir.ReadConsent(raw); ok {
			active++
		}
	}
	if active != 1 {
		t.Errorf("%d active portal Consents for the patient after the newer choice was sent; want 1, the one sent before, updated", active)
	}
}

// TestARetryFindsItsFirstTryUnderTheOldSystem: a first try that reached the
// source before the change of system, its delivery never recorded, is found
// again rather than made twice (a review).
func TestARetryFindsItsFirstTryUnderTheOldSystem(t *testing.T) {
	ctx := context.Background()
	f := newPushFixture(t)
	dec := f.change(t, store.QuestionResearch, "no")
	var c map[string]any
	if err := json.Unmarshal(dec.FHIR, &c); err != nil {
		t.Fatal(err)
	}
	c["patient"] = map[string]any{"reference": "Patient/" + f.patientID}
	raw, _ := json.Marshal(c)
	firstTry := strings.Replace(string(raw), fhir.SystemConsentDecision, fhir.SystemURI, 1)
	if status, body := f.srv.Do(t, "POST", "/Consent", []byte(firstTry)); status != http.StatusCreated {
		t.Fatalf("seed: %d %s", status, body)
	}
	if sum, err := f.pusher().PushDue(ctx); err != nil || sum.Sent != 1 {
		t.Fatalf("push: %+v %v", sum, err)
	}
	n := 0
	for _, raw := range f.srv.Resources(t, "Consent", "") {
		if strings.Contains(string(raw), dec.Identifier) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d Consents upstream carry the decision; want 1, its first try found again", n)
	}
}

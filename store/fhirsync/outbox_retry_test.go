package fhirsync_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
	"github.com/mycarerecord/portal/store/fhirsync"
)

// TestRetryCannotOvertakeALaterChange: the person presses "send again" on a
// change the source refused while a later change is on its way to the source.
// The later change carries every choice, so the retry is refused: sent after
// it, the older change would reach the source last, and two Consents would be
// active there, the older one winning.
func TestRetryCannotOvertakeALaterChange(t *testing.T) {
	ctx := context.Background()
	f := newPushFixture(t)
	older := f.change(t, store.QuestionPlanning, "no")
	// Two Consents of the portal's for the patient already: the conditional create is refused (412).
	clash := `{"resourceType":"Consent","status":"active","identifier":[{"system":"` + fhir.SystemConsentDecision + `","value":"` + older.Identifier + `"}],` +
		`"patient":{"reference":"Patient/` + f.patientID + `"},` +
		`"scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},"category":[{"text":"clash"}]}`
	for range 2 {
		if status, body := f.srv.Do(t, "POST", "/Consent", []byte(clash)); status != http.StatusCreated {
			t.Fatalf("seed clash: %d %s", status, body)
		}
	}
	p := f.pusher()
	if sum, err := p.PushDue(ctx); err != nil || sum.Refused != 1 {
		t.Fatalf("push the older change: %+v %v", sum, err)
	}
	refused := f.delivery(t, older.ID)
	for _, raw := range f.srv.Resources(t, "Consent", url.Values{"identifier": {fhir.SystemConsentDecision + "|" + older.Identifier}}.Encode()) {
		var r struct{ ID string }
		json.Unmarshal(raw, &r)
		f.srv.Do(t, "DELETE", "/Consent/"+r.ID, nil)
	}
	latest := f.change(t, store.QuestionResearch, "no") // planning no and research no

	// The later change is claimed and about to be sent when the person presses "send again".
	clients, pressed := p.Client, false
	var retryErr error
	p.Client = func(src store.Source) (*fhirsync.Client, error) {
		if !pressed {
			pressed = true
			retryErr = f.db.RetryConsentDelivery(ctx, f.person.ID, refused.ID, store.Access{AccountID: 1, PersonID: f.person.ID, Action: "choice", What: "send change again"})
		}
		return clients(src)
	}
	if _, err := p.PushDue(ctx); err != nil {
		t.Fatal(err)
	}
	if store.ErrorCode(retryErr) != store.ENOTFOUND {
		t.Errorf("send again while a later change was being sent: %v, want it refused", retryErr)
	}
	var ids []string
	for _, raw := range f.consents(t) {
		var r struct{ Identifier []struct{ Value string } }
		json.Unmarshal(raw, &r)
		for _, ident := range r.Identifier {
			ids = append(ids, ident.Value)
		}
	}
	if !slices.Equal(ids, []string{latest.Identifier}) {
		t.Errorf("Consents upstream carry %v, want one carrying the latest change %s (the older is %s)", ids, latest.Identifier, older.Identifier)
	}
	if d := f.delivery(t, older.ID); d.Status != store.DeliveryFailed {
		t.Errorf("the older change is %s, want it left refused", d.Status)
	}
}

// TestPushWaitsAsTheLastAnswerAsks: a source that answers every try of a
// call 429 with a Retry-After the client may wait within a call (25 s) is
// next tried when it said, not sooner by the pusher's own back-off (15 s at
// most for a first try).
func TestPushWaitsAsTheLastAnswerAsks(t *testing.T) {
	ctx := context.Background()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "25")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	db, _ := bulkDB(t)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { return now }
	db.SetClock(clock)
	src, err := db.AddSource(ctx, store.Source{Name: "yh", BaseURL: srv.URL + "/fhir"})
	if err != nil {
		t.Fatal(err)
	}
	patient := `{"resourceType":"Patient","id":"p1","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}],"name":[{"given":["Ann"],"family":"Smith"}],"birthDate":"1957-03-14"}`
	if _, err := fhirsync.ImportNDJSON(ctx, db, store.ImportOptions{Source: src.Name, SourceID: src.ID}, "test", strings.NewReader(patient+"\n"), 0); err != nil {
		t.Fatal(err)
	}
	person, err := db.PersonByNHSNumber(ctx, "9434765919")
	if err != nil {
		t.Fatal(err)
	}
	logged := func(d store.ConsentDecision) store.Access {
		return store.Access{AccountID: 1, PersonID: d.PersonID, Action: "choice"}
	}
	dec, err := db.ChangeConsent(ctx, person.ID, store.Performer{AccountID: 1, Name: "Ann Smith"}, store.ConsentChange{Question: store.QuestionResearch, Answer: "no"}, logged)
	if err != nil {
		t.Fatal(err)
	}
	var sleeps sleepRecorder
	p := &fhirsync.Pusher{DB: db, Now: clock, Client: fhirsync.NewClients(func(string) string { return "" },
		fhirsync.ClientOptions{Now: clock, Sleep: sleeps.sleep}).Get}
	if sum, err := p.PushDue(ctx); err != nil || sum.Retrying != 1 {
		t.Fatalf("push: %+v %v", sum, err)
	}
	d, err := db.ConsentDecision(ctx, person.ID, dec.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := d.Deliveries[0]
	if want := now.Add(25 * time.Second); !got.NextAttemptAt.Equal(want) {
		t.Errorf("next try at %v, want %v as the last answer asked (waits within the call %v)", got.NextAttemptAt, want, sleeps.waits())
	}
	if !strings.Contains(got.LastError, "busy") {
		t.Errorf("the person reads %q, want to be told the system is busy", got.LastError)
	}
}

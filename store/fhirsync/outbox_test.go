package fhirsync_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mycarerecord/portal/e2e/upstream"
	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
	"github.com/mycarerecord/portal/store/fhirsync"
)

const smallPatient = "Cecelia952_Romaguera67_f1731e33-dc55-4ee8-72d7-cece2e49bedd.json"

// pushFixture is a real FHIR server holding one patient, and a portal database
// where that patient is a person at a source pointing at the server (or at a
// fault proxy in front of it).
type pushFixture struct {
	srv       *upstream.Server
	proxy     *upstream.FaultProxy
	db        *store.DB
	src       store.Source
	person    store.Person
	patientID string

	mu  sync.Mutex
	now time.Time
}

func (f *pushFixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *pushFixture) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

func newPushFixture(t *testing.T) *pushFixture {
	t.Helper()
	var proxy *upstream.FaultProxy
	f := newPushFixtureVia(t, func(upstreamURL string) string {
		proxy = upstream.NewFaultProxy(t, upstreamURL, upstream.Faults{})
		return proxy.URL
	})
	f.proxy = proxy
	return f
}

// newPushFixtureVia is newPushFixture with the source at the address front
// gives for the test server's (a proxy of the test's own).
func newPushFixtureVia(t *testing.T, front func(upstreamURL string) string) *pushFixture {
	t.Helper()
	ctx := context.Background()
	srv, patientID := upstream.StartWithPatient(t, smallPatient)
	f := &pushFixture{srv: srv, patientID: patientID, now: time.Date(2026, 11, 25, 10, 42, 0, 0, time.UTC)}
	base := front(srv.URL)
	f.db = openDB(t)
	f.db.SetClock(f.clock)
	var err error
	if f.src, err = f.db.AddSource(ctx, store.Source{Name: "yh", OrgName: "Yorkshire and Humber Care Record", BaseURL: base}); err != nil {
		t.Fatal(err)
	}
	puller := &fhirsync.Puller{DB: f.db, Client: fhirsync.NewClients(func(string) string { return "" }, fastClient).Get}
	if f.person, err = puller.FindPerson(ctx, f.src, syntheaSystem, f.patientID); err != nil {
		t.Fatal(err)
	}
	return f
}

// pusher is a fresh pusher, as a newly started process would have. Its
// clients read the fixture's clock too, so a source that asks to wait
// (Retry-After) is waited for as the pusher's back-off is.
func (f *pushFixture) pusher() *fhirsync.Pusher {
	opts := fastClient
	opts.Now = f.clock
	return &fhirsync.Pusher{DB: f.db, Client: fhirsync.NewClients(func(string) string { return "" }, opts).Get,
		Now: f.clock, BaseDelay: time.Minute, MaxDelay: 10 * time.Minute, Lease: 2 * time.Minute}
}

// consents is every Consent upstream about the patient, by id.
func (f *pushFixture) consents(t *testing.T) map[string]json.RawMessage {
	t.Helper()
	out := map[string]json.RawMessage{}
	for _, raw := range f.srv.Resources(t, "Consent", "patient=Patient/"+f.patientID) {
		var r struct{ ID string }
		json.Unmarshal(raw, &r)
		out[r.ID] = raw
	}
	return out
}

func (f *pushFixture) withIdentifier(t *testing.T, identifier string) int {
	t.Helper()
	return len(f.srv.Resources(t, "Consent", url.Values{"identifier": {fhir.SystemConsentDecision + "|" + identifier}}.Encode()))
}

func (f *pushFixture) change(t *testing.T, q, a string) store.ConsentDecision {
	t.Helper()
	d, err := f.db.ChangeConsent(context.Background(), f.person.ID, store.Performer{AccountID: 1, Name: "Cecelia Romaguera"}, store.ConsentChange{Question: q, Answer: a}, func(d store.ConsentDecision) store.Access {
		return store.Access{AccountID: 1, PersonID: d.PersonID, Action: "choice", What: q + ": " + a}
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (f *pushFixture) delivery(t *testing.T, decisionID int64) store.ConsentDelivery {
	t.Helper()
	d, err := f.db.ConsentDecision(context.Background(), f.person.ID, decisionID)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Deliveries) != 1 {
		t.Fatalf("decision %d has %d deliveries, want 1", decisionID, len(d.Deliveries))
	}
	return d.Deliveries[0]
}

// TestPushDeliversAndUpdates sends a first decision (created upstream) and a
// second (updating the same Consent), and reads them back as FHIR.
func TestPushDeliversAndUpdates(t *testing.T) {
	ctx := context.Background()
	f := newPushFixture(t)
	first := f.change(t, store.QuestionResearch, "no")
	sum, err := f.pusher().PushDue(ctx)
	if err != nil || sum.Sent != 1 {
		t.Fatalf("push: %+v %v", sum, err)
	}
	d := f.delivery(t, first.ID)
	if d.Status != store.DeliverySent || d.UpstreamID == "" || !d.SentAt.Equal(f.clock()) {
		t.Fatalf("delivery %+v", d)
	}
	up := f.consents(t)
	if len(up) != 1 {
		t.Fatalf("%d Consents upstream, want 1", len(up))
	}
	got, ok := fhir.ReadConsent(up[d.UpstreamID])
	if !ok || got.Research || !got.DirectCare || got.Identifier != first.Identifier {
		t.Fatalf("upstream Consent reads as %+v (%v): %s", got, ok, up[d.UpstreamID])
	}
	if !strings.Contains(string(up[d.UpstreamID]), `"reference":"Patient/`+f.patientID+`"`) {
		t.Errorf("the Consent does not name the patient at the source: %s", up[d.UpstreamID])
	}

	second := f.change(t, store.QuestionPlanning, "no")
	if sum, err := f.pusher().PushDue(ctx); err != nil || sum.Sent != 1 {
		t.Fatalf("second push: %+v %v", sum, err)
	}
	d2 := f.delivery(t, second.ID)
	if d2.UpstreamID != d.UpstreamID || d2.UpstreamVersion == d.UpstreamVersion {
		t.Fatalf("second delivery %+v, want a new version of %s", d2, d.UpstreamID)
	}
	up = f.consents(t)
	if len(up) != 1 {
		t.Fatalf("%d Consents upstream after an update, want 1", len(up))
	}
	got, _ = fhir.ReadConsent(up[d.UpstreamID])
	if got.Research || got.Planning || got.Identifier != second.Identifier {
		t.Fatalf("updated Consent reads as %+v", got)
	}
	if sum, err := f.pusher().PushDue(ctx); err != nil || sum != (fhirsync.PushSummary{}) {
		t.Fatalf("nothing left to push, yet: %+v %v", sum, err)
	}
}

// TestPushRetriesThroughAnOutage keeps a decision waiting while the source
// answers 500 and 429, and delivers it once the source is back.
func TestPushRetriesThroughAnOutage(t *testing.T) {
	ctx := context.Background()
	f := newPushFixture(t)
	dec := f.change(t, store.WithholdQuestion(store.CategoryMentalHealth), "yes")
	f.proxy.SetFaults(upstream.Faults{Rate: 1, Seed: 7, Kinds: []upstream.Fault{upstream.Fault500, upstream.Fault429}})
	p := f.pusher()
	for round := 1; round <= 3; round++ {
		sum, err := p.PushDue(ctx)
		if err != nil || sum.Retrying != 1 || sum.Sent != 0 {
			t.Fatalf("round %d during the outage: %+v %v", round, sum, err)
		}
		d := f.delivery(t, dec.ID)
		if d.Status != store.DeliveryWaiting || d.LastError == "" || d.Attempts != round {
			t.Fatalf("round %d: %+v", round, d)
		}
		// Not due again until the back-off has passed.
		if sum, _ := p.PushDue(ctx); sum.Retrying != 0 {
			t.Fatalf("round %d: tried again before the back-off", round)
		}
		f.advance(d.NextAttemptAt.Sub(f.clock()) + time.Second)
	}
	if n := len(f.consents(t)); n != 0 {
		t.Fatalf("%d Consents upstream during the outage", n)
	}
	f.proxy.SetFaults(upstream.Faults{})
	sum, err := p.PushDue(ctx)
	if err != nil || sum.Sent != 1 {
		t.Fatalf("after the outage: %+v %v", sum, err)
	}
	if d := f.delivery(t, dec.ID); d.Status != store.DeliverySent || d.Attempts != 4 || d.LastError != "" {
		t.Fatalf("delivered: %+v", d)
	}
	if n := f.withIdentifier(t, dec.Identifier); n != 1 {
		t.Fatalf("%d Consents with the decision's identifier, want 1", n)
	}
	t.Logf("injected %d faults", f.proxy.Injected())
}

// TestPushWaitsAsTheSourceAsks: a source that answers 429 with a Retry-After
// longer than a call may wait is not asked again before that time, though
// the back-off alone would try sooner.
func TestPushWaitsAsTheSourceAsks(t *testing.T) {
	ctx := context.Background()
	f := newPushFixture(t)
	dec := f.change(t, store.QuestionResearch, "no")
	f.proxy.SetFaults(upstream.Faults{Rate: 1, Seed: 7, Kinds: []upstream.Fault{upstream.Fault429}, RetryAfter: "3600"})
	p := f.pusher()
	if sum, err := p.PushDue(ctx); err != nil || sum.Retrying != 1 {
		t.Fatalf("push: %+v %v", sum, err)
	}
	d := f.delivery(t, dec.ID)
	if want := f.clock().Add(time.Hour); d.NextAttemptAt.Before(want) {
		t.Errorf("next try at %v, want no sooner than %v, when the source said to", d.NextAttemptAt, want)
	}
	if !strings.Contains(d.LastError, "busy and asked us to wait") {
		t.Errorf("the delivery says %q, want that the source asked us to wait", d.LastError)
	}
	f.proxy.SetFaults(upstream.Faults{})
	// This pusher keeps no hold for other processes: releasing a source that
	// holds nothing leaves its deliveries' times alone.
	if held, err := f.db.LiftHold(ctx, "yh"); err != nil || !held.IsZero() {
		t.Fatalf("LiftHold with no hold kept: %v %v", held, err)
	}
	if sum, err := p.PushDue(ctx); err != nil || sum != (fhirsync.PushSummary{}) {
		t.Fatalf("after releasing a source that held nothing: %+v %v, want nothing due", sum, err)
	}
	f.advance(d.NextAttemptAt.Sub(f.clock()) + time.Second)
	if sum, err := p.PushDue(ctx); err != nil || sum.Sent != 1 {
		t.Fatalf("after the wait: %+v %v", sum, err)
	}
	if n := f.withIdentifier(t, dec.Identifier); n != 1 {
		t.Fatalf("%d Consents with the decision's identifier, want 1", n)
	}
}

// TestPushAfterALiftedHold: a delivery waiting for a source that asked us to
// wait goes at once when an operator lifts the hold (portal source release).
func TestPushAfterALiftedHold(t *testing.T) {
	ctx := context.Background()
	f := newPushFixture(t)
	dec := f.change(t, store.QuestionResearch, "no")
	f.proxy.SetFaults(upstream.Faults{Rate: 1, Seed: 7, Kinds: []upstream.Fault{upstream.Fault429}, RetryAfter: "3600"})
	p := f.pusher()
	opts := fastClient
	opts.Now, opts.Holds = f.clock, f.db
	p.Client = fhirsync.NewClients(func(string) string { return "" }, opts).Get
	if sum, err := p.PushDue(ctx); err != nil || sum.Retrying != 1 {
		t.Fatalf("push: %+v %v", sum, err)
	}
	f.proxy.SetFaults(upstream.Faults{})
	if sum, err := p.PushDue(ctx); err != nil || sum != (fhirsync.PushSummary{}) {
		t.Fatalf("push while the source is held: %+v %v, want nothing due", sum, err)
	}
	if held, err := f.db.LiftHold(ctx, "yh"); err != nil || !held.Equal(f.clock().Add(time.Hour)) {
		t.Fatalf("LiftHold: %v %v", held, err)
	}
	if sum, err := p.PushDue(ctx); err != nil || sum.Sent != 1 {
		t.Fatalf("push after the hold was lifted: %+v %v, want it sent", sum, err)
	}
	if n := f.withIdentifier(t, dec.Identifier); n != 1 {
		t.Fatalf("%d Consents with the decision's identifier, want 1", n)
	}
}

// TestLiftedHoldLeavesAClaimedDelivery: a delivery claimed for sending when
// the hold is lifted keeps its lease, so no second pusher claims it and
// sends it again.
func TestLiftedHoldLeavesAClaimedDelivery(t *testing.T) {
	for _, hold := range []time.Duration{time.Hour, time.Minute} { // ending after the lease, and before it
		t.Run(hold.String(), func(t *testing.T) {
			ctx := context.Background()
			f := newPushFixture(t)
			f.change(t, store.QuestionResearch, "no")
			if err := f.db.HoldSource(ctx, f.src.ID, f.clock().Add(hold)); err != nil {
				t.Fatal(err)
			}
			if claimed, err := f.db.ClaimConsentOutbox(ctx, 10, 2*time.Minute); err != nil || len(claimed) != 1 {
				t.Fatalf("claim: %+v %v", claimed, err)
			}
			if _, err := f.db.LiftHold(ctx, "yh"); err != nil {
				t.Fatal(err)
			}
			if again, err := f.db.ClaimConsentOutbox(ctx, 10, 2*time.Minute); err != nil || len(again) != 0 {
				t.Errorf("claimed again while the first claim's lease lasts: %+v %v", again, err)
			}
		})
	}
}

// TestPushAfterACrashIsExactlyOnce: the Consent reaches the source but the
// sender dies before recording it (a killed process; then a dropped answer).
// Sending again leaves exactly one Consent upstream.
func TestPushAfterACrashIsExactlyOnce(t *testing.T) {
	ctx := context.Background()
	f := newPushFixture(t)
	dec := f.change(t, store.QuestionDirectCare, "no")

	// The first process claims the delivery and sends it, then is killed before it records the answer.
	claimed, err := f.db.ClaimConsentOutbox(ctx, 10, 2*time.Minute)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %+v %v", claimed, err)
	}
	c, err := fhirsync.NewClient(f.srv.URL, nil, fastClient)
	if err != nil {
		t.Fatal(err)
	}
	cond := url.Values{"identifier": {fhir.SystemConsentDecision + "|" + claimed[0].Identifier}}.Encode()
	if resp, body, err := c.Do(ctx, http.MethodPost, "Consent", claimed[0].Body, http.Header{"If-None-Exist": {cond}}); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("the first process's POST: %v %s", err, body)
	}
	if n := f.withIdentifier(t, dec.Identifier); n != 1 {
		t.Fatalf("%d upstream after the first send", n)
	}

	// A restarted process finds nothing due while the dead one's lease lasts, then sends it again.
	p := f.pusher()
	if sum, err := p.PushDue(ctx); err != nil || sum != (fhirsync.PushSummary{}) {
		t.Fatalf("during the lease: %+v %v", sum, err)
	}
	f.advance(3 * time.Minute)
	if sum, err := p.PushDue(ctx); err != nil || sum.Sent != 1 {
		t.Fatalf("after the lease: %+v %v", sum, err)
	}
	if n := f.withIdentifier(t, dec.Identifier); n != 1 {
		t.Fatalf("%d Consents upstream after sending again, want exactly 1", n)
	}
	if d := f.delivery(t, dec.ID); d.Status != store.DeliverySent || d.Attempts != 2 {
		t.Fatalf("delivery %+v", d)
	}

	// The same with the answer lost on the wire: the source creates the Consent, the connection drops.
	dec2 := f.change(t, store.QuestionResearch, "no")
	// The first decision's Consent exists, so this one is a PUT to it: drop those answers too.
	f.proxy.SetFaults(upstream.Faults{Rate: 1, Seed: 3, Kinds: []upstream.Fault{upstream.FaultDrop}})
	if sum, err := p.PushDue(ctx); err != nil || sum.Retrying != 1 {
		t.Fatalf("with dropped answers: %+v %v", sum, err)
	}
	f.proxy.SetFaults(upstream.Faults{})
	f.advance(time.Hour)
	if sum, err := p.PushDue(ctx); err != nil || sum.Sent != 1 {
		t.Fatalf("after the drops: %+v %v", sum, err)
	}
	if n := len(f.consents(t)); n != 1 {
		t.Fatalf("%d Consents upstream for the patient, want 1", n)
	}
	if d := f.delivery(t, dec2.ID); d.Status != store.DeliverySent {
		t.Fatalf("second delivery %+v", d)
	}
}

// TestPushFirstSendWithDroppedAnswers: a conditional create whose answers are
// all lost is repeated until one arrives, and the source holds one Consent.
func TestPushFirstSendWithDroppedAnswers(t *testing.T) {
	ctx := context.Background()
	f := newPushFixture(t)
	dec := f.change(t, store.QuestionResearch, "no")
	f.proxy.SetFaults(upstream.Faults{Rate: 1, Seed: 5, Kinds: []upstream.Fault{upstream.FaultDrop}})
	p := f.pusher()
	if sum, err := p.PushDue(ctx); err != nil || sum.Retrying != 1 {
		t.Fatalf("with dropped answers: %+v %v", sum, err)
	}
	if n := f.withIdentifier(t, dec.Identifier); n != 1 {
		t.Fatalf("%d Consents upstream after %d dropped answers, want 1", n, f.proxy.Injected())
	}
	f.proxy.SetFaults(upstream.Faults{})
	f.advance(time.Hour)
	if sum, err := p.PushDue(ctx); err != nil || sum.Sent != 1 {
		t.Fatalf("after the drops: %+v %v", sum, err)
	}
	if n := f.withIdentifier(t, dec.Identifier); n != 1 {
		t.Fatalf("%d Consents upstream, want exactly 1", n)
	}
}

// TestPushSurfacesARefusal: the source refuses the Consent with a 4xx (two
// Consents of the portal's there already are the patient's, so a
// conditional create cannot say which it means). The refusal is kept with the server's
// words, not retried on its own, and can be retried by the person.
func TestPushSurfacesARefusal(t *testing.T) {
	ctx := context.Background()
	f := newPushFixture(t)
	dec := f.change(t, store.QuestionPlanning, "no")
	clash := `{"resourceType":"Consent","status":"active","identifier":[{"system":"` + fhir.SystemConsentDecision + `","value":"` + dec.Identifier + `"}],` +
		`"patient":{"reference":"Patient/` + f.patientID + `"},` +
		`"scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},"category":[{"text":"clash"}]}`
	for range 2 {
		if status, body := f.srv.Do(t, "POST", "/Consent", []byte(clash)); status != http.StatusCreated {
			t.Fatalf("seed clash: %d %s", status, body)
		}
	}
	p := f.pusher()
	sum, err := p.PushDue(ctx)
	if err != nil || sum.Refused != 1 {
		t.Fatalf("push: %+v %v", sum, err)
	}
	d := f.delivery(t, dec.ID)
	if d.Status != store.DeliveryFailed || !strings.Contains(d.LastError, "412") {
		t.Fatalf("delivery %+v", d)
	}
	t.Logf("refusal as the person reads it: %s", d.LastError)
	f.advance(24 * time.Hour)
	if sum, _ := p.PushDue(ctx); sum != (fhirsync.PushSummary{}) {
		t.Fatalf("a refusal was retried without the person asking: %+v", sum)
	}
	// The person retries once the source has been put right.
	for _, raw := range f.srv.Resources(t, "Consent", url.Values{"identifier": {fhir.SystemConsentDecision + "|" + dec.Identifier}}.Encode()) {
		var r struct{ ID string }
		json.Unmarshal(raw, &r)
		f.srv.Do(t, "DELETE", "/Consent/"+r.ID, nil)
	}
	if err := f.db.RetryConsentDelivery(ctx, f.person.ID, d.ID, store.Access{AccountID: 1, PersonID: f.person.ID, Action: "choice", What: "send change again"}); err != nil {
		t.Fatal(err)
	}
	if sum, err := p.PushDue(ctx); err != nil || sum.Sent != 1 {
		t.Fatalf("after the retry: %+v %v", sum, err)
	}
}

// TestUpstreamConsentPulledIsTheStartingState: a Consent the GP recorded at
// the source is pulled with the record and becomes the starting state; the
// portal's own Consents, pulled back, are not mistaken for it.
func TestUpstreamConsentPulledIsTheStartingState(t *testing.T) {
	ctx := context.Background()
	f := newPushFixture(t)
	gp := `{"resourceType":"Consent","status":"active","patient":{"reference":"Patient/` + f.patientID + `"},"dateTime":"2025-06-01T09:00:00Z",
"scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},
"category":[{"coding":[{"system":"http://loinc.org","code":"59284-0"}]}],"policy":[{"uri":"https://www.nhs.uk/your-nhs-data-matters/"}],
"provision":{"type":"permit","provision":[{"type":"deny","purpose":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ActReason","code":"HOPERAT"}]}]}}`
	if status, body := f.srv.Do(t, "POST", "/Consent", []byte(gp)); status != http.StatusCreated {
		t.Fatalf("seed: %d %s", status, body)
	}
	puller := &fhirsync.Puller{DB: f.db, Client: fhirsync.NewClients(func(string) string { return "" }, fastClient).Get}
	if _, err := puller.PullPerson(ctx, f.src, f.person.ID, nil); err != nil {
		t.Fatal(err)
	}
	ch, err := f.db.ConsentChoices(ctx, f.person.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Upstream == nil || ch.Upstream.Source.Label() != "Yorkshire and Humber Care Record" || ch.State.Planning || !ch.State.Research {
		t.Fatalf("starting state %+v from %+v", ch.State, ch.Upstream)
	}
	// The person changes one thing; the portal's Consent goes up and comes back with the next pull.
	f.change(t, store.QuestionResearch, "no")
	if _, err := f.pusher().PushDue(ctx); err != nil {
		t.Fatal(err)
	}
	f.advance(time.Hour)
	if _, err := puller.PullPerson(ctx, f.src, f.person.ID, nil); err != nil {
		t.Fatal(err)
	}
	ch, err = f.db.ConsentChoices(ctx, f.person.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Upstream == nil || ch.Upstream.DateTime != "2025-06-01T09:00:00Z" || ch.State.Research || ch.State.Planning {
		t.Fatalf("after the round trip: %+v from %+v", ch.State, ch.Upstream)
	}
}

// TestStaleSenderNeverPutsBackAnOlderDecision: serve's pusher (A) claims a
// delivery and its PUT is held up longer than its lease. Then `portal outbox
// push` (B) claims the same delivery, sends it, and sends the person's next
// decision. A's PUT, of the older decision, arrived last and was applied, and
// the outbox said both were sent while the source held the older choice
// (found by a concurrency review). Now each PUT carries the version it
// updates (If-Match), so A's is refused with 412, and A, whose claim is
// B's now, records nothing.
func TestStaleSenderNeverPutsBackAnOlderDecision(t *testing.T) {
	ctx := context.Background()

	hold := newHoldOnce(false, func(r *http.Request) bool { return r.Method == http.MethodPut }) // A's PUT
	f := newPushFixtureVia(t, func(upstreamURL string) string {
		return newStubProxy(t, upstreamURL, func(w http.ResponseWriter, r *http.Request) bool {
			hold.wait(r)
			return false // forward to the real server
		}, nil).URL
	})

	// A first decision, delivered: later ones are PUTs to the same Consent.
	f.change(t, store.QuestionResearch, "no")
	if sum, err := f.pusher().PushDue(ctx); err != nil || sum.Sent != 1 {
		t.Fatalf("push: %+v %v", sum, err)
	}
	older := f.change(t, store.QuestionResearch, "yes")

	hold.arm()
	aDone := make(chan error, 1)
	go func() { _, err := f.pusher().PushDue(ctx); aDone <- err }() // serve's pusher
	<-hold.held
	f.advance(3 * time.Minute) // A's lease (2 minutes) runs out while its PUT is under way

	newer := f.change(t, store.QuestionResearch, "no") // the person changes their mind
	sumB, err := f.pusher().PushDue(ctx)               // portal outbox push
	if err != nil {
		t.Fatal(err)
	}
	if sumB.Sent != 2 {
		t.Errorf("B sent %+v; want both decisions", sumB)
	}
	close(hold.release)
	if err := <-aDone; err != nil {
		t.Fatal(err)
	}
	dOld, dNew := f.delivery(t, older.ID), f.delivery(t, newer.ID)
	if dOld.Status != store.DeliverySent || dNew.Status != store.DeliverySent || dOld.Attempts != 2 {
		t.Errorf("older decision %d: %s, attempts %d; newer decision %d: %s; want both sent, the older by B's second try", older.ID, dOld.Status, dOld.Attempts, newer.ID, dNew.Status)
	}
	up := f.consents(t)
	if len(up) != 1 {
		t.Errorf("%d Consents upstream; want one", len(up))
	}
	got, _ := fhir.ReadConsent(up[dNew.UpstreamID])
	if got.Identifier != newer.Identifier || got.Research {
		t.Errorf("upstream holds the older decision %s (research=%v) after the newer %s was reported sent", got.Identifier, got.Research, newer.Identifier)
	}
}

// TestPushRetriesAVersionConflict: a server that answers a stale If-Match
// with 409, as HAPI and STU3-style servers do, rather than R4's 412, had the
// delivery marked "not accepted", waiting for the person to send it again
// (found by a review). Like 412, it is read again and sent once more.
func TestPushRetriesAVersionConflict(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	conflicts := 0
	f := newPushFixtureVia(t, func(upstreamURL string) string {
		return newStubProxy(t, upstreamURL, func(w http.ResponseWriter, r *http.Request) bool {
			mu.Lock()
			defer mu.Unlock()
			if r.Method == http.MethodPut && r.Header.Get("If-Match") != "" && conflicts == 0 {
				conflicts++
				writeOutcome(w, http.StatusConflict, "conflict", "Version conflict")
				return true
			}
			return false
		}, nil).URL
	})
	f.change(t, store.QuestionResearch, "no")
	if sum, err := f.pusher().PushDue(ctx); err != nil || sum.Sent != 1 {
		t.Fatalf("first: %+v %v", sum, err)
	}
	later := f.change(t, store.QuestionResearch, "yes")
	if sum, err := f.pusher().PushDue(ctx); err != nil || sum.Retrying != 1 || sum.Refused != 0 {
		t.Fatalf("the PUT answered 409: %+v %v; want it retried, not refused", sum, err)
	}
	f.advance(time.Hour)
	if sum, err := f.pusher().PushDue(ctx); err != nil || sum.Sent != 1 {
		t.Fatalf("after the conflict: %+v %v", sum, err)
	}
	if d := f.delivery(t, later.ID); d.Status != store.DeliverySent {
		t.Errorf("the later decision: %s", d.Status)
	}
}

// TestPushGivesUpOnAConflictThatStays: once 409 was read as a stale version,
// a 409 for another reason (every PUT refused, say by a business rule) was
// retried for ever and never shown as not accepted (found by a review). It
// is tried again with the version read then; refused again, it is no stale
// version, and is shown as not accepted, for the person to send again.
func TestPushGivesUpOnAConflictThatStays(t *testing.T) {
	ctx := context.Background()
	f := newPushFixtureVia(t, func(upstreamURL string) string {
		return newStubProxy(t, upstreamURL, func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method == http.MethodPut {
				writeOutcome(w, http.StatusConflict, "business-rule", "Consent for this patient is locked")
				return true
			}
			return false
		}, nil).URL
	})
	f.change(t, store.QuestionResearch, "no")
	if sum, err := f.pusher().PushDue(ctx); err != nil || sum.Sent != 1 {
		t.Fatalf("first: %+v %v", sum, err)
	}
	later := f.change(t, store.QuestionResearch, "yes")
	for i := 0; i < 30; i++ {
		f.advance(2 * time.Hour)
		if _, err := f.pusher().PushDue(ctx); err != nil {
			t.Fatal(err)
		}
	}
	d := f.delivery(t, later.ID)
	if d.Status != store.DeliveryFailed || d.Attempts != 2 || !strings.Contains(d.LastError, "locked") {
		t.Errorf("a 409 on every PUT, after 60 hours: %s after %d tries (%q); want it not accepted once sent with the version just read, with the server's words", d.Status, d.Attempts, d.LastError)
	}
}

// TestPushDoesNotUpdateAConsentItCannotRead: the Consent changed at the
// source, and the source will not let the portal read it back (403, a
// write-only scope). Each try sent the version sent last, was answered 412
// and was tried again, for ever, holding up every later decision to that
// source (found by a review). A Consent that cannot be read is not updated
// blind: the delivery is shown as not accepted, and the next one is sent.
func TestPushDoesNotUpdateAConsentItCannotRead(t *testing.T) {
	ctx := context.Background()
	f := newPushFixtureVia(t, func(upstreamURL string) string {
		return newStubProxy(t, upstreamURL, func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/Consent/") {
				refuse(w)
				return true
			}
			return false
		}, nil).URL
	})
	first := f.change(t, store.QuestionResearch, "no")
	if sum, err := f.pusher().PushDue(ctx); err != nil || sum.Sent != 1 {
		t.Fatalf("first: %+v %v", sum, err)
	}
	d1 := f.delivery(t, first.ID)
	// someone at the source updates the Consent: version moves on
	status, body := f.srv.Do(t, http.MethodGet, "Consent/"+d1.UpstreamID, nil)
	if status != 200 {
		t.Fatalf("get %d %s", status, body)
	}
	status, body = f.srv.Do(t, http.MethodPut, "Consent/"+d1.UpstreamID, body)
	if status/100 != 2 {
		t.Fatalf("put %d %s", status, body)
	}
	later := f.change(t, store.QuestionResearch, "yes")
	for range 40 {
		f.advance(2 * time.Hour)
		if _, err := f.pusher().PushDue(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if d := f.delivery(t, later.ID); d.Status != store.DeliveryFailed || d.Attempts > 2 {
		t.Errorf("a delivery whose Consent cannot be read, 80 hours on: %s after %d tries; want it not accepted at its second", d.Status, d.Attempts)
	}
	newest := f.change(t, store.QuestionResearch, "no")
	for range 5 {
		f.advance(2 * time.Hour)
		if _, err := f.pusher().PushDue(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if dn := f.delivery(t, newest.ID); dn.Status == store.DeliveryWaiting && dn.Attempts == 0 {
		t.Errorf("a newer decision, 10 hours on, was never tried: held up behind the one before")
	}
}

// TestStaleSenderHeldInItsRead: a sender on its second try of an older
// decision reads the Consent first; that read was held past its lease while
// another sender sent the older decision and the newer one. It then read the
// newer version and put the older decision over it with a valid If-Match
// (found by a review). It now checks it still holds its claim after reading,
// and stops.
func TestStaleSenderHeldInItsRead(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	failPut := false
	hold := newHoldOnce(false, func(r *http.Request) bool {
		return r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/Consent/")
	})
	f := newPushFixtureVia(t, func(upstreamURL string) string {
		return newStubProxy(t, upstreamURL, func(w http.ResponseWriter, r *http.Request) bool {
			mu.Lock()
			fail := failPut && r.Method == http.MethodPut
			mu.Unlock()
			if fail {
				w.WriteHeader(http.StatusServiceUnavailable)
				return true
			}
			hold.wait(r)
			return false
		}, nil).URL
	})
	f.change(t, store.QuestionResearch, "no")
	if sum, err := f.pusher().PushDue(ctx); err != nil || sum.Sent != 1 {
		t.Fatalf("push: %+v %v", sum, err)
	}
	f.change(t, store.QuestionResearch, "yes") // the older decision, which A will try again
	mu.Lock()
	failPut = true
	mu.Unlock()
	if sum, err := f.pusher().PushDue(ctx); err != nil || sum.Retrying != 1 {
		t.Fatalf("first try of older: %+v %v", sum, err)
	}
	mu.Lock()
	failPut = false
	mu.Unlock()
	hold.arm()
	f.advance(time.Hour)
	aDone := make(chan error, 1)
	var sumA fhirsync.PushSummary
	go func() { // A: second try, reads first
		var err error
		sumA, err = f.pusher().PushDue(ctx)
		aDone <- err
	}()
	<-hold.held
	f.advance(3 * time.Minute)
	newer := f.change(t, store.QuestionResearch, "no")
	sumB, err := f.pusher().PushDue(ctx)
	if err != nil || sumB.Sent != 2 {
		t.Fatalf("B: %+v %v", sumB, err)
	}
	close(hold.release)
	if err := <-aDone; err != nil {
		t.Fatal(err)
	}
	if sumA != (fhirsync.PushSummary{}) {
		t.Errorf("A, whose claim was taken and which recorded nothing, reports %+v", sumA)
	}
	if d := f.delivery(t, newer.ID); d.Status != store.DeliverySent {
		t.Errorf("the newer decision: %s; want sent", d.Status)
	}
	for _, raw := range f.consents(t) {
		if got, _ := fhir.ReadConsent(raw); got.Identifier != newer.Identifier {
			t.Errorf("upstream holds %s (research=%v), the older decision, while the newer %s is recorded sent", got.Identifier, got.Research, newer.Identifier)
		}
	}
}

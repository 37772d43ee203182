package fhirsync_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mycarerecord/portal/e2e/upstream"
	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
	"github.com/mycarerecord/portal/store/fhirsync"
)

// TestAKeptOutEntryTheServerComesToHoldIsSentAgain: an entry kept out while
// only a clinic's file held it is not named to the FHIR server, which never
// held it; once the server holds a report of it and a sync stores that, the
// choice is sent again, updating the Consent already there to name the
// server's own resource, not making a second (migration 0072; a review).
//
// With an outage, the refresh's first try meets a 500; the next reads the
// Consent, which carries this decision from the first send, and still
// updates it (a review: nothing showed a try after the first took it as
// delivered).
func TestAKeptOutEntryTheServerComesToHoldIsSentAgain(t *testing.T) {
	for _, outage := range []bool{false, true} {
		t.Run(map[bool]string{false: "sent at once", true: "after an outage"}[outage], func(t *testing.T) { sentAgain(t, outage) })
	}
}

func sentAgain(t *testing.T, outage bool) {
	ctx := context.Background()
	f := newPushFixture(t)
	const code, display = "105629000", "Chlamydial infection"
	condition := func(id, patient string) string {
		return `{"resourceType":"Condition","id":"` + id + `","clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},` +
			`"code":{"coding":[{"system":"http://snomed.info/sct","code":"` + code + `","display":"` + display + `"}],"text":"` + display + `"},` +
			`"subject":{"reference":"Patient/` + patient + `"},"onsetDateTime":"2024-01-01"}`
	}
	clinic, err := fhir.ParseBundle([]byte(`{"resourceType":"Bundle","type":"collection","entry":[` +
		`{"resource":{"resourceType":"Patient","id":"c1","identifier":[{"system":"` + syntheaSystem + `","value":"` + f.patientID + `"}]}},` +
		`{"resource":` + condition("x1", "c1") + `}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.ImportResources(ctx, store.ImportOptions{Source: "shc", LinkSystems: []string{syntheaSystem}}, "clinic", clinic); err != nil {
		t.Fatal(err)
	}
	sec, err := f.db.RecordSection(ctx, f.person.ID, fhir.SectionConditions, 1, 500)
	if err != nil {
		t.Fatal(err)
	}
	var key string
	for _, it := range sec.Items {
		if it.Code == code {
			key = store.ItemKey(it)
		}
	}
	if key == "" {
		t.Fatal("the clinic's diagnosis is not in the person's record")
	}
	f.change(t, store.WithholdItemQuestion(key), "yes")
	if sum, err := f.pusher().PushDue(ctx); err != nil || sum.Sent != 1 {
		t.Fatalf("first push: %+v %v", sum, err)
	}
	names := func() (int, bool) {
		all := f.consents(t)
		named := false
		for _, raw := range all {
			named = named || strings.Contains(string(raw), code)
		}
		return len(all), named
	}
	if n, named := names(); n != 1 || named {
		t.Fatalf("after the first push: %d Consents upstream, naming the clinic's diagnosis: %v; want 1, naming nothing", n, named)
	}
	var made struct{ ID string }
	status, body := f.srv.Do(t, "POST", "/Condition", []byte(condition("", f.patientID)))
	if status != http.StatusCreated || json.Unmarshal(body, &made) != nil {
		t.Fatalf("the server's own report: %d %s", status, body)
	}
	puller := &fhirsync.Puller{DB: f.db, Client: fhirsync.NewClients(func(string) string { return "" }, fastClient).Get}
	if _, err := puller.PullPerson(ctx, f.src, f.person.ID, nil); err != nil {
		t.Fatal(err)
	}
	if outage {
		f.proxy.SetFaults(upstream.Faults{Rate: 1, Seed: 1, Kinds: []upstream.Fault{upstream.Fault500}})
		if sum, err := f.pusher().PushDue(ctx); err != nil || sum.Retrying != 1 {
			t.Fatalf("push during the outage: %+v %v; want it to be tried again", sum, err)
		}
		f.proxy.SetFaults(upstream.Faults{})
		f.advance(11 * time.Minute)
	}
	if sum, err := f.pusher().PushDue(ctx); err != nil || sum.Sent != 1 {
		t.Fatalf("push after the sync: %+v %v; want the choice sent again", sum, err)
	}
	all := f.consents(t)
	if len(all) != 1 {
		t.Fatalf("%d Consents upstream; want the one, updated", len(all))
	}
	for _, raw := range all {
		if !strings.Contains(string(raw), "Condition/"+made.ID) {
			t.Errorf("the Consent upstream does not name the server's own report, Condition/%s:\n%s", made.ID, raw)
		}
	}
}

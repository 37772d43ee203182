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
	key := clinicDiagnosisKey(t, f)
	f.change(t, store.WithholdItemQuestion(key), "yes")
	if sum, err := f.pusher().PushDue(ctx); err != nil || sum.Sent != 1 {
		t.Fatalf("first push: %+v %v", sum, err)
	}
	names := func() (int, bool) {
		all := f.consents(t)
		named := false
		for _, raw := range all {
			named = named || strings.Contains(string(raw), clinicCode)
		}
		return len(all), named
	}
	if n, named := names(); n != 1 || named {
		t.Fatalf("after the first push: %d Consents upstream, naming the clinic's diagnosis: %v; want 1, naming nothing", n, named)
	}
	made := serverReport(t, f)
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
		if !strings.Contains(string(raw), "Condition/"+made) {
			t.Errorf("the Consent upstream does not name the server's own report, Condition/%s:\n%s", made, raw)
		}
	}
}

// clinicCode is the code of the clinic's diagnosis these tests keep out of sharing.
const clinicCode = "105629000"

// diagnosis is a Condition of clinicCode about the patient, with the id
// given ("" for the server to choose one).
func diagnosis(id, patient string) string {
	return `{"resourceType":"Condition","id":"` + id + `","clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},` +
		`"code":{"coding":[{"system":"http://snomed.info/sct","code":"` + clinicCode + `","display":"Chlamydial infection"}],"text":"Chlamydial infection"},` +
		`"subject":{"reference":"Patient/` + patient + `"},"onsetDateTime":"2024-01-01"}`
}

// clinicDiagnosisKey imports a sexual health clinic's file holding the
// person's diagnosis, linked by their Synthea id, and returns its entry's key.
func clinicDiagnosisKey(t *testing.T, f *pushFixture) string {
	t.Helper()
	ctx := context.Background()
	clinic, err := fhir.ParseBundle([]byte(`{"resourceType":"Bundle","type":"collection","entry":[` +
		`{"resource":{"resourceType":"Patient","id":"c1","identifier":[{"system":"` + syntheaSystem + `","value":"` + f.patientID + `"}]}},` +
		`{"resource":` + diagnosis("x1", "c1") + `}]}`))
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
	for _, it := range sec.Items {
		if it.Code == clinicCode {
			return store.ItemKey(it)
		}
	}
	t.Fatal("the clinic's diagnosis is not in the person's record")
	return ""
}

// serverReport puts the server's own report of the diagnosis on it, and
// returns its id.
func serverReport(t *testing.T, f *pushFixture) string {
	t.Helper()
	var made struct{ ID string }
	status, body := f.srv.Do(t, "POST", "/Condition", []byte(diagnosis("", f.patientID)))
	if status != http.StatusCreated || json.Unmarshal(body, &made) != nil {
		t.Fatalf("the server's own report: %d %s", status, body)
	}
	return made.ID
}

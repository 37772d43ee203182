package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// A person kept mental health out of sharing while one FHIR server held
// their record. A second server is connected and the person is found there.
// The choices page now counts two receivers and says "We also send your
// choices to the organisations that hold your record", yet nothing is ever
// queued for the second: it is sent nothing until the person changes some
// other choice.
// A source that comes to hold the person after they made their choices is
// sent the latest of them (a review: mental health kept out never reached a
// hospital connected later).
func TestASourceConnectedLaterIsSentTheChoices(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	src, person := syncSource(t, db)
	link := func(s store.Source, id string) {
		t.Helper()
		raw := fmt.Sprintf(`{"resourceType":"Patient","id":%q,"identifier":[{"system":%q,"value":"9434765919"}]}`, id, fhir.NHSNumberSystem)
		if _, err := db.ApplyPage(ctx, store.PageUpdate{Source: s.Name, SourceID: s.ID, PersonID: person.ID, ResourceType: "Patient", Origin: "page",
			Resources: []fhir.Resource{{Type: "Patient", ID: id, Raw: []byte(raw)}}}); err != nil {
			t.Fatal(err)
		}
	}
	link(src, "gp-1")
	if _, err := db.ChangeConsent(ctx, person.ID, store.Performer{AccountID: 1, Name: "Jane"}, store.ConsentChange{Question: store.WithholdQuestion(store.CategoryMentalHealth), Answer: "yes"},
		func(d store.ConsentDecision) store.Access {
			return store.Access{AccountID: 1, PersonID: person.ID, Action: "choice"}
		}); err != nil {
		t.Fatal(err)
	}
	hosp, err := db.AddSource(ctx, store.Source{Name: "lth2", OrgName: "Leeds Teaching Hospitals", BaseURL: "http://localhost:2/fhir"})
	if err != nil {
		t.Fatal(err)
	}
	link(hosp, "hosp-1")

	ch, err := db.ConsentChoices(ctx, person.ID)
	if err != nil {
		t.Fatal(err)
	}
	var to []string
	for _, d := range ch.Latest.Deliveries {
		to = append(to, d.SourceName)
	}
	items, err := db.ClaimConsentOutbox(ctx, 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	toHosp := 0
	for _, it := range items {
		if it.Source.ID == hosp.ID {
			toHosp++
			if it.PatientID != "hosp-1" || !strings.Contains(string(it.Body), `"Patient/hosp-1"`) {
				t.Errorf("the choices go to %s for Patient/%s; want Patient/hosp-1", hosp.Label(), it.PatientID)
			}
		}
	}
	// Once queued, not again: the Patient stored again, the outbox claimed again.
	link(hosp, "hosp-2")
	db.ClaimConsentOutbox(ctx, 10, time.Minute)
	ch, _ = db.ConsentChoices(ctx, person.ID)
	n := 0
	for _, d := range ch.Latest.Deliveries {
		if d.SourceID == hosp.ID {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d deliveries of the latest choice to %s; want 1", n, hosp.Label())
	}
	if toHosp == 0 {
		t.Errorf("receivers %d, the latest choice's deliveries go to %v, and nothing is due for %s: the choices (mental health kept out) never reach it",
			ch.Receivers, to, hosp.Label())
	}
}

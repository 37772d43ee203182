package fhirsync_test

import (
	"context"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
	"github.com/mycarerecord/portal/store/fhirsync"
)

// A source removed (nothing waiting) and connected again: the next change
// goes as a first delivery, a conditional create under its new identifier,
// beside the Consent the portal sent before, which stays active with the
// older choices. The source then holds two active portal Consents for the
// patient that disagree.
// A source removed and added again holds the portal's Consent already: the
// next change updates it, rather than make a second (a review).
func TestASourceConnectedAgainUpdatesItsConsent(t *testing.T) {
	ctx := context.Background()
	f := newPushFixture(t)
	f.change(t, store.QuestionResearch, "no")
	if sum, err := f.pusher().PushDue(ctx); err != nil || sum.Sent != 1 {
		t.Fatalf("push: %+v %v", sum, err)
	}
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
	newer := f.change(t, store.QuestionResearch, "yes")
	if sum, err := f.pusher().PushDue(ctx); err != nil || sum.Sent != 1 {
		t.Fatalf("push after reconnecting: %+v %v", sum, err)
	}
	up := f.consents(t)
	for id, raw := range up {
		got, _ := fhir.ReadConsent(raw)
		t.Logf("Consent/%s: %s research=%v", id, got.Identifier, got.Research)
	}
	if len(up) != 1 {
		t.Errorf("%d active portal Consents for the patient after the person's newer choice (%s) was sent; want 1", len(up), newer.Identifier)
	}
}

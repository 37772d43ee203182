package web_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// TestACarerIsNotToldOfSingleEntriesKeptOut: a carer managing the person's
// choices reads the same choices page, and the same history, whether or not
// the person keeps a single entry out of sharing: not how many, nor when
// (a product review: "One single entry is kept out of sharing" and "A single
// entry: kept out of sharing, 29 November"). The confirmation of the
// person's change is the person's alone. Before keeping an entry out, the
// carer is told that only the person can share it again.
func TestACarerIsNotToldOfSingleEntriesKeptOut(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	jane := f.signIn(t, f.jane)
	john := f.newCarer(t, "John Smith")
	f.grant(t, f.jane, f.ownAccount(t, f.jane), john, store.ScopeChoices, fhir.SectionMedicines)
	pages := func() map[string]string {
		t.Helper()
		out := map[string]string{}
		for _, path := range []string{"/choices", "/choices/history"} {
			resp := f.get(t, path, john.cookie)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: %d", path, resp.StatusCode)
			}
			out[path] = strings.Join(strings.Fields(doc(t, resp).Find("main").Text()), " ")
		}
		return out
	}
	before := pages()
	if strings.Contains(before["/choices"], "single entry is") {
		t.Errorf("John's choices page counts entries kept out: %q", before["/choices"])
	}
	sec, err := f.db.RecordSection(ctx, f.jane.ID, fhir.SectionMedicines, 1, 10)
	if err != nil || len(sec.Items) == 0 {
		t.Fatalf("%v %+v", err, sec.Items)
	}
	hint := strings.Join(strings.Fields(doc(t, f.get(t, "/choices/entry?item="+itoa(sec.Items[0].ID), john.cookie)).Find("main").Text()), " ")
	if !strings.Contains(hint, "only Jane Example can share it again") {
		t.Errorf("before John keeps an entry out he is not told only Jane can share it again: %q", hint)
	}
	token := csrfOf(t, f, jane)
	if rec := f.post(t, "/choices/entry/confirm", jane, url.Values{"csrf": {token}, "for": {"self"}, "key": {store.ItemKey(sec.Items[0])}, "answer": {"yes"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("Jane keeps the entry out: %d", rec.Code)
	}
	after := pages()
	for path, was := range before {
		if after[path] != was {
			t.Errorf("John's %s changed when Jane kept an entry out:\nbefore %q\nafter  %q", path, was, after[path])
		}
	}
	hist, err := f.db.ConsentHistory(ctx, f.jane.ID)
	if err != nil || len(hist) == 0 {
		t.Fatal(hist, err)
	}
	if resp := f.get(t, "/choices/done/"+itoa(hist[0].ID), john.cookie); resp.StatusCode != http.StatusNotFound {
		t.Errorf("John opens the confirmation of Jane's change: %d, want 404", resp.StatusCode)
	}
	if resp := f.get(t, "/choices/done/"+itoa(hist[0].ID), jane); resp.StatusCode != http.StatusOK {
		t.Errorf("Jane opens the confirmation of her change: %d", resp.StatusCode)
	}
}

// TestACarerIsNotToldOfSingleEntriesByTheirDeliveries: John's change was not
// accepted by the hospital; Jane then keeps one of her own entries out, a
// change sent to the hospital too. John's pages still offer to send his
// change again, never saying that a later change has been sent, and sending
// it again is answered as ever (a review: the delivery said "A later
// change, with all Jane Example's choices, has been sent to them since" and
// lost its button).
func TestACarerIsNotToldOfSingleEntriesByTheirDeliveries(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	if _, err := f.db.AddSource(ctx, store.Source{Name: "lth", OrgName: "Leeds Teaching Hospitals", BaseURL: "http://127.0.0.1:1/lth"}); err != nil {
		t.Fatal(err)
	}
	// The hospital shows John a medicine, so his pages name it.
	med, err := fhir.ParseResource([]byte(`{"resourceType":"MedicationRequest","id":"m-lth","status":"active","intent":"order","subject":{"reference":"Patient/jane-lth"},` +
		`"medicationCodeableConcept":{"text":"Ramipril 5mg capsules"},"authoredOn":"2025-01-10"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.ImportResources(ctx, store.ImportOptions{Source: "lth"}, "test", []fhir.Resource{patient("jane-lth", "9434765919", "Jane", "Example", "1957-03-14"), med}); err != nil {
		t.Fatal(err)
	}
	jane := f.signIn(t, f.jane)
	john := f.newCarer(t, "John Smith")
	forJane := itoa(f.grant(t, f.jane, f.ownAccount(t, f.jane), john, store.ScopeChoices, fhir.SectionMedicines).ID)
	johnToken := sessionCSRF(t, f, john.id)
	if rec := f.post(t, "/choices/research/confirm", john.cookie, url.Values{"csrf": {johnToken}, "for": {forJane}, "answer": {"no"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("John's change: %d", rec.Code)
	}
	items, err := f.db.ClaimConsentOutbox(ctx, 10, time.Minute)
	if err != nil || len(items) != 1 {
		t.Fatalf("claimed %d deliveries (%v); want John's to the hospital", len(items), err)
	}
	if err := f.db.ConsentNotDelivered(ctx, items[0], "refused", time.Time{}); err != nil {
		t.Fatal(err)
	}
	pages := func() map[string]string {
		t.Helper()
		out := map[string]string{}
		for _, path := range []string{"/choices", "/choices/history"} {
			out[path] = strings.Join(strings.Fields(doc(t, f.get(t, path, john.cookie)).Find("main").Text()), " ")
		}
		return out
	}
	before := pages()
	if !strings.Contains(before["/choices/history"], "Try sending again") {
		t.Fatalf("John's history does not offer to send his change again: %q", before["/choices/history"])
	}
	sec, err := f.db.RecordSection(ctx, f.jane.ID, fhir.SectionMedicines, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	gp := slices.IndexFunc(sec.Items, func(it store.RecordItem) bool { return it.Source.Name == "gp" })
	if gp < 0 {
		t.Fatalf("Jane has no medicine from the GP: %+v", sec.Items)
	}
	if rec := f.post(t, "/choices/entry/confirm", jane, url.Values{"csrf": {csrfOf(t, f, jane)}, "for": {"self"}, "key": {store.ItemKey(sec.Items[gp])}, "answer": {"yes"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("Jane keeps the entry out: %d", rec.Code)
	}
	after := pages()
	for path, was := range before {
		if after[path] != was {
			t.Errorf("John's %s changed when Jane kept an entry out:\nbefore %q\nafter  %q", path, was, after[path])
		}
	}
	if rec := f.post(t, "/choices/deliveries/"+itoa(items[0].ID)+"/retry", john.cookie, url.Values{"csrf": {johnToken}, "for": {forJane}}); rec.Code != http.StatusSeeOther {
		t.Errorf("John sends his change again: %d, want it answered as any retry", rec.Code)
	}
}

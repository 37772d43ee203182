package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// TestAKeptOutEntryIsNotToldToSourcesThatNeverHeldIt: keeping a sexual
// health clinic's diagnosis out of sharing sends the clinic a Consent naming
// it, and the GP, who never held it, one that does not (a privacy review: the
// GP was told the diagnosis by its code and words).
func TestAKeptOutEntryIsNotToldToSourcesThatNeverHeldIt(t *testing.T) {
	ctx := context.Background()
	f := newConsentFixture(t) // Jane at "gp", a FHIR server
	shc, err := f.db.AddSource(ctx, store.Source{Name: "shc", OrgName: "Leeds Sexual Health", BaseURL: "http://127.0.0.1:2/fhir"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.ImportResources(ctx, store.ImportOptions{SourceID: shc.ID, Source: "shc"}, "test", []fhir.Resource{
		res("Patient", "jane", `"identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}],"birthDate":"1957-03-14"`),
		condition("x1", "http://snomed.info/sct", "105629000", "Chlamydial infection"),
	}); err != nil {
		t.Fatal(err)
	}
	sec, _ := f.db.RecordSection(ctx, f.jane.ID, fhir.SectionConditions, 1, 100)
	var key string
	for _, it := range sec.Items {
		if it.Code == "105629000" {
			key = store.ItemKey(it)
		}
	}
	if _, err := f.db.ChangeConsent(ctx, f.jane.ID, janeHerself, store.ConsentChange{Question: store.WithholdItemQuestion(key), Answer: "yes"}, store.ChoiceLogged(1)); err != nil {
		t.Fatal(err)
	}
	items, err := f.db.ClaimConsentOutbox(ctx, 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	told := map[string]bool{}
	for _, it := range items {
		told[it.Source.Name] = strings.Contains(string(it.Body), "105629000")
	}
	if len(told) != 2 || told["gp"] || !told["shc"] {
		t.Errorf("which Consent names the clinic's diagnosis: %v; want the clinic's alone, and the GP sent one too", told)
	}
}

// addSHC adds a sexual health clinic holding Jane, with a diagnosis in display's words.
func addSHC(t *testing.T, f *consentFixture, display string) {
	ctx := context.Background()
	shc, err := f.db.AddSource(ctx, store.Source{Name: "shc", OrgName: "Leeds Sexual Health", BaseURL: "http://127.0.0.1:2/fhir"})
	if err == nil {
		_, err = f.db.ImportResources(ctx, store.ImportOptions{SourceID: shc.ID, Source: "shc"}, "test", []fhir.Resource{
			res("Patient", "jane", `"identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}],"birthDate":"1957-03-14"`),
			condition("x2", "http://snomed.info/sct", "105629000", display)})
	}
	if err != nil {
		t.Fatal(err)
	}
}

// keepOutCode keeps Jane's condition with the code out of sharing.
func keepOutCode(t *testing.T, f *consentFixture, code string) {
	ctx := context.Background()
	sec, _ := f.db.RecordSection(ctx, f.jane.ID, fhir.SectionConditions, 1, 100)
	for _, it := range sec.Items {
		if it.Code == code {
			if _, err := f.db.ChangeConsent(ctx, f.jane.ID, janeHerself, store.ConsentChange{Question: store.WithholdItemQuestion(store.ItemKey(it)), Answer: "yes"}, store.ChoiceLogged(1)); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// gpBody claims the deliveries waiting and returns the GP's Consent, "" for none.
func gpBody(t *testing.T, f *consentFixture) string {
	items, err := f.db.ClaimConsentOutbox(context.Background(), 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.Source.Name == "gp" {
			return string(it.Body)
		}
	}
	return ""
}

// TestAConsentNamesAnEntryInTheWordsOfItsReceiver: the GP and the clinic
// both hold the diagnosis: the GP's Consent names it in the GP's words, never
// the clinic's (a review of the fix above: the first report's words were
// used, the clinic's).
func TestAConsentNamesAnEntryInTheWordsOfItsReceiver(t *testing.T) {
	f := newConsentFixture(t)
	if _, err := f.db.ImportResources(context.Background(), store.ImportOptions{Source: "gp"}, "test", []fhir.Resource{
		condition("g1", "http://snomed.info/sct", "105629000", "Chlamydial infection")}); err != nil {
		t.Fatal(err)
	}
	addSHC(t, f, "Chlamydial infection - partner notified, seen at Leeds SHC")
	keepOutCode(t, f, "105629000")
	if body := gpBody(t, f); strings.Contains(body, "Leeds SHC") || !strings.Contains(body, "Condition/g1") {
		t.Errorf("the GP's Consent names the entry in the clinic's words, or not by the GP's own report: %s", body)
	}
}

// TestAKeptOutEntryReachesASourceThatComesToHoldIt: kept out while only the
// clinic held it, then filed by the GP: the GP is sent the choice again,
// naming its own report, marked as sent again; a source whose Consent would
// not change is not (a review of the fix that names an entry only to the
// sources holding it: the GP that came to hold it was never told).
func TestAKeptOutEntryReachesASourceThatComesToHoldIt(t *testing.T) {
	ctx := context.Background()
	f := newConsentFixture(t)
	items := keptOutThenFiledByTheGP(t, f, func(it store.OutboxItem) error { return f.db.ConsentDelivered(ctx, it, "consent-gp", "1") })
	if items[0].CurrentID != "consent-gp" {
		t.Fatalf("the GP's Consent sent again updates %q; want consent-gp", items[0].CurrentID)
	}
	if err := f.db.ConsentDelivered(ctx, items[0], "consent-gp", "2"); err != nil {
		t.Fatal(err)
	}
	// Stored again as it is: nothing changes, nothing is sent.
	if _, err := f.db.ImportResources(ctx, store.ImportOptions{Source: "gp"}, "test", []fhir.Resource{
		condition("g1", "http://snomed.info/sct", "105629000", "Chlamydial infection")}); err != nil {
		t.Fatal(err)
	}
	if items, err := f.db.ClaimConsentOutbox(ctx, 10, time.Minute); err != nil || len(items) != 0 {
		t.Errorf("the same report stored again: %d deliveries claimed, %v; want none", len(items), err)
	}
	h, err := f.db.ConsentHistory(ctx, f.jane.ID)
	if err != nil {
		t.Fatal(err)
	}
	again := 0
	for _, d := range h[0].Deliveries {
		if d.Refresh {
			again++
		}
	}
	if again != 1 {
		t.Errorf("the history shows %d deliveries sent again; want 1", again)
	}
}

// TestAFirstSendQueuedAgainIsNotSentAgain: the GP's first Consent was tried
// and never arrived when the GP came to hold the kept-out diagnosis. It goes
// again as a refresh, as the try may have made the Consent there, but the
// history says it was sent, not "sent again", which would tell the person
// the GP had had the choice before (a review).
func TestAFirstSendQueuedAgainIsNotSentAgain(t *testing.T) {
	ctx := context.Background()
	f := newConsentFixture(t)
	items := keptOutThenFiledByTheGP(t, f, func(it store.OutboxItem) error {
		return f.db.ConsentNotDelivered(ctx, it, "connection reset", time.Now())
	})
	if err := f.db.ConsentDelivered(ctx, items[0], "consent-gp", "1"); err != nil {
		t.Fatal(err)
	}
	h, err := f.db.ConsentHistory(ctx, f.jane.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range h[0].Deliveries {
		if d.Refresh {
			t.Errorf("the delivery to %s, first arriving now, is shown as sent again", d.SourceName)
		}
	}
}

// keptOutThenFiledByTheGP keeps the clinic's diagnosis out, settles the
// first deliveries (the GP's by gp, the clinic's delivered), has the GP file
// the diagnosis, and returns the deliveries claimed then.
func keptOutThenFiledByTheGP(t *testing.T, f *consentFixture, gp func(store.OutboxItem) error) []store.OutboxItem {
	t.Helper()
	ctx := context.Background()
	addSHC(t, f, "Chlamydial infection")
	keepOutCode(t, f, "105629000")
	first, err := f.db.ClaimConsentOutbox(ctx, 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range first {
		if it.Source.Name == "gp" && strings.Contains(string(it.Body), "105629000") {
			t.Fatalf("the GP's first Consent names the clinic's diagnosis: %s", it.Body)
		}
		if it.Source.Name == "gp" {
			err = gp(it)
		} else {
			err = f.db.ConsentDelivered(ctx, it, "consent-"+it.Source.Name, "1")
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.db.ImportResources(ctx, store.ImportOptions{Source: "gp"}, "test", []fhir.Resource{
		condition("g1", "http://snomed.info/sct", "105629000", "Chlamydial infection")}); err != nil {
		t.Fatal(err)
	}
	items, err := f.db.ClaimConsentOutbox(ctx, 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].Source.Name != "gp" || !items[0].Refresh || !strings.Contains(string(items[0].Body), "Condition/g1") {
		t.Fatalf("after the GP filed the kept-out diagnosis, %d deliveries claimed; want the GP's, as a refresh naming Condition/g1", len(items))
	}
	return items
}

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

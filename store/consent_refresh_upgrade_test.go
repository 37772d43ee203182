package store_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// TestMigration0072CatchesUpWhatCameBeforeIt: under schema 71 the GP came to
// hold the kept-out diagnosis after its Consent was sent, so it was never
// named to the GP. Upgrading to 0072 sends the GP the choice again (a
// review: 0072 noted only items stored from then on).
func TestMigration0072CatchesUpWhatCameBeforeIt(t *testing.T) {
	ctx := context.Background()
	f := newConsentFixture(t)
	addSHC(t, f, "Chlamydial infection")
	keepOutCode(t, f, "105629000")
	items, err := f.db.ClaimConsentOutbox(ctx, 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if err := f.db.ConsentDelivered(ctx, it, "consent-"+it.Source.Name, "1"); err != nil {
			t.Fatal(err)
		}
	}
	f.db.Close()
	exec := func(qs ...string) {
		raw, err := sql.Open("sqlite3", "file:"+f.path)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		for _, q := range qs {
			if _, err := raw.ExecContext(ctx, q); err != nil {
				t.Fatal(q, err)
			}
		}
	}
	// A portal before 0072 (no triggers) stores the GP's report of it.
	exec(`DROP TRIGGER record_items_consent_catchup`, `DROP TRIGGER record_items_consent_catchup_relinked`)
	old, err := store.Open(ctx, f.path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.ImportResources(ctx, store.ImportOptions{Source: "gp"}, "test", []fhir.Resource{
		condition("g1", "http://snomed.info/sct", "105629000", "Chlamydial infection")}); err != nil {
		t.Fatal(err)
	}
	old.Close()
	// The file as schema 71 left it; the upgrade applies 0072.
	exec(`ALTER TABLE consent_outbox DROP COLUMN refresh`, `DELETE FROM schema_migrations WHERE version = 72`)
	db, err := store.Open(ctx, f.path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.ClaimConsentOutbox(ctx, 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Source.Name != "gp" || !got[0].Refresh {
		t.Errorf("after the upgrade, %d deliveries claimed; want the GP sent the choice again, naming Condition/g1", len(got))
	}
}

// TestTheCatchUpSendsNothingForANameChange: upgrading to 0072, a source
// whose Consent would change only in its words (the person's name changed
// since) is not sent it again: it holds nothing new (a review).
func TestTheCatchUpSendsNothingForANameChange(t *testing.T) {
	ctx := context.Background()
	f := newConsentFixture(t)
	keepOutCode(t, f, "370143000")
	items, err := f.db.ClaimConsentOutbox(ctx, 10, time.Minute)
	if err != nil || len(items) != 1 {
		t.Fatal(len(items), err)
	}
	if err := f.db.ConsentDelivered(ctx, items[0], "consent-gp", "1"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.ImportResources(ctx, store.ImportOptions{Source: "gp"}, "t2", []fhir.Resource{
		res("Patient", "jane", `"identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}],"name":[{"given":["Jane"],"family":"Married"}],"birthDate":"1957-03-14"`)}); err != nil {
		t.Fatal(err)
	}
	f.db.Close()
	raw, err := sql.Open("sqlite3", "file:"+f.path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`DROP TRIGGER record_items_consent_catchup`, `DROP TRIGGER record_items_consent_catchup_relinked`, `ALTER TABLE consent_outbox DROP COLUMN refresh`, `DELETE FROM schema_migrations WHERE version = 72`} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatal(q, err)
		}
	}
	raw.Close()
	db, err := store.Open(ctx, f.path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.ClaimConsentOutbox(ctx, 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("after the upgrade %d deliveries claimed (refresh %v) for a GP that holds nothing new; want none", len(got), got[0].Refresh)
	}
}

package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// TestOutboxCommand counts deliveries, and a push to a server that does not
// answer leaves the decision waiting to be tried again, never dropped.
func TestOutboxCommand(t *testing.T) {
	path := janeWithAChangeWaiting(t)

	out, _, err := portal(t, "outbox", "--db", path)
	if err != nil || strings.TrimSpace(out) != "waiting 1, sent 0, not accepted 0" {
		t.Fatalf("status: %q %v", out, err)
	}
	out, _, err = portal(t, "outbox", "push", "--db", path)
	if err != nil || !strings.Contains(out, "sent 0, to try again later 1, not accepted 0") || !strings.Contains(out, "waiting 1, sent 0, not accepted 0") {
		t.Fatalf("push: %q %v", out, err)
	}
	if _, _, err := portal(t, "outbox", "resend", "--db", path); err == nil {
		t.Fatal("an unknown subcommand was accepted")
	}
}

// janeWithAChangeWaiting is a database file holding Jane from the source gp,
// a FHIR server at an address nothing answers, and her choice about research
// waiting in the outbox to be sent to it.
func janeWithAChangeWaiting(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "portal.db")

	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddSource(ctx, store.Source{Name: "gp", OrgName: "Meanwood Group Practice", BaseURL: "http://127.0.0.1:1/fhir"}); err != nil {
		t.Fatal(err)
	}
	pt := fhir.Resource{Type: "Patient", ID: "p1", Raw: []byte(`{"resourceType":"Patient","id":"p1","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}],"name":[{"given":["Jane"],"family":"Example"}]}`)}
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "gp"}, "test", []fhir.Resource{pt}); err != nil {
		t.Fatal(err)
	}
	jane, err := db.PersonByNHSNumber(ctx, "9434765919")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ChangeConsent(ctx, jane.ID, store.Performer{AccountID: 1, Name: "Jane Example"}, store.ConsentChange{Question: store.QuestionResearch, Answer: "no"}, func(d store.ConsentDecision) store.Access {
		return store.Access{AccountID: 1, PersonID: jane.ID, Action: "choice", What: "research: no"}
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	return path
}

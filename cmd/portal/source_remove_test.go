package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// Removing a source to which a change to someone's sharing choices is still
// waiting to be sent is refused, as the change could never be sent after,
// and nothing is removed; --even-if-waiting removes it all the same and says
// what will not be sent, which the outbox then counts apart from what waits
// (a review: it was counted as waiting for ever, and remove said nothing).
func TestSourceRemoveWithAChangeWaiting(t *testing.T) {
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

	out, _, err := portal(t, "source", "remove", "gp", "--db", path)
	if err == nil || !strings.Contains(err.Error(), "still waiting to be sent to gp") || !strings.Contains(err.Error(), "--even-if-waiting") {
		t.Fatalf("remove with a change waiting: %q, %v; want it refused, saying why and how", out, err)
	}
	if list, _, err := portal(t, "source", "list", "--db", path); err != nil || !strings.Contains(list, "Meanwood Group Practice") {
		t.Fatalf("after a refused remove: %q, %v; want the source still there", list, err)
	}

	out, _, err = portal(t, "source", "remove", "--even-if-waiting", "gp", "--db", path)
	if err != nil || !strings.Contains(out, "Removed source gp") || !strings.Contains(out, "\n1 change to sharing choices will not be sent to it") {
		t.Fatalf("remove --even-if-waiting: %q, %v; want it removed, saying the change will not be sent", out, err)
	}
	counts, _, err := portal(t, "outbox", "--db", path)
	if err != nil || !strings.Contains(counts, "waiting 0,") || !strings.Contains(counts, "never to be sent (their source removed) 1") {
		t.Errorf("outbox after: %q, %v; want the change counted as never to be sent, not waiting", counts, err)
	}
}

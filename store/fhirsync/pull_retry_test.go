package fhirsync_test

import (
	"context"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/mycarerecord/portal/e2e/upstream"
	"github.com/mycarerecord/portal/store"
)

// TestRetryRejectedStoresOnlyThePersonsResources syncs Jane, then keeps a
// resource aside as if it had come damaged, and syncs again, which reads it
// again from the real FHIR server. What it reads is checked as a page of a
// search is: one of Jane's, or one about no patient, is stored and settled;
// one that now names another patient, another patient's Patient, or an
// answer of another type is not stored at all (no one else becomes a person
// of the portal, nothing is cached under anyone) and stays aside.
func TestRetryRejectedStoresOnlyThePersonsResources(t *testing.T) {
	ctx := context.Background()
	srv, janeID := serverWithJane(t)
	create := func(typ, body string) string {
		t.Helper()
		status, resp := srv.Do(t, "POST", "/"+typ, []byte(body))
		if status != http.StatusCreated {
			t.Fatalf("add %s: %d %s", typ, status, resp)
		}
		id, _ := idVersion(t, resp)
		return id
	}
	otherID := create("Patient", `{"resourceType":"Patient","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9000000009"}],
"name":[{"given":["Someone"],"family":"Else"}]}`)
	mine := create("Observation", `{"resourceType":"Observation","status":"final","code":{"text":"HbA1c"},"subject":{"reference":"Patient/`+janeID+`"}}`)
	// A second past it (a Date header has whole seconds), so the search of a
	// later sync, from the watermark, leaves mine out: only reading it again settles it.
	time.Sleep(1100 * time.Millisecond)
	create("Observation", `{"resourceType":"Observation","status":"final","code":{"text":"Weight"},"subject":{"reference":"Patient/`+janeID+`"}}`)
	// Upstream, an observation kept aside from Jane's record now names another patient.
	moved := create("Observation", `{"resourceType":"Observation","status":"final","code":{"text":"Their test"},"subject":{"reference":"Patient/`+otherID+`"}}`)
	gp := create("Practitioner", `{"resourceType":"Practitioner","name":[{"family":"Brown","given":["Anna"]}]}`)
	// A server that answers a read of Observation/swapped with a Condition of Jane's.
	stub := newStubProxy(t, srv.URL, func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != upstream.BasePath+"/Observation/swapped" {
			return false
		}
		w.Header().Set("Content-Type", "application/fhir+json")
		io.WriteString(w, `{"resourceType":"Condition","id":"swapped","code":{"text":"Not hers"},"subject":{"reference":"Patient/`+janeID+`"}}`) //nolint:errcheck
		return true
	}, nil)

	for _, tt := range []struct {
		name, typ, id string
		patient       string // whose it is upstream, "" for no one's
		stored        bool
	}{
		{"Jane's observation", "Observation", mine, janeID, true},
		{"a practitioner", "Practitioner", gp, "", true},
		{"an observation now another patient's", "Observation", moved, otherID, false},
		{"another patient's Patient", "Patient", otherID, otherID, false},
		{"a condition read as an observation", "Observation", "swapped", janeID, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			db, src, puller, person := janeFound(t, stub.URL)
			if _, err := puller.PullPerson(ctx, src, person.ID, nil); err != nil {
				t.Fatal(err)
			}
			aside := store.Rejected{Type: tt.typ, ID: tt.id, Error: "cut short on the way"}
			if _, err := db.ApplyPage(ctx, store.PageUpdate{Source: src.Name, SourceID: src.ID, PersonID: person.ID, ResourceType: tt.typ,
				Origin: "test", Rejected: []store.Rejected{aside}}); err != nil {
				t.Fatal(err)
			}
			before := localCopy(t, db, person.ID)
			if _, err := puller.PullPerson(ctx, src, person.ID, nil); err != nil {
				t.Fatal(err)
			}

			cached := func(typ string) bool {
				t.Helper()
				ids, err := db.CachedIDs(ctx, src.ID, tt.patient, typ)
				if err != nil {
					t.Fatal(err)
				}
				return slices.Contains(ids, tt.id)
			}
			if got := cached(tt.typ) || cached("Condition"); got != tt.stored {
				t.Errorf("%s/%s cached after it was read again: %v, want %v", tt.typ, tt.id, got, tt.stored)
			}
			open, err := db.Unresolved(ctx, src.ID, -1)
			if err != nil {
				t.Fatal(err)
			}
			if still := len(open) == 1 && open[0].Type == tt.typ && open[0].ID == tt.id; still == tt.stored || len(open) > 1 {
				t.Errorf("kept aside after it was read again: %+v, want it %s", open, map[bool]string{true: "settled", false: "still aside"}[tt.stored])
			}
			if people, err := db.Persons(ctx); err != nil || len(people) != 1 {
				t.Errorf("persons %+v, %v; want Jane alone", people, err)
			}
			// Jane's record is what it was: hers, which the first sync stored.
			sameCopy(t, before, localCopy(t, db, person.ID))
		})
	}
}

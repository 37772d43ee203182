package fhirsync_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// Review: Jane's Patient is merged upstream into one the person's
// identifiers do not find (the survivor carries the surviving NHS number,
// as an NHS number merge leaves it), its link replaced-by naming it, her
// HbA1c refiled there. The README: the record must not be emptied with the
// sync "up to date" (the fix's own review). mergedInto finds nothing,
// returns "", and says nothing: the refiled result is removed, the sync
// succeeds, and no warning is given.
// A Patient merged upstream into one the person's identifiers do not find
// (another NHS number) is not followed, and the sync stops, saying so, with
// what was stored kept (a review: the record emptied, the sync saying it was
// up to date).
func TestAMergeIntoAPatientNotFoundByIdentifierKeepsTheRecord(t *testing.T) {
	ctx := context.Background()
	srv, oldID := serverWithJane(t)
	o1 := post(t, srv, "/Observation", fmt.Sprintf(`{"resourceType":"Observation","status":"final","code":{"text":"HbA1c"},
"subject":{"reference":"Patient/%s"},"effectiveDateTime":"2026-01-01T00:00:00Z","valueQuantity":{"value":48,"unit":"mmol/mol"}}`, oldID))
	db, src, puller, person := janeFound(t, srv.URL)
	if _, err := puller.PullPerson(ctx, src, person.ID, nil); err != nil {
		t.Fatal(err)
	}
	if got := cachedObservations(t, db, person.ID); !slices.Equal(got, []string{o1}) {
		t.Fatalf("before the merge: %v", got)
	}
	time.Sleep(10 * time.Millisecond)
	newID := post(t, srv, "/Patient", `{"resourceType":"Patient","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9000000009"}],
"name":[{"given":["Jane"],"family":"Example"}],"birthDate":"1957-03-14"}`)
	put := func(path, body string) {
		t.Helper()
		if status, b := srv.Do(t, "PUT", path, []byte(body)); status != http.StatusOK {
			t.Fatalf("PUT %s: %d %s", path, status, b)
		}
	}
	put("/Patient/"+oldID, fmt.Sprintf(`{"resourceType":"Patient","id":%q,"active":false,"identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"`+janeNHS+`"}],
"name":[{"given":["Jane"],"family":"Example"}],"birthDate":"1957-03-14","link":[{"other":{"reference":"Patient/%s"},"type":"replaced-by"}]}`, oldID, newID))
	put("/Observation/"+o1, fmt.Sprintf(`{"resourceType":"Observation","id":%q,"status":"final","code":{"text":"HbA1c"},
"subject":{"reference":"Patient/%s"},"effectiveDateTime":"2026-01-01T00:00:00Z","valueQuantity":{"value":48,"unit":"mmol/mol"}}`, o1, newID))

	_, err := puller.PullPerson(ctx, src, person.ID, nil)
	if got := cachedObservations(t, db, person.ID); !slices.Equal(got, []string{o1}) || err == nil || !strings.Contains(err.Error(), "merged") {
		t.Errorf("Patient/%s merged upstream into Patient/%s, which has another NHS number: the record holds Observations %v (was [%s]), the sync said %v; want it kept, and the merge said",
			oldID, newID, got, o1, err)
	}
}

package fhirsync_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
)

func cachedObservations(t *testing.T, db *store.DB, personID int64) []string {
	t.Helper()
	var ids []string
	err := db.PersonResources(context.Background(), personID, func(c store.CachedResource) error {
		if c.Type == "Observation" {
			ids = append(ids, c.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(ids)
	return ids
}

// A Patient the source merges into another (the old one inactive, its link
// replaced-by the new, the results filed under the new) is followed: the
// record is read from the new one, every type from the start, and nothing
// is lost (a review: the record emptied, the sync saying it was up to date).
func TestAPatientMergedUpstreamKeepsTheRecord(t *testing.T) {
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

	newID := post(t, srv, "/Patient", `{"resourceType":"Patient","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"`+janeNHS+`"}],
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
	o2 := post(t, srv, "/Observation", fmt.Sprintf(`{"resourceType":"Observation","status":"final","code":{"text":"Cholesterol"},
"subject":{"reference":"Patient/%s"},"effectiveDateTime":"2026-02-01T00:00:00Z","valueQuantity":{"value":5.1,"unit":"mmol/L"}}`, newID))

	sum, err := puller.PullPerson(ctx, src, person.ID, nil)
	want := []string{o1, o2}
	slices.Sort(want)
	if got := cachedObservations(t, db, person.ID); !slices.Equal(got, want) {
		t.Errorf("after the merge upstream the record holds Observations %v, want %v (sync: err %v, %d deleted)", got, want, err, sum.Deleted)
	}
}

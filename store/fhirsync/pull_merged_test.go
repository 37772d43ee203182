package fhirsync_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mycarerecord/portal/e2e/upstream"
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
// replaced-by the new, the results filed under the new) is followed when the
// one merged into carries the person's NHS number: the record is read from
// it, every type from the start, and nothing is lost. One merged into a
// Patient with another NHS number is not: the sync stops, saying so, and
// what was stored is kept. Reviews found the record emptied both ways, the
// sync saying it was up to date.
func TestAPatientMergedUpstreamKeepsTheRecord(t *testing.T) {
	for _, tc := range []struct {
		name, intoNHS string
		follows       bool
	}{
		{"into one with her NHS number", janeNHS, true},
		{"into one with another NHS number", "9000000009", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			srv, oldID := serverWithJane(t)
			o1 := post(t, srv, "/Observation", observationAt("", oldID, "HbA1c"))
			db, src, puller, person := janeFound(t, srv.URL)
			if _, err := puller.PullPerson(ctx, src, person.ID, nil); err != nil {
				t.Fatal(err)
			}
			if got := cachedObservations(t, db, person.ID); !slices.Equal(got, []string{o1}) {
				t.Fatalf("before the merge: %v", got)
			}
			time.Sleep(10 * time.Millisecond)

			newID := post(t, srv, "/Patient", `{"resourceType":"Patient","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"`+tc.intoNHS+`"}],
"name":[{"given":["Jane"],"family":"Example"}],"birthDate":"1957-03-14"}`)
			putOK(t, srv, "/Patient/"+oldID, mergedPatient(oldID, newID, janeNHS))
			putOK(t, srv, "/Observation/"+o1, observationAt(`"id":"`+o1+`",`, newID, "HbA1c"))
			o2 := post(t, srv, "/Observation", observationAt("", newID, "Cholesterol"))

			sum, err := puller.PullPerson(ctx, src, person.ID, nil)
			got := cachedObservations(t, db, person.ID)
			if warned := slices.ContainsFunc(sum.Warnings, func(w string) bool { return strings.Contains(w, "merged Patient/"+oldID+" into Patient/"+newID) }); warned != tc.follows {
				t.Errorf("the sync's warnings: %q", sum.Warnings)
			}
			want := []string{o1}
			if tc.follows {
				want = append(want, o2)
				slices.Sort(want)
			}
			if !slices.Equal(got, want) || (err == nil) != tc.follows || (err != nil && !strings.Contains(err.Error(), "merged")) {
				t.Errorf("merged upstream into Patient/%s: the record holds Observations %v, want %v; the sync said %v", newID, got, want, err)
			}
		})
	}
}

// observationAt is an HbA1c-like Observation named text, filed under the
// Patient; idField is `"id":"…",` to PUT one in place, "" to POST a new one.
func observationAt(idField, patient, text string) string {
	return fmt.Sprintf(`{"resourceType":"Observation",%s"status":"final","code":{"text":%q},"subject":{"reference":"Patient/%s"},`+
		`"effectiveDateTime":"2026-01-01T00:00:00Z","valueQuantity":{"value":48,"unit":"mmol/mol"}}`, idField, text, patient)
}

// mergedPatient is Jane's Patient id, giving the NHS number, no longer
// active and replaced by the Patient into: a merge, as a source writes it.
func mergedPatient(id, into, nhs string) string {
	return fmt.Sprintf(`{"resourceType":"Patient","id":%q,"active":false,"identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":%q}],
"name":[{"given":["Jane"],"family":"Example"}],"birthDate":"1957-03-14","link":[{"other":{"reference":"Patient/%s"},"type":"replaced-by"}]}`, id, nhs, into)
}

// putOK puts body at path on the server, failing the test unless it answers 200.
func putOK(t *testing.T, srv *upstream.Server, path, body string) {
	t.Helper()
	if status, b := srv.Do(t, "PUT", path, []byte(body)); status != http.StatusOK {
		t.Fatalf("PUT %s: %d %s", path, status, b)
	}
}

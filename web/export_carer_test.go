package web_test

import (
	"context"
	"database/sql"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// A carer's download holds what their pages show: resources of types the
// pages do not show (a MedicationDispense, a ServiceRequest) are never
// checked against what the person keeps out of sharing, so they are left
// out, by category or one entry kept out alike.
func TestCarerDownloadHoldsOnlyWhatTheirPagesShow(t *testing.T) {
	fluox := `{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"406022","display":"Fluoxetine 25 MG"}]}`
	truvada := `{"text":"Truvada 200mg/245mg tablets"}`
	for _, tc := range []struct {
		name     string
		extra    []string
		keepOut  func(t *testing.T, f *fixture, jane *http.Cookie)
		mustNot  []string
		mustHave []string
	}{
		{
			name: "mental health kept out",
			extra: []string{
				`{"resourceType":"MedicationRequest","id":"mr-fl","status":"active","intent":"order","subject":{"reference":"Patient/jane"},"medicationCodeableConcept":` + fluox + `,"authoredOn":"2025-01-10"}`,
				`{"resourceType":"MedicationDispense","id":"md-fl","status":"completed","subject":{"reference":"Patient/jane"},"medicationCodeableConcept":` + fluox + `,"authorizingPrescription":[{"reference":"MedicationRequest/mr-fl"}]}`,
				`{"resourceType":"ServiceRequest","id":"sr-1","status":"active","intent":"order","subject":{"reference":"Patient/jane"},"code":{"text":"Referral to community mental health team"},"reasonCode":[{"coding":[{"system":"http://snomed.info/sct","code":"35489007","display":"Depressive disorder"}]}]}`,
			},
			keepOut: func(t *testing.T, f *fixture, jane *http.Cookie) {
				if rec := f.post(t, "/choices/mental-health/confirm", jane, url.Values{"csrf": {csrfOf(t, f, jane)}, "for": {"self"}, "answer": {"yes"}}); rec.Code != http.StatusSeeOther {
					t.Fatalf("keep out: %d", rec.Code)
				}
			},
			mustNot: []string{"Fluoxetine", "Depressive disorder", `"MedicationDispense"`, `"ServiceRequest"`},
		},
		{
			name: "one entry kept out",
			extra: []string{
				`{"resourceType":"MedicationRequest","id":"mr-t","status":"active","intent":"order","subject":{"reference":"Patient/jane"},"medicationCodeableConcept":` + truvada + `,"authoredOn":"2025-01-11"}`,
				`{"resourceType":"MedicationDispense","id":"md-t","status":"completed","subject":{"reference":"Patient/jane"},"medicationCodeableConcept":` + truvada + `,"authorizingPrescription":[{"reference":"MedicationRequest/mr-t"}]}`,
				`{"resourceType":"MedicationRequest","id":"mr-p","status":"active","intent":"order","subject":{"reference":"Patient/jane"},"medicationCodeableConcept":{"text":"Paracetamol 500mg tablets"},"authoredOn":"2025-01-12"}`,
			},
			keepOut: func(t *testing.T, f *fixture, jane *http.Cookie) {
				sec, err := f.db.RecordSection(context.Background(), f.jane.ID, fhir.SectionMedicines, 1, 10)
				if err != nil {
					t.Fatal(err)
				}
				var key string
				for _, it := range sec.Items {
					if strings.Contains(it.Display, "Truvada") {
						key = store.ItemKey(it)
					}
				}
				if rec := f.post(t, "/choices/entry/confirm", jane, url.Values{"csrf": {csrfOf(t, f, jane)}, "for": {"self"}, "key": {key}, "answer": {"yes"}}); rec.Code != http.StatusSeeOther {
					t.Fatalf("keep out: %d", rec.Code)
				}
			},
			mustNot:  []string{"Truvada"},
			mustHave: []string{"Paracetamol", `"id":"mr-p"`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t)
			resources := []fhir.Resource{patient("jane", "9434765919", "Jane", "Example", "1957-03-14")}
			for _, raw := range tc.extra {
				r, err := fhir.ParseResource([]byte(raw))
				if err != nil {
					t.Fatal(err)
				}
				resources = append(resources, r)
			}
			if _, err := f.db.ImportResources(ctx, store.ImportOptions{Source: "gp", OrgName: "Meanwood Group Practice"}, "test", resources); err != nil {
				t.Fatal(err)
			}
			jane := f.signIn(t, f.jane)
			tc.keepOut(t, f, jane)
			john := f.newCarer(t, "John Smith")
			all := []string{store.ScopeDownload}
			for _, s := range fhir.Sections() {
				all = append(all, s.Slug)
			}
			f.grant(t, f.jane, f.ownAccount(t, f.jane), john, all...)
			dl := readAll(f.get(t, "/record/download", john.cookie))
			for _, s := range tc.mustNot {
				if strings.Contains(dl, s) {
					t.Errorf("the carer's download holds %s", s)
				}
			}
			for _, s := range append(tc.mustHave, `"id":"jane"`) {
				if !strings.Contains(dl, s) {
					t.Errorf("the carer's download lacks %s, which their pages show", s)
				}
			}
			// The person's own download still holds everything.
			own := readAll(f.get(t, "/record/download", jane))
			for _, s := range tc.mustNot {
				if !strings.Contains(own, s) {
					t.Errorf("the person's own download lacks %s", s)
				}
			}
		})
	}
}

// TestCarerDownloadHoldsOnlyTheirParts: a carer's download held every entry
// not kept out of sharing, whatever parts of the record their grant lets
// them see; only the rule that a download needs every part kept it from
// mattering (found by a security review). It now holds the entries of those
// parts alone, as their pages do, whatever a grant holds.
func TestCarerDownloadHoldsOnlyTheirParts(t *testing.T) {
	f := newFixture(t)
	f.signIn(t, f.jane)
	jane := f.ownAccount(t, f.jane)
	f.importJSON(t, "gp", `{"resourceType":"Condition","id":"c1","subject":{"reference":"Patient/jane"},"code":{"text":"Secret diagnosis"},"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},"recordedDate":"2025-02-01"}`)
	john := f.newCarer(t, "John")
	g := f.grant(t, f.jane, jane, john, "medicines")
	raw, err := sql.Open("sqlite3", "file:"+f.path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	// A grant as no page makes: medicines and download.
	if _, err := raw.Exec(`UPDATE carer_grants SET scopes = 'medicines download' WHERE id = ?`, g.ID); err != nil {
		t.Fatal(err)
	}
	if got := f.get(t, "/record/conditions", john.cookie).StatusCode; got != http.StatusForbidden {
		t.Fatalf("conditions page: %d", got)
	}
	resp := f.get(t, "/record/download", john.cookie)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || strings.Contains(string(body), "Secret diagnosis") || !strings.Contains(string(body), `"resourceType":"Bundle"`) {
		t.Errorf("download: %d, holding the condition: %v; want a Bundle without it", resp.StatusCode, strings.Contains(string(body), "Secret diagnosis"))
	}
}

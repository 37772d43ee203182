package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// A download's fullUrls are each its own (FHIR's bdl-7), even from two
// sources for one server (as a cache made before AddSource refused that may
// hold): the repeat goes without one, and keeps its own meta.source.
func TestExportGivesEachFullURLOnce(t *testing.T) {
	ctx := context.Background()
	db, path := mustOpenDBFile(t)
	if _, err := db.AddSource(ctx, store.Source{Name: "lth", BaseURL: "https://fhir.example.org/r4"}); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.ExecContext(ctx, `INSERT INTO sources (name, org_name, base_url, auth_kind, auth_config, created_at)
SELECT 'lth-2', org_name, base_url, auth_kind, auth_config, created_at FROM sources WHERE name = 'lth'`); err != nil {
		t.Fatal(err)
	}
	person := addPerson(t, db, "9434765919", "1957-03-14")
	patient := fmt.Sprintf(`{"resourceType":"Patient","id":"pt1","meta":{"versionId":"1","lastUpdated":"2026-01-01T00:00:00Z"},"identifier":[{"system":%q,"value":"9434765919"}]}`, fhir.NHSNumberSystem)
	for _, name := range []string{"lth", "lth-2"} {
		if _, err := db.ApplyPage(ctx, store.PageUpdate{Source: name, PersonID: person.ID, ResourceType: "Patient", Origin: "test",
			Resources: []fhir.Resource{{Type: "Patient", ID: "pt1", VersionID: "1", Raw: []byte(patient)}}}); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := db.WriteBundle(ctx, person.ID, &buf); err != nil {
		t.Fatal(err)
	}
	var b struct {
		Entry []struct {
			FullURL  string `json:"fullUrl"`
			Resource struct {
				ID   string `json:"id"`
				Meta struct{ Source string }
			} `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(buf.Bytes(), &b); err != nil {
		t.Fatal(err)
	}
	var urls []string
	for _, e := range b.Entry {
		if e.Resource.ID == "pt1" {
			urls = append(urls, e.FullURL)
			if e.Resource.Meta.Source != "https://fhir.example.org/r4" {
				t.Errorf("meta.source %q", e.Resource.Meta.Source)
			}
		}
	}
	if len(urls) != 2 || urls[0] != "https://fhir.example.org/r4/Patient/pt1" || urls[1] != "" {
		t.Errorf("the two sources' Patient/pt1 have fullUrls %q, want it once then none", urls)
	}
}

// A download holds the Organizations, Practitioners, Locations and
// Medications the record points at, as cached, each with the source it came
// from, and no other: what the pages name who took part by, and what upstream
// holds for the record. A carer's holds only those the entries they are
// shown point at.
func TestExportHoldsWhatTheRecordPointsAt(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	res := parsed(t,
		fmt.Sprintf(`{"resourceType":"Patient","id":"pt1","identifier":[{"system":%q,"value":"9434765919"}]}`, fhir.NHSNumberSystem),
		`{"resourceType":"Organization","id":"org1","name":"Meanwood Practice"}`,
		`{"resourceType":"Organization","id":"org2","name":"Another Practice"}`,
		`{"resourceType":"Practitioner","id":"pr1","name":[{"family":"Patel","given":["Rajesh"]}]}`,
		`{"resourceType":"Practitioner","id":"pr2","name":[{"family":"Other"}]}`,
		`{"resourceType":"Location","id":"loc1","name":"Meanwood surgery"}`,
		`{"resourceType":"Location","id":"loc2","name":"Elsewhere"}`,
		`{"resourceType":"Medication","id":"med1","code":{"coding":[{"system":"http://snomed.info/sct","code":"325278007","display":"Metformin 500mg tablets"}]}}`,
		`{"resourceType":"Medication","id":"med2","code":{"text":"Not this one"}}`,
		`{"resourceType":"Encounter","id":"e1","status":"finished","class":{"code":"AMB"},"subject":{"reference":"Patient/pt1"},`+
			`"period":{"start":"2026-02-01T09:00:00Z"},"serviceProvider":{"reference":"Organization/org1"},"location":[{"location":{"reference":"Location/loc1"}}]}`,
		`{"resourceType":"Condition","id":"c1","subject":{"reference":"Patient/pt1"},"code":{"text":"Asthma"},"clinicalStatus":{"coding":[{"code":"active"}]},`+
			`"recordedDate":"2026-02-01","recorder":{"reference":"Practitioner/pr1"}}`,
		`{"resourceType":"MedicationRequest","id":"m1","status":"active","intent":"order","subject":{"reference":"Patient/pt1"},`+
			`"medicationReference":{"reference":"Medication/med1"},"authoredOn":"2026-02-01"}`)
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "gp"}, "test", res); err != nil {
		t.Fatal(err)
	}
	person, err := db.PersonByNHSNumber(ctx, "9434765919")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		ctx  context.Context
		want string
	}{
		{"the person's own", ctx, "Condition/c1 Encounter/e1 Location/loc1 Medication/med1 MedicationRequest/m1 Organization/org1 Patient/pt1 Practitioner/pr1"},
		{"a carer shown medicines only", store.ForCarer(ctx, "medicines"), "Medication/med1 MedicationRequest/m1 Patient/pt1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			n, err := db.WriteBundle(tt.ctx, person.ID, &buf)
			if err != nil {
				t.Fatal(err)
			}
			var b struct {
				Entry []struct {
					Resource struct {
						ResourceType, ID string
						Meta             struct{ Source string }
					} `json:"resource"`
				} `json:"entry"`
			}
			if err := json.Unmarshal(buf.Bytes(), &b); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range b.Entry {
				if e.Resource.Meta.Source != "urn:mycarerecord:source:gp" {
					t.Errorf("%s/%s: meta.source %q", e.Resource.ResourceType, e.Resource.ID, e.Resource.Meta.Source)
				}
				got = append(got, e.Resource.ResourceType+"/"+e.Resource.ID)
			}
			slices.Sort(got)
			if strings.Join(got, " ") != tt.want || n != len(got) {
				t.Errorf("exported %d: %q\nwant %q", n, strings.Join(got, " "), tt.want)
			}
		})
	}
}

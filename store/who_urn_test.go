package store_test

import (
	"context"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// A bundle's appointment names its patient and its practitioner by their
// urn:uuid addresses; a condition recorded by the patient (recorder) and
// asserted by a practitioner likewise. Who took part is the practitioner,
// whose name the bundle gives: the pages must show it.
func TestAPatientsBundleAddressHidesNoClinician(t *testing.T) {
	ctx := context.Background()
	for _, asserter := range []string{"urn:uuid:22222222-2222-4222-8222-222222222222", "Practitioner/22222222-2222-4222-8222-222222222222"} {
		t.Run(asserter, func(t *testing.T) {
			bundle := `{"resourceType":"Bundle","type":"transaction","entry":[
{"fullUrl":"urn:uuid:11111111-1111-4111-8111-111111111111","resource":{"resourceType":"Patient","id":"11111111-1111-4111-8111-111111111111","identifier":[{"system":"` + fhir.NHSNumberSystem + `","value":"9434765919"}]},"request":{"method":"POST","url":"Patient"}},
{"fullUrl":"urn:uuid:22222222-2222-4222-8222-222222222222","resource":{"resourceType":"Practitioner","id":"22222222-2222-4222-8222-222222222222","name":[{"family":"Jones","given":["Ada"],"prefix":["Dr."]}]},"request":{"method":"POST","url":"Practitioner"}},
{"fullUrl":"urn:uuid:44444444-4444-4444-8444-444444444444","resource":{"resourceType":"Condition","id":"44444444-4444-4444-8444-444444444444",
  "clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},
  "code":{"coding":[{"system":"http://snomed.info/sct","code":"195967001","display":"Asthma"}]},"subject":{"reference":"urn:uuid:11111111-1111-4111-8111-111111111111"},
  "recordedDate":"2025-01-01","recorder":{"reference":"urn:uuid:11111111-1111-4111-8111-111111111111"},"asserter":{"reference":"` + asserter + `"}},"request":{"method":"POST","url":"Condition"}}
]}`
			db := mustOpenDB(t)
			p := importBundle(t, db, bundle)
			for _, sec := range []string{fhir.SectionConditions} {
				sp, err := db.RecordSection(ctx, p, sec, 1, 50)
				if err != nil {
					t.Fatal(err)
				}
				if len(sp.Items) != 1 {
					t.Fatalf("%s: %d items", sec, len(sp.Items))
				}
				if got := sp.Items[0].Organisation; got != "Dr. Ada Jones" && got != "Dr Ada Jones" && got != "Ada Jones" {
					t.Errorf("%s %q: who took part shown as %q; want the practitioner (Dr Ada Jones): the patient's urn:uuid was taken first", sec, sp.Items[0].Display, got)
				}
			}
		})
	}
}

// importBundle imports a bundle's JSON from the source "gp" and returns the
// person of NHS number 9434765919 it holds.
func importBundle(t *testing.T, db *store.DB, bundle string) int64 {
	t.Helper()
	ctx := context.Background()
	res, _, err := fhir.ReadBundle([]byte(bundle))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "gp"}, "bundle.json", res); err != nil {
		t.Fatal(err)
	}
	p, err := db.PersonByNHSNumber(ctx, "9434765919")
	if err != nil {
		t.Fatal(err)
	}
	return p.ID
}

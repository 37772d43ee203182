package store_test

import (
	"context"
	"testing"

	"github.com/mycarerecord/portal/store"
)

// TestTheRecordSaysWhenThePersonDied: Fletcher Hyatt's bundle (Patient
// c5ed5d78-…) says he died on 21 January 1996 (deceasedDateTime); the
// summary, which lists what is current, says so, so his 1996 prescriptions
// are not read as the medicines he takes now (a review: nothing read
// deceased[x]). Someone whose record says nothing of it has none, and a
// source a carer is shown nothing of says nothing to them.
func TestTheRecordSaysWhenThePersonDied(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	id := importSynthea(t, db, "Fletcher_Hyatt_fe0562b5-f517-4951-8366-32fdab088930.json")
	sum, err := db.RecordSummary(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Died != "1996-01-21T19:20:06+00:00" {
		t.Errorf("Died = %q; want the Patient's deceasedDateTime", sum.Died)
	}
	if len(sum.Medicines) == 0 {
		t.Error("the medicines current when he died are no longer listed")
	}
	tests := []struct{ name, patient, want string }{
		{"alive", ``, ""},
		{"said to have died, no date", `,"deceasedBoolean":true`, "yes"},
		{"said not to have died", `,"deceasedBoolean":false`, ""},
		{"a date", `,"deceasedDateTime":"2024-05-01"`, "2024-05-01"},
	}
	// Of two sources, the earlier date, and of one date the more exact.
	for _, tc := range []struct{ gp, hospital, want string }{
		{"1996", "1996-01-21", "1996-01-21"},
		{"1996-02-01", "1996-01-21", "1996-01-21"},
		{"1995", "1996-01-21", "1995"},
	} {
		db := mustOpenDB(t)
		p := importSources(t, db, []string{"gp"}, []string{"hospital"})
		for src, when := range map[string]string{"gp": tc.gp, "hospital": tc.hospital} {
			id := map[string]string{"gp": "p0", "hospital": "p1"}[src]
			if _, err := db.ImportResources(ctx, store.ImportOptions{Source: src}, "test", parsed(t,
				`{"resourceType":"Patient","id":"`+id+`","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}],"deceasedDateTime":"`+when+`"}`)); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := db.Died(ctx, p); err != nil || got != tc.want {
			t.Errorf("the GP says %s, the hospital %s: Died = %q, %v; want %q", tc.gp, tc.hospital, got, err, tc.want)
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := mustOpenDB(t)
			if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "gp"}, "test", parsed(t,
				`{"resourceType":"Patient","id":"p1","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}],"birthDate":"1957-03-14"`+tc.patient+`}`,
				`{"resourceType":"MedicationRequest","id":"m1","status":"active","intent":"order","subject":{"reference":"Patient/p1"},"medicationCodeableConcept":{"text":"Aspirin"},"authoredOn":"2024-01-01"}`)); err != nil {
				t.Fatal(err)
			}
			person, err := db.PersonByNHSNumber(ctx, "9434765919")
			if err != nil {
				t.Fatal(err)
			}
			p := person.ID
			got, err := db.Died(ctx, p)
			if err != nil || got != tc.want {
				t.Errorf("Died = %q, %v; want %q", got, err, tc.want)
			}
			if got, err := db.Died(store.ForCarer(ctx, "medicines"), p); err != nil || got != tc.want {
				t.Errorf("to a carer shown the source: Died = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// A trust's insulin naming the GP server's Medication/med1 takes none of the
// codes of the trust's own Medication/med1, a Fluoxetine: with mental health
// kept out, the carer still sees the insulin (a review: it was kept out,
// and the person's page said another choice kept it out).
func TestAnotherServersMedicationLendsNoCodes(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	src, person := syncSource(t, db)
	res := parsed(t,
		fmt.Sprintf(`{"resourceType":"Patient","id":"pt1","identifier":[{"system":%q,"value":"9434765919"}]}`, fhir.NHSNumberSystem),
		// The trust's own Medication/med1: Fluoxetine (RxNorm 406022, mental health).
		`{"resourceType":"Medication","id":"med1","code":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"406022","display":"Fluoxetine 25 MG"}]}}`,
		// Insulin, prescribed against the GP's Medication/med1, named at the GP's server.
		`{"resourceType":"MedicationRequest","id":"mr1","status":"active","intent":"order","subject":{"reference":"Patient/pt1"},`+
			`"medicationReference":{"reference":"https://gp.example.org/fhir/Medication/med1","display":"Insulin glargine 100 units/ml pen"},`+
			`"authoredOn":"2025-01-01","dosageInstruction":[{"text":"10 units at night"}]}`)
	if _, err := db.ApplyPage(ctx, store.PageUpdate{Source: src.Name, SourceID: src.ID, PersonID: person.ID, ResourceType: "MedicationRequest", Origin: "search", Resources: res}); err != nil {
		t.Fatal(err)
	}
	keepOutKind(t, db, person.ID, store.CategoryMentalHealth)
	if got := shownIn(t, store.ForCarer(ctx, fhir.SectionMedicines), db, person.ID, fhir.SectionMedicines); len(got) != 1 {
		t.Errorf("mental health kept out; a carer's medicines: %q; want the insulin (it names another server's Medication, not this trust's Fluoxetine)", got)
	}
}

package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// A hospital file's medicine naming only the GP server's Medication/med1 is
// not named nor coded by the file's own Medication/med1, a Fluoxetine: it
// read as "Fluoxetine 25 MG" on the person's own record, and was kept from a
// carer with mental health kept out (a review).
func TestAFilesMedicineNamingAnotherSourcesMedicationTakesNothingOfItsOwn(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	if _, err := db.AddSource(ctx, store.Source{Name: "gp", BaseURL: "https://gp.example.org/fhir"}); err != nil {
		t.Fatal(err)
	}
	mr := `{"resourceType":"MedicationRequest","id":"mr1","status":"active","intent":"order","subject":{"reference":"Patient/%[1]s"},` +
		`"medicationReference":{"reference":"https://gp.example.org/fhir/Medication/med1"},"authoredOn":"2025-01-01","dosageInstruction":[{"text":"10 units at night"}]}`
	p := importSources(t, db, []string{"hospital", medFmt(fluoxetineMed), mr})
	all, err := db.RecordSection(ctx, p, fhir.SectionMedicines, 1, 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Items) != 1 {
		t.Fatalf("medicines: %d", len(all.Items))
	}
	if it := all.Items[0]; strings.Contains(it.Display, "Fluoxetine") || it.Code == "406022" {
		t.Errorf("the person's insulin reads %q, coded %s|%s: it names the GP's Medication/med1, not the file's Fluoxetine", it.Display, it.CodeSystem, it.Code)
	}
	keepOutKind(t, db, p, store.CategoryMentalHealth)
	if got := shownIn(t, store.ForCarer(ctx, fhir.SectionMedicines), db, p, fhir.SectionMedicines); len(got) != 1 {
		t.Errorf("mental health kept out; a carer's medicines: %q; want the insulin", got)
	}
}

package store_test

import (
	"context"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// A hospital's medicine naming the GP's Medication by its address at the
// GP's server is kept out for that Medication's codes, whichever arrives
// first; stops being when the GP recodes it; and, stored before, is after
// migration 0064 (a review: the GP's Fluoxetine reached a carer with mental
// health kept out, the medicine taking nothing of another source's
// Medication).
func TestAMedicineNamingAnotherSourcesMedicationKeepsItOut(t *testing.T) {
	ctx := context.Background()
	byAddress := `{"resourceType":"MedicationRequest","id":"mr1","status":"active","intent":"order","subject":{"reference":"Patient/%[1]s"},` +
		`"medicationReference":{"reference":"https://GP.example.org:443/fhir/Medication/med1","display":"Capsules"},"authoredOn":"2025-01-01","dosageInstruction":[{"text":"One a day"}]}`
	carerMedicines := func(db *store.DB, p int64) []string {
		return shownIn(t, store.ForCarer(ctx, fhir.SectionMedicines), db, p, fhir.SectionMedicines)
	}
	for _, tc := range []struct {
		name string
		srcs [][]string
	}{
		{"the Medication first", [][]string{{"gp", medFmt(fluoxetineMed)}, {"hospital", byAddress}}},
		{"the Medication after", [][]string{{"hospital", byAddress}, {"gp", medFmt(fluoxetineMed)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, path := mustOpenDBFile(t)
			if _, err := db.AddSource(ctx, store.Source{Name: "gp", BaseURL: "https://gp.example.org/fhir/"}); err != nil {
				t.Fatal(err)
			}
			p := importSources(t, db, tc.srcs...)
			keepOutKind(t, db, p, store.CategoryMentalHealth)
			if got := carerMedicines(db, p); len(got) != 0 {
				t.Fatalf("mental health kept out; a carer's medicines: %q; want none (the hospital's names the GP's Fluoxetine)", got)
			}
			db = reopenWith(t, db, path, `DELETE FROM record_item_reasons WHERE system = 'xmedref' OR system GLOB 'med:*'`)
			if got := carerMedicines(db, p); len(got) != 1 {
				t.Fatalf("as stored before 0064, a carer's medicines: %q; want the hospital's", got)
			}
			db = rerunMigration(t, db, path, 64)
			if got := carerMedicines(db, p); len(got) != 0 {
				t.Fatalf("after migration 0064, a carer's medicines: %q; want none", got)
			}
			// The GP corrects its Medication to insulin: the hospital's medicine is no longer of mental health.
			if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "gp"}, "test", parsed(t, insulinMed)); err != nil {
				t.Fatal(err)
			}
			if got := carerMedicines(db, p); len(got) != 1 {
				t.Errorf("the GP's Medication corrected to insulin; a carer's medicines: %q; want the hospital's", got)
			}
		})
	}
}

// A hospital file's medicine naming the GP's Medication by its address, stored
// before the GP was a source, is kept out for it once the GP is, and its
// Medication stored (a review).
func TestAFilesMedicineNamingAGPAddedLaterKeepsItOut(t *testing.T) {
	ctx := context.Background()
	byAddress := `{"resourceType":"MedicationRequest","id":"mr1","status":"active","intent":"order","subject":{"reference":"Patient/%[1]s"},` +
		`"medicationReference":{"reference":"https://gp.example.org/fhir/Medication/med1","display":"Capsules"},"authoredOn":"2025-01-01","dosageInstruction":[{"text":"One a day"}]}`
	db := mustOpenDB(t)
	p := importSources(t, db, []string{"hospital", byAddress}) // a source of files; the GP is not a source yet
	if _, err := db.AddSource(ctx, store.Source{Name: "gp", BaseURL: "https://gp.example.org/fhir"}); err != nil {
		t.Fatal(err)
	}
	importSources(t, db, []string{"hospital", byAddress}, []string{"gp", medFmt(fluoxetineMed)})
	keepOutKind(t, db, p, store.CategoryMentalHealth)
	if got := shownIn(t, store.ForCarer(ctx, fhir.SectionMedicines), db, p, fhir.SectionMedicines); len(got) != 0 {
		t.Errorf("mental health kept out; a carer's medicines: %q; want none (the hospital's names the GP's Fluoxetine)", got)
	}
}

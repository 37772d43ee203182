package store_test

import (
	"context"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// A diagnosis whose second code is of a kind kept out is kept out from a
// carer, as stored by the import and by migration 0063 for one stored
// before; one of the same first code, the second not of the kind, is not.
func TestAnEntrysSecondCodeKeepsItOut(t *testing.T) {
	ctx := context.Background()
	db, path := mustOpenDBFile(t)
	ocd := `{"resourceType":"Condition","id":"c1","subject":{"reference":"Patient/%[1]s"},"clinicalStatus":{"coding":[{"code":"active"}]},` +
		`"code":{"coding":[{"system":"http://snomed.info/sct","code":"191736004","display":"Obsessive-compulsive disorder"},` +
		`{"system":"http://hl7.org/fhir/sid/icd-10","code":"F42.9"}]},"recordedDate":"2024-03-01"}`
	asthma := `{"resourceType":"Condition","id":"c2","subject":{"reference":"Patient/%[1]s"},"clinicalStatus":{"coding":[{"code":"active"}]},` +
		`"code":{"coding":[{"system":"http://snomed.info/sct","code":"195967001","display":"Asthma"},` +
		`{"system":"http://hl7.org/fhir/sid/icd-10","code":"J45.9"}]},"recordedDate":"2024-03-01"}`
	p := importSources(t, db, []string{"gp", ocd, asthma})
	keepOutKind(t, db, p, store.CategoryMentalHealth)
	carer := store.ForCarer(ctx, fhir.SectionConditions)
	if got := shownIn(t, carer, db, p, fhir.SectionConditions); len(got) != 1 {
		t.Errorf("as imported, a carer's conditions: %q; want asthma alone", got)
	}
	db = reopenWith(t, db, path, `DELETE FROM record_item_reasons WHERE system LIKE 'own:%'`)
	if got := shownIn(t, store.ForCarer(ctx, fhir.SectionConditions), db, p, fhir.SectionConditions); len(got) != 2 {
		t.Fatalf("without its other codes, as before 0063, a carer's conditions: %q; want both", got)
	}
	db = rerunMigration(t, db, path, 63, `ALTER TABLE reference_names DROP COLUMN other_codes`)
	if got := shownIn(t, store.ForCarer(ctx, fhir.SectionConditions), db, p, fhir.SectionConditions); len(got) != 1 {
		t.Errorf("after migration 0063, a carer's conditions: %q; want asthma alone", got)
	}
}

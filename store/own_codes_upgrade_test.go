package store_test

import (
	"context"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// A database stored before 0063 (even one that ran an early 0060, which
// stored no reason for a visit's other types or a plan's other categories)
// keeps out, once upgraded, the psychiatric visit and the mental health plan
// a review found reaching a carer: 0063 fills every entry's own codes at once.
func TestAnUpgradeKeepsOutStoredEntriesByTheirOtherCodes(t *testing.T) {
	ctx := context.Background()
	enc := `{"resourceType":"Encounter","id":"e1","status":"finished","class":{"code":"AMB"},"subject":{"reference":"Patient/%[1]s"},` +
		`"type":[{"coding":[{"system":"http://snomed.info/sct","code":"185347001","display":"Encounter for problem"}]},` +
		`{"coding":[{"system":"http://snomed.info/sct","code":"79094001","display":"Initial psychiatric interview with mental status evaluation"}]}],` +
		`"period":{"start":"2024-05-01T09:00:00Z"}}`
	cp := `{"resourceType":"CarePlan","id":"cp1","status":"active","intent":"plan","subject":{"reference":"Patient/%[1]s"},` +
		`"category":[{"coding":[{"system":"http://snomed.info/sct","code":"718347000","display":"Mental health care plan"}]},` +
		`{"coding":[{"system":"http://snomed.info/sct","code":"734163000","display":"Care plan"}]}],"period":{"start":"2024-05-01"}}`
	db, path := mustOpenDBFile(t)
	p := importSources(t, db, []string{"gp", enc, cp})
	keepOutKind(t, db, p, store.CategoryMentalHealth)
	for _, sec := range []string{fhir.SectionEncounters, fhir.SectionCarePlans} {
		if got := shownIn(t, store.ForCarer(ctx, sec), db, p, sec); len(got) != 0 {
			t.Fatalf("imported now, a carer's %s: %q; want none", sec, got)
		}
	}
	// As caa63e2's importer stored them: each concept has one coding, so no "own:" reason at all.
	db = rerunMigration(t, db, path, 63, `DELETE FROM record_item_reasons WHERE system GLOB 'own:*'`, `ALTER TABLE reference_names DROP COLUMN other_codes`)
	for _, sec := range []string{fhir.SectionEncounters, fhir.SectionCarePlans} {
		if got := shownIn(t, store.ForCarer(ctx, sec), db, p, sec); len(got) != 0 {
			t.Errorf("stored before and upgraded (0063), mental health kept out; a carer's %s: %q; want none", sec, got)
		}
	}
}

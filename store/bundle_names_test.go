package store_test

import (
	"context"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// A visit naming its hospital by the bundle's address for it ("urn:uuid:…",
// no display) shows the hospital's name, as imported and, for one stored
// before, after migration 0062 and its re-read: every smart-on-fhir Synthea
// visit showed none (a review).
func TestAnOrganisationNamedByItsBundleAddressIsShown(t *testing.T) {
	ctx := context.Background()
	db, path := mustOpenDBFile(t)
	person := importSynthea(t, db, "Wendell_Lesch_853767e6-14a5-400e-8b95-636f87701943.json")
	visit := func(db *store.DB) string {
		t.Helper()
		sp, err := db.RecordSection(ctx, person, fhir.SectionEncounters, 1, 100000)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range sp.Items {
			if it.ResourceID == "26dc9d55-fd7f-498e-a26e-89b707c58ea4" {
				return it.Organisation
			}
		}
		t.Fatal("the visit of 15 April 1941 is not listed")
		return ""
	}
	if got := visit(db); got != "SAINT ANNE'S HOSPITAL" {
		t.Errorf("as imported, the visit was at %q; want SAINT ANNE'S HOSPITAL (its serviceProvider, urn:uuid:ecc51621-…)", got)
	}
	db = reopenWith(t, db, path, `UPDATE record_items SET organisation_ref = '' WHERE organisation_ref GLOB 'urn:uuid:*'`,
		`DELETE FROM reference_names WHERE ref GLOB 'urn:uuid:*'`)
	if got := visit(db); got != "" {
		t.Fatalf("as stored before 0062: %q", got)
	}
	db = rerunMigration(t, db, path, 62)
	if err := db.FinishBulkLoad(ctx); err != nil { // the re-read 0062 asks for
		t.Fatal(err)
	}
	if got := visit(db); got != "SAINT ANNE'S HOSPITAL" {
		t.Errorf("after migration 0062 and its re-read, the visit was at %q", got)
	}
}

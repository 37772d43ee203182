package store_test

import (
	"context"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// A record stored by the previous build (0079 ran: goals with no reasons
// and a shared key, CVX vaccines in the record's US words) is never read
// again: 7f3c5d7 changed what projectGoal and projectImmunization store
// but added no re-read (0080 only edits sensitive_codes). After the
// upgrade the goal for a depression kept out still reaches the carer, and
// the flu vaccine, which views.ukName named "Flu vaccine" before, now reads
// "Influenza, seasonal, injectable, preservative free" (ukName lost it).
// TestUpgradeRereadsGoalsAndVaccines: a cache migrated to 0079 before
// goals and vaccines were read as they are now reads them again (migration
// 0081; a review of fixes found them left as they were).
func TestUpgradeRereadsGoalsAndVaccines(t *testing.T) {
	ctx := context.Background()
	db, path := mustOpenDBFile(t)
	p := importSources(t, db, []string{"gp",
		`{"resourceType":"Condition","id":"c1","subject":{"reference":"Patient/%s"},"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},"code":{"coding":[{"system":"http://snomed.info/sct","code":"35489007","display":"Depressive disorder"}]},"onsetDateTime":"2024-01-01"}`,
		`{"resourceType":"Goal","id":"gl1","lifecycleStatus":"active","description":{"text":"Fewer low days"},"subject":{"reference":"Patient/%s"},"addresses":[{"reference":"Condition/c1"}]}`,
		`{"resourceType":"Immunization","id":"i1","status":"completed","patient":{"reference":"Patient/%s"},"occurrenceDateTime":"2024-10-01","vaccineCode":{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"140","display":"Influenza, seasonal, injectable, preservative free"}],"text":"Influenza, seasonal, injectable, preservative free"}}`,
	})
	// As a958238 (migrations to 0079, its re-read done) stored them.
	db = reopenWith(t, db, path, `DELETE FROM schema_migrations WHERE version >= 80`,
		`DELETE FROM record_item_reasons WHERE item_id IN (SELECT id FROM record_items WHERE resource_type = 'Goal')`,
		`UPDATE record_items SET dedup_key = 'care-plans|text|fewer low days||', reason_codes = '' WHERE resource_type = 'Goal'`,
		`UPDATE record_items SET display = 'Influenza, seasonal, injectable, preservative free', detail = '' WHERE resource_type = 'Immunization'`)
	if _, err := db.FinishStalledBulkLoad(ctx, true); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ChangeConsent(ctx, p, janeHerself, store.ConsentChange{Question: store.WithholdQuestion(store.CategoryMentalHealth), Answer: "yes"}, store.ChoiceLogged(1)); err != nil {
		t.Fatal(err)
	}
	sp, err := db.RecordSection(store.ForCarer(ctx, fhir.SectionCarePlans), p, fhir.SectionCarePlans, 1, 50)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range sp.Items {
		t.Errorf("after the upgrade a carer reads %q, a goal for a depression kept out of sharing", it.Display)
	}
	im, err := db.RecordSection(ctx, p, fhir.SectionImmunisations, 1, 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Items) != 1 {
		t.Fatalf("%d vaccinations", len(im.Items))
	}
	if im.Items[0].Display != "Flu vaccine" {
		t.Errorf("after the upgrade the flu vaccine reads %q (pages showed \"Flu vaccine\" before)", im.Items[0].Display)
	}
}

// TestVisitLinksItsNoteWithAnEmptyResultList: a report filed as a note
// with "result": [] names its visit, which links it, and is kept from a carer
// with it (a review of fixes).
func TestVisitLinksItsNoteWithAnEmptyResultList(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	p := importSources(t, db, []string{"gp",
		`{"resourceType":"Encounter","id":"e1","status":"finished","class":{"code":"AMB"},"subject":{"reference":"Patient/%s"},"type":[{"coding":[{"system":"http://snomed.info/sct","code":"185345009","display":"Encounter for symptom"}]}],"period":{"start":"2024-05-01T09:00:00Z","end":"2024-05-01T09:30:00Z"}}`,
		`{"resourceType":"DiagnosticReport","id":"n1","status":"final","subject":{"reference":"Patient/%s"},"encounter":{"reference":"Encounter/e1"},"code":{"coding":[{"system":"http://loinc.org","code":"34117-2","display":"History and physical note"}]},"effectiveDateTime":"2024-05-01T09:00:00Z","result":[],"presentedForm":[{"contentType":"text/plain","data":"U2VlbiB0b2RheS4="}]}`,
	})
	vs, err := db.RecordSection(ctx, p, fhir.SectionEncounters, 1, 10)
	if err != nil || len(vs.Items) != 1 {
		t.Fatalf("%d visits (%v)", len(vs.Items), err)
	}
	docs, err := db.RecordSection(ctx, p, fhir.SectionDocuments, 1, 10)
	if err != nil || len(docs.Items) != 1 {
		t.Fatalf("%d notes (%v)", len(docs.Items), err)
	}
	e, err := db.RecordEntry(ctx, p, vs.Items[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range e.Related {
		found = found || r.ResourceID == "n1"
	}
	if !found {
		t.Errorf("the visit does not link its note (%d related)", len(e.Related))
	}
	keepOutItem(t, db, p, vs.Items[0])
	carer, err := db.RecordSection(store.ForCarer(ctx, fhir.SectionDocuments), p, fhir.SectionDocuments, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range carer.Items {
		t.Errorf("a carer reads %q, the note of a visit kept out of sharing", it.Display)
	}
}

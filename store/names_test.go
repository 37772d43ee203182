package store_test

import (
	"context"
	"testing"

	"github.com/mycarerecord/portal/store"
)

// A source that names a medicine, or who took part, only by a reference
// shows the name of the resource it points at, whichever of the two arrives
// first, and the new name when that resource changes.
func TestItemsTakeNamesFromWhatTheyPointAt(t *testing.T) {
	const (
		patient = `{"resourceType":"Patient","id":"p1","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}]}`
		request = `{"resourceType":"MedicationRequest","id":"mr1","status":"active","subject":{"reference":"Patient/p1"},` +
			`"medicationReference":{"reference":"Medication/m1"},"requester":{"reference":"Practitioner/dr1"},"authoredOn":"2026-02-01",` +
			`"dosageInstruction":[{"text":"One tablet daily"}]}`
		encounter = `{"resourceType":"Encounter","id":"e1","status":"finished","class":{"code":"AMB"},"subject":{"reference":"Patient/p1"},` +
			`"period":{"start":"2026-02-01T09:00:00Z"},"serviceProvider":{"reference":"https://fhir.example.nhs.uk/R4/Organization/o1"}}`
		medication = `{"resourceType":"Medication","id":"m1","code":{"coding":[{"system":"http://snomed.info/sct","code":"322236009","display":"Paracetamol 500mg tablets"}]}}`
		renamed    = `{"resourceType":"Medication","id":"m1","code":{"coding":[{"system":"http://snomed.info/sct","code":"42109611000001109","display":"Paracetamol 500mg caplets"}]}}`
		doctor     = `{"resourceType":"Practitioner","id":"dr1","name":[{"use":"official","prefix":["Dr"],"given":["Amara"],"family":"Okafor"}]}`
		practice   = `{"resourceType":"Organization","id":"o1","name":"Meanwood Group Practice"}`
		moved      = `{"resourceType":"Organization","id":"o1","name":"Meanwood Health Centre"}`
	)
	type want struct{ medicine, code, prescriber, provider string }
	for _, tc := range []struct {
		name    string
		batches [][]string
		want    want
	}{
		{"no names yet", [][]string{{patient, request, encounter}},
			want{"Medicine (name not recorded)", "", "", ""}},
		{"named resources after the items", [][]string{{patient, request, encounter}, {medication, doctor, practice}},
			want{"Paracetamol 500mg tablets", "322236009", "Dr Amara Okafor", "Meanwood Group Practice"}},
		{"named resources before the items", [][]string{{medication, doctor, practice}, {patient, request, encounter}},
			want{"Paracetamol 500mg tablets", "322236009", "Dr Amara Okafor", "Meanwood Group Practice"}},
		{"in one batch, after", [][]string{{patient, request, encounter, medication, doctor, practice}},
			want{"Paracetamol 500mg tablets", "322236009", "Dr Amara Okafor", "Meanwood Group Practice"}},
		{"renamed later", [][]string{{patient, request, encounter, medication, doctor, practice}, {renamed, moved}},
			want{"Paracetamol 500mg caplets", "42109611000001109", "Dr Amara Okafor", "Meanwood Health Centre"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			db := mustOpenDB(t)
			for i, batch := range tc.batches {
				res, err := db.ImportResources(ctx, store.ImportOptions{Source: "gp"}, "batch", parsed(t, batch...))
				if err != nil || res.Rejected != 0 {
					t.Fatalf("batch %d: %+v, %v", i+1, res, err)
				}
			}
			p, err := db.PersonByNHSNumber(ctx, "9434765919")
			if err != nil {
				t.Fatal(err)
			}
			var got want
			for _, sec := range []string{"medicines", "encounters"} {
				page, err := db.RecordSection(ctx, p.ID, sec, 1, 10)
				if err != nil || len(page.Items) != 1 {
					t.Fatalf("%s: %+v, %v; want one item", sec, page.Items, err)
				}
				it := page.Items[0]
				if sec == "medicines" {
					got.medicine, got.code, got.prescriber = it.Display, it.Code, it.Organisation
				} else {
					got.provider = it.Organisation
				}
			}
			if got != tc.want {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
			if tc.want.medicine != "Medicine (name not recorded)" {
				res, err := db.SearchRecord(ctx, p.ID, "paracetamol", store.SearchOptions{PerSection: 5})
				if err != nil || res.Total != 1 {
					t.Errorf("search for the medicine's name: %+v, %v; want it found", res, err)
				}
			}
		})
	}
}

// A medicine named only through a Medication is the same fact as the same
// coded medicine named in place by another source, so it shows once.
func TestMedicineNamedByReferenceMergesByCode(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	const patient = `{"resourceType":"Patient","id":"p1","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}]}`
	imports := []struct {
		source string
		raws   []string
	}{
		{"gp", []string{patient, `{"resourceType":"MedicationRequest","id":"mr1","status":"active","subject":{"reference":"Patient/p1"},` +
			`"medicationReference":{"reference":"Medication/m1"},"authoredOn":"2026-02-01","dosageInstruction":[{"text":"One tablet daily"}]}`}},
		{"hospital", []string{patient, `{"resourceType":"MedicationRequest","id":"h1","status":"active","subject":{"reference":"Patient/p1"},` +
			`"medicationCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"322236009","display":"Paracetamol 500mg tablets"}]},` +
			`"authoredOn":"2026-01-05","dosageInstruction":[{"text":"One tablet daily"}]}`}},
		{"gp", []string{`{"resourceType":"Medication","id":"m1","code":{"coding":[{"system":"http://snomed.info/sct","code":"322236009","display":"Paracetamol 500mg tablets"}]}}`}},
	}
	p := store.Person{}
	for i, imp := range imports {
		if _, err := db.ImportResources(ctx, store.ImportOptions{Source: imp.source}, "batch", parsed(t, imp.raws...)); err != nil {
			t.Fatal(err)
		}
		var err error
		if p, err = db.PersonByNHSNumber(ctx, "9434765919"); err != nil {
			t.Fatal(err)
		}
		page, err := db.RecordSection(ctx, p.ID, "medicines", 1, 10)
		if err != nil {
			t.Fatal(err)
		}
		want := []int{1, 2, 1}[i] // unnamed, it cannot be known as the hospital's medicine
		if len(page.Items) != want {
			t.Errorf("after import %d: %d medicines shown, want %d: %+v", i+1, len(page.Items), want, page.Items)
		}
		if i == 2 && len(page.Items) == 1 && len(page.Items[0].Sources) != 2 {
			t.Errorf("the one medicine shown names %d sources, want both", len(page.Items[0].Sources))
		}
	}
}

// Items stored before migration 0027 are read again from their resources by
// the next bulk-load finishing step: they take their names and keep their ids.
func TestItemsStoredBeforeTakeNames(t *testing.T) {
	ctx := context.Background()
	db, path := mustOpenDBFile(t)
	raws := []string{
		`{"resourceType":"Patient","id":"p1","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}]}`,
		`{"resourceType":"MedicationRequest","id":"mr1","status":"active","subject":{"reference":"Patient/p1"},` +
			`"medicationReference":{"reference":"Medication/m1"},"requester":{"reference":"Organization/o1"},"authoredOn":"2026-02-01",` +
			`"dosageInstruction":[{"text":"One tablet daily"}]}`,
		`{"resourceType":"Medication","id":"m1","code":{"text":"Paracetamol 500mg tablets"}}`,
		`{"resourceType":"Organization","id":"o1","name":"Meanwood Group Practice"}`,
	}
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "gp"}, "batch", parsed(t, raws...)); err != nil {
		t.Fatal(err)
	}
	p, err := db.PersonByNHSNumber(ctx, "9434765919")
	if err != nil {
		t.Fatal(err)
	}
	before, err := db.RecordSection(ctx, p.ID, "medicines", 1, 10)
	if err != nil || len(before.Items) != 1 {
		t.Fatalf("medicines: %+v, %v", before.Items, err)
	}
	// As the importer before 0027 left them.
	db = rerunMigration(t, db, path, 27,
		`UPDATE record_items SET display = 'Medicine (name not recorded)', code_system = '', code = '', organisation = '',
dedup_key = 'medicines|text|medicine (name not recorded)|one tablet daily'`,
		`DROP INDEX record_items_organisation_ref`, `DROP INDEX record_items_display_ref`,
		`ALTER TABLE record_items DROP COLUMN organisation_ref`, `ALTER TABLE record_items DROP COLUMN display_ref`,
		`DROP TABLE reference_names`, `DROP TABLE reread_backlog`)
	shown := func() store.RecordItem {
		t.Helper()
		page, err := db.RecordSection(ctx, p.ID, "medicines", 1, 10)
		if err != nil || len(page.Items) != 1 {
			t.Fatalf("medicines: %+v, %v", page.Items, err)
		}
		return page.Items[0]
	}
	if it := shown(); it.Display != "Medicine (name not recorded)" {
		t.Fatalf("before the re-read: %q; the test did not put the item back as it was", it.Display)
	}
	done, err := db.FinishStalledBulkLoad(ctx)
	if err != nil || !done {
		t.Fatalf("finish: %v, %v; want the re-read done", done, err)
	}
	it := shown()
	if it.Display != "Paracetamol 500mg tablets" || it.Organisation != "Meanwood Group Practice" || it.ID != before.Items[0].ID {
		t.Errorf("after the re-read: %q from %q, id %d; want the names, id %d", it.Display, it.Organisation, it.ID, before.Items[0].ID)
	}
	if done, err := db.FinishStalledBulkLoad(ctx); err != nil || done {
		t.Errorf("a second finish: %v, %v; want nothing left", done, err)
	}
}

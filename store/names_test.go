package store_test

import (
	"context"
	"database/sql"
	"os"
	"strings"
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

// A care team member given only as a reference to a Practitioner is listed,
// by the practitioner's name once the cache holds it, whichever arrives first,
// keeps their role, and is found by search under the name; a member given as
// the patient or a medicine is no member (the earlier rule dropped every
// member without words beside the reference).
func TestCareTeamMemberNamedByReference(t *testing.T) {
	const (
		team = `{"resourceType":"CareTeam","id":"ct1","status":"active","name":"Diabetes team","subject":{"reference":"Patient/p1"},` +
			`"period":{"start":"2026-01-10"},"participant":[` +
			`{"role":[{"coding":[{"system":"http://snomed.info/sct","code":"224535009","display":"Registered nurse"}]}],"member":{"reference":"Practitioner/n1"}},` +
			`{"member":{"reference":"Patient/p1"}},{"member":{"reference":"Medication/m1"}}]}`
		nurse   = `{"resourceType":"Practitioner","id":"n1","name":[{"use":"official","given":["Priya"],"family":"Shah"}]}`
		renamed = `{"resourceType":"Practitioner","id":"n1","name":[{"use":"official","given":["Priya"],"family":"Shah-Evans"}]}`
	)
	for _, tc := range []struct {
		name    string
		batches [][]string
		want    string
	}{
		{"no name yet", [][]string{{namesPatient, team}}, "Care team member (name not recorded)"},
		{"the practitioner after", [][]string{{namesPatient, team}, {nurse}}, "Priya Shah"},
		{"the practitioner before", [][]string{{nurse}, {namesPatient, team}}, "Priya Shah"},
		{"in one batch, after", [][]string{{namesPatient, team, nurse}}, "Priya Shah"},
		{"renamed later", [][]string{{namesPatient, team, nurse}, {renamed}}, "Priya Shah-Evans"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			db := mustOpenDB(t)
			for _, batch := range tc.batches {
				importAs(t, db, "gp", batch...)
			}
			p, err := db.PersonByNHSNumber(ctx, "9434765919")
			if err != nil {
				t.Fatal(err)
			}
			page, err := db.RecordSection(ctx, p.ID, "care-team", 1, 10)
			if err != nil || len(page.Items) != 1 {
				t.Fatalf("care team: %+v, %v; want one member", page.Items, err)
			}
			it := page.Items[0]
			if it.Display != tc.want || it.Code != "224535009" || !strings.Contains(it.Detail, "Registered nurse · Diabetes team") {
				t.Errorf("member: %q (code %q, %q), want %q, a registered nurse in the diabetes team", it.Display, it.Code, it.Detail, tc.want)
			}
			if tc.want != "Care team member (name not recorded)" {
				res, err := db.SearchRecord(ctx, p.ID, strings.Fields(tc.want)[1], store.SearchOptions{PerSection: 5})
				if err != nil || res.Total != 1 {
					t.Errorf("search for the member's name: %+v, %v; want them found", res, err)
				}
			}
		})
	}
}

const namesPatient = `{"resourceType":"Patient","id":"p1","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}]}`

// namesRequest is a MedicationRequest for p1 naming its medicine only as Medication/med.
func namesRequest(id, version, med string) string {
	return `{"resourceType":"MedicationRequest","id":"` + id + `","meta":{"versionId":"` + version + `"},"status":"active","subject":{"reference":"Patient/p1"},` +
		`"medicationReference":{"reference":"Medication/` + med + `"},"requester":{"reference":"Practitioner/dr1"},"authoredOn":"2026-02-01",` +
		`"dosageInstruction":[{"text":"One tablet daily"}]}`
}

// namesCoded is a MedicationRequest for p1 naming paracetamol in place.
func namesCoded(id, version string) string {
	return `{"resourceType":"MedicationRequest","id":"` + id + `","meta":{"versionId":"` + version + `"},"status":"active","subject":{"reference":"Patient/p1"},` +
		`"medicationCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"322236009","display":"Paracetamol 500mg tablets"}]},` +
		`"authoredOn":"2026-02-01","dosageInstruction":[{"text":"One tablet daily"}]}`
}

// medicinesShown is the medicines page as the person sees it, or their carer
// when ctx says so.
func medicinesShown(t *testing.T, ctx context.Context, db *store.DB) []store.RecordItem {
	t.Helper()
	p, err := db.PersonByNHSNumber(context.Background(), "9434765919")
	if err != nil {
		t.Fatal(err)
	}
	page, err := db.RecordSection(ctx, p.ID, "medicines", 1, 20)
	if err != nil {
		t.Fatal(err)
	}
	return page.Items
}

func importAs(t *testing.T, db *store.DB, source string, raws ...string) {
	t.Helper()
	if res, err := db.ImportResources(context.Background(), store.ImportOptions{Source: source}, "batch", parsed(t, raws...)); err != nil || res.Rejected != 0 {
		t.Fatalf("import: %+v, %v", res, err)
	}
}

// keepOut has the person keep an entry out of sharing, as the choices pages do.
func keepOut(t *testing.T, db *store.DB, question, label string) {
	t.Helper()
	ctx := context.Background()
	p, err := db.PersonByNHSNumber(ctx, "9434765919")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ChangeConsent(ctx, p.ID, store.Performer{Name: "Jane"}, store.ConsentChange{Question: question, Answer: "yes", Label: label}, store.ChoiceLogged(1)); err != nil {
		t.Fatal(err)
	}
}

// A medicine known only by its Medication keeps the key it was stored with
// when the Medication names it, so an entry the person kept out of sharing
// while it was unnamed stays out of a carer's view; and the code it takes
// from the Medication, even with no words, lets a kept-out category hide it.
func TestNamingAMedicineKeepsItOutOfSharing(t *testing.T) {
	ctx := context.Background()
	t.Run("entry kept out while unnamed", func(t *testing.T) {
		db := mustOpenDB(t)
		importAs(t, db, "gp", namesPatient, namesRequest("mr1", "1", "m1"))
		own := medicinesShown(t, ctx, db)
		if len(own) != 1 {
			t.Fatalf("medicines: %+v", own)
		}
		keepOut(t, db, store.WithholdItemQuestion(store.ItemKey(own[0])), own[0].Display)
		importAs(t, db, "gp", `{"resourceType":"Medication","id":"m1","code":{"coding":[{"system":"http://snomed.info/sct","code":"321958004","display":"Sertraline 50mg tablets"}]}}`)
		if got := medicinesShown(t, ctx, db); len(got) != 1 || got[0].Display != "Sertraline 50mg tablets" {
			t.Fatalf("the person's own view: %+v; want the medicine named", got)
		}
		if got := medicinesShown(t, store.ForCarer(ctx), db); len(got) != 0 {
			t.Errorf("a carer sees the entry the person kept out of sharing, now named %q", got[0].Display)
		}
		importAs(t, db, "gp", namesRequest("mr1", "2", "m1")) // a new version, rewritten in place
		if got := medicinesShown(t, store.ForCarer(ctx), db); len(got) != 0 {
			t.Errorf("after a new version a carer sees the entry the person kept out of sharing: %q", got[0].Display)
		}
	})
	for _, med := range []string{
		`{"resourceType":"Medication","id":"m1","code":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"406022","display":"Fluoxetine 25 MG"}]}}`,
		`{"resourceType":"Medication","id":"m1","code":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"406022"}]}}`,
	} {
		t.Run("category kept out", func(t *testing.T) {
			db := mustOpenDB(t)
			importAs(t, db, "gp", namesPatient, med, namesRequest("mr1", "1", "m1"))
			keepOut(t, db, store.WithholdQuestion(store.CategoryMentalHealth), "")
			if own := medicinesShown(t, ctx, db); len(own) != 1 || own[0].Code != "406022" {
				t.Fatalf("the person's own view: %+v; want the Medication's code", own)
			}
			if got := medicinesShown(t, store.ForCarer(ctx), db); len(got) != 0 {
				t.Errorf("a carer sees a mental health medicine: %q", got[0].Display)
			}
		})
	}
}

// A medicine is named from its Medication though its prescriber is not held.
func TestMedicineNamedThoughItsPrescriberIsNotHeld(t *testing.T) {
	db := mustOpenDB(t)
	importAs(t, db, "gp", namesPatient, `{"resourceType":"Medication","id":"m1","code":{"text":"Fluoxetine 20mg capsules"}}`)
	importAs(t, db, "gp", namesRequest("mr1", "1", "m1"))
	if got := medicinesShown(t, context.Background(), db); len(got) != 1 || got[0].Display != "Fluoxetine 20mg capsules" {
		t.Errorf("medicines: %+v; want it named from the Medication held", got)
	}
}

// A report marked as another source's duplicate that changes upstream so
// that it has no key (it now names its medicine only by a Medication not
// held) is no longer anyone's duplicate: it shows, and search finds it.
func TestDuplicateThatLosesItsKeyShows(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	importAs(t, db, "a-gp", namesPatient, namesCoded("mr1", "1"))
	importAs(t, db, "b-hospital", namesPatient, namesCoded("mr2", "1"))
	if got := medicinesShown(t, ctx, db); len(got) != 1 {
		t.Fatalf("before: %d medicines shown, want the two reports as one", len(got))
	}
	importAs(t, db, "b-hospital", namesRequest("mr2", "2", "m9"))
	if got := medicinesShown(t, ctx, db); len(got) != 2 {
		t.Errorf("after the update: %d medicines shown, want 2", len(got))
	}
	p, err := db.PersonByNHSNumber(ctx, "9434765919")
	if err != nil {
		t.Fatal(err)
	}
	if res, err := db.SearchRecord(ctx, p.ID, "recorded", store.SearchOptions{PerSection: 5}); err != nil || res.Total != 1 {
		t.Errorf("search for the unnamed medicine: %+v, %v; want it found", res, err)
	}
}

// Items stored before migration 0027 are read again from their resources by
// the next bulk-load finishing step: a medicine takes its Medication's name
// and keeps its id and its key, so an entry kept out of sharing by that key
// stays out; who took part is named through the reference.
func TestItemsStoredBeforeTakeNames(t *testing.T) {
	ctx := context.Background()
	db, path := mustOpenDBFile(t)
	importAs(t, db, "gp", namesPatient, namesRequest("mr1", "1", "m1"),
		`{"resourceType":"Medication","id":"m1","code":{"text":"Sertraline 50mg tablets"}}`,
		`{"resourceType":"Practitioner","id":"dr1","name":[{"prefix":["Dr"],"given":["Amara"],"family":"Okafor"}]}`)
	before := medicinesShown(t, ctx, db)
	if len(before) != 1 {
		t.Fatalf("medicines: %+v", before)
	}
	// As the importer before 0027 left them, kept out of sharing by the key it gave.
	db = before0027(t, db, path, `UPDATE record_items SET display = 'Medicine (name not recorded)', code_system = '', code = '',
organisation = '', dedup_key = ?`, legacyKey)
	keepOut(t, db, store.WithholdItemQuestion(legacyKey), "Medicine (name not recorded)")
	if got := medicinesShown(t, ctx, db); len(got) != 1 || got[0].Display != "Medicine (name not recorded)" {
		t.Fatalf("before the re-read: %+v; the test did not put the item back as it was", got)
	}
	done, err := db.FinishStalledBulkLoad(ctx, true)
	if err != nil || !done {
		t.Fatalf("finish: %v, %v; want the re-read done", done, err)
	}
	got := medicinesShown(t, ctx, db)
	if len(got) != 1 || got[0].Display != "Sertraline 50mg tablets" || got[0].Organisation != "Dr Amara Okafor" || got[0].ID != before[0].ID {
		t.Errorf("after the re-read: %+v; want the names, id %d", got, before[0].ID)
	}
	if got := medicinesShown(t, store.ForCarer(ctx), db); len(got) != 0 {
		t.Errorf("after the re-read a carer sees the entry kept out of sharing: %+v", got)
	}
	if done, err := db.FinishStalledBulkLoad(ctx, true); err != nil || done {
		t.Errorf("a second finish: %v, %v; want nothing left", done, err)
	}
}

// legacyKey is the key the importer before 0027 gave a medicine known only by
// a Medication, with namesRequest's dose.
const legacyKey = "medicines|text|medicine (name not recorded)|one tablet daily"

// before0027 runs update on db's file, puts the schema back as it was before
// migration 0027, and opens the file again, which runs 0027 and 0028 once more.
func before0027(t *testing.T, db *store.DB, path, update string, args ...any) *store.DB {
	t.Helper()
	raw, err := sql.Open("sqlite3", "file:"+store.URIPath(path))
	if err != nil {
		t.Fatal(err)
	}
	_, err = raw.Exec(update, args...)
	raw.Close()
	if err != nil {
		t.Fatal(err)
	}
	migration0010, err := os.ReadFile("migrations/0010_bulk_load.sql")
	if err != nil {
		t.Fatal(err)
	}
	view := string(migration0010)
	view = view[strings.Index(view, "CREATE VIEW record_search_rows"):]
	view = view[:strings.Index(view, ";")]
	trigger := string(migration0010)
	trigger = trigger[strings.Index(trigger, "CREATE TRIGGER record_search_update"):]
	trigger = trigger[:strings.Index(trigger, "END;")+len("END;")]
	return rerunMigration(t, db, path, 27, `ALTER TABLE record_items DROP COLUMN part`, `DROP TABLE record_item_ids`, `DROP TABLE held_keys_waiting`, `DELETE FROM schema_migrations WHERE version = 28`,
		`DROP TRIGGER record_search_update`, trigger, `DROP VIEW record_search_rows`, view,
		`DROP INDEX record_items_display_ref`, `ALTER TABLE record_items DROP COLUMN organisation_ref`, `ALTER TABLE record_items DROP COLUMN display_ref`,
		`DROP TABLE reference_names`, `DROP TABLE reread_backlog`, `DROP TABLE held_keys`, `DELETE FROM schema_migrations WHERE version = 49`,
		`DELETE FROM schema_migrations WHERE version = 63`) // reference_names made again, as 0027 made it, then as 0063 changed it
}

// An entry kept out of sharing stays out when its key changes: its resource
// changes upstream (a new dose, a medicine given by a Medication instead of
// in place or the other way round), or an entry stored before 0027 is read
// again and then changes again.
func TestKeptOutEntryStaysOutWhenItsKeyChanges(t *testing.T) {
	ctx := context.Background()
	const med = `{"resourceType":"Medication","id":"m1","code":{"coding":[{"system":"http://snomed.info/sct","code":"322236009","display":"Paracetamol 500mg tablets"}]}}`
	completed := strings.Replace(namesRequest("mr1", "2", "m1"), `"active"`, `"completed"`, 1)
	for _, tc := range []struct {
		name   string
		first  string
		later  []string
		legacy bool // stored as before 0027, kept out by legacyKey, then read again
	}{
		{"new dose", namesCoded("mr1", "1"), []string{strings.Replace(namesCoded("mr1", "2"), "One tablet", "Two tablets", 1)}, false},
		{"coded, then by a Medication", namesCoded("mr1", "1"), []string{namesRequest("mr1", "2", "m1")}, false},
		{"by a Medication, then coded", namesRequest("mr1", "1", "m1"), []string{namesCoded("mr1", "2")}, false},
		{"by a Medication, then coded, then a new dose", namesRequest("mr1", "1", "m1"),
			[]string{namesCoded("mr1", "2"), strings.Replace(namesCoded("mr1", "3"), "One tablet", "Two tablets", 1)}, false},
		{"stored before 0027, then a new version", namesRequest("mr1", "1", "m1"), []string{completed}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, path := mustOpenDBFile(t)
			importAs(t, db, "gp", namesPatient, med, tc.first)
			if tc.legacy {
				db = before0027(t, db, path, `UPDATE record_items SET display = 'Medicine (name not recorded)', code_system = '', code = '', dedup_key = ?`, legacyKey)
				keepOut(t, db, store.WithholdItemQuestion(legacyKey), "Medicine (name not recorded)")
				if _, err := db.FinishStalledBulkLoad(ctx, true); err != nil {
					t.Fatal(err)
				}
			} else {
				own := medicinesShown(t, ctx, db)
				keepOut(t, db, store.WithholdItemQuestion(store.ItemKey(own[0])), own[0].Display)
			}
			for i, raw := range append([]string{""}, tc.later...) {
				if raw != "" {
					importAs(t, db, "gp", raw)
				}
				if got := medicinesShown(t, store.ForCarer(ctx), db); len(got) != 0 {
					t.Errorf("after change %d a carer sees the entry kept out of sharing: %q, key %q", i, got[0].Display, got[0].DedupKey)
				}
				if own := medicinesShown(t, ctx, db); len(own) != 1 || !own[0].Withheld {
					t.Errorf("after change %d the person's own page: %+v; want the entry marked as kept out", i, own)
				}
			}
		})
	}
}

// Two sources' different medicines that the importer before 0027 gave one key
// (both unnamed, with one dose) are two entries once read again and named.
func TestLegacyKeyNoLongerMergesDifferentMedicines(t *testing.T) {
	ctx := context.Background()
	db, path := mustOpenDBFile(t)
	importAs(t, db, "a-gp", namesPatient, namesRequest("mr1", "1", "m1"), `{"resourceType":"Medication","id":"m1","code":{"text":"Sertraline 50mg tablets"}}`)
	importAs(t, db, "b-hospital", namesPatient, namesRequest("mr2", "1", "m2"), `{"resourceType":"Medication","id":"m2","code":{"text":"Amoxicillin 500mg capsules"}}`)
	db = before0027(t, db, path, `UPDATE record_items SET display = 'Medicine (name not recorded)', code_system = '', code = '', dedup_key = ?,
dup = (source_id != (SELECT MIN(id) FROM sources))`, legacyKey)
	if got := medicinesShown(t, ctx, db); len(got) != 1 {
		t.Fatalf("before the re-read: %d medicines shown; the test did not merge them as before 0027", len(got))
	}
	if _, err := db.FinishStalledBulkLoad(ctx, true); err != nil {
		t.Fatal(err)
	}
	if got := medicinesShown(t, ctx, db); len(got) != 2 {
		t.Errorf("after the re-read: %d medicines shown, want Sertraline and Amoxicillin: %+v", len(got), got)
	}
}

// Search finds a medicine by the prescriber it names only by a reference,
// and by the new one when that changes upstream.
func TestSearchFollowsAChangedPrescriber(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	importAs(t, db, "gp", namesPatient,
		`{"resourceType":"Practitioner","id":"dr1","name":[{"given":["Amara"],"family":"Okafor"}]}`,
		`{"resourceType":"Practitioner","id":"dr2","name":[{"given":["Bob"],"family":"Zebedee"}]}`,
		namesRequest("mr1", "1", "m1"))
	importAs(t, db, "gp", strings.Replace(namesRequest("mr1", "2", "m1"), "Practitioner/dr1", "Practitioner/dr2", 1))
	p, err := db.PersonByNHSNumber(ctx, "9434765919")
	if err != nil {
		t.Fatal(err)
	}
	for words, want := range map[string]int{"zebedee": 1, "okafor": 0} {
		if res, err := db.SearchRecord(ctx, p.ID, words, store.SearchOptions{PerSection: 5}); err != nil || res.Total != want {
			t.Errorf("search for %q: %d found, %v; want %d", words, res.Total, err, want)
		}
	}
}

// Search finds an entry by the name of who took part when the resource
// naming them arrives in a later import than the entry (ImportOptions.IndexNames,
// as portal import sets it, or a bulk load), by the new name after a rename
// and by none once it gives none, and so does another source's entry for the
// same fact, whose words include this one's.
func TestSearchFindsNamesFromALaterImport(t *testing.T) {
	const (
		patient   = `{"resourceType":"Patient","id":"p1","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}]}`
		encounter = `{"resourceType":"Encounter","id":"e1","status":"finished","class":{"code":"AMB"},"type":[{"text":"Asthma review"}],"subject":{"reference":"Patient/p1"},` +
			`"period":{"start":"2026-02-01T09:00:00Z"},"serviceProvider":{"reference":"Organization/o1"}}`
		practice = `{"resourceType":"Organization","id":"o1","name":"Meanwood Group Practice"}`
		moved    = `{"resourceType":"Organization","id":"o1","name":"Chapeltown Health Centre"}`
		nameless = `{"resourceType":"Organization","id":"o1"}`
	)
	// The hospital reports the same encounter, naming no one.
	other := strings.Replace(strings.Replace(encounter, `,"serviceProvider":{"reference":"Organization/o1"}`, "", 1), `"id":"e1"`, `"id":"h1"`, 1)
	for _, bulk := range []bool{false, true} {
		t.Run(map[bool]string{false: "import", true: "bulk load"}[bulk], func(t *testing.T) {
			ctx := context.Background()
			db := mustOpenDB(t)
			importAs(t, db, "hospital", patient, other)
			for _, step := range []struct {
				name  string
				batch []string
				found map[string]int // words → entries found
			}{
				{"entry first", []string{patient, encounter}, map[string]int{"meanwood": 0}},
				{"its practice in a later file", []string{practice}, map[string]int{"meanwood": 1, "chapeltown": 0}},
				{"the same again", []string{practice}, map[string]int{"meanwood": 1}},
				{"renamed", []string{moved}, map[string]int{"meanwood": 0, "chapeltown": 1}},
				{"no name", []string{nameless}, map[string]int{"meanwood": 0, "chapeltown": 0, "asthma": 1}},
			} {
				opts := store.ImportOptions{Source: "gp", IndexNames: true}
				var err error
				if bulk && step.name != "entry first" {
					if _, err = db.ImportBulk(ctx, store.ImportOptions{Source: "gp"}, step.name, store.PrepareAll(parsed(t, step.batch...))); err == nil {
						err = db.FinishBulkLoad(ctx)
					}
				} else {
					_, err = db.ImportResources(ctx, opts, step.name, parsed(t, step.batch...))
				}
				if err != nil {
					t.Fatalf("%s: %v", step.name, err)
				}
				p, err := db.PersonByNHSNumber(ctx, "9434765919")
				if err != nil {
					t.Fatal(err)
				}
				for words, want := range step.found {
					res, err := db.SearchRecord(ctx, p.ID, words, store.SearchOptions{PerSection: 5})
					if err != nil || res.Total != want {
						t.Errorf("%s: search for %q: %d found, %v; want %d", step.name, words, res.Total, err, want)
					}
				}
			}
		})
	}
}

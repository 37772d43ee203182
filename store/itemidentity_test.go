package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// refMember is one CareTeam participant: who (a Practitioner id), the name
// shown, and when they joined ("" for none).
type refMember struct{ ref, name, start string }

// refTeam is CareTeam id about Patient/jane, listing members with their
// Practitioner references (as real CareTeams do), or none where ref is "".
func refTeam(id string, members ...refMember) fhir.Resource {
	var ps []string
	for _, m := range members {
		period := ""
		if m.start != "" {
			period = `,"period":{"start":"` + m.start + `"}`
		}
		ref := ""
		if m.ref != "" {
			ref = `"reference":"Practitioner/` + m.ref + `",`
		}
		ps = append(ps, `{"role":[{"coding":[{"system":"http://snomed.info/sct","code":"158965000","display":"Medical practitioner"}]}],`+
			`"member":{`+ref+`"display":"`+m.name+`"}`+period+`}`)
	}
	return res("CareTeam", id, `"status":"active","subject":{"reference":"Patient/jane"},"name":"Sexual health clinic team","period":{"start":"2025-01-01"},"participant":[`+strings.Join(ps, ",")+`]`)
}

// keepOutMember has Jane keep out of sharing her care-team entry shown as display.
func keepOutMember(t *testing.T, db *store.DB, jane store.Person, display string) store.RecordItem {
	t.Helper()
	ctx := context.Background()
	for _, it := range heldSection(t, ctx, db, jane.ID, fhir.SectionCareTeam) {
		if it.Display == display {
			if _, err := db.ChangeConsent(ctx, jane.ID, janeHerself, store.ConsentChange{Question: store.WithholdItemQuestion(store.ItemKey(it)), Answer: "yes"}, store.ChoiceLogged(1)); err != nil {
				t.Fatal(err)
			}
			return it
		}
	}
	t.Fatalf("no care-team entry %q", display)
	return store.RecordItem{}
}

func janeOf(t *testing.T, db *store.DB) store.Person {
	t.Helper()
	jane, err := db.PersonByNHSNumber(context.Background(), "9434765919")
	if err != nil {
		t.Fatal(err)
	}
	return jane
}

var (
	ada     = refMember{"ada", "Dr Ada Stone", ""}
	adaHart = refMember{"ada", "Dr Ada Stone-Hart", ""} // the same practitioner, renamed
	bo      = refMember{"bo", "Nurse Bo Lee", ""}
	cy      = refMember{"cy", "Cy Pharmacist", ""}
	dee     = refMember{"dee", "Dee Therapist", ""}
)

// A kept-out member who leaves while two join: neither joiner takes the
// leaver's item or choice, so carers see both.
func TestJoinerIsNotHiddenByTheLeaversChoice(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	heldImport(t, db, "gp", res("Patient", "jane", heldPatient), refTeam("ct1", ada, bo), condition("c9", "http://snomed.info/sct", "195662009", "Acute viral pharyngitis"))
	jane := janeOf(t, db)
	keepOutMember(t, db, jane, "Dr Ada Stone")
	heldImport(t, db, "gp", refTeam("ct1", bo, cy, dee)) // Ada leaves; Cy and Dee join
	if got := heldDisplays(heldSection(t, store.ForCarer(ctx), db, jane.ID, fhir.SectionCareTeam)); len(got) != 3 {
		t.Errorf("a carer sees %v; want Bo, Cy and Dee (only Ada was kept out, and she left)", got)
	}
}

// The same change: the access log's look-up of the leaver's entry (by item
// id) names the leaver, or nothing, never the joiner.
func TestJoinerDoesNotTakeTheLeaversID(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	// A later entry, so the team's items are not the newest ids (which SQLite would give again).
	heldImport(t, db, "gp", res("Patient", "jane", heldPatient), refTeam("ct1", ada, bo), condition("c9", "http://snomed.info/sct", "195662009", "Acute viral pharyngitis"))
	jane := janeOf(t, db)
	var ada store.RecordItem
	for _, it := range heldSection(t, ctx, db, jane.ID, fhir.SectionCareTeam) {
		if it.Display == "Dr Ada Stone" {
			ada = it
		}
	}
	heldImport(t, db, "gp", refTeam("ct1", bo, cy, dee)) // Ada leaves; Cy and Dee join
	named, err := db.ItemsByID(ctx, jane.ID, []int64{ada.ID})
	if err != nil {
		t.Fatal(err)
	}
	if it, ok := named[ada.ID]; ok && it.Display != "Dr Ada Stone" {
		t.Errorf("the access log's entry for Dr Ada Stone (item %d) now names %q", ada.ID, it.Display)
	}
}

func teamIDsByDate(t *testing.T, db *store.DB, jane store.Person) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, it := range heldSection(t, context.Background(), db, jane.ID, fhir.SectionCareTeam) {
		out[it.Date] = it.ID
	}
	return out
}

var (
	adaEarly = refMember{"ada", "Dr Ada Stone", "2024-01-01"}
	adaLate  = refMember{"ada", "Dr Ada Stone", "2025-06-01"} // the same key: care-team|dr ada stone|158965000
)

// Two participations of one member (one key, two periods) listed in another
// order keep their ids: each follows on from the stored one identical to it.
func TestSameKeyMembersReorderedKeepTheirIDs(t *testing.T) {
	db := mustOpenDB(t)
	heldImport(t, db, "gp", res("Patient", "jane", heldPatient), refTeam("ct1", adaEarly, adaLate), condition("c9", "http://snomed.info/sct", "195662009", "Acute viral pharyngitis"))
	jane := janeOf(t, db)
	was := teamIDsByDate(t, db, jane)
	heldImport(t, db, "gp", refTeam("ct1", adaLate, adaEarly))
	if now := teamIDsByDate(t, db, jane); now["2024-01-01"] != was["2024-01-01"] || now["2025-06-01"] != was["2025-06-01"] {
		t.Errorf("reordered: ids by date %v; want %v", now, was)
	}
}

// One of two participations with one key removed upstream: the one that
// stays keeps its own id, and the access log's entry for the removed one
// never names it.
func TestSameKeyMemberRemovedKeepsNoID(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	heldImport(t, db, "gp", res("Patient", "jane", heldPatient), refTeam("ct1", adaEarly, adaLate), condition("c9", "http://snomed.info/sct", "195662009", "Acute viral pharyngitis"))
	jane := janeOf(t, db)
	was := teamIDsByDate(t, db, jane)
	heldImport(t, db, "gp", refTeam("ct1", adaLate)) // the earlier participation removed
	named, err := db.ItemsByID(ctx, jane.ID, []int64{was["2024-01-01"]})
	if err != nil {
		t.Fatal(err)
	}
	if it, ok := named[was["2024-01-01"]]; ok && it.Date != "2024-01-01" {
		t.Errorf("the removed 2024 participation's item %d now names the one from %s (ids by date now %v, were %v)", was["2024-01-01"], it.Date, teamIDsByDate(t, db, jane), was)
	}
}

// An entry kept out whose code was corrected (a held key), whose resource
// then loses its patient and gets it back, stays out.
func TestEntryThatLosesItsPatientStaysOut(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	jane := keepOutAsthmaThenCOPD(t, db)
	noSubject := res("Condition", "x1", `"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},`+
		`"code":{"coding":[{"system":"http://snomed.info/sct","code":"13645005","display":"Chronic obstructive lung disease"}],"text":"Chronic obstructive lung disease"},"onsetDateTime":"2024-01-01"`)
	heldImport(t, db, "gp", noSubject)
	heldImport(t, db, "gp", condition("x1", "http://snomed.info/sct", "13645005", "Chronic obstructive lung disease"))
	if got := heldSection(t, store.ForCarer(ctx), db, jane.ID, fhir.SectionConditions); len(got) != 0 {
		t.Errorf("a carer sees %v, kept out of sharing (as asthma)", heldDisplays(got))
	}
}

// A member who leaves has their item removed; the next item stored never
// takes its id (SQLite would give it again: record_items has no
// AUTOINCREMENT), so the access log's entry for them names no other entry.
func TestLeaversIDIsNotGivenToAnotherEntry(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	heldImport(t, db, "gp", res("Patient", "jane", heldPatient), refTeam("ct1", ada, bo))
	jane := janeOf(t, db)
	var bo store.RecordItem
	for _, it := range heldSection(t, ctx, db, jane.ID, fhir.SectionCareTeam) {
		if it.Display == "Nurse Bo Lee" {
			bo = it
		}
	}
	heldImport(t, db, "gp", refTeam("ct1", ada)) // Bo leaves
	heldImport(t, db, "gp", condition("c9", "http://snomed.info/sct", "86406008", "Human immunodeficiency virus infection"))
	named, err := db.ItemsByID(ctx, jane.ID, []int64{bo.ID})
	if err != nil {
		t.Fatal(err)
	}
	if it, ok := named[bo.ID]; ok {
		t.Errorf("the access log's entry for Nurse Bo Lee (item %d) now names %q", bo.ID, it.Display)
	}
}

// A result whose date is corrected upstream keeps its id, and its search
// index row no longer carries the words of the other source's report of its
// old fact: its new fact's entry is indexed again.
func TestCorrectedDateLeavesNoOthersWords(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	obs := func(id, date, note string) fhir.Resource {
		return res("Observation", id, `"status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"}]},`+
			`"subject":{"reference":"Patient/jane"},"effectiveDateTime":"`+date+`","valueQuantity":{"value":72,"unit":"/min"},"note":[{"text":"`+note+`"}],`+
			`"performer":[{"display":"`+note+`"}]`)
	}
	heldImport(t, db, "gp", res("Patient", "jane", heldPatient), obs("o1", "2026-03-01", "Meanwood"))
	heldImport(t, db, "hospital", res("Patient", "jane", heldPatient), obs("h1", "2026-03-01", "Zanzibarward"))
	jane := janeOf(t, db)
	heldImport(t, db, "gp", obs("o1", "2026-03-02", "Meanwood")) // the GP's date corrected
	r, err := db.SearchRecord(ctx, jane.ID, "Zanzibarward", store.SearchOptions{PerSection: 5})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range r.Sections {
		for _, it := range s.Items {
			if it.ResourceID == "o1" {
				t.Errorf("searching the hospital's words finds the GP's entry %+v, no longer the same fact", it)
			}
		}
	}
}

// teamIndexState says, for the database at path, each record item (source,
// display, dup) and whether the search index holds exactly the rows
// record_search_rows says it should.
func teamIndexState(t *testing.T, path string) (items []string, mismatch []string) {
	t.Helper()
	raw, err := sql.Open("sqlite3", "file:"+store.URIPath(path))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	rows, err := raw.Query(`SELECT s.name, ri.display, ri.dup, (SELECT COUNT(*) FROM held_keys h WHERE h.item_id = ri.id) FROM record_items ri JOIN sources s ON s.id = ri.source_id WHERE ri.section = 'care-team' ORDER BY s.name, ri.display`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var src, d string
		var dup, held int
		if err := rows.Scan(&src, &d, &dup, &held); err != nil {
			t.Fatal(err)
		}
		items = append(items, fmt.Sprintf("%s:%s dup=%d held=%d", src, d, dup, held))
	}
	rows.Close()
	rows, err = raw.Query(`SELECT 'missing ' || fts_rowid FROM record_search_rows WHERE fts_rowid NOT IN (SELECT rowid FROM record_search)
UNION ALL SELECT 'extra ' || rowid FROM record_search WHERE rowid NOT IN (SELECT fts_rowid FROM record_search_rows)`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			t.Fatal(err)
		}
		mismatch = append(mismatch, m)
	}
	rows.Close()
	return items, mismatch
}

// The same care-team changes through ordinary imports and through a
// bulk load (into an empty cache, with deferred indexes, and into a full one)
// end with the same items, duplicate marks, held keys and search index.
func TestBulkTeamChangesMatchOrdinaryImports(t *testing.T) {
	ctx := context.Background()
	steps := []struct {
		source string
		rs     []fhir.Resource
	}{
		{"hospital", []fhir.Resource{res("Patient", "jane", heldPatient), refTeam("h1", bo, cy)}},
		{"gp", []fhir.Resource{res("Patient", "jane", heldPatient), refTeam("ct1", ada, bo)}},
		{"gp", []fhir.Resource{refTeam("ct1", adaHart, cy, dee)}}, // Bo leaves; Ada renamed; Cy, Dee join
		{"gp", []fhir.Resource{refTeam("ct1", dee)}},              // Ada and Cy leave
		{"gp", []fhir.Resource{refTeam("ct1", dee, bo, adaHart)}},
	}
	type outcome struct {
		items, mismatch []string
		search          map[string]int
	}
	run := func(t *testing.T, ordinaryFirst int, bulk bool) outcome {
		db, path := mustOpenDBFile(t)
		for i, st := range steps {
			var err error
			if bulk && i >= ordinaryFirst {
				_, err = db.ImportBulk(ctx, store.ImportOptions{Source: st.source}, "bulk", store.PrepareAll(st.rs))
			} else {
				_, err = db.ImportResources(ctx, store.ImportOptions{Source: st.source}, "sync", st.rs)
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, mm := teamIndexState(t, path); bulk {
				for _, m := range mm {
					if strings.HasPrefix(m, "extra") {
						t.Errorf("after step %d of the bulk load the index holds a row for no entry: %s", i, m)
					}
				}
			}
			if i == 1 { // Jane keeps Ada out once the GP's team is stored
				keepOutMember(t, db, janeOf(t, db), "Dr Ada Stone")
			}
		}
		if bulk {
			if err := db.FinishBulkLoad(ctx); err != nil {
				t.Fatal(err)
			}
		}
		var o outcome
		o.items, o.mismatch = teamIndexState(t, path)
		o.search = map[string]int{}
		jane := janeOf(t, db)
		for _, q := range []string{"Ada", "Bo", "Cy", "Dee"} {
			r, err := db.SearchRecord(ctx, jane.ID, q, store.SearchOptions{PerSection: 10})
			if err != nil {
				t.Fatal(err)
			}
			o.search[q] = r.Total
		}
		return o
	}
	want := run(t, 0, false)
	t.Logf("ordinary imports: %v search %v", want.items, want.search)
	if len(want.mismatch) > 0 {
		t.Errorf("ordinary imports leave the search index out of step: %v", want.mismatch)
	}
	for _, tc := range []struct {
		name  string
		first int
	}{{"bulk into an empty cache", 0}, {"bulk of the GP only", 1}, {"bulk into a full cache", 2}} {
		got := run(t, tc.first, true)
		if fmt.Sprint(got.items) != fmt.Sprint(want.items) || fmt.Sprint(got.search) != fmt.Sprint(want.search) || len(got.mismatch) > 0 {
			t.Errorf("%s: %v search %v index %v; want as ordinary imports", tc.name, got.items, got.search, got.mismatch)
		}
	}
}

// A joiner written over a leaver's item that stood aside for another
// source's report (dup) is shown and found, in ordinary imports and bulk loads.
func TestJoinerOverADuplicateIsShown(t *testing.T) {
	ctx := context.Background()
	eve := refMember{"eve", "Eve Dietitian", ""}
	for _, bulk := range []bool{false, true} {
		db, path := mustOpenDBFile(t)
		heldImport(t, db, "hospital", res("Patient", "jane", heldPatient), refTeam("h1", bo))
		heldImport(t, db, "gp", res("Patient", "jane", heldPatient), refTeam("ct1", ada, bo))
		next := []fhir.Resource{refTeam("ct1", ada, eve, cy)} // Bo leaves; Eve and Cy join
		if bulk {
			if _, err := db.ImportBulk(ctx, store.ImportOptions{Source: "gp"}, "bulk", store.PrepareAll(next)); err != nil {
				t.Fatal(err)
			}
			if err := db.FinishBulkLoad(ctx); err != nil {
				t.Fatal(err)
			}
		} else {
			heldImport(t, db, "gp", next...)
		}
		items, mm := teamIndexState(t, path)
		want := "[gp:Cy Pharmacist dup=0 held=0 gp:Dr Ada Stone dup=0 held=0 gp:Eve Dietitian dup=0 held=0 hospital:Nurse Bo Lee dup=0 held=0]"
		if fmt.Sprint(items) != want || len(mm) > 0 {
			t.Errorf("bulk %v: %v index %v; want %s", bulk, items, mm, want)
		}
		jane := janeOf(t, db)
		if r, err := db.SearchRecord(ctx, jane.ID, "Eve", store.SearchOptions{PerSection: 5}); err != nil || r.Total != 1 {
			t.Errorf("bulk %v: search for Eve: %d, %v", bulk, r.Total, err)
		}
	}
}

const tomPatient = `"identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9449306060"}],"name":[{"given":["Tom"],"family":"Other"}],"birthDate":"1960-01-01"`

func refTeamFor(patient, id string, members ...refMember) fhir.Resource {
	r := refTeam(id, members...)
	r.Raw = []byte(strings.Replace(string(r.Raw), `"Patient/jane"`, `"Patient/`+patient+`"`, 1))
	return r
}

// A team filed against Jane, where she kept Ada out (then renamed: held
// key), moves to Tom gaining a member, and back: Jane's choice still holds;
// Tom's carers see all of it, and a choice of Tom's about his own "Dr Ada
// Stone" entry does not catch the moved one.
func TestMovedTeamKeepsChoicesApart(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	heldImport(t, db, "gp", res("Patient", "jane", heldPatient), res("Patient", "tom", tomPatient), refTeam("ct1", ada, bo))
	jane := janeOf(t, db)
	tom, err := db.PersonByNHSNumber(ctx, "9449306060")
	if err != nil {
		t.Fatal(err)
	}
	keepOutMember(t, db, jane, "Dr Ada Stone")
	heldImport(t, db, "gp", refTeam("ct1", adaHart, bo))
	heldImport(t, db, "gp", refTeamFor("tom", "ct1", adaHart, bo, cy)) // filed against the wrong patient
	// Tom's own, other record of a Dr Ada Stone, which he keeps out.
	heldImport(t, db, "hospital", res("Patient", "tom", tomPatient), refTeamFor("tom", "h1", ada))
	for _, it := range heldSection(t, ctx, db, tom.ID, fhir.SectionCareTeam) {
		if it.Display == "Dr Ada Stone" {
			if _, err := db.ChangeConsent(ctx, tom.ID, store.Performer{AccountID: 9, Name: "Tom Other"}, store.ConsentChange{Question: store.WithholdItemQuestion(store.ItemKey(it)), Answer: "yes"}, store.ChoiceLogged(1)); err != nil {
				t.Fatal(err)
			}
		}
	}
	got := heldDisplays(heldSection(t, store.ForCarer(ctx), db, tom.ID, fhir.SectionCareTeam))
	if len(got) != 3 {
		t.Errorf("Tom's carer sees %v; want the GP's Dr Ada Stone-Hart, Nurse Bo Lee and Cy Pharmacist (Tom kept out only his hospital's Dr Ada Stone)", got)
	}
	heldImport(t, db, "gp", refTeam("ct1", adaHart, bo, cy)) // corrected back to Jane
	for _, d := range heldDisplays(heldSection(t, store.ForCarer(ctx), db, jane.ID, fhir.SectionCareTeam)) {
		if strings.HasPrefix(d, "Dr Ada") {
			t.Errorf("Jane's carer sees %q, kept out of sharing", d)
		}
	}
}

// A medicine known by its Medication, kept out; the Medication renamed;
// the request then naming the medicine in place; then by reference again:
// a carer never sees it, ordinary or bulk.
func TestMedicationRenamedAndRecodedStaysOut(t *testing.T) {
	ctx := context.Background()
	med := func(name string) string {
		return `{"resourceType":"Medication","id":"m1","code":{"coding":[{"system":"http://snomed.info/sct","code":"322236009","display":"` + name + `"}]}}`
	}
	for _, bulk := range []bool{false, true} {
		db := mustOpenDB(t)
		put := func(raws ...string) {
			t.Helper()
			var err error
			if bulk {
				_, err = db.ImportBulk(ctx, store.ImportOptions{Source: "gp"}, "bulk", store.PrepareAll(parsed(t, raws...)))
			} else {
				_, err = db.ImportResources(ctx, store.ImportOptions{Source: "gp"}, "sync", parsed(t, raws...))
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		put(namesPatient, med("Paracetamol 500mg tablets"), namesRequest("r1", "1", "m1"))
		p, _ := db.PersonByNHSNumber(ctx, "9434765919")
		it := medicinesShown(t, ctx, db)[0]
		if _, err := db.ChangeConsent(ctx, p.ID, janeHerself, store.ConsentChange{Question: store.WithholdItemQuestion(store.ItemKey(it)), Answer: "yes"}, store.ChoiceLogged(1)); err != nil {
			t.Fatal(err)
		}
		for i, step := range [][]string{{med("Panadol 500mg")}, {namesCoded("r1", "2")}, {namesRequest("r1", "3", "m1")}, {med("Paracetamol 500mg caplets")}} {
			put(step...)
			if got := medicinesShown(t, store.ForCarer(ctx), db); len(got) != 0 {
				t.Errorf("bulk %v step %d: a carer sees %+v", bulk, i, got)
			}
		}
		if bulk {
			if err := db.FinishBulkLoad(ctx); err != nil {
				t.Fatal(err)
			}
			if got := medicinesShown(t, store.ForCarer(ctx), db); len(got) != 0 {
				t.Errorf("after the bulk load: a carer sees %+v", got)
			}
		}
	}
}

// Migration 0028 keeps every held key, naming the person whose choice it is,
// and starts item ids above the highest stored or named in the access log.
func TestHeldKeysKeptThroughMigration0028(t *testing.T) {
	ctx := context.Background()
	db, path := mustOpenDBFile(t)
	heldImport(t, db, "gp", res("Patient", "jane", heldPatient), refTeam("ct1", ada, bo))
	jane := janeOf(t, db)
	keepOutMember(t, db, jane, "Dr Ada Stone")
	heldImport(t, db, "gp", refTeam("ct1", adaHart, bo)) // Ada's old key is held
	// The log names an entry viewed whose item was the newest, and has gone since.
	if err := db.LogAccess(ctx, store.Access{AccountID: 1, PersonID: jane.ID, Action: "view", What: "care-team entry 999"}); err != nil {
		t.Fatal(err)
	}
	db = rerunMigration(t, db, path, 28, `CREATE TABLE held_keys_0027 (key TEXT NOT NULL, item_id INTEGER NOT NULL REFERENCES record_items(id) ON DELETE CASCADE, PRIMARY KEY (key, item_id)) WITHOUT ROWID`,
		`INSERT INTO held_keys_0027 SELECT key, item_id FROM held_keys`, `DROP TABLE held_keys`, `ALTER TABLE held_keys_0027 RENAME TO held_keys`,
		`CREATE INDEX held_keys_item ON held_keys(item_id)`, `DROP TABLE held_keys_waiting`, `DROP TABLE record_item_ids`, `ALTER TABLE record_items DROP COLUMN part`)
	raw, err := sql.Open("sqlite3", "file:"+store.URIPath(path))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var held, high, maxID int64
	if err := raw.QueryRow(`SELECT (SELECT COUNT(*) FROM held_keys WHERE person_id = ?), (SELECT high FROM record_item_ids), (SELECT MAX(id) FROM record_items)`, jane.ID).Scan(&held, &high, &maxID); err != nil {
		t.Fatal(err)
	}
	if held != 1 || high != 999 {
		t.Errorf("after 0028: %d held keys of Jane's, highest id %d (items up to %d); want 1, and 999, the highest the log names", held, high, maxID)
	}
	for _, d := range heldDisplays(heldSection(t, store.ForCarer(ctx), db, jane.ID, fhir.SectionCareTeam)) {
		if strings.HasPrefix(d, "Dr Ada") {
			t.Errorf("after 0028 a carer sees %q, kept out of sharing", d)
		}
	}
	heldImport(t, db, "gp", refTeam("ct1", adaHart, bo, cy)) // first change since: the team's items gain their parts
	if got := heldDisplays(heldSection(t, store.ForCarer(ctx), db, jane.ID, fhir.SectionCareTeam)); strings.Join(got, ",") != "Nurse Bo Lee,Cy Pharmacist" && strings.Join(got, ",") != "Cy Pharmacist,Nurse Bo Lee" {
		t.Errorf("after the next change a carer sees %v; want Nurse Bo Lee and Cy Pharmacist", got)
	}
}

// A care team of members named by no reference, filed against nobody and
// then against the person again: the member kept out is kept out again, and
// the other is not (which item followed on from which cannot be told, so no
// kept-out key is moved to either).
func TestTeamFiledAgainstNobodyKeepsOnlyTheKeptOutMemberOut(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	heldImport(t, db, "gp", res("Patient", "jane", heldPatient), careTeam("t1", "Dr A", "Dr B"))
	jane := janeOf(t, db)
	keepOutMember(t, db, jane, "Dr A")
	nobody := careTeam("t1", "Dr A", "Dr B")
	nobody.Raw = []byte(strings.Replace(string(nobody.Raw), `"subject":{"reference":"Patient/jane"},`, "", 1))
	heldImport(t, db, "gp", nobody)
	heldImport(t, db, "gp", careTeam("t1", "Dr A", "Dr B"))
	got := strings.Join(heldDisplays(heldSection(t, ctx, db, jane.ID, fhir.SectionCareTeam)), ",")
	if got != "Dr A [kept out],Dr B" && got != "Dr B,Dr A [kept out]" {
		t.Errorf("the person's page: %v; want only Dr A kept out", got)
	}
	if carer := heldDisplays(heldSection(t, store.ForCarer(ctx), db, jane.ID, fhir.SectionCareTeam)); strings.Join(carer, ",") != "Dr B" {
		t.Errorf("a carer sees %v; want Dr B", carer)
	}
}

package store_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
)

// mergedInto is a Patient with no NHS number that the source merged into Patient/p1.
func mergedInto(id, mrn string) string {
	return `{"resourceType":"Patient","id":"` + id + `","active":false,"identifier":[{"system":"https://mrn.example","value":"` + mrn + `"}],` +
		`"name":[{"family":"Exampel","given":["Jayne"]}],"birthDate":"1957-03-14","link":[{"type":"replaced-by","other":{"reference":"Patient/p1"}}]}`
}

const janeSurvivor = `{"resourceType":"Patient","id":"p1","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}],"name":[{"family":"Example","given":["Jane"]}],"birthDate":"1957-03-14"}`

// importLTH imports the resources, one call each group, as the source "lth"
// linking by the hospital's record numbers.
func importLTH(t *testing.T, db *store.DB, groups ...[]string) {
	t.Helper()
	for _, g := range groups {
		if _, err := db.ImportResources(context.Background(), store.ImportOptions{Source: "lth", LinkSystems: []string{"https://mrn.example"}}, "test", parsed(t, g...)); err != nil {
			t.Fatal(err)
		}
	}
}

// wantOneJane checks that the source's Patients are one person, Jane
// Example, found by none of the merged records' numbers, whose record holds
// the n conditions filed under them.
func wantOneJane(t *testing.T, db *store.DB, n int, mrns ...string) {
	t.Helper()
	ctx := context.Background()
	srcs, err := db.Sources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	persons, err := db.PersonsAt(ctx, srcs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(persons) != 1 || persons[0].Given != "Jane" || persons[0].NHSNumber != "9434765919" {
		t.Fatalf("persons %+v; want one, Jane Example with her NHS number", persons)
	}
	for _, mrn := range mrns {
		if found, err := db.PersonByIdentifier(ctx, "https://mrn.example", mrn); err == nil && found.ID != 0 {
			t.Errorf("the merged record's number %s links the person: %+v", mrn, found)
		}
	}
	if sec, err := db.RecordSection(ctx, persons[0].ID, "conditions", 1, 10); err != nil || len(sec.Items) != n {
		t.Errorf("Jane's record holds %d conditions (%v); want the %d filed under the merged records", len(sec.Items), err, n)
	}
}

func conditionOf(id, patient, text string) string {
	return `{"resourceType":"Condition","id":"` + id + `","subject":{"reference":"Patient/` + patient + `"},"code":{"text":"` + text + `"},"recordedDate":"2024-01-05"}`
}

// TestTwoRecordsMergedIntoOneBeforeItCame: two records merged into Jane's,
// both stored before hers, are one person, and hers when it comes (a review
// of Bulk Data: each was a person, and Jane a third).
func TestTwoRecordsMergedIntoOneBeforeItCame(t *testing.T) {
	db := mustOpenDB(t)
	importLTH(t, db, []string{mergedInto("p2", "M-2"), conditionOf("c2", "p2", "Asthma")},
		[]string{mergedInto("p3", "M-3"), conditionOf("c3", "p3", "Eczema")}, []string{janeSurvivor})
	wantOneJane(t, db, 2, "M-2", "M-3")
}

// TestMigration0075NotesRecordsMergedBefore: a record merged into Jane's,
// stored under a portal before migration 0075, is still found when hers
// comes after the upgrade.
func TestMigration0075NotesRecordsMergedBefore(t *testing.T) {
	db, path := mustOpenDBFile(t)
	importLTH(t, db, []string{mergedInto("p2", "M-2"), conditionOf("c2", "p2", "Asthma")})
	db.Close()
	db = before0075(t, path)
	importLTH(t, db, []string{janeSurvivor})
	wantOneJane(t, db, 1, "M-2")
}

// TestAMergedRecordNeverJoinsAnotherNHSNumber: of two records merged into
// Jane's, stored before hers, one giving another NHS number is a person of
// its own, and the other, giving none, does not join that person: Jane's
// eczema stays out of someone else's record (a review of the merge fix).
func TestAMergedRecordNeverJoinsAnotherNHSNumber(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	other := `{"resourceType":"Patient","id":"p2","active":false,"identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9000000009"}],` +
		`"birthDate":"1968-09-22","link":[{"type":"replaced-by","other":{"reference":"Patient/p1"}}]}`
	importLTH(t, db, []string{other}, []string{mergedInto("p3", "M-3"), conditionOf("c3", "p3", "Eczema")}, []string{janeSurvivor})
	jane, err := db.PersonByNHSNumber(ctx, "9434765919")
	if err != nil {
		t.Fatal(err)
	}
	someone, err := db.PersonByNHSNumber(ctx, "9000000009")
	if err != nil {
		t.Fatal(err)
	}
	if sec, err := db.RecordSection(ctx, someone.ID, "conditions", 1, 10); err != nil || len(sec.Items) != 0 {
		t.Errorf("the person with NHS number 9000000009 holds %d conditions (%v); want none of Jane's", len(sec.Items), err)
	}
	if sec, err := db.RecordSection(ctx, jane.ID, "conditions", 1, 10); err != nil || len(sec.Items) != 1 {
		t.Errorf("Jane holds %d conditions (%v); want the eczema filed under her merged record", len(sec.Items), err)
	}
}

// TestAMergedRecordsNumberStaysWhereAnotherRecordHoldsIt: a hospital's live
// record of Jane gives her number M-2; a record another source merged into
// hers, with the same number, comes before her; when hers comes, M-2 still
// finds Jane, as the hospital still says it (a review of the merge fix: it
// was dropped).
func TestAMergedRecordsNumberStaysWhereAnotherRecordHoldsIt(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "hosp2", LinkSystems: []string{"https://mrn.example"}}, "test", parsed(t,
		`{"resourceType":"Patient","id":"h1","identifier":[{"system":"https://mrn.example","value":"M-2"}],"name":[{"family":"Example","given":["Jane"]}],"birthDate":"1957-03-14"}`)); err != nil {
		t.Fatal(err)
	}
	importLTH(t, db, []string{mergedInto("p2", "M-2"), conditionOf("c2", "p2", "Asthma")}, []string{janeSurvivor})
	found, err := db.PersonByIdentifier(ctx, "https://mrn.example", "M-2")
	if err != nil || found.NHSNumber != "9434765919" {
		t.Errorf("M-2 finds %+v (%v); want Jane, as the hospital's record still gives it", found, err)
	}
}

// TestMergedRecordsJoinASurvivorKnownElsewhere: records merged into Jane's
// hospital record, stored before it, join her when it comes, though it is
// found by her NHS number, the GP's record being stored first; and so do
// records merged into one that was itself merged into hers since (a second
// review of the merge fix: each stayed a person of its own).
func TestMergedRecordsJoinASurvivorKnownElsewhere(t *testing.T) {
	ctx := context.Background()
	t.Run("known from the GP", func(t *testing.T) {
		db := mustOpenDB(t)
		if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "gp"}, "test", parsed(t,
			`{"resourceType":"Patient","id":"g1","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}],"name":[{"family":"Example","given":["Jane"]}],"birthDate":"1957-03-14"}`)); err != nil {
			t.Fatal(err)
		}
		importLTH(t, db, []string{mergedInto("p2", "M-2"), conditionOf("c2", "p2", "Asthma")}, []string{janeSurvivor})
		wantJaneHolds(t, db, 1, "M-2")
	})
	t.Run("a chain of merges", func(t *testing.T) {
		db := mustOpenDB(t)
		p1 := strings.Replace(strings.Replace(mergedInto("p1", "M-1"), `"Patient/p1"`, `"Patient/p9"`, 1), `"id":"p1"`, `"id":"p1"`, 1)
		p9 := strings.Replace(janeSurvivor, `"id":"p1"`, `"id":"p9"`, 1)
		importLTH(t, db, []string{mergedInto("p2", "M-2"), conditionOf("c2", "p2", "Asthma")},
			[]string{p1, conditionOf("c1", "p1", "Eczema")}, []string{p9})
		wantJaneHolds(t, db, 2, "M-1", "M-2")
	})
}

// wantJaneHolds checks that Jane's record holds n conditions, and that none
// of the merged records' numbers finds anyone.
func wantJaneHolds(t *testing.T, db *store.DB, n int, mrns ...string) {
	t.Helper()
	ctx := context.Background()
	jane, err := db.PersonByNHSNumber(ctx, "9434765919")
	if err != nil {
		t.Fatal(err)
	}
	if sec, err := db.RecordSection(ctx, jane.ID, "conditions", 1, 10); err != nil || len(sec.Items) != n {
		t.Errorf("Jane holds %d conditions (%v); want the %d filed under records merged into hers", len(sec.Items), err, n)
	}
	for _, mrn := range mrns {
		if found, err := db.PersonByIdentifier(ctx, "https://mrn.example", mrn); err == nil && found.ID != 0 {
			t.Errorf("the merged record's number %s still finds %+v", mrn, found)
		}
	}
}

// TestMigration0075BringsTogetherEveryRecordMergedBefore: two records merged
// into Jane's, each taken for a person of its own by a portal before
// migration 0075, both join her when her record comes after the upgrade (a
// second review of the merge fix: only the first did).
func TestMigration0075BringsTogetherEveryRecordMergedBefore(t *testing.T) {
	db, path := mustOpenDBFile(t)
	importLTH(t, db, []string{mergedInto("p2", "M-2"), conditionOf("c2", "p2", "Asthma")}, []string{mergedInto("p3", "M-3"), conditionOf("c3", "p3", "Eczema")})
	db.Close()
	// As a portal before 0075 left them: p3 a person of its own.
	db = before0075(t, path,
		`INSERT INTO persons (id, given, family, birth_date, created_at) VALUES (99, 'Jayne', 'Exampel', '1957-03-14', '2026-01-01T00:00:00.000000000Z')`,
		`UPDATE source_patients SET person_id = 99 WHERE patient_id = 'p3'`,
		`UPDATE record_items SET person_id = 99 WHERE patient_id = 'p3'`,
		`UPDATE person_identifiers SET person_id = 99 WHERE value = 'M-3'`)
	importLTH(t, db, []string{janeSurvivor})
	wantJaneHolds(t, db, 2, "M-2", "M-3")
}

// before0075 makes the closed file at path as a portal before migration
// 0075 left it, after the statements given, and opens it, upgrading it.
func before0075(t *testing.T, path string, stmts ...string) *store.DB {
	t.Helper()
	ctx := context.Background()
	raw, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range append(stmts, `DROP INDEX source_patients_replaced_by`, `ALTER TABLE source_patients DROP COLUMN replaced_by`,
		`DELETE FROM schema_migrations WHERE version = 75`) {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatal(q, err)
		}
	}
	raw.Close()
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestARecordMergedSinceJoinsItsSurvivor: Jane's record and another of the
// hospital's, taken for a person of its own, are stored; later the hospital
// merges the second into hers: it joins her, whether hers comes again or not
// (a third review of the merge fix: it stayed apart).
func TestARecordMergedSinceJoinsItsSurvivor(t *testing.T) {
	for _, again := range []bool{false, true} {
		db := mustOpenDB(t)
		own := notMerged("p2", "M-2")
		importLTH(t, db, []string{janeSurvivor}, []string{own, conditionOf("c2", "p2", "Asthma")})
		later := []string{strings.Replace(mergedInto("p2", "M-2"), `"Exampel"`, `"Exampell"`, 1)}
		if again {
			later = append(later, strings.Replace(janeSurvivor, `"Jane"`, `"Jane Mary"`, 1))
		}
		importLTH(t, db, later)
		wantJaneHolds(t, db, 1, "M-2")
	}
}

// TestAChainMergedSinceJoinsItsSurvivor: Jane's record, and another of the
// hospital's taken for a person of its own, with a third merged into that
// one, are stored; later the second is merged into Jane's: both join her,
// and Jane's own record stays the one hers is read and sent choices by (a
// fourth review of the merge fix: the chain stayed apart, and the merged
// record, linked first, took her record's place).
func TestAChainMergedSinceJoinsItsSurvivor(t *testing.T) {
	db := mustOpenDB(t)
	own := notMerged("p2", "M-2")
	p3 := strings.Replace(mergedInto("p3", "M-3"), `"Patient/p1"`, `"Patient/p2"`, 1)
	importLTH(t, db, []string{own, conditionOf("c2", "p2", "Asthma")}, []string{janeSurvivor}, []string{p3, conditionOf("c3", "p3", "Eczema")})
	importLTH(t, db, []string{strings.Replace(mergedInto("p2", "M-2"), `"Exampel"`, `"Exampell"`, 1)})
	wantJaneHolds(t, db, 2, "M-2", "M-3")
	wantJaneReadByHers(t, db)
}

// TestAFoldNeverTakesARecordMergedIntoAnothers: two records merged into
// Jane's, stored before hers, are one person; the hospital then merges one
// of them into Yusuf's instead: Yusuf is not given Jane's asthma (a fifth
// review of the merge fix: the whole person went to him).
func TestAFoldNeverTakesARecordMergedIntoAnothers(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	yusuf := `{"resourceType":"Patient","id":"p9","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9000000009"}],"name":[{"family":"Ahmed","given":["Yusuf"]}],"birthDate":"1968-09-22"}`
	importLTH(t, db, []string{yusuf}, []string{mergedInto("p2", "M-2"), conditionOf("c2", "p2", "Asthma")}, []string{mergedInto("p3", "M-3"), conditionOf("c3", "p3", "Eczema")},
		[]string{strings.Replace(mergedInto("p3", "M-3"), `"Patient/p1"`, `"Patient/p9"`, 1)})
	him, err := db.PersonByNHSNumber(ctx, "9000000009")
	if err != nil {
		t.Fatal(err)
	}
	sec, err := db.RecordSection(ctx, him.ID, "conditions", 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range sec.Items {
		if it.Display == "Asthma" {
			t.Errorf("Yusuf holds the asthma filed under a record merged into Jane's: %+v", sec.Items)
		}
	}
}

// TestTheSurvivorIsThePatientReadAfterAMergedRecordCameFirst: a record
// merged into Jane's, stored before hers, leaves hers the Patient her record
// at the hospital is read and sent choices by (a fourth review).
func TestTheSurvivorIsThePatientReadAfterAMergedRecordCameFirst(t *testing.T) {
	db := mustOpenDB(t)
	importLTH(t, db, []string{mergedInto("p2", "M-2"), conditionOf("c2", "p2", "Asthma")}, []string{janeSurvivor})
	wantJaneReadByHers(t, db)
}

// notMerged is the hospital's Patient as mergedInto writes it, before it was merged: active, with no link.
func notMerged(id, mrn string) string {
	return strings.Replace(strings.Replace(mergedInto(id, mrn), `,"link":[{"type":"replaced-by","other":{"reference":"Patient/p1"}}]`, "", 1), `"active":false,`, "", 1)
}

// wantJaneReadByHers checks that Jane's record at the hospital is read, and
// sent choices, by her own Patient, p1, not one merged into it.
func wantJaneReadByHers(t *testing.T, db *store.DB) {
	t.Helper()
	ctx := context.Background()
	srcs, err := db.Sources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	jane, err := db.PersonByNHSNumber(ctx, "9434765919")
	if err != nil {
		t.Fatal(err)
	}
	if at, err := db.PatientAt(ctx, srcs[0].ID, jane.ID); err != nil || at != "p1" {
		t.Errorf("Jane's record at the hospital is read by Patient/%s (%v); want p1, hers, not one merged into it", at, err)
	}
}

// TestAPersonMergedAwayNamesWhoTheyJoined: two of the hospital's records,
// each taken for a person of their own, are merged, the first into the
// second and the second into Jane's: the two left holding nothing name
// Jane, who holds their records now, at the end of the chain, in the listing
// too (a review: it named the next in the chain, who held nothing either),
// and are no longer among those synced (before, operators were shown them
// with no source and no pointer on).
func TestAPersonMergedAwayNamesWhoTheyJoined(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	importLTH(t, db, []string{janeSurvivor}, []string{notMerged("p2", "M-2"), conditionOf("c2", "p2", "Asthma")},
		[]string{notMerged("p4", "M-4"), conditionOf("c4", "p4", "Eczema")})
	personOf := func(mrn string) int64 {
		p, err := db.PersonByIdentifier(ctx, "https://mrn.example", mrn)
		if err != nil {
			t.Fatal(err)
		}
		return p.ID
	}
	first, second := personOf("M-2"), personOf("M-4")
	importLTH(t, db, []string{strings.Replace(mergedInto("p2", "M-2"), `"Patient/p1"`, `"Patient/p4"`, 1)})
	importLTH(t, db, []string{mergedInto("p4", "M-4")})
	wantJaneHolds(t, db, 2, "M-2", "M-4")
	jane, err := db.PersonByNHSNumber(ctx, "9434765919")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{first, second, jane.ID} {
		want := jane.ID
		if id == jane.ID {
			want = 0
		}
		if into, err := db.MergedInto(ctx, id); err != nil || into != want {
			t.Errorf("MergedInto(%d) = %d, %v; want %d", id, into, err, want)
		}
	}
	listed := map[int64]int64{}
	if err := db.EachPerson(ctx, 0, func(p store.PersonListing) error { listed[p.ID] = p.MergedInto; return nil }); err != nil {
		t.Fatal(err)
	}
	if listed[first] != jane.ID || listed[second] != jane.ID || listed[jane.ID] != 0 {
		t.Errorf("listed as merged into %v; want persons %d and %d into Jane's (%d), who holds their records, though %d went first into %d", listed, first, second, jane.ID, first, second)
	}
	persons, err := db.Persons(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(persons) != 1 || persons[0].ID != jane.ID {
		t.Errorf("Persons = %+v; want Jane alone: the others hold nothing", persons)
	}
}

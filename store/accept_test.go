package store_test

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// TestAcceptNHSNumber: a source corrects a Patient's NHS number. The new
// version is set aside, with what comes about it, until an operator who has
// checked with the source accepts it: then the person has the new number in
// place of the old, the latest of each resource held is stored, and nothing
// is left aside. A number that is another person's is refused, changing
// nothing, and so is a Patient with nothing held.
func TestAcceptNHSNumber(t *testing.T) {
	ctx := context.Background()
	db, path := openDBAt(t)
	page := func(raws ...string) store.ImportResult { t.Helper(); return gpPage(t, db, raws...) }
	page(patientWith("1", "9434765919", "Smith", "1950-01-01"), weight("w1", "1", "80"))
	page(patientWith("2", "9434765870", "Brown", "1960-02-02"))
	if res := page(patientWith("1", "9434765927", "Smith", "1950-01-01"), weight("w1", "1", "81"), weight("w2", "1", "82")); res.Rejected != 3 {
		t.Fatalf("the corrected Patient and what is about it: %+v; want all three set aside", res)
	}
	if res := page(weight("w1", "1", "83")); res.Rejected != 1 {
		t.Fatalf("a later version of w1 while its Patient is held: %+v; want it set aside", res)
	}

	// Nothing to accept, or no such source: refused.
	for _, c := range []struct{ source, patient, want string }{
		{"gp", "2", "Nothing from gp is set aside for Patient/2's NHS number"},
		{"nowhere", "1", `No source is named "nowhere"`},
	} {
		if _, err := db.AcceptNHSNumber(ctx, c.source, c.patient, store.Access{ActorKind: store.ActorOperator, ActorName: "ops"}); err == nil || !strings.Contains(err.Error(), c.want) || store.ErrorCode(err) != store.ENOTFOUND {
			t.Errorf("accept %s %s: %v; want %q", c.source, c.patient, err, c.want)
		}
	}

	done, err := db.AcceptNHSNumber(ctx, "gp", "1", store.Access{ActorKind: store.ActorOperator, ActorName: "ops"})
	if err != nil {
		t.Fatal(err)
	}
	if done.PersonID != 1 || done.Was != "9434765919" || done.Now != "9434765927" || done.Name != "A Smith" ||
		done.Stored.Updated != 2 || done.Stored.Added != 1 || done.Stored.Rejected != 0 {
		t.Errorf("accepted: %+v; want person 1 from 9434765919 to 9434765927, the Patient and w1 updated, w2 added", done)
	}
	if p, err := db.PersonByNHSNumber(ctx, "9434765927"); err != nil || p.ID != 1 {
		t.Errorf("the person with the number accepted: %+v, %v; want person 1", p, err)
	}
	if _, err := db.PersonByNHSNumber(ctx, "9434765919"); store.ErrorCode(err) != store.ENOTFOUND {
		t.Errorf("the old number: %v; want it to name nobody, as it may be another person's", err)
	}
	if ids, err := db.PersonIdentifiers(ctx, 1); err != nil || len(ids) != 1 || ids[0].Value != "9434765927" {
		t.Errorf("person 1's identifiers: %v, %v; want the new NHS number alone", ids, err)
	}
	if n := openRejected(t, path); n != 0 {
		t.Errorf("%d left aside after the number was accepted; want none", n)
	}
	raw, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var w1 string
	if err := raw.QueryRow(`SELECT value FROM record_items WHERE resource_id = 'w1'`).Scan(&w1); err != nil || w1 != "83 kg" {
		t.Errorf("w1 shows %q, %v; want the latest version held, 83 kg", w1, err)
	}
	// What comes next about the Patient is stored as usual.
	if res := page(patientWith("1", "9434765927", "Smith", "1950-01-01"), weight("w3", "1", "84")); res.Rejected != 0 || res.Added != 1 {
		t.Errorf("the next page after accepting: %+v; want w3 stored", res)
	}
	if _, err := db.AcceptNHSNumber(ctx, "gp", "1", store.Access{ActorKind: store.ActorOperator, ActorName: "ops"}); store.ErrorCode(err) != store.ENOTFOUND {
		t.Errorf("accepting again: %v; want nothing to accept", err)
	}

	// A number another person holds would make two people one.
	page(patientWith("1", "9434765870", "Smith", "1950-01-01"))
	before := fingerprint(t, path)
	_, err = db.AcceptNHSNumber(ctx, "gp", "1", store.Access{ActorKind: store.ActorOperator, ActorName: "ops"})
	if store.ErrorCode(err) != store.ECONFLICT || !strings.Contains(err.Error(), "NHS number 943 476 5870 is person 2's (A Brown)") {
		t.Errorf("accepting another person's number: %v; want it refused, naming them", err)
	}
	if fingerprint(t, path) != before {
		t.Error("a refused acceptance changed what was stored")
	}
}

// TestHeldForFromTheWordsOfOlderRows: migration 0037 marks what a cache
// made before it set aside for a Patient's NHS number, found then only by
// the words of the reason, so the importer still holds what comes next about
// that Patient and an operator can accept it.
func TestHeldForFromTheWordsOfOlderRows(t *testing.T) {
	ctx := context.Background()
	db, path := openDBAt(t)
	page := func(raws ...string) store.ImportResult { t.Helper(); return gpPage(t, db, raws...) }
	page(patientWith("p-1", "9434765919", "Smith", "1950-01-01"))
	page(patientWith("p-1", "9434765927", "Smith", "1950-01-01"), weight("w1", "p-1", "81"))
	db = rerunMigration(t, db, path, 37, `DROP INDEX rejected_resources_held`, `ALTER TABLE rejected_resources DROP COLUMN held_for`)
	if res, err := db.ApplyPage(ctx, store.PageUpdate{Source: "gp", Origin: "test", Resources: parsed(t, weight("w2", "p-1", "82"))}); err != nil || res.Rejected != 1 {
		t.Errorf("a page about the Patient held before 0037: %+v, %v; want it set aside", res, err)
	}
	done, err := db.AcceptNHSNumber(ctx, "gp", "p-1", store.Access{ActorKind: store.ActorOperator, ActorName: "ops"})
	if err != nil || done.Stored.Updated != 1 || done.Stored.Added != 2 {
		t.Errorf("accepting a hold made before 0037: %+v, %v; want the Patient updated, w1 and w2 added", done, err)
	}
}

// TestAcceptNHSNumberAcrossSources: accepting a new number for a person
// whose Patient at another source still gave the old one put the old number
// back at that source's next sync, leaving the person with both (found by a
// review). It is refused, naming that source, until its corrected Patient is
// held too; then both are accepted together.
func TestAcceptNHSNumberAcrossSources(t *testing.T) {
	ctx := context.Background()
	db, path := openDBAt(t)
	apply := func(source string, raws ...string) store.ImportResult {
		t.Helper()
		res, err := db.ApplyPage(ctx, store.PageUpdate{Source: source, Origin: "test", Resources: parsed(t, raws...)})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	apply("gp", patientWith("1", "9434765919", "Smith", "1950-01-01"))
	apply("hospital", patientWith("h1", "9434765919", "Smith", "1950-01-01"), weight("hw1", "h1", "80"))
	apply("gp", patientWith("1", "9434765927", "Smith", "1950-01-01"))
	before := fingerprint(t, path)
	if _, err := db.AcceptNHSNumber(ctx, "gp", "1", store.Access{ActorKind: store.ActorOperator, ActorName: "ops"}); store.ErrorCode(err) != store.ECONFLICT ||
		!strings.Contains(err.Error(), "Person 1 is also linked to Patient/h1 at hospital, which still gives NHS number 943 476 5919") {
		t.Fatalf("accepting while the hospital gives the old number: %v; want it refused, naming the hospital", err)
	}
	if fingerprint(t, path) != before {
		t.Error("a refused acceptance changed what was stored")
	}
	// The hospital corrects it too: held the same way, and accepted with the GP's.
	if res := apply("hospital", patientWith("h1", "9434765927", "Smith", "1950-01-01"), weight("hw2", "h1", "81")); res.Rejected != 2 {
		t.Fatalf("the hospital's corrected Patient: %+v; want it and its Observation held", res)
	}
	done, err := db.AcceptNHSNumber(ctx, "gp", "1", store.Access{ActorKind: store.ActorOperator, ActorName: "ops"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(done.Also, []string{"hospital Patient/h1"}) || done.Stored.Updated != 2 || done.Stored.Added != 1 {
		t.Errorf("accepted: %+v; want the hospital's Patient accepted with it, and its Observation stored", done)
	}
	if n := openRejected(t, path); n != 0 {
		t.Errorf("%d left aside; want none", n)
	}
	apply("hospital", patientWith("h1", "9434765927", "Smith", "1950-01-01"), weight("hw3", "h1", "82"))
	if ids, err := db.PersonIdentifiers(ctx, 1); err != nil || len(ids) != 1 || ids[0].Value != "9434765927" {
		t.Errorf("person 1's identifiers after the hospital's next sync: %v, %v; want the new NHS number alone", ids, err)
	}
}

// TestARemovedPatientComesBackWithTheOldNumber: a Patient removed upstream
// keeps its link here. Sent again after the person's number was accepted,
// with the old number, it was stored as new and gave the person both numbers
// (found by a review). It is held, as an update with another number is.
func TestARemovedPatientComesBackWithTheOldNumber(t *testing.T) {
	ctx := context.Background()
	db, _ := openDBAt(t)
	apply := func(pu store.PageUpdate) store.ImportResult {
		t.Helper()
		pu.Origin = "test"
		res, err := db.ApplyPage(ctx, pu)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	apply(store.PageUpdate{Source: "gp", Resources: parsed(t, patientWith("1", "9434765919", "Smith", "1950-01-01"))})
	apply(store.PageUpdate{Source: "hospital", Resources: parsed(t, patientWith("h1", "9434765919", "Smith", "1950-01-01"))})
	apply(store.PageUpdate{Source: "hospital", Deleted: []fhir.Resource{{Type: "Patient", ID: "h1"}}})
	apply(store.PageUpdate{Source: "gp", Resources: parsed(t, patientWith("1", "9434765927", "Smith", "1950-01-01"))})
	if _, err := db.AcceptNHSNumber(ctx, "gp", "1", store.Access{ActorKind: store.ActorOperator, ActorName: "ops"}); err != nil {
		t.Fatalf("accept: %v", err)
	}
	res := apply(store.PageUpdate{Source: "hospital", Resources: parsed(t, patientWith("h1", "9434765919", "Smith", "1950-01-01"))})
	if res.Rejected != 1 || len(res.SetAside) != 1 || !strings.Contains(res.SetAside[0], "that of the person it is linked to is 943 476 5927") {
		t.Errorf("the removed Patient back with the old number: %+v; want it held, naming the person's number", res)
	}
	if ids, err := db.PersonIdentifiers(ctx, 1); err != nil || len(ids) != 1 || ids[0].Value != "9434765927" {
		t.Errorf("person 1's identifiers: %v, %v; want the new NHS number alone", ids, err)
	}
	// With the person's own number it is stored again.
	if res := apply(store.PageUpdate{Source: "hospital", Resources: parsed(t, patientWith("h1", "9434765927", "Smith", "1950-01-01"))}); res.Rejected != 0 || res.Added != 1 {
		t.Errorf("the removed Patient back with the person's number: %+v; want it stored", res)
	}
}

package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
	"github.com/mycarerecord/portal/store/fhirsync"
)

// patientWith is Patient/id with an NHS number ("" for none), a family name and a date of birth.
func patientWith(id, nhs, family, born string, more ...string) string {
	ident := ""
	if nhs != "" {
		ident = `"identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"` + nhs + `"}` + strings.Join(more, "") + `],`
	}
	return `{"resourceType":"Patient","id":"` + id + `",` + ident + `"name":[{"family":"` + family + `","given":["A"]}],"birthDate":"` + born + `"}`
}

func weight(id, patient, kg string) string {
	return `{"resourceType":"Observation","id":"` + id + `","status":"final","code":{"text":"Weight"},"subject":{"reference":"Patient/` + patient + `"},` +
		`"effectiveDateTime":"2020-01-01","valueQuantity":{"value":` + kg + `,"unit":"kg"}}`
}

// openRejected counts what the source holds aside and has not settled.
func openRejected(t *testing.T, path string) int {
	t.Helper()
	raw, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var n int
	if err := raw.QueryRow(`SELECT COUNT(*) FROM rejected_resources WHERE resolved_at = ''`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPatientWithAnotherNHSNumberIsSetAside: a second file (or sync page)
// whose Patient/1 has another NHS number, name and date of birth than the
// Patient/1 stored from the source is another person under the same id.
// Applied, it gave person 1 both NHS numbers and the other's name, and the
// other's weight in place of theirs. It is set aside with both numbers named,
// and so is what comes about it, until the source sends the Patient with
// the number held again; a number where none was held is simply added.
func TestPatientWithAnotherNHSNumberIsSetAside(t *testing.T) {
	ctx := context.Background()
	db, path := openDBAt(t)
	page := func(raws ...string) store.ImportResult { t.Helper(); return gpPage(t, db, raws...) }
	page(patientWith("1", "9434765919", "Smith", "1950-01-01"), weight("w1", "1", "80"))
	before := fingerprint(t, path)

	res := page(patientWith("1", "9434765927", "Jones", "1990-05-05"), weight("w1", "1", "55"))
	if res.Rejected != 2 || res.Updated != 0 || len(res.SetAside) != 2 ||
		!strings.Contains(res.SetAside[0], "Patient/1: its NHS number is now 943 476 5927, but the one stored for it from this source is 943 476 5919") ||
		!strings.Contains(res.SetAside[1], "Observation/w1: it is about Patient/1") {
		t.Fatalf("a Patient with another NHS number: %+v; want it and its Observation set aside, naming both numbers", res)
	}
	p, err := db.Person(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := db.PersonIdentifiers(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if p.Family != "Smith" || p.BirthDate != "1950-01-01" || p.NHSNumber != "9434765919" || len(ids) != 1 {
		t.Errorf("person 1 is now %+v with identifiers %v; want Smith, 1950-01-01, 9434765919 alone", p, ids)
	}
	// Only the two set aside are new: what was stored is as it was.
	raw, _ := sql.Open("sqlite3", "file:"+path)
	defer raw.Close()
	if _, err := raw.Exec(`DELETE FROM rejected_resources`); err != nil {
		t.Fatal(err)
	}
	if fingerprint(t, path) != before {
		t.Error("setting the Patient aside changed what was stored")
	}
	page(patientWith("1", "9434765927", "Jones", "1990-05-05"))

	// A later page about Patient/1 is held aside while its Patient is.
	if res := page(weight("w2", "1", "56")); res.Rejected != 1 || res.Added != 0 {
		t.Errorf("an Observation about the Patient set aside: %+v; want it set aside too", res)
	}
	// The source sends the Patient with the number held: all is as before.
	if res := page(patientWith("1", "9434765919", "Smith-Jones", "1950-01-01"), weight("w2", "1", "81")); res.Rejected != 0 || res.Updated != 1 || res.Added != 1 {
		t.Errorf("the Patient with the number held again: %+v; want it and the Observation stored", res)
	}
	if n := openRejected(t, path); n != 0 {
		t.Errorf("%d resources left aside once the Patient is right again; want none", n)
	}
	// A bulk load settles a hold as a sync page does.
	page(patientWith("1", "9434765927", "Jones", "1990-05-05"))
	if res, err := db.ImportBulk(ctx, store.ImportOptions{Source: "gp"}, "bulk", store.PrepareAll(parsed(t, weight("w3", "1", "82")))); err != nil || res.Rejected != 1 {
		t.Errorf("a bulk load about the Patient set aside: %+v, %v; want it set aside too", res, err)
	}
	if res, err := db.ImportBulk(ctx, store.ImportOptions{Source: "gp"}, "bulk",
		store.PrepareAll(parsed(t, patientWith("1", "9434765919", "Smith-Jones", "1950-01-01"), weight("w3", "1", "82")))); err != nil || res.Rejected != 0 || res.Added != 1 {
		t.Errorf("a bulk load with the Patient's number held again: %+v, %v; want the Observation stored", res, err)
	}
	if err := db.FinishBulkLoad(ctx); err != nil {
		t.Fatal(err)
	}
	if n := openRejected(t, path); n != 0 {
		t.Errorf("%d resources left aside once a bulk load brought the Patient right again; want none", n)
	}

	// An NHS number where none was held is added.
	page(patientWith("2", "", "Brown", "1960-02-02"))
	if res := page(patientWith("2", "9434765870", "Brown", "1960-02-02")); res.Rejected != 0 || res.Updated != 1 {
		t.Errorf("a Patient gaining an NHS number: %+v; want it stored", res)
	}
	if p, err := db.PersonByNHSNumber(ctx, "9434765870"); err != nil || p.Family != "Brown" {
		t.Errorf("the person who gained an NHS number: %+v, %v", p, err)
	}

	// A Patient stored with no number, linked by another identifier to a
	// person who has one, may not bring them a second.
	const mrn = "https://example.org/mrn"
	link := func(raws ...string) store.ImportResult {
		t.Helper()
		res, err := db.ApplyPage(ctx, store.PageUpdate{Source: "hosp", Origin: "test", LinkSystems: []string{mrn}, Resources: parsed(t, raws...)})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	link(patientWith("h1", "9434765919", "Smith", "1950-01-01", `,{"system":"`+mrn+`","value":"m1"}`))
	link(`{"resourceType":"Patient","id":"h2","identifier":[{"system":"` + mrn + `","value":"m1"}],"birthDate":"1950-01-01"}`)
	res = link(patientWith("h2", "9434765927", "Jones", "1990-05-05", `,{"system":"`+mrn+`","value":"m1"}`))
	if res.Rejected != 1 || !strings.Contains(res.SetAside[0], "but that of the person it is linked to is 943 476 5919") {
		t.Errorf("a Patient with another number than its person's: %+v; want it set aside", res)
	}
	if ids, _ := db.PersonIdentifiers(ctx, 1); len(ids) != 2 {
		t.Errorf("person 1 has identifiers %v; want their NHS number and m1 alone", ids)
	}
}

// TestAResourceTwiceInOneFileIsSetAside: an NDJSON file (from the largest
// Synthea record) whose last line is an Observation of line 30 again with
// another value. The later line used to overwrite the first unseen; it is
// set aside with both lines named, and the first kept. The file is not held
// in a map of ids: the row stored by this same import run says so.
func TestAResourceTwiceInOneFileIsSetAside(t *testing.T) {
	ctx := context.Background()
	db, path := openDBAt(t)
	f, err := fhirsync.ReadFile(filepath.Join(syntheaDir, "Lawerence6_Baumbach677_ea8d2576-4a23-4906-c353-bfed5adb23bd.json"))
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	var obsLine int
	var first fhir.Resource
	for i, r := range f.Resources {
		text.Write(r.Raw)
		text.WriteByte('\n')
		if r.Type == "Observation" && obsLine == 0 {
			obsLine, first = i+1, r
		}
	}
	var m map[string]any
	if err := json.Unmarshal(first.Raw, &m); err != nil {
		t.Fatal(err)
	}
	m["status"] = "entered-in-error"
	again, _ := json.Marshal(m)
	text.Write(again)
	name := filepath.Join(t.TempDir(), "twice.ndjson")
	if err := os.WriteFile(name, text.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	nd, err := fhirsync.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	res, err := db.ApplyPage(ctx, store.PageUpdate{Source: "files", Origin: name, Resources: nd.Resources})
	if err != nil {
		t.Fatal(err)
	}
	last := len(nd.Resources)
	want := fmt.Sprintf("line %d: Observation/%s came already, at line %d, with other contents", last, first.ID, obsLine)
	if res.Rejected != 1 || res.Updated != 0 || res.Added != last-1 || !strings.HasPrefix(res.SetAside[0], want) {
		t.Fatalf("got %d added, %d updated, set aside %q; want %d added and %q", res.Added, res.Updated, res.SetAside, last-1, want)
	}
	var got []byte
	raw, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if err := raw.QueryRow(`SELECT json FROM resources WHERE type = 'Observation' AND id = ?`, first.ID).Scan(&got); err != nil || bytes.Contains(got, []byte("entered-in-error")) {
		t.Errorf("stored: %s, %v; want the first line's", got, err)
	}
}

// TestAnOlderVersionIsSaidSo: an older version than the one stored is left
// out, as before, and now said so, with both versions.
func TestAnOlderVersionIsSaidSo(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	obs := func(version, when string) []fhir.Resource {
		return parsed(t, `{"resourceType":"Observation","id":"o1","meta":{"versionId":"`+version+`","lastUpdated":"`+when+`"},"status":"final","code":{"text":"Pulse"}}`)
	}
	if _, err := db.ApplyPage(ctx, store.PageUpdate{Source: "files", Origin: "v5", Resources: obs("5", "2024-01-01T00:00:00Z")}); err != nil {
		t.Fatal(err)
	}
	res, err := db.ApplyPage(ctx, store.PageUpdate{Source: "files", Origin: "v2", Resources: obs("2", "2020-01-01T00:00:00Z")})
	want := "Observation/o1: this one (version 2, last updated 2020-01-01T00:00:00Z) is older than the one stored (version 5, last updated 2024-01-01T00:00:00Z), so the stored one was kept"
	if err != nil || res.Unchanged != 1 || res.Older != 1 || len(res.OlderKept) != 1 || res.OlderKept[0] != want {
		t.Errorf("got %+v, %v; want one older, %q", res, err, want)
	}
	if res, err := db.ApplyPage(ctx, store.PageUpdate{Source: "files", Origin: "v5", Resources: obs("5", "2024-01-01T00:00:00Z")}); err != nil || res.Unchanged != 1 || res.Older != 0 {
		t.Errorf("the same version again: %+v, %v; want it unchanged, not older", res, err)
	}
}

// gpPage applies raw resources as one sync page from the source "gp".
func gpPage(t *testing.T, db *store.DB, raws ...string) store.ImportResult {
	t.Helper()
	res, err := db.ApplyPage(context.Background(), store.PageUpdate{Source: "gp", Origin: "test", Resources: parsed(t, raws...)})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
)

// writePatient writes a Bundle holding one Patient, with an NHS number when nhs is not "".
func writePatient(t *testing.T, path, id, family, nhs string) {
	t.Helper()
	ident := ""
	if nhs != "" {
		ident = fmt.Sprintf(`,"identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":%q}]`, nhs)
	}
	name, err := json.Marshal(family)
	if err != nil {
		t.Fatal(err)
	}
	bundle := fmt.Sprintf(`{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","id":%q,"name":[{"prefix":["Mrs"],"given":["Jane"],"family":%s}],"birthDate":"1957-03-14"%s}}]}`, id, name, ident)
	if err := os.WriteFile(path, []byte(bundle), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestImportNamesNewPersons: import prints a line for each person it adds,
// with the id that names them, and none for a person it only adds to.
func TestImportNamesNewPersons(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "portal.db")
	gp, hosp := filepath.Join(dir, "gp.json"), filepath.Join(dir, "hosp.json")
	writePatient(t, gp, "p1", "Example", "9434765919")
	writePatient(t, hosp, "h7", "Example", "9434765919")
	newPerson := regexp.MustCompile(`(?m)^  new person, id \d+: .*$`)
	tests := []struct {
		name string
		args []string
		want []string // the new person lines, in order
	}{
		{"a new person", []string{"--source", "gp", gp}, []string{"  new person, id 1: Mrs Jane Example (NHS 943 476 5919, born 14 March 1957)"}},
		{"the same file again", []string{"--source", "gp", gp}, nil},
		{"the same person from another source", []string{"--source", "hosp", hosp}, nil},
		{"two files, one new person each", []string{"--source", "synthea", largestBundle, "../../../shared/fhir/synthea/Alix_Reilly_b5598b1a-2e02-493b-86bf-d6446851fcf4.json"},
			[]string{"  new person, id 2: Mr Lawerence Baumbach (born 24 October 1941)", "  new person, id 3: Ms Alix Reilly (born 4 December 1985)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, stderr, err := portal(t, append([]string{"import", "--db", db}, tt.args...)...)
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			if got := newPerson.FindAllString(out, -1); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got new person lines %q\nwant %q\nin:\n%s", got, tt.want, out)
			}
		})
	}
}

// TestPersonsCommand: persons lists everyone by id, with their name, birth
// date, NHS number when known and the sources holding them; text from a record
// cannot break the table or reach the terminal as control characters.
func TestPersonsCommand(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "portal.db")
	if _, _, err := portal(t, "migrate", "--db", db); err != nil {
		t.Fatal(err)
	}
	out, _, err := portal(t, "persons", "--db", db)
	if want := "No people in " + db + " yet: import files with portal import, or add a FHIR server with portal source add and run portal sync.\n"; err != nil || out != want {
		t.Errorf("an empty database: %v, %q; want %q", err, out, want)
	}
	gp, hosp, odd := filepath.Join(dir, "gp.json"), filepath.Join(dir, "hosp.json"), filepath.Join(dir, "odd.json")
	writePatient(t, gp, "p1", "Example", "9434765919")
	writePatient(t, hosp, "h7", "Example", "9434765919")
	writePatient(t, odd, "x", "Evil\x1b[31m\tName\nNext", "")
	for _, imp := range [][]string{{"--source", "gp", gp}, {"--source", "hosp", hosp}, {"--source", "synthea", largestBundle}, {"--source", "odd", odd}} {
		if _, stderr, err := portal(t, append([]string{"import", "--db", db}, imp...)...); err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
	}
	out, stderr, err := portal(t, "persons", "--db", db)
	want := "" +
		"ID  NAME                          BORN        NHS NUMBER    SOURCES\n" +
		"1   Mrs Jane Example              1957-03-14  943 476 5919  gp, hosp\n" +
		"2   Mr Lawerence Baumbach         1941-10-24  -             synthea\n" +
		"3   Mrs Jane Evil [31m Name Next  1957-03-14  -             odd\n"
	if err != nil || stderr != "" {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if out != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}
}

// TestPersonsListingIsLogged: portal persons prints each person's NHS
// number, date of birth and the sources holding their record (a sexual
// health clinic's name says what that part is), so each person listed has
// it on their access log, as a look by someone who runs the portal (a
// review: nothing was logged).
func TestPersonsListingIsLogged(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "portal.db")
	clinic := filepath.Join(dir, "clinic.json")
	writePatient(t, clinic, "p1", "Example", "9434765919")
	if _, stderr, err := portal(t, "import", "--db", db, "--source", "leeds-sexual-health", clinic); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	out, _, err := portal(t, "persons", "--db", db)
	if err != nil || !strings.Contains(out, "leeds-sexual-health") || !strings.Contains(out, "943 476 5919") {
		t.Fatalf("persons: %v\n%s", err, out)
	}
	s, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := s.PersonByNHSNumber(context.Background(), "9434765919")
	if err != nil {
		t.Fatal(err)
	}
	log, err := s.AccessLog(context.Background(), p.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 1 || log[0].What != store.PersonsListed || log[0].ActorKind != store.ActorOperator {
		t.Errorf("portal persons printed Jane's NHS number, birth date and that a sexual health clinic holds her record; her access log holds %+v", log)
	}
}

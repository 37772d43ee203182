package main

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf16"
)

// importFiles writes each name's text in a new folder and returns the folder.
func importFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// importCount is one number the database at path holds.
func importCount(t *testing.T, path, query string, args ...any) int {
	t.Helper()
	raw, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var n int
	if err := raw.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

const (
	importGPA = `{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"Patient/1","resource":{"resourceType":"Patient","id":"1","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}],"name":[{"family":"Smith","given":["A"]}],"birthDate":"1950-01-01"}},` +
		`{"fullUrl":"Observation/1","resource":{"resourceType":"Observation","id":"1","status":"final","code":{"text":"Weight"},"subject":{"reference":"Patient/1"},"effectiveDateTime":"2020-01-01","valueQuantity":{"value":80,"unit":"kg"}}}]}`
	importGPB = `{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"Patient/1","resource":{"resourceType":"Patient","id":"1","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765927"}],"name":[{"family":"Jones","given":["A"]}],"birthDate":"1990-05-05"}},` +
		`{"fullUrl":"Observation/1","resource":{"resourceType":"Observation","id":"1","status":"final","code":{"text":"Weight"},"subject":{"reference":"Patient/1"},"effectiveDateTime":"2020-01-01","valueQuantity":{"value":55,"unit":"kg"}}}]}`
)

// TestImportKeepsTwoPatientsApart: a second file whose Patient/1 is another
// person (another NHS number, name and date of birth) exited 0 with
// "2 updated", and person 1 held both NHS numbers and the other's name. Now
// the file's Patient and what it says about them are set aside, naming both
// numbers, and the exit status says so.
func TestImportKeepsTwoPatientsApart(t *testing.T) {
	dir := importFiles(t, map[string]string{"a.json": importGPA, "b.json": importGPB})
	db := filepath.Join(dir, "portal.db")
	if _, _, err := portal(t, "import", "--db", db, filepath.Join(dir, "a.json")); err != nil {
		t.Fatal(err)
	}
	out, stderr, err := portal(t, "import", "--db", db, filepath.Join(dir, "b.json"))
	if err == nil || !strings.Contains(err.Error(), "2 resources were set aside") {
		t.Errorf("got %v; want a failure saying 2 were set aside", err)
	}
	if !strings.Contains(out, "(0 added, 0 updated, 0 unchanged, 2 set aside)") ||
		!strings.Contains(stderr, "entry 1: Patient/1: its NHS number is now 943 476 5927, but the one stored for it from this source is 943 476 5919") {
		t.Errorf("output:\n%s%s", out, stderr)
	}
	if n := importCount(t, db, `SELECT COUNT(*) FROM person_identifiers`); n != 1 {
		t.Errorf("%d identifiers; want person 1's one NHS number", n)
	}
	if n := importCount(t, db, `SELECT COUNT(*) FROM persons WHERE family = 'Smith' AND birth_date = '1950-01-01' AND nhs_number = '9434765919'`); n != 1 {
		t.Error("person 1 is no longer Smith, born 1950-01-01, NHS 9434765919")
	}
	if n := importCount(t, db, `SELECT COUNT(*) FROM resources WHERE json LIKE '%"value":80%'`); n != 1 {
		t.Error("person 1's weight was replaced")
	}

	// The message names the command that accepts a correction; an operator
	// who checked with the source runs it, and what was set aside is stored.
	if !strings.Contains(stderr, "if it is a correction, portal source accept-nhs-number files 1 accepts it") {
		t.Errorf("the reason does not name the command that accepts a correction:\n%s", stderr)
	}
	for _, bad := range [][]string{{"files"}, {"files", "2"}, {"elsewhere", "1"}} {
		if _, _, err := portal(t, append([]string{"source", "accept-nhs-number", "--db", db}, bad...)...); err == nil {
			t.Errorf("source accept-nhs-number %v: no error", bad)
		}
	}
	out, _, err = portal(t, "source", "accept-nhs-number", "--db", db, "files", "Patient/1")
	if err != nil || !strings.Contains(out, "Person 1 (A Jones) now has NHS number 943 476 5927, in place of 943 476 5919, as Patient/1 at files says. Stored 0, updated 2") {
		t.Errorf("accept-nhs-number: %v\n%s", err, out)
	}
	if n := importCount(t, db, `SELECT COUNT(*) FROM persons WHERE family = 'Jones' AND nhs_number = '9434765927'`); n != 1 {
		t.Error("person 1 is not Jones, NHS 9434765927, after the correction was accepted")
	}
	if _, _, err := portal(t, "source", "accept-nhs-number", "--db", db, "files", "1"); err == nil || !strings.Contains(err.Error(), "nothing to accept") {
		t.Errorf("accepting twice: %v; want nothing to accept", err)
	}
}

// TestImportRefusesABundleHoldingAResourceTwice: the second of two entries
// with one Observation and different values overwrote the first, "1
// updated". The file is refused, naming both entries, and nothing stored.
func TestImportRefusesABundleHoldingAResourceTwice(t *testing.T) {
	obs := func(v string) string {
		return `{"resource":{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"Weight"},"valueQuantity":{"value":` + v + `}}}`
	}
	dir := importFiles(t, map[string]string{"twice.json": `{"resourceType":"Bundle","type":"collection","entry":[` + obs("80") + `,` + obs("55") + `]}`})
	db := filepath.Join(dir, "portal.db")
	_, stderr, err := portal(t, "import", "--db", db, filepath.Join(dir, "twice.json"))
	if err == nil || !strings.Contains(stderr, "twice.json: entries 1 and 2 both hold Observation/o1, with different contents") {
		t.Errorf("got %v:\n%s", err, stderr)
	}
	if n := importCount(t, db, `SELECT COUNT(*) FROM resources`); n != 0 {
		t.Errorf("%d resources stored; want none", n)
	}
}

// TestImportRefusesAServerSource: files imported into a FHIR server's
// source would be removed by its next full sync.
func TestImportRefusesAServerSource(t *testing.T) {
	dir := importFiles(t, map[string]string{"a.json": importGPA})
	db := filepath.Join(dir, "portal.db")
	if _, _, err := portal(t, "source", "add", "--db", db, "s401", "https://fhir.example.org/R4"); err != nil {
		t.Fatal(err)
	}
	_, _, err := portal(t, "import", "--db", db, "--source", "s401", filepath.Join(dir, "a.json"))
	if err == nil || !strings.Contains(err.Error(), `--source "s401" is the FHIR server https://fhir.example.org/R4`) || !strings.Contains(err.Error(), "portal sync --source s401") {
		t.Errorf("got %v; want the import refused, saying what to do", err)
	}
	if n := importCount(t, db, `SELECT COUNT(*) FROM resources`); n != 0 {
		t.Errorf("%d resources stored; want none", n)
	}
}

// TestImportReadsOnlyFiles: /dev/zero was read past the 512 MB limit, and a
// named pipe hung the import. Each is refused at once, saying what it is.
func TestImportReadsOnlyFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe.json")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("no named pipes here:", err)
	}
	db := filepath.Join(dir, "portal.db")
	for path, want := range map[string]string{"/dev/zero": "/dev/zero: this is a device, not a regular file", fifo: "pipe.json: this is a named pipe, not a regular file"} {
		done := make(chan string, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var out, errOut strings.Builder
			err := run(ctx, []string{"import", "--db", db, path}, noEnv, &out, &errOut)
			done <- errOut.String() + "\nerror: " + importErrText(err)
		}()
		select {
		case got := <-done:
			if !strings.Contains(got, want) || !strings.Contains(got, "1 of 1 files failed") {
				t.Errorf("import %s: %s; want %q", path, got, want)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("import %s still running after 5 s", path)
		}
	}
}

func importErrText(err error) string {
	if err == nil {
		return "none"
	}
	return err.Error()
}

// TestInviteNeedsADateOfBirth: a code for a person with no date of birth
// ("Enrol NoBirth (born ): …", exit 0) could never be used, as enrolment asks for it.
func TestInviteNeedsADateOfBirth(t *testing.T) {
	dir := importFiles(t, map[string]string{
		"nobirth.json": `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","id":"nb1","name":[{"family":"NoBirth"}]}},` +
			`{"resource":{"resourceType":"Patient","id":"nb2","name":[{"family":"Partial"}],"birthDate":"1983-10"}}]}`})
	db := filepath.Join(dir, "portal.db")
	out, _, err := portal(t, "import", "--db", db, filepath.Join(dir, "nobirth.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "no whole date of birth, so they cannot be invited") {
		t.Errorf("import did not say who cannot be invited:\n%s", out)
	}
	for person, want := range map[string]string{"1": "person 1 (NoBirth) has no date of birth on record", "2": `person 2 (Partial) has only "1983-10" as the date of birth`} {
		out, _, err := portal(t, "invite", "--db", db, "--person", person)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "then invite them again") || out != "" {
			t.Errorf("invite person %s: %v, %q; want it refused: %q", person, err, out, want)
		}
	}
	if n := importCount(t, db, `SELECT COUNT(*) FROM enrolment_codes`); n != 0 {
		t.Errorf("%d codes made; want none", n)
	}
}

// TestImportSaysWhatItLeftOut: entries with no resource, or a null one, and
// deletions were passed over unsaid ("0 resources", exit 0); an older
// version than the one stored was counted as unchanged. Each is named with
// its entry or line, and a file of which nothing could be imported fails.
func TestImportSaysWhatItLeftOut(t *testing.T) {
	obs := func(version, when string) string {
		return `{"resourceType":"Observation","id":"o1","meta":{"versionId":"` + version + `","lastUpdated":"` + when + `"},"status":"final","code":{"text":"Height"}}`
	}
	dir := importFiles(t, map[string]string{
		"null.json":    `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":` + obs("5", "2024-01-01T00:00:00Z") + `},{"resource":null},{"fullUrl":"urn:uuid:x"}]}`,
		"delete.json":  `{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"DELETE","url":"Observation/o1"}}]}`,
		"older.ndjson": obs("1", "1990-01-01T00:00:00Z") + "\n",
	})
	db := filepath.Join(dir, "portal.db")
	out, stderr, err := portal(t, "import", "--db", db, filepath.Join(dir, "null.json"))
	if err != nil || !strings.Contains(stderr, "null.json: entry 2: its resource is null, so there was nothing to import\n") ||
		!strings.Contains(stderr, "null.json: entry 3: it holds no resource, so there was nothing to import\n") {
		t.Errorf("null.json: %v\n%s%s", err, out, stderr)
	}
	out, stderr, err = portal(t, "import", "--db", db, filepath.Join(dir, "delete.json"))
	if err == nil || !strings.Contains(err.Error(), "1 of 1 files failed") ||
		!strings.Contains(stderr, "delete.json: entry 1: it asks to delete Observation/o1, and portal import never deletes what is stored, so it was not applied\n") {
		t.Errorf("delete.json: %v\n%s%s", err, out, stderr)
	}
	out, stderr, err = portal(t, "import", "--db", db, filepath.Join(dir, "older.ndjson"))
	if err != nil || !strings.Contains(out, "(0 added, 0 updated, 0 unchanged, 1 older than the one stored, 0 set aside)") ||
		!strings.Contains(stderr, "older.ndjson: line 1: Observation/o1: this one (version 1, last updated 1990-01-01T00:00:00Z) is older than the one stored (version 5, last updated 2024-01-01T00:00:00Z), so the stored one was kept\n") {
		t.Errorf("older.ndjson: %v\n%s%s", err, out, stderr)
	}
	if n := importCount(t, db, `SELECT COUNT(*) FROM resources WHERE version_id = '5'`); n != 1 {
		t.Error("the stored version was not kept")
	}
}

// TestImportReadsUTF8WithAMarkAndNamesUTF16: a file beginning with a UTF-8
// byte order mark failed with "invalid character 'ï'", and one in UTF-16
// with "invalid character 'ÿ'". The first is imported, the second named.
func TestImportReadsUTF8WithAMarkAndNamesUTF16(t *testing.T) {
	text := `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"Height"}}}]}`
	u16 := []byte{0xFF, 0xFE}
	for _, u := range utf16.Encode([]rune(text)) {
		u16 = append(u16, byte(u), byte(u>>8))
	}
	dir := importFiles(t, map[string]string{"bom.json": "\uFEFF" + text, "bom.ndjson": "\uFEFF" + `{"resourceType":"Organization","id":"org1","name":"Meanwood Group Practice"}` + "\n", "utf16.json": string(u16)})
	db := filepath.Join(dir, "portal.db")
	out, stderr, err := portal(t, "import", "--db", db, filepath.Join(dir, "bom.json"), filepath.Join(dir, "bom.ndjson"), filepath.Join(dir, "utf16.json"))
	if err == nil || !strings.Contains(err.Error(), "1 of 3 files failed") || !strings.Contains(out, "bom.json: 1 resource (1 added") || !strings.Contains(out, "bom.ndjson: 1 resource (1 added") ||
		!strings.Contains(stderr, "utf16.json: the file is UTF-16 text, and FHIR JSON must be UTF-8") {
		t.Errorf("got %v\n%s%s", err, out, stderr)
	}
}

// TestImportLinksNoOneByANumberThatIsNotAnNHSNumber: two sources' Patients
// whose NHS-number identifier is not an NHS number ("UNKNOWN", or ten digits
// with a wrong check digit) were made one person, with the second one's name
// and date of birth and the first one's record: exit 0, nothing said (a
// review). Each is set aside, saying why.
func TestImportLinksNoOneByANumberThatIsNotAnNHSNumber(t *testing.T) {
	for _, value := range []string{"UNKNOWN", "1234567890"} {
		t.Run(value, func(t *testing.T) {
			patient := func(id, family, born string) string {
				return `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","id":"` + id +
					`","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"` + value + `"}],"name":[{"family":"` + family + `","given":["A"]}],"birthDate":"` + born + `"}}]}`
			}
			dir := importFiles(t, map[string]string{"clinic.json": patient("pa", "Alpha", "1950-01-01"), "gp.json": patient("pb", "Beta", "1970-05-05")})
			db := filepath.Join(dir, "portal.db")
			for _, source := range []string{"clinic", "gp"} {
				_, stderr, err := portal(t, "import", "--db", db, "--source", source, filepath.Join(dir, source+".json"))
				if err == nil || !strings.Contains(stderr, source+".json: entry 1: Patient/") || !strings.Contains(stderr, `"`+value+`" is not an NHS number`) {
					t.Errorf("%s: got %v, want the file, the entry and the value said not to be an NHS number:\n%s", source, err, stderr)
				}
			}
			if n := importCount(t, db, `SELECT COUNT(*) FROM source_patients`); n != 0 {
				t.Errorf("%d Patients linked to people; want none, each set aside", n)
			}
		})
	}
}

// TestImportNDJSONLineHoldingABundle: a patient's Bundle written on one line
// of an .ndjson file (as jq -c writes it) was stored whole, as one resource
// no page shows, and the import said it had added it (a review). The line is
// set aside saying what to do instead, with or without an id.
func TestImportNDJSONLineHoldingABundle(t *testing.T) {
	for name, bundle := range map[string]string{
		"with an id":    strings.ReplaceAll(importGPA, `"type":"collection"`, `"id":"b1","type":"collection"`),
		"without an id": importGPA,
	} {
		t.Run(name, func(t *testing.T) {
			if strings.Contains(strings.TrimSpace(bundle), "\n") {
				t.Fatal("the Bundle is more than one line: this test needs it on one")
			}
			dir := importFiles(t, map[string]string{"a.ndjson": bundle + "\n"})
			db := filepath.Join(dir, "portal.db")
			_, stderr, err := portal(t, "import", "--db", db, filepath.Join(dir, "a.ndjson"))
			if err == nil || !strings.Contains(stderr, "line 1: a Bundle (collection) of ") || !strings.Contains(stderr, "an NDJSON line holds one resource; to import what a Bundle holds, save it as a .json file") {
				t.Errorf("got %v; want line 1 set aside saying an NDJSON line holds one resource:\n%s", err, stderr)
			}
			if n := importCount(t, db, `SELECT COUNT(*) FROM resources`); n != 0 {
				t.Errorf("%d resources stored; want none", n)
			}
		})
	}
}

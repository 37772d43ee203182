package web_test

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store/fhir"
)

// addSodiumAndLetter gives Jane, at the GP, a sodium result (a test with
// no plain name of its own) and a discharge letter with its text attached.
func addSodiumAndLetter(t *testing.T, f *fixture) {
	t.Helper()
	letter := base64.StdEncoding.EncodeToString([]byte("Discharge letter text"))
	f.importJSON(t, "gp",
		`{"resourceType":"Patient","id":"jane","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}],"name":[{"given":["Jane"],"family":"Example"}],"birthDate":"1957-03-14"}`,
		`{"resourceType":"Observation","id":"na1","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"2951-2","display":"Sodium"}]},"subject":{"reference":"Patient/jane"},"effectiveDateTime":"2025-01-01","valueQuantity":{"value":140,"unit":"mmol/L"}}`,
		`{"resourceType":"DocumentReference","id":"d1","status":"current","type":{"text":"Discharge letter"},"subject":{"reference":"Patient/jane"},"date":"2025-02-01T10:00:00Z","content":[{"attachment":{"contentType":"text/plain","title":"Discharge letter","data":"`+letter+`"}}]}`,
	)
}

// The access log names the test whose results were looked at, whatever its
// code, and the document downloaded, while they are still in the record.
func TestAccessLogNamesTestsAndDocuments(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	jane := f.signIn(t, f.jane)
	addSodiumAndLetter(t, f)
	docs, err := f.db.RecordSection(ctx, f.jane.ID, fhir.SectionDocuments, 1, 10)
	if err != nil || len(docs.Items) != 1 {
		t.Fatalf("documents: %v, %d", err, len(docs.Items))
	}
	tests, err := f.db.ResultTests(ctx, f.jane.ID)
	if err != nil || len(tests) != 1 {
		t.Fatalf("tests: %v, %d", err, len(tests))
	}
	for _, path := range []string{"/record/results/" + tests[0].Key, "/record/item/" + strconv.FormatInt(docs.Items[0].ID, 10) + "/attachment/0"} {
		if resp := f.get(t, path, jane); resp.StatusCode != 200 {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
	}
	rows := strings.Join(accessRows(doc(t, f.get(t, "/record/access-log", jane))), "\n")
	for _, want := range []string{"Viewed the results of the test Sodium", "Viewed Discharge letter, a document (downloaded)"} {
		if !strings.Contains(rows, want) {
			t.Errorf("the access log does not say %q:\n%s", want, rows)
		}
	}
}

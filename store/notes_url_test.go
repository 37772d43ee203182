package store_test

import (
	"context"
	"testing"

	"github.com/mycarerecord/portal/store/fhir"
)

// Two sources' clinic notes of one type on one day, each held only at its
// source (presentedForm url, no data or hash): two letters, as two such
// documents are (projectDocument keys each by itself); one must not hide the other.
func TestTwoSourcesLinkOnlyNotesAreTwo(t *testing.T) {
	note := func(id, url string) string {
		return `{"resourceType":"DiagnosticReport","id":"` + id + `","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"11488-4","display":"Consult note"}]},` +
			`"subject":{"reference":"Patient/%[1]s"},"effectiveDateTime":"2025-04-03","presentedForm":[{"contentType":"application/pdf","url":"` + url + `"}]}`
	}
	db := mustOpenDB(t)
	p := importSources(t, db, []string{"gp", note("r1", "https://gp.example.org/letters/stop-aspirin.pdf")},
		[]string{"hospital", note("r2", "https://hospital.example.org/letters/start-rivaroxaban.pdf")})
	sp, err := db.RecordSection(context.Background(), p, fhir.SectionDocuments, 1, 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(sp.Items) != 2 {
		t.Errorf("documents: %d entries; want the two letters", len(sp.Items))
	}
}

package store_test

import (
	"context"
	"testing"

	"github.com/mycarerecord/portal/store/fhir"
)

// Synthea sends each clinical note as a report and as a document holding the
// same content: the documents page lists each once, as the report, not also
// as a document "Replaced by a newer version" (a review: 184 entries for 92
// notes). A document of other content on the same day stays its own.
func TestANoteSentAsReportAndDocumentIsListedOnce(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	person := importSynthea(t, db, "Lawerence6_Baumbach677_ea8d2576-4a23-4906-c353-bfed5adb23bd.json")
	sp, err := db.RecordSection(ctx, person, fhir.SectionDocuments, 1, 100000)
	if err != nil {
		t.Fatal(err)
	}
	byType := map[string]int{}
	onDay := 0
	for _, it := range sp.Items {
		byType[it.ResourceType+" "+it.Status]++
		if it.Date[:10] == "2020-04-03" {
			onDay++
		}
	}
	if len(sp.Items) != 92 || byType["DiagnosticReport final"] != 92 || onDay != 1 {
		t.Errorf("the documents page lists %d entries (%v), %d on 3 April 2020; want the 92 notes once each, as reports", len(sp.Items), byType, onDay)
	}

}

// A report's note and a document of the same type and day stay two entries
// when their content differs, at one source or two.
func TestANoteAndADocumentOfOtherContentAreTwo(t *testing.T) {
	ctx := context.Background()
	note := func(id, data string) string {
		return `{"resourceType":"DiagnosticReport","id":"` + id + `","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"34117-2","display":"History and physical note"}]},` +
			`"subject":{"reference":"Patient/%[1]s"},"effectiveDateTime":"2025-04-03T10:00:00Z","presentedForm":[{"contentType":"text/plain","data":"` + data + `"}]}`
	}
	doc := func(id, data string) string {
		return `{"resourceType":"DocumentReference","id":"` + id + `","status":"current","type":{"coding":[{"system":"http://loinc.org","code":"34117-2","display":"History and physical note"}]},` +
			`"subject":{"reference":"Patient/%[1]s"},"date":"2025-04-03T10:00:00Z","content":[{"attachment":{"contentType":"text/plain","data":"` + data + `"}}]}`
	}
	for _, tc := range []struct {
		name string
		srcs [][]string
		want int
	}{
		{"the same content, one source", [][]string{{"gp", note("r1", "Tm90ZSBvbmU="), doc("d1", "Tm90ZSBvbmU=")}}, 1},
		{"other content, one source", [][]string{{"gp", note("r1", "Tm90ZSBvbmU="), doc("d1", "T3RoZXIgbGV0dGVy")}}, 2},
		{"other content, two sources", [][]string{{"gp", note("r1", "Tm90ZSBvbmU=")}, {"hospital", doc("d1", "T3RoZXIgbGV0dGVy")}}, 2},
		{"two documents of the same content, one source", [][]string{{"gp", doc("d1", "Tm90ZSBvbmU="), doc("d2", "Tm90ZSBvbmU=")}}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := mustOpenDB(t)
			p := importSources(t, db, tc.srcs...)
			sp, err := db.RecordSection(ctx, p, fhir.SectionDocuments, 1, 50)
			if err != nil {
				t.Fatal(err)
			}
			if len(sp.Items) != tc.want {
				t.Errorf("%d entries, want %d", len(sp.Items), tc.want)
			}
		})
	}
}

package store_test

import (
	"context"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

func pairNote(id, status, data string) string {
	return `{"resourceType":"DiagnosticReport","id":"` + id + `","status":"` + status + `","code":{"coding":[{"system":"http://loinc.org","code":"34117-2","display":"History and physical note"}]},` +
		`"subject":{"reference":"Patient/%[1]s"},"effectiveDateTime":"2025-04-03T10:00:00Z","presentedForm":[{"contentType":"text/plain","data":"` + data + `"}]}`
}

func pairDoc(id, status, content string) string {
	return `{"resourceType":"DocumentReference","id":"` + id + `","status":"` + status + `","type":{"coding":[{"system":"http://loinc.org","code":"34117-2","display":"History and physical note"}]},` +
		`"subject":{"reference":"Patient/%[1]s"},"date":"2025-04-03T10:00:00Z","content":[` + content + `]}`
}

// A source withdraws the report (entered-in-error) but its document of the
// same note is current: the documents page must still offer the current
// document, not only the withdrawn report.
func TestACurrentDocumentStandsOverAReportInError(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	p := importSources(t, db, []string{"gp",
		pairNote("r1", "entered-in-error", "Tm90ZSBvbmU="),
		pairDoc("d1", "current", `{"attachment":{"contentType":"text/plain","data":"Tm90ZSBvbmU="}}`)})
	sp, err := db.RecordSection(ctx, p, fhir.SectionDocuments, 1, 50)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	current := false
	for _, it := range sp.Items {
		got = append(got, it.ResourceType+" "+it.Status)
		if it.Status == "current" {
			current = true
		}
	}
	if !current {
		t.Errorf("documents page lists %q: the current DocumentReference stood aside for a report recorded in error", got)
	}
}

// The document holds the note and a PDF of the signed letter; the report
// holds only the note. Standing aside, the document's PDF must stay
// reachable from the entry that stands for them.
func TestADocumentsOwnAttachmentIsKept(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	p := importSources(t, db, []string{"gp",
		pairNote("r1", "final", "Tm90ZSBvbmU="),
		pairDoc("d1", "current", `{"attachment":{"contentType":"text/plain","data":"Tm90ZSBvbmU="}},`+
			`{"attachment":{"contentType":"application/pdf","title":"Signed letter","data":"JVBERi0xLjQK"}}`)})
	sp, err := db.RecordSection(ctx, p, fhir.SectionDocuments, 1, 50)
	if err != nil {
		t.Fatal(err)
	}
	var reachable []string
	for _, it := range sp.Items {
		e, err := db.RecordEntry(ctx, p, it.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range e.Attachments {
			reachable = append(reachable, it.ResourceType+": "+a.ContentType)
		}
	}
	pdf := false
	for _, r := range reachable {
		if r == "DocumentReference: application/pdf" || r == "DiagnosticReport: application/pdf" {
			pdf = true
		}
	}
	if !pdf {
		t.Errorf("%d entries listed; attachments reachable from them: %q; the document's signed PDF is reachable from none", len(sp.Items), reachable)
	}
}

// When the report is deleted upstream, the document that stood aside for it
// is listed again.
func TestADocumentReturnsWhenItsReportIsDeleted(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	p := importSources(t, db, []string{"gp",
		pairNote("r1", "final", "Tm90ZSBvbmU="),
		pairDoc("d1", "current", `{"attachment":{"contentType":"text/plain","data":"Tm90ZSBvbmU="}}`)})
	if _, err := db.ApplyPage(ctx, store.PageUpdate{Source: "gp", PersonID: p, ResourceType: "DiagnosticReport", Origin: "test",
		Deleted: []fhir.Resource{{Type: "DiagnosticReport", ID: "r1"}}}); err != nil {
		t.Fatal(err)
	}
	sp, err := db.RecordSection(ctx, p, fhir.SectionDocuments, 1, 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(sp.Items) != 1 || sp.Items[0].ResourceType != "DocumentReference" {
		t.Errorf("after the report's deletion, documents: %d entries; want the document", len(sp.Items))
	}
	r, err := db.SearchRecord(ctx, p, "physical", store.SearchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Total != 1 {
		t.Errorf("search finds %d after the report's deletion; want the document", r.Total)
	}
}

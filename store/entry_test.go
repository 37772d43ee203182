package store_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/demo"
	"github.com/mycarerecord/portal/store/fhir"
	"github.com/mycarerecord/portal/store/fhirsync"
)

// TestRecordEntry opens entries of the largest Synthea patient: a report links
// to its results, an encounter to what was found and done, and a document
// offers its text.
func TestRecordEntry(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	// One patient with documents, one with laboratory reports.
	for _, name := range []string{"Lawerence6_Baumbach677_ea8d2576-4a23-4906-c353-bfed5adb23bd.json", "Monserrate_Mayert_0883b933-72d2-4f78-b06e-1b8646c8183c.json"} {
		f, err := fhirsync.ReadFile(filepath.Join(syntheaDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "synthea", OrgName: "Synthea Hospital"}, f.Path, f.Resources); err != nil {
			t.Fatal(err)
		}
	}
	ps, err := db.Persons(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var p store.Person
	first := func(section string, ok func(store.RecordItem) bool) store.RecordItem {
		for _, p = range ps {
			sp, err := db.RecordSection(ctx, p.ID, section, 1, 100000)
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range sp.Items {
				if ok(it) {
					return it
				}
			}
		}
		t.Fatalf("no suitable item in %s", section)
		return store.RecordItem{}
	}

	report := first(fhir.SectionResults, func(it store.RecordItem) bool {
		return it.ResourceType == "DiagnosticReport" && strings.HasSuffix(it.Detail, " results")
	})
	e, err := db.RecordEntry(ctx, p.ID, report.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Related) < 2 {
		t.Errorf("report %q (%s) links to %d results", report.Display, report.Detail, len(e.Related))
	}
	if len(e.Reports) != 1 || e.Reports[0].StoredAt == "" {
		t.Errorf("reports: %+v", e.Reports)
	}
	// A result kept out of sharing keeps out the report naming it, whose
	// reference says the result's name (a review found it in a carer's
	// download): a carer cannot open the report, as if it were not there;
	// the person still opens it, with every result.
	if len(e.Related) >= 2 {
		kept := e.Related[0]
		if _, err := db.ChangeConsent(ctx, p.ID, store.Performer{Name: "The person"}, store.ConsentChange{Question: store.WithholdItemQuestion(store.ItemKey(kept)), Answer: "yes"}, store.ChoiceLogged(1)); err != nil {
			t.Fatal(err)
		}
		if _, err := db.RecordEntry(store.ForCarer(ctx), p.ID, report.ID); store.ErrorCode(err) != store.ENOTFOUND {
			t.Errorf("a carer opening the report naming a result kept out: %v; want it not found", err)
		}
		own, err := db.RecordEntry(ctx, p.ID, report.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(own.Related) != len(e.Related) {
			t.Errorf("related results: %d for the person, want %d", len(own.Related), len(e.Related))
		}
	}

	enc := first(fhir.SectionEncounters, func(it store.RecordItem) bool {
		e, err := db.RecordEntry(ctx, p.ID, it.ID)
		return err == nil && len(e.Related) > 0
	})
	if enc.ID == 0 {
		t.Error("no encounter links to what was found or done during it")
	}

	// A note Synthea sends as a report and as a document is listed as the report, which offers it.
	doc := first(fhir.SectionDocuments, func(it store.RecordItem) bool { return it.ResourceType == "DiagnosticReport" })
	e, err = db.RecordEntry(ctx, p.ID, doc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Attachments) == 0 || !e.Attachments[0].HasData {
		t.Fatalf("document has no downloadable content: %+v", e.Attachments)
	}
	a, data, err := db.AttachmentData(ctx, p.ID, doc.ID, 0)
	if err != nil || len(data) == 0 || a.ContentType == "" {
		t.Errorf("attachment: %+v, %d bytes, %v", a, len(data), err)
	}

	// Another person's items are out of reach, by id or by attachment.
	for _, src := range demo.Generate() {
		res, err := fhir.ParseBundle(src.Bundle)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ImportResources(ctx, store.ImportOptions{Source: src.Name}, "demo", res); err != nil {
			t.Fatal(err)
		}
	}
	jane, err := db.PersonByNHSNumber(ctx, demo.People()[0].NHSNumber)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.RecordEntry(ctx, jane.ID, report.ID); store.ErrorCode(err) != store.ENOTFOUND {
		t.Errorf("another person's entry: got %v, want not found", err)
	}
	if _, _, err := db.AttachmentData(ctx, jane.ID, doc.ID, 0); store.ErrorCode(err) != store.ENOTFOUND {
		t.Errorf("another person's document: got %v, want not found", err)
	}
}

package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/mycarerecord/portal/store"
)

// Every page of the record says how up to date it is: when a source has
// been failing, a warning naming it, and "Updating from …" while a sync
// runs. So does the printable record, the page a person takes to a clinic
// (a review: it read the statuses and then dropped them).
func TestEveryRecordPageSaysHowUpToDate(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	lth, err := f.db.AddSource(ctx, store.Source{Name: "lth", OrgName: "Leeds Teaching Hospitals", BaseURL: "http://127.0.0.1:1/lth/fhir"})
	if err != nil {
		t.Fatal(err)
	}
	ycc, err := f.db.AddSource(ctx, store.Source{Name: "ycc", OrgName: "Yorkshire Community Care", BaseURL: "http://127.0.0.1:1/ycc/fhir"})
	if err != nil {
		t.Fatal(err)
	}
	by := store.RunnerID("serve") // this process: still running
	if err := f.db.SyncStarted(ctx, lth.ID, f.jane.ID, by); err != nil {
		t.Fatal(err)
	}
	if err := f.db.SyncFinished(ctx, lth.ID, f.jane.ID, by, "Their system has not been answering. We will try again soon.", false); err != nil {
		t.Fatal(err)
	}
	if err := f.db.SyncStarted(ctx, ycc.ID, f.jane.ID, by); err != nil {
		t.Fatal(err)
	}
	jane := f.signIn(t, f.jane)
	item := ""
	doc(t, f.get(t, "/record/medicines", jane)).Find(`a[href^="/record/item/"]`).Each(func(_ int, s *goquery.Selection) {
		if item == "" {
			item, _ = s.Attr("href")
		}
	})
	if item == "" {
		t.Fatal("no entry linked from /record/medicines")
	}
	for _, path := range []string{"/record", "/record/medicines", item, "/record/results", "/record/search?q=metformin", "/record/print"} {
		resp := f.get(t, path, jane)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d", path, resp.StatusCode)
			continue
		}
		d := doc(t, resp)
		if w := d.Find(".nhsuk-warning-callout").Text(); !strings.Contains(w, "Leeds Teaching Hospitals") {
			t.Errorf("%s: no warning that Leeds Teaching Hospitals has not been answering", path)
		}
		updating := "Updating from Yorkshire Community Care"
		if path == "/record/print" {
			updating = "Waiting to update from Yorkshire Community Care" // on paper, what stood as it was printed (TestPrintSaysWhenNotHowLongAgo)
		}
		if !strings.Contains(d.Text(), updating) {
			t.Errorf("%s: does not say %q", path, updating)
		}
	}
}

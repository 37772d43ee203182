package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// TestABulkLoadedSourceSaysWhenItsRecordIsFrom: a record filled by a Bulk
// Data load, whose sync never ran, is said to be from that export, not to
// be "waiting to update", and when the first sync fails, the page says it
// shows what the source sent (a review: it read as if the source had sent
// nothing, beside the source's entries).
func TestABulkLoadedSourceSaysWhenItsRecordIsFrom(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	lth, err := f.db.AddSource(ctx, store.Source{Name: "lth", OrgName: "Leeds Teaching Hospitals", BaseURL: "http://127.0.0.1:1/lth/fhir"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.ApplyPage(ctx, store.PageUpdate{Source: lth.Name, SourceID: lth.ID, Origin: lth.BaseURL + "/$export", Bulk: true,
		Resources: []fhir.Resource{patient("lth-jane", "9434765919", "Jane", "Example", "1957-03-14"), medicine("lth-m1", "lth-jane", "Atorvastatin 20mg tablets")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.FinishStalledBulkLoad(ctx, false); err != nil {
		t.Fatal(err)
	}
	if err := f.db.SetBulkSince(ctx, lth.ID, time.Now().Add(-2*time.Hour-time.Minute).UTC().Format(time.RFC3339)); err != nil {
		t.Fatal(err)
	}
	jane := f.signIn(t, f.jane)
	page := strings.Join(strings.Fields(doc(t, f.get(t, "/record/medicines", jane)).Text()), " ")
	if !strings.Contains(page, "Atorvastatin") || !strings.Contains(page, "Updated from Leeds Teaching Hospitals 2 hours ago.") || strings.Contains(page, "Waiting to update") {
		t.Errorf("the page of a record a bulk load filled 2 hours ago: %q; want it updated from Leeds Teaching Hospitals then", page)
	}
	by := store.RunnerID("serve")
	if err := f.db.SyncStarted(ctx, lth.ID, f.jane.ID, by); err != nil {
		t.Fatal(err)
	}
	if err := f.db.SyncFinished(ctx, lth.ID, f.jane.ID, by, "Their system did not answer. We will try again soon.", false); err != nil {
		t.Fatal(err)
	}
	d := doc(t, f.get(t, "/record/medicines", jane))
	w := strings.Join(strings.Fields(d.Find(".nhsuk-warning-callout").Text()), " ")
	if !strings.Contains(d.Text(), "Atorvastatin") || !strings.Contains(w, "You are seeing what it sent 2 hours ago") || strings.Contains(w, "yet") {
		t.Errorf("the warning when the first sync after a bulk load fails: %q; want it to say the page shows what was sent 2 hours ago", w)
	}
}

// TestACarerIsToldTheRecordIsBeingUpdated: while a source that shows a
// carer nothing yet syncs (its first sync, say), the carer's page says the
// record is being updated, without naming it, as the person's own page does
// naming it (a review: the carer's page said nothing, beside "No medicines").
func TestACarerIsToldTheRecordIsBeingUpdated(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	lth, err := f.db.AddSource(ctx, store.Source{Name: "lth", OrgName: "Leeds Teaching Hospitals", BaseURL: "http://127.0.0.1:1/lth/fhir"})
	if err != nil {
		t.Fatal(err)
	}
	janeCookie := f.signIn(t, f.jane)
	john := f.newCarer(t, "John")
	f.grant(t, f.jane, f.ownAccount(t, f.jane), john, "medicines")
	if err := f.db.SyncStarted(ctx, lth.ID, f.jane.ID, store.RunnerID("serve")); err != nil {
		t.Fatal(err)
	}
	if own := doc(t, f.get(t, "/record/medicines", janeCookie)).Text(); !strings.Contains(own, "Updating from Leeds Teaching Hospitals") {
		t.Fatalf("Jane's own page does not say it is updating")
	}
	d := doc(t, f.get(t, "/record/medicines", john.cookie))
	text := strings.Join(strings.Fields(d.Find(".mcr-sync-status").Text()), " ")
	if !strings.Contains(d.Text(), "Metformin") || !strings.Contains(text, "Updating Jane Example's record…") || strings.Contains(d.Text(), "Leeds Teaching Hospitals") {
		t.Errorf("the carer's page, while a source that shows them nothing syncs, says %q; want that her record is being updated, not naming it", text)
	}
}

// TestPrintSaysWhenNotHowLongAgo: a printout, read later, says when each
// source last updated the record, not how long before printing, and nothing
// of a sync under way (a review: "just now" on paper dated only by its day).
func TestPrintSaysWhenNotHowLongAgo(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	lth, err := f.db.AddSource(ctx, store.Source{Name: "lth", OrgName: "Leeds Teaching Hospitals", BaseURL: "http://127.0.0.1:1/lth/fhir"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.ApplyPage(ctx, store.PageUpdate{Source: lth.Name, SourceID: lth.ID, Origin: lth.BaseURL + "/Patient",
		Resources: []fhir.Resource{patient("lth-jane", "9434765919", "Jane", "Example", "1957-03-14")}}); err != nil {
		t.Fatal(err)
	}
	by := store.RunnerID("serve")
	at := time.Now().Add(-4 * time.Minute)
	f.db.SetClock(func() time.Time { return at })
	if err := f.db.SyncStarted(ctx, lth.ID, f.jane.ID, by); err != nil {
		t.Fatal(err)
	}
	if err := f.db.SyncFinished(ctx, lth.ID, f.jane.ID, by, "", false); err != nil {
		t.Fatal(err)
	}
	f.db.SetClock(time.Now)
	if err := f.db.SyncStarted(ctx, lth.ID, f.jane.ID, by); err != nil { // another, under way as the page is printed
		t.Fatal(err)
	}
	jane := f.signIn(t, f.jane)
	status := strings.Join(strings.Fields(doc(t, f.get(t, "/record/print", jane)).Find(".mcr-sync-status").Text()), " ")
	want := "Updated from Leeds Teaching Hospitals at " + at.In(store.UKZone()).Format("15:04 on 2 January 2006") + "."
	if status != want {
		t.Errorf("the printout says %q; want %q", status, want)
	}
	if page := strings.Join(strings.Fields(doc(t, f.get(t, "/record", jane)).Find(".mcr-sync-status").Text()), " "); !strings.Contains(page, "Updating from Leeds Teaching Hospitals… Last updated 4 minutes ago.") {
		t.Errorf("the record page says %q; want how long ago, and the update under way", page)
	}
}

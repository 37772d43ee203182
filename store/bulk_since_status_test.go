package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// TestACompleteBulkExportSaysWhenEveryonesRecordIsFrom: a complete
// system-level export holds everyone at the source, so each person linked
// there has their record from it as of its time, unless a sync brought it
// later; one found there only after it has not, and a time ahead of the
// portal's clock is taken as now (reviews: a bulk-loaded record was said to
// be waiting to update; one found later was said to be from the load; a
// server's fast clock held off syncs and said "just now").
func TestACompleteBulkExportSaysWhenEveryonesRecordIsFrom(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	stamp := func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
	tests := []struct {
		name   string
		synced time.Duration // how long ago a sync of the person worked before the export is noted, 0 for none
		found  string        // "before" or "after" the export is noted
		export time.Duration // how long ago the export was, negative for ahead of the portal's clock
		want   func(string) bool
		wantIs string
	}{
		{"found before, never synced", 0, "before", 2 * time.Hour, func(s string) bool { return s == stamp(now.Add(-2*time.Hour)) }, "the export's time"},
		{"found only after", 0, "after", 2 * time.Hour, func(s string) bool { return s == "" }, "none"},
		{"synced since the export", 10 * time.Minute, "before", 2 * time.Hour, func(s string) bool { return s == stamp(now.Add(-10*time.Minute)) }, "the sync's time"},
		{"synced before the export", 5 * time.Hour, "before", 2 * time.Hour, func(s string) bool { return s == stamp(now.Add(-2*time.Hour)) }, "the export's time"},
		{"an export stamped ahead", 0, "before", -3 * time.Hour, func(s string) bool {
			at, err := time.Parse(time.RFC3339Nano, s)
			return err == nil && !at.After(time.Now()) && time.Since(at) < time.Minute
		}, "now"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := mustOpenDB(t)
			src, err := db.AddSource(ctx, store.Source{Name: "lth", BaseURL: "http://127.0.0.1:1/fhir"})
			if err != nil {
				t.Fatal(err)
			}
			find := func() store.Person {
				p := fhir.Resource{Type: "Patient", ID: "lth-jane", Raw: []byte(patientWith("lth-jane", "9434765919", "Example", "1957-03-14"))}
				if _, err := db.ApplyPage(ctx, store.PageUpdate{Source: src.Name, SourceID: src.ID, ResourceType: "Patient", Origin: src.BaseURL + "/Patient", Resources: []fhir.Resource{p}}); err != nil {
					t.Fatal(err)
				}
				jane, err := db.PersonByNHSNumber(ctx, "9434765919")
				if err != nil {
					t.Fatal(err)
				}
				return jane
			}
			var jane store.Person
			if tt.found == "before" {
				jane = find()
			}
			if tt.synced != 0 {
				by := store.RunnerID("serve")
				db.SetClock(func() time.Time { return now.Add(-tt.synced) })
				if err := db.SyncStarted(ctx, src.ID, jane.ID, by); err != nil {
					t.Fatal(err)
				}
				if err := db.SyncFinished(ctx, src.ID, jane.ID, by, "", false); err != nil {
					t.Fatal(err)
				}
				db.SetClock(time.Now)
			}
			if err := db.SetBulkSince(ctx, src.ID, now.Add(-tt.export).UTC().Format(time.RFC3339Nano)); err != nil {
				t.Fatal(err)
			}
			if tt.found == "after" {
				jane = find()
			}
			sts, err := db.SyncStatuses(ctx, jane.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(sts) != 1 || !tt.want(sts[0].LastSuccessAt) {
				t.Errorf("statuses %+v; want the record last brought at %s", sts, tt.wantIs)
			}
		})
	}
}

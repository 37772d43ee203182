package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// TestADeletionBeforeTheStoredVersionLeavesIt: a resource deleted upstream
// and made again is not erased when a sync reads the deletion from history
// after storing the version made since (as one re-reading history from an
// earlier checkpoint does); a deletion after the stored version, at the
// same time, or with no time to compare (a reconciliation's) removes it.
// A deletion timed to the second is compared to the second.
func TestADeletionBeforeTheStoredVersionLeavesIt(t *testing.T) {
	const stored = "2026-01-02T10:00:00Z" // the version made again
	for _, tc := range []struct {
		name, deletedAt string
		wantKept        bool
		stored          string // the stored version's time, when not stored's
	}{
		{"deleted before it was made again", "2026-01-02T09:00:00Z", true, ""},
		{"in another zone, before", "2026-01-02T10:30:00+01:00", true, ""},
		{"a moment before", "2026-01-02T09:59:59.999Z", true, ""},
		{"deleted after", "2026-01-02T10:00:00.001Z", false, ""},
		{"at the same time", stored, false, ""},
		{"with no time", "", false, ""},
		{"with a time that does not read", "yesterday", false, ""},
		{"in the same second, timed to the second", "2026-01-02T10:00:00Z", false, "2026-01-02T10:00:00.400Z"},
		{"a second before, timed to the second", "2026-01-02T09:59:59Z", true, "2026-01-02T10:00:00.400Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			db := mustOpenDB(t)
			src, person := syncSource(t, db)
			made := stored
			if tc.stored != "" {
				made = tc.stored
			}
			patient := fmt.Sprintf(`{"resourceType":"Patient","id":"pt1","identifier":[{"system":%q,"value":"9434765919"}]}`, fhir.NHSNumberSystem)
			if _, err := db.ApplyPage(ctx, store.PageUpdate{Source: src.Name, SourceID: src.ID, PersonID: person.ID, ResourceType: "Observation", Origin: "search",
				Resources: []fhir.Resource{{Type: "Patient", ID: "pt1", Raw: []byte(patient)}, observation("x", "pt1", made)}}); err != nil {
				t.Fatal(err)
			}
			res, err := db.ApplyPage(ctx, store.PageUpdate{Source: src.Name, SourceID: src.ID, PersonID: person.ID, ResourceType: "Observation", Origin: "history",
				Deleted: []fhir.Resource{{Type: "Observation", ID: "x", LastUpdated: tc.deletedAt}}})
			if err != nil {
				t.Fatal(err)
			}
			ids, err := db.CachedIDs(ctx, src.ID, "pt1", "Observation")
			if err != nil {
				t.Fatal(err)
			}
			page, err := db.RecordSection(ctx, person.ID, fhir.SectionResults, 1, 10)
			if err != nil {
				t.Fatal(err)
			}
			kept := strings.Join(ids, " ") == "x"
			if kept != tc.wantKept || (page.Total == 1) != tc.wantKept || (res.Deleted == 0) != tc.wantKept {
				t.Errorf("cached %q, %d results, %d deleted; want kept %v", ids, page.Total, res.Deleted, tc.wantKept)
			}
		})
	}
}

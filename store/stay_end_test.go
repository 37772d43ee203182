package store_test

import (
	"context"
	"strings"
	"testing"
)

// TestAHospitalStaySaysWhenItEnded: Fletcher Hyatt's Encounter
// ac2175dd-949d-492f-931a-42839edb92e3 (class IMP, "Encounter Inpatient") ran
// from 16 to 19 June 1990, a three-night stay; the visits page said only 16
// June 1990, as period.end was never read (a review). A visit within one day
// says no end.
func TestAHospitalStaySaysWhenItEnded(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	id := importSynthea(t, db, "Fletcher_Hyatt_fe0562b5-f517-4951-8366-32fdab088930.json")
	sec, err := db.RecordSection(ctx, id, "encounters", 1, 500)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, it := range sec.Items {
		switch {
		case it.ResourceID == "ac2175dd-949d-492f-931a-42839edb92e3":
			found = true
			if it.Detail != "Until 1990-06-19. Reason: Appendicitis" {
				t.Errorf("hospital stay %q from %s: detail %q; want its end, then its reason", it.Display, it.Date, it.Detail)
			}
		case strings.Contains(it.Detail, "Until") && it.Date[:10] == it.Detail[len("Until "):len("Until ")+10]:
			t.Errorf("a visit within one day says it ended: %q on %s", it.Detail, it.Date)
		}
	}
	if !found {
		t.Fatal("stay not listed")
	}
}

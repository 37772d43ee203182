package store_test

import (
	"context"
	"strings"
	"testing"
)

// TestBloodPressureSaysTheTopNumberFirst: Synthea lists a blood pressure's
// diastolic part before its systolic, and the results read "Diastolic Blood
// Pressure: 74.14 mm[Hg]; Systolic Blood Pressure: 107.5 mm[Hg]", which
// people read as 74 over 107 (a review). Every one is systolic first.
func TestBloodPressureSaysTheTopNumberFirst(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	id := importSynthea(t, db, "Fletcher_Hyatt_fe0562b5-f517-4951-8366-32fdab088930.json")
	sec, err := db.RecordSection(ctx, id, "results", 1, 5000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, it := range sec.Items {
		if !strings.Contains(it.Value, "Systolic") {
			continue
		}
		n++
		if !strings.HasPrefix(it.Value, "Systolic Blood Pressure: ") || !strings.Contains(it.Value, "; Diastolic Blood Pressure: ") {
			t.Errorf("%s on %s reads %q; want systolic, then diastolic", it.Display, it.Date, it.Value)
		}
	}
	if n == 0 {
		t.Fatal("no blood pressure listed")
	}
	t.Logf("%d blood pressures, each systolic first", n)
}

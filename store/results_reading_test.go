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

// TestAnswersAreNotRecentTests: an answer to a questionnaire, or about how
// someone lives (HL7's observation categories survey and social-history),
// is no test: the summary's recent test results leave it out, and the
// results page still lists it (a review: Synthea's "PCP prophylaxis plan –
// Start drugs" and a smoking status were listed as tests).
func TestAnswersAreNotRecentTests(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	obs := func(id, category, name, value string) string {
		return `{"resourceType":"Observation","id":"` + id + `","status":"final","subject":{"reference":"Patient/%[1]s"},` +
			`"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"` + category + `"}]}],` +
			`"code":{"text":"` + name + `"},"effectiveDateTime":"2026-03-01","valueString":"` + value + `"}`
	}
	p := importSources(t, db, []string{"gp",
		obs("lab", "laboratory", "HbA1c", "48 mmol/mol"),
		obs("plan", "survey", "PCP prophylaxis plan", "Start drugs"),
		obs("smoke", "social-history", "Tobacco smoking status", "Never smoked"),
	})
	sum, err := db.RecordSummary(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	var recent []string
	for _, it := range sum.RecentResults {
		recent = append(recent, it.Display)
	}
	if len(recent) != 1 || recent[0] != "HbA1c" {
		t.Errorf("the summary's recent test results: %q; want HbA1c alone", recent)
	}
	sec, err := db.RecordSection(ctx, p, "results", 1, 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(sec.Items) != 3 {
		t.Errorf("the results page lists %d; want all 3", len(sec.Items))
	}
}

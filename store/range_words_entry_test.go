package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store/fhir"
)

// TestAnEntryAndPrintSayTheRangeAsTheResultsPagesDo: a cholesterol of 5
// against a range up to 5 is "5 mmol/L or lower. Normal" on the entry's page
// and in the section print reads, as on the results pages, never the
// source's "below 5 mmol/L", which read as a contradiction beside "Normal"
// (a product review).
func TestAnEntryAndPrintSayTheRangeAsTheResultsPagesDo(t *testing.T) {
	chol := `{"resourceType":"Observation","id":"c1","status":"final","subject":{"reference":"Patient/%s"},` +
		`"code":{"coding":[{"system":"http://loinc.org","code":"2093-3","display":"Cholesterol"}]},"effectiveDateTime":"2025-03-06",` +
		`"valueQuantity":{"value":5,"unit":"mmol/L","system":"http://unitsofmeasure.org","code":"mmol/L"},` +
		`"referenceRange":[{"high":{"value":5,"unit":"mmol/L","system":"http://unitsofmeasure.org","code":"mmol/L"}}]}`
	ctx := context.Background()
	db := mustOpenDB(t)
	p := importSources(t, db, []string{"gp", chol})
	sec, err := db.RecordSection(ctx, p, fhir.SectionResults, 1, 10)
	if err != nil || len(sec.Items) != 1 {
		t.Fatalf("%+v %v", sec.Items, err)
	}
	e, err := db.RecordEntry(ctx, p, sec.Items[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	for where, detail := range map[string]string{"the section": sec.Items[0].Detail, "the entry": e.Item.Detail, "the entry's report": e.Reports[0].Item.Detail} {
		if !strings.Contains(detail, "5 mmol/L or lower") || strings.Contains(detail, "below") {
			t.Errorf("%s says %q; want the range as \"5 mmol/L or lower\"", where, detail)
		}
	}
}

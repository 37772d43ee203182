package store_test

import (
	"context"
	"testing"

	"github.com/mycarerecord/portal/store/fhir"
)

// TestATrendLinksTheReportThatStands: a result two sources report alike is
// one entry, which the results and trend pages open as search and the
// record do, the report that stands for it, not whichever the index gave
// first (a product review: the trend opened the hospital's copy, naming the
// hospital, and search the GP's).
func TestATrendLinksTheReportThatStands(t *testing.T) {
	hb := `{"resourceType":"Observation","id":"h1","status":"final","subject":{"reference":"Patient/%s"},` +
		`"code":{"coding":[{"system":"http://loinc.org","code":"718-7","display":"Haemoglobin"}]},"effectiveDateTime":"2025-03-06",` +
		`"valueQuantity":{"value":140,"unit":"g/L","system":"http://unitsofmeasure.org","code":"g/L"}}`
	ctx := context.Background()
	db := mustOpenDB(t)
	p := importSources(t, db, []string{"gp", hb}, []string{"lab", hb})
	sec, err := db.RecordSection(ctx, p, fhir.SectionResults, 1, 10)
	if err != nil || len(sec.Items) != 1 {
		t.Fatalf("the results: %+v, %v; want one entry", sec.Items, err)
	}
	tr, err := db.ResultTrend(ctx, p, "loinc-718-7", 1, 10)
	if err != nil || len(tr.Results) != 1 {
		t.Fatalf("the trend: %+v, %v; want one result", tr.Results, err)
	}
	if got, want := tr.Results[0].Item, sec.Items[0]; got.ID != want.ID {
		t.Errorf("the trend's result opens entry %d (%s's); the record's is %d (%s's)", got.ID, got.Source.Name, want.ID, want.Source.Name)
	}
	if len(tr.Results[0].Sources) != 2 {
		t.Errorf("the trend's result names %d sources; want both", len(tr.Results[0].Sources))
	}
}

package store_test

import (
	"context"
	"testing"

	"github.com/mycarerecord/portal/store"
)

func unitsHbA1c(id, when, value, unit, code string) string {
	return `{"resourceType":"Observation","id":"` + id + `","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],` +
		`"code":{"coding":[{"system":"http://loinc.org","code":"4548-4","display":"Hemoglobin A1c/Hemoglobin.total in Blood"}],"text":"HbA1c"},"subject":{"reference":"Patient/%[1]s"},` +
		`"effectiveDateTime":"` + when + `","valueQuantity":{"value":` + value + `,"unit":"` + unit + `","system":"http://unitsofmeasure.org","code":"` + code + `"}}`
}

// HbA1c once in % (DCCT) and once in mmol/mol (IFCC): two values, but of two
// kinds, so its page draws no chart (each series has one point). The results
// page must not promise one.
func TestAChartIsNotPromisedAcrossUnitKinds(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	p := importSources(t, db, []string{"gp", unitsHbA1c("o1", "2024-01-10", "7.2", "%%", "%%"), unitsHbA1c("o2", "2025-01-10", "55", "mmol/mol", "mmol/mol")})
	tests, err := db.ResultTests(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range tests {
		tr, err := db.ResultTrend(ctx, p, rt.Key, 1, 10)
		if err != nil {
			t.Fatal(err)
		}
		drawn := false
		var pts []int
		for _, s := range tr.Series {
			pts = append(pts, len(s.Points))
			if len(s.Points) >= 2 { // views/chart.go chartable
				drawn = true
			}
		}
		if rt.Trend != drawn {
			t.Errorf("%s: results page promises a chart: %v; its page's series have %v points, so a chart is drawn: %v", rt.Name, rt.Trend, pts, drawn)
		}
	}
	_ = store.ResultTest{}
}

package store_test

import (
	"context"
	"strings"
	"testing"
)

// A test the results page says has a chart has one on its page, and one it
// does not chart is not promised one, on real data: an HIV viral load given
// with no unit had no chart (its series was dropped), and a TB treatment
// given in words ("1HRZE") was promised one (a review).
func TestAChartPromisedIsDrawn(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	person := importSynthea(t, db, "Lawerence6_Baumbach677_ea8d2576-4a23-4906-c353-bfed5adb23bd.json")
	tests, err := db.ResultTests(ctx, person)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"HIV viral load": true, "CURRENT TB TREATMENT": false}
	for _, rt := range tests {
		tr, err := db.ResultTrend(ctx, person, rt.Key, 1, 10)
		if err != nil {
			t.Fatal(err)
		}
		points := 0
		for _, s := range tr.Series {
			points += len(s.Points)
		}
		if rt.Trend != (points >= 2) {
			t.Errorf("%s: the results page says a chart (%v); its page charts %d points in %d series", rt.Name, rt.Trend, points, len(tr.Series))
		}
		for name, chart := range want {
			if strings.Contains(rt.Name, name) {
				if rt.Trend != chart {
					t.Errorf("%s: a chart %v, want %v", rt.Name, rt.Trend, chart)
				}
				delete(want, name)
			}
		}
	}
	if len(want) != 0 {
		t.Errorf("not found: %v", want)
	}
}

package views

import (
	"context"
	"strings"
	"testing"

	"github.com/a-h/templ"

	"github.com/mycarerecord/portal/store"
)

// TestUnitsBreakAfterASlash: a result's value and normal range may break
// their line after each "/" of a unit, and add no space, so "mL/min/1.73m²"
// never holds a results table wider than its column (a WCAG 2.2 review:
// with text spaced out for reading it ran under the record's menu).
func TestUnitsBreakAfterASlash(t *testing.T) {
	egfr := store.Result{Measures: []store.Measure{{Value: 58, Number: "58", Unit: "mL/min/1.73m2", UnitCode: "mL/min/{1.73_m2}",
		Range: store.Range{Low: 60, HasLow: true, Unit: "mL/min/1.73m2"}}}}
	for name, c := range map[string]templ.Component{"value": resultValue(egfr), "normal range": resultRange(egfr)} {
		var b strings.Builder
		if err := c.Render(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
		got := b.String()
		if n := strings.Count(got, "/"); n == 0 || strings.Count(got, "/<wbr>") != n || strings.Contains(got, "/<wbr> ") || strings.Contains(got, " /") {
			t.Errorf("the %s of an eGFR: %q; want a place to break after each slash, and no space beside one", name, got)
		}
	}
}

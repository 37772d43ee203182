package web_test

import (
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

// TestAReportsConclusionIsItsResultInPrintAndSearch: a test report with no
// value of its own shows its conclusion as its result when printed and in
// search, as the results pages do, not "Not recorded" (a product review: a
// full blood count).
func TestAReportsConclusionIsItsResultInPrintAndSearch(t *testing.T) {
	f := newFixture(t)
	jane := f.signIn(t, f.jane)
	// A result with a value beside it, so the table has a column of results.
	f.importJSON(t, "gp", `{"resourceType":"Observation","id":"na1","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],`+
		`"code":{"coding":[{"system":"http://loinc.org","code":"2951-2","display":"Sodium"}]},"subject":{"reference":"Patient/jane"},"effectiveDateTime":"2025-05-01","valueQuantity":{"value":140,"unit":"mmol/L"}}`)
	f.importJSON(t, "gp", `{"resourceType":"DiagnosticReport","id":"fbc1","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0074","code":"LAB"}]}],`+
		`"code":{"coding":[{"system":"http://loinc.org","code":"58410-2","display":"Full blood count"}]},"subject":{"reference":"Patient/jane"},`+
		`"effectiveDateTime":"2025-05-01","conclusion":"Slightly raised white cell count; otherwise normal."}`)
	for _, path := range []string{"/record/print", "/record/search?q=meanwood"} {
		d := doc(t, f.get(t, path, jane))
		main := strings.Join(strings.Fields(d.Find("main").Text()), " ")
		if !strings.Contains(main, "Slightly raised white cell count") {
			t.Errorf("%s does not show the report's conclusion: %q", path, main)
		}
		d.Find("main tr").Each(func(_ int, s *goquery.Selection) {
			if text := s.Text(); strings.Contains(text, "Full blood count") && strings.Contains(text, "Not recorded") {
				t.Errorf("%s says the full blood count's result is not recorded: %q", path, strings.Join(strings.Fields(text), " "))
			}
		})
	}
}

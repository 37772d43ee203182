package web_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

// wordingObs is an Observation of Jane's from the GP, as JSON.
func wordingObs(id, code, name, date string, value float64, unit string) string {
	return fmt.Sprintf(`{"resourceType":"Observation","id":%q,"status":"final","code":{"coding":[{"system":"http://loinc.org","code":%q,"display":%q}]},`+
		`"subject":{"reference":"Patient/jane"},"effectiveDateTime":%q,"valueQuantity":{"value":%v,"unit":%q,"system":"http://unitsofmeasure.org","code":%q}}`,
		id, code, name, date, value, unit, unit)
}

// TestResultPagesWording reads the results pages' words where the UX review
// found them wrong. Before: a breathing rate in "beats per minute"; "8
// {score}" and a chart axis of "{score}"; "98 %"; "[Reported]" in a test's
// name and "How your patient Health Questionnaire…"; a screen reader's "EGFR
// (kidney function) result of"; "Not given" and "Not known" in every row of
// weight; the LOINC code under "How this test is recorded"; the unit drawn
// into the chart over its top value and hidden on a narrow screen; a table
// that scrolled sideways on one.
func TestResultPagesWording(t *testing.T) {
	f := resultsFixture(t)
	f.importJSON(t, "gp",
		wordingObs("rr1", "9279-1", "Respiratory rate", "2024-01-11", 16, "/min"),
		wordingObs("rr2", "9279-1", "Respiratory rate", "2025-01-11", 17, "/min"),
		wordingObs("phq1", "44261-6", "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]", "2024-02-11", 7, "{score}"),
		wordingObs("phq2", "44261-6", "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]", "2025-02-11", 8, "{score}"),
		wordingObs("o1", "59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "2024-04-11", 97, "%"),
		wordingObs("o2", "59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "2025-04-11", 98, "%"),
	)
	jane := f.signIn(t, f.jane)
	const phq = "Patient Health Questionnaire 9 item (PHQ-9) total score"
	tests := []struct {
		name, path, selector, want string
	}{
		{"a breathing rate counts breaths", "/record/results/loinc-9279-1", ".mcr-chart-summary",
			"Your respiratory rate went from 16 to 17 breaths per minute between January 2024 and January 2025."},
		{"a breathing rate's result", "/record/results/loinc-9279-1", "tbody tr td", "17 breaths per minute"},
		{"the chart's unit is above it, in words", "/record/results/loinc-9279-1", "figure.mcr-chart > p", "breaths per minute"},
		{"a score has no unit", "/record/results/loinc-44261-6", "tbody tr td", "8"},
		{"a score's sentence", "/record/results/loinc-44261-6", ".mcr-chart-summary",
			"Your " + phq + " went from 7 to 8 between February 2024 and February 2025."},
		{"a name in title case keeps its capitals", "/record/results/loinc-44261-6", ".mcr-chart-section h2", "How your " + phq + " has changed"},
		{"the chart's name has no empty unit", "/record/results/loinc-44261-6", "svg title", "Chart of your " + phq + " results over time"},
		{"a name without its bracketed LOINC part", "/record/results/loinc-44261-6", "h1", phq},
		{"a percentage", "/record/results/loinc-59408-5", "tbody tr td", "98%"},
		{"a percentage's sentence", "/record/results/loinc-59408-5", ".mcr-chart-summary",
			"Your Oxygen saturation in Arterial blood by Pulse oximetry went from 97 to 98% between April 2024 and April 2025."},
		{"a percentage in the chart's description", "/record/results/loinc-59408-5", "svg desc",
			"2 results between April 2024 and April 2025. Lowest 97% in April 2024, highest 98% in April 2025. The results are also in a table below."},
		{"an abbreviation keeps its case for a screen reader", "/record/results/loinc-62238-1", "tbody th a .nhsuk-u-visually-hidden", "eGFR (kidney function) result of"},
		{"no normal range is a dash", "/record/results/loinc-29463-7", "tbody tr td:nth-of-type(2)", "– Not given"},
		{"nothing to compare is a dash", "/record/results/loinc-29463-7", "tbody tr td:nth-of-type(3)", "– Not known"},
		{"the code is a technical detail", "/record/results/loinc-29463-7", "details summary", "Technical details"},
		{"the list of tests names weight", "/record/results", `a[href="/record/results/loinc-29463-7"]`, "Weight"},
	}
	pages := map[string]*goquery.Document{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, ok := pages[tt.path]
			if !ok {
				resp := f.get(t, tt.path, jane)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("%s: status %d", tt.path, resp.StatusCode)
				}
				d = doc(t, resp)
				pages[tt.path] = d
			}
			if got := cellWords(d.Find("main " + tt.selector).First()); got != tt.want {
				t.Errorf("%s %s: got %q, want %q", tt.path, tt.selector, got, tt.want)
			}
		})
	}
	t.Run("no code for units or names on any page, but the record's own name in its technical details", func(t *testing.T) {
		for path, d := range pages {
			main := d.Find("main").Clone()
			main.Find("details").Remove()
			if text := main.Text(); strings.Contains(text, "{") || strings.Contains(text, "[Reported]") || strings.Contains(text, "beats per minute") {
				t.Errorf("%s shows a unit's or a name's code: %q", path, strings.Join(strings.Fields(text), " "))
			}
		}
	})
	t.Run("weight's row on the list of tests", func(t *testing.T) {
		row := pages["/record/results"].Find(`a[href="/record/results/loinc-29463-7"]`).Closest("tr")
		if got := cellWords(row.Find("td").Eq(1)); got != "– Not given" {
			t.Errorf("normal range %q, want a dash said as \"Not given\"", got)
		}
	})
	t.Run("the trend's table is the NHS responsive table", func(t *testing.T) {
		table := pages["/record/results/loinc-29463-7"].Find("main .mcr-chart-table table")
		if !table.HasClass("nhsuk-table--responsive") {
			t.Errorf("table class %q, want nhsuk-table--responsive", table.AttrOr("class", ""))
		}
		var labels []string
		table.Find("tbody tr").First().Find(".nhsuk-table__heading").Each(func(_ int, s *goquery.Selection) {
			labels = append(labels, strings.TrimSpace(s.Text()))
		})
		if want := []string{"Date", "Result", "Normal range", "Compared with normal range", "From"}; !slices.Equal(labels, want) {
			t.Errorf("a row's labels %q, want %q", labels, want)
		}
		d := pages["/record/results/loinc-29463-7"]
		if d.Find("main svg .mcr-chart__unit").Length() != 0 {
			t.Errorf("the unit is still drawn in the chart, over its top value")
		}
		outside := d.Find("main").Clone()
		outside.Find("details").Remove()
		if strings.Contains(outside.Text(), "LOINC") || !strings.Contains(d.Find("main details").Text(), "LOINC code is 29463-7") {
			t.Errorf("the LOINC code is not only in the technical details")
		}
	})
}

// TestSearchWording checks the search page's words and order where the UX
// review found them wrong. Before: "Normal range: above 60 mL/min/1.73m²"
// where the results page said "60 mL/min/1.73m² or higher", and the
// hospital's HbA1c of 12 March 2025 after the GP's of 21 March 2017.
func TestSearchWording(t *testing.T) {
	f := resultsFixture(t)
	f.importJSON(t, "gp",
		`{"resourceType":"MedicationRequest","id":"ins","status":"active","intent":"order","subject":{"reference":"Patient/jane"},`+
			`"medicationCodeableConcept":{"text":"Insulin glargine"},"authoredOn":"2026-01-01","requester":{"display":"Metformin review clinic"}}`)
	jane := f.signIn(t, f.jane)

	t.Run("a result's range in the results page's words", func(t *testing.T) {
		results := doc(t, f.get(t, "/record/results", jane))
		want := cellWords(results.Find(`a[href="/record/results/loinc-62238-1"]`).Closest("tr").Find("td").Eq(1))
		if want != "60 mL/min/1.73m² or higher" {
			t.Fatalf("the results page says %q", want)
		}
		d := doc(t, f.get(t, searchPath("egfr"), jane))
		detail := strings.TrimSpace(d.Find("main #results-results ~ table tbody tr .mcr-detail").First().Text())
		if !strings.HasPrefix(detail, "Normal range: "+want+".") {
			t.Errorf("search says %q, want it to begin %q", detail, "Normal range: "+want+".")
		}
	})
	t.Run("matches newest first", func(t *testing.T) {
		d := doc(t, f.get(t, searchPath("hba1c"), jane))
		var dates []string
		d.Find("main #results-results ~ table tbody tr").Each(func(_ int, s *goquery.Selection) {
			dates = append(dates, cellWords(s.Find("td").Eq(1)))
		})
		if len(dates) < 3 {
			t.Fatalf("dates %q, want HbA1c results", dates)
		}
		if !slices.IsSortedFunc(dates, func(a, b string) int { return -compareDates(t, a, b) }) {
			t.Errorf("dates %q, want newest first", dates)
		}
	})
	t.Run("what only mentions the words is listed apart", func(t *testing.T) {
		d := doc(t, f.get(t, searchPath("metformin"), jane))
		var got []string
		d.Find("main #results-medicines ~ h3, main #results-medicines ~ table tbody th a").Each(func(_ int, s *goquery.Selection) {
			got = append(got, strings.Join(strings.Fields(s.Text()), " "))
		})
		if len(got) < 3 || got[len(got)-2] != "Other entries that mention ‘metformin’" || !strings.HasPrefix(got[len(got)-1], "Insulin glargine") {
			t.Errorf("medicines read %q, want the Metformin entries, then \"Other entries that mention ‘metformin’\" and Insulin glargine", got)
		}
	})
}

// compareDates compares dates as the pages write them ("12 March 2025").
func compareDates(t *testing.T, a, b string) int {
	t.Helper()
	parse := func(s string) string {
		var day, year int
		var month string
		if _, err := fmt.Sscanf(s, "%d %s %d", &day, &month, &year); err != nil {
			t.Fatalf("date %q: %v", s, err)
		}
		m := slices.Index([]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}, month) + 1
		return fmt.Sprintf("%04d-%02d-%02d", year, m, day)
	}
	return strings.Compare(parse(a), parse(b))
}

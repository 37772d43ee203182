package web_test

import "testing"

// BenchmarkResultsPages renders the results-by-test page and trend pages; the
// issue's target is under 5 ms median.
func BenchmarkResultsPages(b *testing.B) {
	r := newBenchRecord(b)
	for _, p := range []struct{ name, path string }{
		{"results by test", "/record/results"},
		{"HbA1c trend", "/record/results/loinc-59261-8"},                 // about 1,700 results charted
		{"blood pressure trend", "/record/results/loinc-85354-9"},        // two parts, two charts
		{"HbA1c trend page 20", "/record/results/loinc-59261-8?page=20"}, // a page deep in the table
	} {
		r.page(b, p.name, p.path)
	}
}

package web_test

import "testing"

// BenchmarkRecordSearch answers searches through the Echo handler (session,
// access log, FTS5 query, page); the target is under 10 ms median.
func BenchmarkRecordSearch(b *testing.B) {
	r := newBenchRecord(b)
	for _, s := range []struct{ name, path string }{
		{"one medicine", searchPath("metformin")},    // hundreds of prescriptions
		{"a common test", searchPath("cholesterol")}, // about 1,500 results, 20 shown
		{"an organisation", searchPath("meanwood")},  // a source: every entry in every section (worst case)
		{"a prefix", searchPath("hypert")},           // the start of a word
		{"two words", searchPath("blood pressure")},  // a phrase-like search
		{"a code", searchPath("59261-8")},            // the LOINC code for HbA1c
		{"nothing found", searchPath("xyzzyplugh")},  // the empty answer
		{"one section, page 5", searchPath("cholesterol", "&section=results&page=5")},
	} {
		r.page(b, "search "+s.name, s.path)
	}
}

package web_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// Links to entries say which entry they lead to, without the row around them
// (WCAG 2.4.4): two appointments of one name differ by their date, and a
// trend's results name the test as well as the date.
func TestLinksToEntriesSayWhichOne(t *testing.T) {
	f := newFixture(t)
	f.importJSON(t, "gp",
		`{"resourceType":"Encounter","id":"e1","status":"finished","class":{"code":"AMB"},"type":[{"text":"Encounter for check up"}],"subject":{"reference":"Patient/jane"},"period":{"start":"2024-03-01"}}`,
		`{"resourceType":"Encounter","id":"e2","status":"finished","class":{"code":"AMB"},"type":[{"text":"Encounter for check up"}],"subject":{"reference":"Patient/jane"},"period":{"start":"2025-04-02"}}`,
		`{"resourceType":"Observation","id":"o1","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"}]},"subject":{"reference":"Patient/jane"},"effectiveDateTime":"2024-03-01","valueQuantity":{"value":70,"unit":"/min"}}`,
		`{"resourceType":"Observation","id":"o2","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"}]},"subject":{"reference":"Patient/jane"},"effectiveDateTime":"2025-04-02","valueQuantity":{"value":72,"unit":"/min"}}`,
	)
	jane := f.signIn(t, f.jane)
	names := func(path, selector string) []string {
		t.Helper()
		var out []string
		doc(t, f.get(t, path, jane)).Find(selector).Each(func(_ int, s *goquery.Selection) {
			out = append(out, strings.Join(strings.Fields(s.Text()), " "))
		})
		return out
	}
	got := names("/record/encounters", "tbody th a")
	if strings.Join(got, " | ") != "Visit for check up, 2 April 2025 | Visit for check up, 1 March 2024" {
		t.Errorf("the appointments' links read %q; want each to say its date", got)
	}
	// The summary's lists of a few entries too (its results, the latest of each test).
	got = names("/record", "a.mcr-item-link")
	if !slices.Contains(got, "Heart rate, 2 April 2025") || slices.Contains(got, "Heart rate, 1 March 2024") {
		t.Errorf("the summary's links read %q; want the latest heart rate, saying its date", got)
	}
	trend := ""
	doc(t, f.get(t, "/record/results", jane)).Find(`a[href^="/record/results/"]`).Each(func(_ int, s *goquery.Selection) {
		if href, _ := s.Attr("href"); trend == "" {
			trend = href
		}
	})
	got = names(trend, "tbody th a")
	if len(got) != 2 || !strings.HasPrefix(got[0], "Heart rate result of ") {
		t.Errorf("the trend's links read %q; want each to name the test and its date", got)
	}
}

// importJSON stores the resources, given as JSON, from the source.
func (f *fixture) importJSON(t *testing.T, source string, resources ...string) {
	t.Helper()
	var res []fhir.Resource
	for _, r := range resources {
		p, err := fhir.ParseResource([]byte(r))
		if err != nil {
			t.Fatal(err)
		}
		res = append(res, p)
	}
	if _, err := f.db.ImportResources(context.Background(), store.ImportOptions{Source: source}, "test", res); err != nil {
		t.Fatal(err)
	}
}

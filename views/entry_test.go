package views_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
	"github.com/mycarerecord/portal/views"
)

// Related entries of one name are told apart by their links' own words, and
// their values read as on the results pages (both found by a review: eight
// links read "Normal pregnancy", and units were shown as coded).
func TestRelatedEntriesToldApart(t *testing.T) {
	jane := store.Person{ID: 1, Prefix: "Mrs", Given: "Jane", Family: "Example"}
	visit := store.RecordItem{ID: 1, Section: fhir.SectionEncounters, Display: "Normal pregnancy", Date: "2009-12-15"}
	e := store.Entry{Item: visit, Related: []store.RecordItem{
		{ID: 2, Section: fhir.SectionEncounters, Display: "Normal pregnancy", Date: "2009-12-15"},
		{ID: 3, Section: fhir.SectionEncounters, Display: "Normal pregnancy", Date: "2011-03-02"},
		{ID: 4, Section: fhir.SectionResults, Display: "Blood pressure", Value: "121 mm[Hg]"},
	}}
	d, _ := render(t, views.RecordEntry(page("Normal pregnancy", "/record/item/1", true), jane, e))
	var names []string
	d.Find("main ul.nhsuk-list a").Each(func(_ int, a *goquery.Selection) { names = append(names, strings.TrimSpace(a.Text())) })
	want := []string{"Normal pregnancy, 15 December 2009", "Normal pregnancy, 2 March 2011", "Blood pressure"}
	if strings.Join(names, "|") != strings.Join(want, "|") {
		t.Errorf("related links read %q; want %q", names, want)
	}
	if text := d.Find("main ul.nhsuk-list").Text(); !strings.Contains(text, "121 mmHg") || strings.Contains(text, "mm[Hg]") {
		t.Errorf("related entries read %q; want the unit as people write it", text)
	}
}

// A report's related entries are headed "Results in this report" only when
// they are all results (a review: the heading listed an emergency visit).
func TestRelatedHeadingSaysWhatIsListed(t *testing.T) {
	jane := store.Person{ID: 1, Prefix: "Mrs", Given: "Jane", Family: "Example"}
	report := store.RecordItem{ID: 1, Section: fhir.SectionResults, ResourceType: "DiagnosticReport", Display: "Full blood count", Date: "2026-03-01"}
	result := store.RecordItem{ID: 2, Section: fhir.SectionResults, ResourceType: "Observation", Display: "Haemoglobin", Value: "131 g/L"}
	visit := store.RecordItem{ID: 3, Section: fhir.SectionEncounters, ResourceType: "Encounter", Display: "Emergency visit", Date: "2026-03-01"}
	for _, tc := range []struct {
		related []store.RecordItem
		want    string
	}{
		{[]store.RecordItem{result}, "Results in this report"},
		{[]store.RecordItem{visit, result}, "Related"},
		{[]store.RecordItem{visit}, "Related"},
	} {
		d, _ := render(t, views.RecordEntry(page("Full blood count", "/record/item/1", true), jane, store.Entry{Item: report, Related: tc.related}))
		var headings []string
		d.Find("main h2").Each(func(_ int, h *goquery.Selection) { headings = append(headings, strings.TrimSpace(h.Text())) })
		if !slices.Contains(headings, tc.want) || (tc.want != "Results in this report" && slices.Contains(headings, "Results in this report")) {
			t.Errorf("with %d related entries, the first a %s, the headings are %q; want %q", len(tc.related), tc.related[0].Section, headings, tc.want)
		}
	}
}

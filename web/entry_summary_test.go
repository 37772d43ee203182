package web_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

// The summary's current medicine links to the entry the medicines page
// lists for it, whose page has each organisation's report once, with its own
// date; and its recent results hold each test once, the latest.
func TestSummaryLinksToTheSectionsEntries(t *testing.T) {
	f := newFixture(t)
	paracetamol := func(id, patient, when, by string) string {
		return `{"resourceType":"MedicationRequest","id":"` + id + `","status":"active","intent":"order","subject":{"reference":"Patient/` + patient + `"},` +
			`"medicationCodeableConcept":{"coding":[{"system":"https://dmd.nhs.uk","code":"322236009","display":"Paracetamol 500mg tablets"}]},` +
			`"authoredOn":"` + when + `","requester":{"display":"` + by + `"},"dosageInstruction":[{"text":"Two when needed"}]}`
	}
	heartRate := func(id, when, value string) string {
		return `{"resourceType":"Observation","id":"` + id + `","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"}]},` +
			`"subject":{"reference":"Patient/jane"},"effectiveDateTime":"` + when + `","valueQuantity":{"value":` + value + `,"unit":"/min"}}`
	}
	f.importJSON(t, "gp", paracetamol("p-gp-1", "jane", "2019-01-01", "Mr Daniel Nwosu"), paracetamol("p-gp-2", "jane", "2020-01-01", "Mr Daniel Nwosu"),
		heartRate("o1", "2024-03-01", "70"), heartRate("o2", "2025-04-02", "72"))
	f.importJSON(t, "lth", `{"resourceType":"Patient","id":"h-jane","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}]}`,
		paracetamol("p-lth", "h-jane", "2024-02-10", "Dr Tom Reid"))
	jane := f.signIn(t, f.jane)

	links := func(path, selector string) map[string]string { // link text → address
		t.Helper()
		out := map[string]string{}
		doc(t, f.get(t, path, jane)).Find(selector).Each(func(_ int, s *goquery.Selection) {
			href, _ := s.Attr("href")
			out[strings.Join(strings.Fields(s.Text()), " ")] = href
		})
		return out
	}
	summary := links("/record", "a.mcr-item-link")
	section := links("/record/medicines", "tbody th a")
	entry := summary["Paracetamol 500mg tablets, 1 January 2020"]
	if entry == "" || entry != section["Paracetamol 500mg tablets, 1 January 2020"] {
		t.Fatalf("the summary links %q, the medicines page %q; want the same entry, the GP's newest", summary, section)
	}
	var heartRates []string
	for text := range summary {
		if strings.HasPrefix(text, "Heart rate") {
			heartRates = append(heartRates, text)
		}
	}
	if !slices.Equal(heartRates, []string{"Heart rate, 2 April 2025"}) {
		t.Errorf("the summary's heart rates %q, want the latest only", heartRates)
	}

	d := doc(t, f.get(t, entry, jane))
	var rows []string
	d.Find("tbody tr").Each(func(_ int, s *goquery.Selection) {
		rows = append(rows, s.Find("td").First().Text()[len("Organisation "):]+" "+strings.TrimPrefix(s.Find("td").Eq(2).Text(), "Date "))
	})
	// The GP's 2019 prescription is an entry of its own, not another record of this one.
	if want := []string{"Meanwood Group Practice 1 January 2020", "lth 10 February 2024"}; !slices.Equal(rows, want) {
		t.Errorf("the entry's reports %q, want %q", rows, want)
	}
	if !strings.Contains(d.Find("main").Text(), "The date is when each prescribed or recorded it") {
		t.Error("the entry does not say why the organisations' dates differ")
	}
}

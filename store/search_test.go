package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/demo"
	"github.com/mycarerecord/portal/store/fhir"
)

func searchPatient(id, nhs, given string) fhir.Resource {
	raw := `{"resourceType":"Patient","id":"` + id + `","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"` + nhs + `"}],` +
		`"name":[{"given":["` + given + `"],"family":"Search"}],"birthDate":"1960-01-01"}`
	return fhir.Resource{Type: "Patient", ID: id, Raw: []byte(raw)}
}

func searchMedicine(id, patientID, code, name, date, prescriber string) fhir.Resource {
	raw := `{"resourceType":"MedicationRequest","id":"` + id + `","status":"active","intent":"order","subject":{"reference":"Patient/` + patientID + `"},` +
		`"medicationCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"` + code + `","display":"` + name + `"}],"text":"` + name + `"},` +
		`"authoredOn":"` + date + `","requester":{"display":"` + prescriber + `"}}`
	return fhir.Resource{Type: "MedicationRequest", ID: id, Raw: []byte(raw)}
}

func searchAllergy(id, patientID, code, name string) fhir.Resource {
	raw := `{"resourceType":"AllergyIntolerance","id":"` + id + `","patient":{"reference":"Patient/` + patientID + `"},` +
		`"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical","code":"active"}]},` +
		`"code":{"coding":[{"system":"http://snomed.info/sct","code":"` + code + `","display":"` + name + `"}],"text":"` + name + `"},"recordedDate":"2020-02-02"}`
	return fhir.Resource{Type: "AllergyIntolerance", ID: id, Raw: []byte(raw)}
}

func searchObservation(id, patientID, code, name, date string) fhir.Resource {
	raw := `{"resourceType":"Observation","id":"` + id + `","status":"final","subject":{"reference":"Patient/` + patientID + `"},` +
		`"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],` +
		`"code":{"coding":[{"system":"http://loinc.org","code":"` + code + `","display":"` + name + `"}],"text":"` + name + `"},` +
		`"effectiveDateTime":"` + date + `","valueQuantity":{"value":48,"unit":"mmol/mol"}}`
	return fhir.Resource{Type: "Observation", ID: id, Raw: []byte(raw)}
}

// searchDB holds two people: Sam (a GP and a hospital source) and Ola (the GP only),
// with words chosen so each case below has one right answer.
func searchDB(t *testing.T) (*store.DB, store.Person, store.Person) {
	t.Helper()
	ctx := context.Background()
	db := mustOpenDB(t)
	gp := []fhir.Resource{
		searchPatient("sam", "9434765870", "Sam"),
		searchPatient("ola", "9434765889", "Ola"),
		searchMedicine("m1", "sam", "109081006", "Metformin 500mg tablets", "2025-01-10", "Dr Alison Hughes"),
		searchMedicine("m2", "sam", "318135008", "Ramipril 5mg capsules", "2024-03-01", "Dr Alison Hughes"),
		searchAllergy("a1", "sam", "91936005", "Allergy to penicillin"),
		searchObservation("o1", "sam", "4548-4", "HbA1c level", "2025-06-01"),
		searchMedicine("m3", "ola", "321208008", "Sertraline 50mg tablets", "2025-02-02", "Dr Zed Secret"),
		searchAllergy("a2", "ola", "300916003", "Allergy to latex"),
	}
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "gp", OrgName: "Meanwood Group Practice"}, "test", gp); err != nil {
		t.Fatal(err)
	}
	hosp := []fhir.Resource{
		searchPatient("h-sam", "9434765870", "Sam"),
		searchMedicine("hm1", "h-sam", "109081006", "Metformin 500mg tablets", "2025-01-12", "Diabetes clinic"),
		searchObservation("ho1", "h-sam", "718-7", "Haemoglobin", "2025-07-01"),
	}
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "hospital", OrgName: "Leeds Teaching Hospitals"}, "test", hosp); err != nil {
		t.Fatal(err)
	}
	sam, err := db.PersonByNHSNumber(ctx, "9434765870")
	if err != nil {
		t.Fatal(err)
	}
	ola, err := db.PersonByNHSNumber(ctx, "9434765889")
	if err != nil {
		t.Fatal(err)
	}
	return db, sam, ola
}

// found lists the results as "section: display (every source)", in order.
func found(r store.SearchResults) []string {
	var out []string
	for _, s := range r.Sections {
		for _, it := range s.Items {
			out = append(out, s.Section.Slug+": "+it.Display+" ("+it.SourceLabels()+")")
		}
	}
	return out
}

func TestSearchRecord(t *testing.T) {
	ctx := context.Background()
	db, sam, _ := searchDB(t)
	tests := []struct {
		name, query string
		want        []string
	}{
		{"by display: one entry per fact, every source named", "metformin", []string{"medicines: Metformin 500mg tablets (Meanwood Group Practice, Leeds Teaching Hospitals)"}},
		{"case and accents do not matter", "MÉTFORMIN", []string{"medicines: Metformin 500mg tablets (Meanwood Group Practice, Leeds Teaching Hospitals)"}},
		{"by SNOMED code", "91936005", []string{"allergies: Allergy to penicillin (Meanwood Group Practice)"}},
		{"by LOINC code with its hyphen", "4548-4", []string{"results: HbA1c level (Meanwood Group Practice)"}},
		{"by the organisation named in one source's report", "diabetes clinic", []string{"medicines: Metformin 500mg tablets (Meanwood Group Practice, Leeds Teaching Hospitals)"}},
		{"by the source's organisation", "leeds teaching", []string{
			"medicines: Metformin 500mg tablets (Meanwood Group Practice, Leeds Teaching Hospitals)", "results: Haemoglobin (Leeds Teaching Hospitals)"}},
		{"last word as a prefix", "penic", []string{"allergies: Allergy to penicillin (Meanwood Group Practice)"}},
		{"two-letter prefix", "hb", []string{"results: HbA1c level (Meanwood Group Practice)"}},
		{"every word must match", "metformin ramipril", nil},
		{"only the last word is a prefix", "metf tablets", nil},
		{"a one-letter last word is a whole word", "ramipril r", nil},
		{"best match first, newest first among equals", "500mg", []string{"medicines: Metformin 500mg tablets (Meanwood Group Practice, Leeds Teaching Hospitals)"}},
		// Within medicines both only mention it, in the source's name, so they
		// come newest first: Metformin (January 2025) before Ramipril (March
		// 2024). bm25 put Ramipril first, as it has fewer words.
		{"sections in the record's order, newest first in each", "meanwood", []string{
			"allergies: Allergy to penicillin (Meanwood Group Practice)",
			"medicines: Metformin 500mg tablets (Meanwood Group Practice, Leeds Teaching Hospitals)", "medicines: Ramipril 5mg capsules (Meanwood Group Practice)",
			"results: HbA1c level (Meanwood Group Practice)"}},
		{"empty", "", nil},
		{"only spaces", "   \t ", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := db.SearchRecord(ctx, sam.ID, tt.query, store.SearchOptions{})
			if err != nil {
				t.Fatal(err)
			}
			got := found(r)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("search %q:\n got %q\nwant %q", tt.query, got, tt.want)
			}
			if r.Total != len(tt.want) {
				t.Errorf("total %d, want %d", r.Total, len(tt.want))
			}
		})
	}
}

// TestSearchRecordOnlyThePersonsOwn checks that words found only in another
// person's record find nothing, and that shared words find only one's own items.
func TestSearchRecordOnlyThePersonsOwn(t *testing.T) {
	ctx := context.Background()
	db, sam, ola := searchDB(t)
	for _, q := range []string{"sertraline", "latex", "Zed Secret", "321208008", "sertr"} {
		r, err := db.SearchRecord(ctx, sam.ID, q, store.SearchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Total != 0 || len(r.Sections) != 0 {
			t.Errorf("Sam's search for %q finds %q in Ola's record", q, found(r))
		}
	}
	r, err := db.SearchRecord(ctx, ola.ID, "allergy", store.SearchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := found(r), []string{"allergies: Allergy to latex (Meanwood Group Practice)"}; !slices.Equal(got, want) {
		t.Errorf("Ola's search for allergy: got %q, want %q", got, want)
	}
	if r, _ := db.SearchRecord(ctx, 0, "metformin", store.SearchOptions{}); r.Total != 0 {
		t.Errorf("no person finds %q", found(r))
	}
}

// TestSearchRecordHostileInput checks that FTS5 syntax in a search is only text:
// nothing errors, nothing matches everything, and quoted words still match.
func TestSearchRecordHostileInput(t *testing.T) {
	ctx := context.Background()
	db, sam, _ := searchDB(t)
	nothing := []string{
		`"`, `""`, `"""`, `*`, `**`, `AND (`, `OR`, `NOT`, `NEAR(`, `NEAR(metformin ramipril, 5)`, `)`, `(`, `-`, `^`, `:`, `+`,
		`display:latex`, `{display code}: sertraline`, `metformin AND NOT metformin`, `metformin OR sertraline`, `a*`, `\`, `'`,
		`'; DROP TABLE record_items; --`, "\x00", "\xff\xfe", `%`, `_`, `ramipril NOT capsules`, `NEAR`,
	}
	for _, q := range nothing {
		t.Run(q, func(t *testing.T) {
			r, err := db.SearchRecord(ctx, sam.ID, q, store.SearchOptions{})
			if err != nil {
				t.Fatalf("search %q: %v", q, err)
			}
			// Every term is ANDed as plain words, so "metformin OR sertraline" needs the word "or" too.
			if r.Total != 0 {
				t.Fatalf("search %q found %q, want nothing", q, found(r))
			}
		})
	}
	for _, q := range []string{`"metformin"`, `metformin*`, `(metformin)`, `metformin:`, `^metformin`, `"metformin`, `metformin"`, `metformin -tablets`, `metformin AND`} {
		t.Run(q, func(t *testing.T) {
			r, err := db.SearchRecord(ctx, sam.ID, q, store.SearchOptions{})
			if err != nil {
				t.Fatalf("search %q: %v", q, err)
			}
			if q == `metformin AND` {
				if r.Total != 0 {
					t.Fatalf("search %q found %q: AND is a word to find, not an operator", q, found(r))
				}
				return
			}
			if got := found(r); !slices.Equal(got, []string{"medicines: Metformin 500mg tablets (Meanwood Group Practice, Leeds Teaching Hospitals)"}) {
				t.Fatalf("search %q found %q, want Metformin", q, got)
			}
		})
	}
	t.Run("too long", func(t *testing.T) {
		_, err := db.SearchRecord(ctx, sam.ID, strings.Repeat("é", store.MaxSearchLength+1), store.SearchOptions{})
		if store.ErrorCode(err) != store.EINVALID {
			t.Fatalf("got %v, want EINVALID", err)
		}
		if _, err := db.SearchRecord(ctx, sam.ID, strings.Repeat("é", store.MaxSearchLength), store.SearchOptions{}); err != nil {
			t.Fatalf("%d characters: %v", store.MaxSearchLength, err)
		}
	})
	t.Run("no such section", func(t *testing.T) {
		_, err := db.SearchRecord(ctx, sam.ID, "metformin", store.SearchOptions{Section: "secrets"})
		if store.ErrorCode(err) != store.ENOTFOUND {
			t.Fatalf("got %v, want ENOTFOUND", err)
		}
	})
}

// TestSearchRecordFollowsChanges checks the index moves with the record: an
// updated resource is found by its new words only, a deleted source's items
// are gone, and renaming a source's organisation re-indexes its items.
func TestSearchRecordFollowsChanges(t *testing.T) {
	ctx := context.Background()
	db, sam, _ := searchDB(t)
	count := func(q string) int {
		t.Helper()
		r, err := db.SearchRecord(ctx, sam.ID, q, store.SearchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return r.Total
	}
	changed := []fhir.Resource{searchMedicine("m2", "sam", "318135008", "Lisinopril 10mg tablets", "2024-03-01", "Dr Alison Hughes")}
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "gp"}, "update", changed); err != nil {
		t.Fatal(err)
	}
	if n := count("ramipril"); n != 0 {
		t.Errorf("ramipril: %d matches after the medicine changed, want 0", n)
	}
	if n := count("lisinopril"); n != 1 {
		t.Errorf("lisinopril: %d matches, want 1", n)
	}
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "hospital", OrgName: "St James's University Hospital"}, "rename", nil); err != nil {
		t.Fatal(err)
	}
	if n := count("leeds teaching"); n != 0 {
		t.Errorf("old organisation name: %d matches, want 0", n)
	}
	if n := count("st james"); n != 2 {
		t.Errorf("new organisation name: %d matches, want 2 (Metformin, Haemoglobin)", n)
	}
}

// TestSearchRecordCapsEachSection checks that a section with many matches shows
// the cap and the full count, and that the one-section pages reach them all.
func TestSearchRecordCapsEachSection(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	res := []fhir.Resource{searchPatient("p", "9434765870", "Sam")}
	for i := range 45 {
		res = append(res, searchObservation(fmt.Sprintf("o%d", i), "p", "4548-4", "HbA1c level", fmt.Sprintf("2020-01-%02dT10:00:00Z", i%28+1)))
	}
	res = append(res, searchAllergy("a", "p", "91936005", "Allergy to penicillin in HbA1c tubes"))
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "gp"}, "test", res); err != nil {
		t.Fatal(err)
	}
	p, err := db.PersonByNHSNumber(ctx, "9434765870")
	if err != nil {
		t.Fatal(err)
	}
	r, err := db.SearchRecord(ctx, p.ID, "hba1c", store.SearchOptions{PerSection: 20})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Sections) != 2 || r.Sections[0].Section.Slug != fhir.SectionAllergies || r.Sections[1].Section.Slug != fhir.SectionResults {
		t.Fatalf("sections %+v, want allergies then results", r.Sections)
	}
	res1 := r.Sections[1]
	if len(res1.Items) != 20 || res1.Total != 45 || !res1.More() || r.Total != 46 {
		t.Fatalf("results: %d shown of %d (more %v), total %d; want 20 of 45, more, total 46", len(res1.Items), res1.Total, res1.More(), r.Total)
	}
	for i := 1; i < len(res1.Items); i++ {
		if res1.Items[i-1].Date < res1.Items[i].Date {
			t.Fatalf("equal matches not newest first: %s before %s", res1.Items[i-1].Date, res1.Items[i].Date)
		}
	}
	seen := map[int64]bool{}
	for page := 1; page <= 3; page++ {
		r, err := db.SearchRecord(ctx, p.ID, "hba1c", store.SearchOptions{Section: fhir.SectionResults, PerSection: 20, Page: page})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Sections) != 1 || r.Page != page {
			t.Fatalf("page %d: %d sections, page %d", page, len(r.Sections), r.Page)
		}
		for _, it := range r.Sections[0].Items {
			seen[it.ID] = true
		}
		if want := page < 3; r.Sections[0].More() != want {
			t.Errorf("page %d: more %v, want %v", page, r.Sections[0].More(), want)
		}
	}
	if len(seen) != 45 {
		t.Errorf("the pages show %d different results, want 45", len(seen))
	}
	r, err = db.SearchRecord(ctx, p.ID, "hba1c", store.SearchOptions{Section: fhir.SectionResults, PerSection: 20, Page: 9})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Sections) != 0 || r.Total != 45 {
		t.Errorf("page past the end: %d sections, total %d; want none, and the total 45", len(r.Sections), r.Total)
	}
}

// TestSearchRecordDemo checks the demonstration record: Jane's Metformin is found
// from each source that holds it, by name and by the start of its name.
func TestSearchRecordDemo(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	for _, src := range demo.Generate() {
		res, err := fhir.ParseBundle(src.Bundle)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ImportResources(ctx, store.ImportOptions{Source: src.Name, OrgName: src.OrgName}, "demo", res); err != nil {
			t.Fatal(err)
		}
	}
	jane, err := db.PersonByNHSNumber(ctx, demo.People()[0].NHSNumber)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"metformin", "Metf"} {
		r, err := db.SearchRecord(ctx, jane.ID, q, store.SearchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		sources := map[string]bool{}
		for _, s := range r.Sections {
			for _, it := range s.Items {
				if !strings.Contains(strings.ToLower(it.Display+" "+it.Detail+" "+it.Value), "metformin") {
					t.Errorf("%q finds %q", q, it.Display)
				}
				for _, src := range it.Sources {
					sources[src.Label()] = true
				}
			}
		}
		if len(sources) < 2 {
			t.Errorf("%q finds Metformin from %v, want at least two sources named", q, sources)
		}
	}
}

// TestSearchRecordRanksNamesFirst checks that, within a section, an item named
// with the word comes before a newer one that only mentions it elsewhere.
func TestSearchRecordRanksNamesFirst(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	res := []fhir.Resource{
		searchPatient("p", "9434765870", "Sam"),
		searchMedicine("old", "p", "109081006", "Metformin 500mg tablets", "2019-01-01", "Dr Hughes"),
		searchMedicine("new", "p", "1", "Insulin glargine", "2025-01-01", "Metformin review clinic"),
	}
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "gp"}, "test", res); err != nil {
		t.Fatal(err)
	}
	p, err := db.PersonByNHSNumber(ctx, "9434765870")
	if err != nil {
		t.Fatal(err)
	}
	r, err := db.SearchRecord(ctx, p.ID, "metformin", store.SearchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := found(r), []string{"medicines: Metformin 500mg tablets (gp)", "medicines: Insulin glargine (gp)"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// TestSearchRecordNewestFirstInEachGroup checks that a section lists the
// entries its name or code names first, then those that only mention the
// words, each newest first, as the page's table of dates reads. bm25's own
// order, which it replaced, put longer entries lower whatever their date:
// a hospital's HbA1c of March 2025 came after the GP's of March 2017.
func TestSearchRecordNewestFirstInEachGroup(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name, query  string
		res          []fhir.Resource
		wantDates    []string
		wantMentions int
	}{
		{"named by display and by a plain test name's code", "hba1c", []fhir.Resource{
			searchObservation("gp1", "p", "4548-4", "HbA1c", "2017-03-21"),
			searchObservation("gp2", "p", "4548-4", "HbA1c", "2025-09-21"),
			searchObservation("gp3", "p", "4548-4", "HbA1c", "2026-03-17"),
			searchObservation("lab", "p", "59261-8", "Hemoglobin A1c/Hemoglobin.total in Blood by IFCC protocol", "2025-03-12"),
		}, []string{"2026-03-17", "2025-09-21", "2025-03-12", "2017-03-21"}, 0},
		{"named, then only mentioned", "metformin", []fhir.Resource{
			searchMedicine("old", "p", "109081006", "Metformin 500mg tablets", "2019-01-01", "Dr Hughes"),
			searchMedicine("mention", "p", "1", "Insulin glargine", "2025-01-01", "Metformin review clinic"),
			searchMedicine("new", "p", "109081006", "Metformin 1g modified-release tablets", "2024-01-01", "Dr Hughes"),
		}, []string{"2024-01-01", "2019-01-01", "2025-01-01"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := mustOpenDB(t)
			if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "gp"}, "test", append([]fhir.Resource{searchPatient("p", "9434765870", "Sam")}, tt.res...)); err != nil {
				t.Fatal(err)
			}
			p, err := db.PersonByNHSNumber(ctx, "9434765870")
			if err != nil {
				t.Fatal(err)
			}
			r, err := db.SearchRecord(ctx, p.ID, tt.query, store.SearchOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Sections) != 1 {
				t.Fatalf("%d sections, want 1", len(r.Sections))
			}
			var got []string
			for _, it := range r.Sections[0].Items {
				got = append(got, it.Date[:10])
			}
			if !slices.Equal(got, tt.wantDates) {
				t.Errorf("dates %q, want %q", got, tt.wantDates)
			}
			if got := r.Sections[0].Mentions; got != tt.wantMentions {
				t.Errorf("%d only mention it, want %d", got, tt.wantMentions)
			}
		})
	}
}

// TestSearchRecordBroad checks a section with more matches than bm25 ranks:
// every one is counted, they come newest first (the page says so), the pages
// reach them all once, and the scope tokens the index keeps cannot be searched.
func TestSearchRecordBroad(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	res := []fhir.Resource{searchPatient("p", "9434765870", "Sam")}
	const n = 320
	for i := range n {
		res = append(res, searchObservation(fmt.Sprintf("o%d", i), "p", "2093-3", "Cholesterol", fmt.Sprintf("%04d-01-01T10:00:00Z", 1700+i)))
	}
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "gp", OrgName: "Meanwood Group Practice"}, "test", res); err != nil {
		t.Fatal(err)
	}
	p, err := db.PersonByNHSNumber(ctx, "9434765870")
	if err != nil {
		t.Fatal(err)
	}
	r, err := db.SearchRecord(ctx, p.ID, "chol", store.SearchOptions{PerSection: 20})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Sections) != 1 || r.Total != n || r.Sections[0].Total != n || len(r.Sections[0].Items) != 20 || !r.Sections[0].Newest {
		t.Fatalf("total %d, sections %d; want one section of %d, 20 shown, newest first", r.Total, len(r.Sections), n)
	}
	seen := map[int64]bool{}
	last := "9999"
	for page := 1; page <= (n+19)/20; page++ {
		r, err := db.SearchRecord(ctx, p.ID, "cholesterol", store.SearchOptions{Section: fhir.SectionResults, PerSection: 20, Page: page})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range r.Sections[0].Items {
			if it.Date >= last {
				t.Fatalf("page %d: %s after %s, want newest first", page, it.Date, last)
			}
			last = it.Date
			seen[it.ID] = true
		}
	}
	if len(seen) != n {
		t.Errorf("the pages show %d different results, want %d", len(seen), n)
	}
	for _, q := range []string{fmt.Sprintf("0p%dv", p.ID), fmt.Sprintf("0p%dresults", p.ID), "0p"} {
		if r, err := db.SearchRecord(ctx, p.ID, q, store.SearchOptions{}); err != nil || r.Total != 0 {
			t.Errorf("search %q: %d matches (%v), want none: the scope is not text", q, r.Total, err)
		}
	}
}

// A test is found by what people call it, though the laboratory names it
// otherwise: "egfr", "kidney", "hba1c".
func TestSearchRecordByPlainTestName(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "lab", OrgName: "Leeds Pathology"}, "test", []fhir.Resource{
		searchPatient("sam", "9434765870", "Sam"),
		searchObservation("o1", "sam", "33914-3", "Glomerular filtration rate/1.73 sq M.predicted", "2025-06-01"),
		searchObservation("o2", "sam", "4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "2025-06-01"),
		searchObservation("o3", "sam", "99999-9", "Kidney stone analysis", "2025-06-01"),
	}); err != nil {
		t.Fatal(err)
	}
	sam, err := db.PersonByNHSNumber(ctx, "9434765870")
	if err != nil {
		t.Fatal(err)
	}
	egfr := "results: Glomerular filtration rate/1.73 sq M.predicted (Leeds Pathology)"
	hba1c := "results: Hemoglobin A1c/Hemoglobin.total in Blood (Leeds Pathology)"
	stone := "results: Kidney stone analysis (Leeds Pathology)"
	for _, tt := range []struct {
		query string
		want  []string
	}{
		{"egfr", []string{egfr}},
		{"eGFR", []string{egfr}},
		{"kidney", []string{stone, egfr}}, // by its words first, then by its plain name
		{"hba1c", []string{hba1c}},
		{"hemoglobin", []string{hba1c}},
		{"glomerular", []string{egfr}},
		{"e", nil}, // one letter names nothing
		{"egfr hba1c", nil},
	} {
		r, err := db.SearchRecord(ctx, sam.ID, tt.query, store.SearchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := found(r); !slices.Equal(got, tt.want) {
			t.Errorf("search %q:\n got %q\nwant %q", tt.query, got, tt.want)
		}
	}
}

// TestSearchFindsASourceByItsNewOrganisation: once a source's organisation
// is changed (portal source org), search finds its entries by the new name,
// and no longer by the old.
func TestSearchFindsASourceByItsNewOrganisation(t *testing.T) {
	ctx := context.Background()
	db, sam, _ := searchDB(t)
	if err := db.SetSourceOrg(ctx, "hospital", "St James's University Hospital"); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string]int{"james": 2, "leeds teaching": 0} {
		r, err := db.SearchRecord(ctx, sam.ID, q, store.SearchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Total != want {
			t.Errorf("search %q after the hospital was renamed: %q; want %d found", q, found(r), want)
		}
	}
	if err := db.SetSourceOrg(ctx, "nowhere", "Nowhere"); store.ErrorCode(err) != store.ENOTFOUND {
		t.Errorf("renaming no source: %v; want not found", err)
	}
}

package web_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/demo"
	"github.com/mycarerecord/portal/store/fhir"
)

// resultsFixture is the fixture with the demo organisations' records, so Jane
// Example has HbA1c results from her GP and the hospital.
func resultsFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t)
	for _, src := range demo.Generate() {
		res, err := fhir.ParseBundle(src.Bundle)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.db.ImportResources(context.Background(), store.ImportOptions{Source: src.Name, OrgName: src.OrgName}, src.Name, res); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

const hba1cTrend = "/record/results/loinc-59261-8"

func TestResultTestsPage(t *testing.T) {
	f := resultsFixture(t)
	jane := f.signIn(t, f.jane)
	resp := f.get(t, "/record/results", jane)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	d := doc(t, resp)
	if n := d.Find("h1").Length(); n != 1 {
		t.Errorf("%d h1", n)
	}
	link := d.Find(`a[href="` + hba1cTrend + `"]`)
	if link.Length() != 1 {
		t.Fatalf("no link to the HbA1c trend page")
	}
	row := link.Closest("tr").Text()
	for _, want := range []string{"HbA1c", "mmol/mol", "20 to 41 mmol/mol"} {
		if !strings.Contains(row, want) {
			t.Errorf("HbA1c row %q lacks %q", strings.Join(strings.Fields(row), " "), want)
		}
	}
	// Every test says in words how its newest result compares with the range.
	d.Find("table").First().Find("tbody tr").Each(func(i int, s *goquery.Selection) {
		cell := strings.TrimSpace(s.Find("td").Eq(2).Text())
		if cell == "" {
			t.Errorf("row %d has no words for how it compares with the normal range", i)
		}
	})
	log, err := f.db.AccessLog(context.Background(), f.jane.ID, 1)
	if err != nil || len(log) != 1 || log[0].What != "results" {
		t.Errorf("access log %+v, %v; want a view of results", log, err)
	}
}

func TestResultTrendPage(t *testing.T) {
	f := resultsFixture(t)
	jane := f.signIn(t, f.jane)
	resp := f.get(t, hba1cTrend, jane)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	d := doc(t, resp)
	svg := d.Find(`main svg[role="img"]`)
	if svg.Length() != 1 {
		t.Fatalf("%d svg role=img, want 1", svg.Length())
	}
	ids := strings.Fields(svg.AttrOr("aria-labelledby", ""))
	if len(ids) == 0 || d.Find("#"+ids[0]).Text() == "" || svg.Find("title").Length() != 1 || svg.Find("desc").Length() != 1 {
		t.Errorf("the chart has no accessible name: aria-labelledby %q", ids)
	}
	// Named by its title and described by its desc, each once: named by both,
	// a screen reader read the desc twice (a review).
	if desc := svg.Find("desc").AttrOr("id", ""); len(ids) != 1 || svg.AttrOr("aria-describedby", "") != desc {
		t.Errorf("the chart is named by %q and described by %q; want its title, and its desc %q", ids, svg.AttrOr("aria-describedby", ""), desc)
	}
	if svg.Find("rect.mcr-chart__band").Length() != 1 || svg.Find("path.mcr-chart__line").Length() != 1 {
		t.Errorf("the chart lacks the normal range band or the line")
	}
	if key := d.Find("figcaption").Text(); !strings.Contains(key, "The line shows your results.") || strings.Contains(key, "too close together") {
		t.Errorf("chart key %q: twenty results are drawn every one", key)
	}
	for _, attr := range []string{"style", "onload", "onclick"} {
		if n := d.Find("[" + attr + "]").Length(); n != 0 {
			t.Errorf("%d elements with %s=, which the CSP forbids", n, attr)
		}
	}
	sentence := strings.TrimSpace(d.Find(".mcr-chart-summary").First().Text())
	if !strings.HasPrefix(sentence, "Your HbA1c went from ") || !strings.Contains(sentence, " mmol/mol between March 2017 and ") {
		t.Errorf("summary sentence %q", sentence)
	}
	table := d.Find("main table")
	if table.Length() != 1 || strings.TrimSpace(table.Find("caption").Text()) == "" {
		t.Fatalf("want one table with a caption")
	}
	if n := table.Find(`thead th[scope="col"]`).Length(); n != 5 {
		t.Errorf("%d column headers", n)
	}
	rows := table.Find("tbody tr")
	// 19 from the GP, 3 from the hospital of which 2 are the GP's own: 20 results.
	if rows.Length() != 20 {
		t.Errorf("%d rows, want 20 (the GP's and the hospital's copies of a result once)", rows.Length())
	}
	both := 0
	rows.Each(func(_ int, s *goquery.Selection) {
		from := s.Find("td").Last().Text()
		if strings.Contains(from, "Meanwood") && strings.Contains(from, "Leeds Teaching Hospitals") {
			both++
		}
		if s.Find(`th[scope="row"] a[href^="/record/item/"]`).Length() != 1 {
			t.Errorf("a result's date does not link to its details")
		}
		if flag := cellWords(s.Find("td").Eq(2)); flag != "High" && flag != "Normal" && flag != "Low" {
			t.Errorf("flag %q, want High, Normal or Low in words", flag)
		}
	})
	if both != 2 {
		t.Errorf("%d results name both sources, want 2", both)
	}
	log, err := f.db.AccessLog(context.Background(), f.jane.ID, 1)
	if err != nil || len(log) != 1 || log[0].What != "results:loinc-59261-8" {
		t.Errorf("access log %+v, %v", log, err)
	}
}

// cellWords is a table cell's words without the label a responsive table
// shows beside them on a narrow screen.
func cellWords(s *goquery.Selection) string {
	c := s.Clone()
	c.Find(".nhsuk-table__heading").Remove()
	return strings.Join(strings.Fields(c.Text()), " ")
}

// A page that shows nothing of the record (a test the person has no
// results of, a page of search results past the last) is not found, and
// nothing is logged: the access log says only what was shown.
func TestPagesShowingNothingLogNothing(t *testing.T) {
	f := resultsFixture(t)
	jane := f.signIn(t, f.jane)
	for _, path := range []string{"/record/results/loinc-4548-4", "/record/search?q=metformin&section=medicines&page=9"} {
		before := len(accessLog(t, f, f.jane))
		if resp := f.get(t, path, jane); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("%s: status %d, want 404", path, resp.StatusCode)
		}
		// A page that is shown waits for its own entry, and comes after
		// any the 404 may have started.
		if resp := f.get(t, "/record", jane); resp.StatusCode != http.StatusOK {
			t.Fatalf("/record: %d", resp.StatusCode)
		}
		if added := accessLog(t, f, f.jane)[before:]; !slices.Equal(added, []string{"view summary"}) {
			t.Errorf("%s: the access log gained %q, want only the summary's entry: it names a look never shown", path, added)
		}
	}
}

func TestResultPagesGuarded(t *testing.T) {
	f := resultsFixture(t)
	for _, path := range []string{"/record/results", hba1cTrend} {
		resp := f.get(t, path, nil)
		if resp.StatusCode != http.StatusSeeOther || !toSignIn(resp.Header.Get("Location")) {
			t.Errorf("%s anonymous: %d to %q, want 303 to /signin", path, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	amir := f.signIn(t, f.amir) // the fixture's Amir has no results
	jane := f.signIn(t, f.jane)
	for _, tc := range []struct {
		path   string
		cookie *http.Cookie
	}{
		{hba1cTrend, amir},
		{"/record/results/loinc-0000-0", jane},
		{"/record/results/nonsense", jane},
		{hba1cTrend + "?page=2", jane},
		{hba1cTrend + "?page=x", jane},
		{"/record/results/" + strings.Repeat("a", 200), jane},
	} {
		if resp := f.get(t, tc.path, tc.cookie); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", tc.path, resp.StatusCode)
		} else if h1 := doc(t, resp).Find("h1").Text(); h1 != "Page not found" {
			t.Errorf("%s: h1 %q", tc.path, h1)
		}
	}
	resp := f.get(t, "/record/results", amir)
	if body := doc(t, resp).Find("main").Text(); strings.Contains(body, "HbA1c") || !strings.Contains(body, "You do not have any test results yet") {
		t.Errorf("Amir's results page shows someone else's results or no empty message: %.300q", body)
	}
}

// TestAnswersAreListedApartFromTests: an answer to a question (HL7's
// observation categories survey and social-history), such as a smoking
// status, is listed under "Answers to questions", not among the tests with a
// normal range it can never have (a review: "Tobacco smoking status: Never
// smoked" was a test). With no tests, the page says so and still lists them.
func TestAnswersAreListedApartFromTests(t *testing.T) {
	obs := func(id, category, name, value string) string {
		return `{"resourceType":"Observation","id":"` + id + `","status":"final","subject":{"reference":"Patient/jane"},` +
			`"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"` + category + `"}]}],` +
			`"code":{"text":"` + name + `"},"effectiveDateTime":"2026-03-01","valueString":"` + value + `"}`
	}
	patient := `{"resourceType":"Patient","id":"jane","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}],"name":[{"given":["Jane"],"family":"Example"}],"birthDate":"1957-03-14"}`
	for _, tc := range []struct {
		name      string
		resources []string
		tests     []string // the tests table's row headers' links
	}{
		{"tests and answers", []string{patient, obs("lab", "laboratory", "Ferritin", "Low"), obs("smoke", "social-history", "Tobacco smoking status", "Never smoked"),
			obs("plan", "survey", "PCP prophylaxis plan", "Start drugs")}, []string{"Ferritin"}},
		{"answers alone", []string{patient, obs("smoke", "social-history", "Tobacco smoking status", "Never smoked")}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.importJSON(t, "gp", tc.resources...)
			d := doc(t, f.get(t, "/record/results", f.signIn(t, f.jane)))
			answers := d.Find("h2#answers")
			if answers.Length() != 1 || strings.TrimSpace(answers.Text()) != "Answers to questions" {
				t.Fatalf("no heading 'Answers to questions': %q", answers.Text())
			}
			var tests, listed []string
			d.Find("table").Each(func(_ int, table *goquery.Selection) {
				table.Find("tbody th a").Each(func(_ int, a *goquery.Selection) {
					if table.Find("thead th").First().Text() == "Question" {
						listed = append(listed, strings.TrimSpace(a.Text()))
					} else {
						tests = append(tests, strings.TrimSpace(a.Text()))
					}
				})
			})
			if !slices.Equal(tests, tc.tests) {
				t.Errorf("tests %q; want %q", tests, tc.tests)
			}
			if !slices.Contains(listed, "Tobacco smoking status") {
				t.Errorf("answers %q; want the smoking status among them", listed)
			}
			if got := d.Find("main").Text(); (len(tc.tests) == 0) != strings.Contains(got, "You do not have any test results yet.") {
				t.Errorf("with tests %q, the page says it has none: %v", tc.tests, !strings.Contains(got, "You do not have any test results yet."))
			}
			if d.Find("th:contains('Normal range')").Length() > 0 && len(tc.tests) == 0 {
				t.Error("a normal range column with no tests")
			}
		})
	}
}

// TestAnAnswersPageHasNoNormalRange: the page an answer to a question links
// to lists its answers as the results page lists them, headed "All answers",
// without the normal range columns an answer can never fill (a review of
// the fix that lists answers apart).
func TestAnAnswersPageHasNoNormalRange(t *testing.T) {
	f := newFixture(t)
	f.importJSON(t, "gp",
		`{"resourceType":"Patient","id":"jane","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}],"name":[{"given":["Jane"],"family":"Example"}],"birthDate":"1957-03-14"}`,
		`{"resourceType":"Observation","id":"smoke","status":"final","subject":{"reference":"Patient/jane"},"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"social-history"}]}],"code":{"text":"Tobacco smoking status"},"effectiveDateTime":"2026-03-01","valueString":"Never smoked"}`)
	cookie := f.signIn(t, f.jane)
	link, ok := doc(t, f.get(t, "/record/results", cookie)).Find("h2#answers ~ table tbody th a").Attr("href")
	if !ok {
		t.Fatal("no link from the answer")
	}
	page := doc(t, f.get(t, link, cookie))
	var heads []string
	page.Find("table thead th").Each(func(_ int, s *goquery.Selection) { heads = append(heads, strings.TrimSpace(s.Text())) })
	if got := strings.Join(heads, "|"); got != "Date|Answer|From" {
		t.Errorf("%s, an answer's page, has the columns %q; want Date, Answer and From", link, heads)
	}
	if h := strings.TrimSpace(page.Find("h2#results-table").Text()); h != "All answers" || !strings.Contains(page.Find("main").Text(), "1 answer.") {
		t.Errorf("an answer's page is headed %q; want All answers, saying 1 answer", h)
	}
}

package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

func searchPath(q string, extra ...string) string {
	return "/record/search?q=" + url.QueryEscape(q) + strings.Join(extra, "")
}

// accessLog is what the access log holds about the person, oldest first, as "action what".
func accessLog(t *testing.T, f *fixture, p store.Person) []string {
	t.Helper()
	entries, err := f.db.AccessLog(context.Background(), p.ID, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(entries) - 1; i >= 0; i-- {
		out = append(out, entries[i].Action+" "+entries[i].What)
	}
	return out
}

func TestRecordSearchPage(t *testing.T) {
	f := newFixture(t)
	jane := f.signIn(t, f.jane)

	t.Run("signed out", func(t *testing.T) {
		resp := f.get(t, searchPath("metformin"), nil)
		if resp.StatusCode != http.StatusSeeOther || !toSignIn(resp.Header.Get("Location")) {
			t.Fatalf("got %d to %q, want 303 to /signin", resp.StatusCode, resp.Header.Get("Location"))
		}
	})

	t.Run("no search: the box alone, nothing read or logged", func(t *testing.T) {
		before := len(accessLog(t, f, f.jane))
		for _, tt := range []struct {
			path   string
			status int
			error  string // in the error summary, linked to the box
		}{
			{"/record/search", http.StatusOK, ""},
			{searchPath("   "), http.StatusBadRequest, "Enter what you want to find"},
		} {
			path := tt.path
			resp := f.get(t, path, jane)
			if resp.StatusCode != tt.status {
				t.Fatalf("%s: status %d, want %d", path, resp.StatusCode, tt.status)
			}
			d := doc(t, resp)
			if got := strings.TrimSpace(d.Find(`.nhsuk-error-summary a[href="#q"]`).Text()); got != tt.error {
				t.Errorf("%s: error summary says %q, want %q", path, got, tt.error)
			}
			form := d.Find(`main form[action="/record/search"][method="get"]`)
			if form.Length() != 1 {
				t.Fatalf("%s: want one GET form to /record/search", path)
			}
			if got := strings.TrimSpace(form.Find(`h1 label[for="q"]`).Text()); got != "Search your record" {
				t.Errorf("%s: label %q, want the h1 \"Search your record\"", path, got)
			}
			if form.Find(`input#q[name="q"][type="search"]`).Length() != 1 || form.Find(`button[type="submit"]`).Length() != 1 {
				t.Errorf("%s: want a search box named q and a submit button", path)
			}
			if n := d.Find("h1").Length(); n != 1 {
				t.Errorf("%s: %d h1s, want 1", path, n)
			}
			if d.Find("#no-results, #results-found, table").Length() != 0 {
				t.Errorf("%s: shows results for no search", path)
			}
		}
		if after := len(accessLog(t, f, f.jane)); after != before {
			t.Errorf("an empty search wrote %d access log entries, want none", after-before)
		}
	})

	t.Run("a match, grouped by section, logged without the words", func(t *testing.T) {
		resp := f.get(t, searchPath("metf"), jane)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		d := doc(t, resp)
		if got := d.Find("main h2#results-medicines").Text(); got != "Medicines" {
			t.Errorf("section heading %q, want Medicines", got)
		}
		row := d.Find("main #results-medicines ~ table tbody tr")
		if row.Length() != 1 {
			t.Fatalf("%d rows, want 1", row.Length())
		}
		text := strings.Join(strings.Fields(row.Text()), " ")
		for _, want := range []string{"Metformin 500mg tablets", "10 January 2025", "Active", "Meanwood Group Practice"} {
			if !strings.Contains(text, want) {
				t.Errorf("row %q lacks %q", text, want)
			}
		}
		if got := d.Find("#q").AttrOr("value", ""); got != "metf" {
			t.Errorf("the box holds %q, want the search kept", got)
		}
		if got := d.Find("title").Text(); !strings.Contains(got, "metf") {
			t.Errorf("title %q does not say what was searched for", got)
		}
		log := accessLog(t, f, f.jane)
		if len(log) == 0 || log[len(log)-1] != "view search" {
			t.Fatalf("access log %q, want a last entry \"view search\"", log)
		}
		for _, e := range log {
			if strings.Contains(strings.ToLower(e), "metf") {
				t.Errorf("the access log keeps the search words: %q", e)
			}
		}
	})

	t.Run("another person's record is never searched", func(t *testing.T) {
		for _, path := range []string{searchPath("sertraline"), searchPath("sertraline", "&person=", itoa(f.amir.ID)), searchPath("sertraline", "&person_id=", itoa(f.amir.ID))} {
			resp := f.get(t, path, jane)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: status %d", path, resp.StatusCode)
			}
			d := doc(t, resp)
			if d.Find("#no-results").Length() != 1 {
				t.Errorf("%s: no \"no results\" message", path)
			}
			if strings.Contains(d.Find("main table").Text(), "Sertraline") {
				t.Errorf("%s: Jane's search shows Amir's medicine", path)
			}
		}
	})

	t.Run("nothing found says so kindly, with tips", func(t *testing.T) {
		resp := f.get(t, searchPath("xyzzyplugh"), jane)
		d := doc(t, resp)
		if got := d.Find("#no-results").Text(); got != "No results for ‘xyzzyplugh’" {
			t.Errorf("heading %q", got)
		}
		if d.Find("main ul.nhsuk-list--bullet li").Length() < 2 {
			t.Error("no tips")
		}
	})

	t.Run("search syntax and markup are only text", func(t *testing.T) {
		for _, q := range []string{`"`, `AND (`, `*`, `NEAR(a b)`, `metformin OR`, `<script>alert(1)</script>`, `')--`, "\xff"} {
			resp := f.get(t, searchPath(q), jane)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%q: status %d", q, resp.StatusCode)
			}
			d := doc(t, resp)
			if d.Find("#no-results").Length() != 1 {
				t.Errorf("%q: want the no-results message", q)
			}
			if d.Find("main script").Length() != 0 {
				t.Errorf("%q: a script element reached the page", q)
			}
		}
	})

	t.Run("too long", func(t *testing.T) {
		before := len(accessLog(t, f, f.jane))
		long := strings.Repeat("metformin ", 20) + "x"
		resp := f.get(t, searchPath(long), jane)
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("status %d, want 400", resp.StatusCode)
		}
		d := doc(t, resp)
		if got := d.Find(".nhsuk-error-summary a[href='#q']").Text(); got != "Your search must be 200 characters or fewer" {
			t.Errorf("error summary %q", got)
		}
		if !strings.HasPrefix(d.Find("title").Text(), "Error: ") {
			t.Errorf("title %q does not start with Error:", d.Find("title").Text())
		}
		if d.Find(".nhsuk-form-group--error #q-error").Length() != 1 || d.Find("#q.nhsuk-input--error").AttrOr("value", "") != strings.TrimSpace(long) {
			t.Error("the box is not marked with the error and its text")
		}
		if d.Find("table, #no-results").Length() != 0 {
			t.Error("a too-long search shows results")
		}
		if after := len(accessLog(t, f, f.jane)); after != before {
			t.Error("a refused search was logged as a look at the record")
		}
		if resp := f.get(t, searchPath(strings.Repeat("é", 200)), jane); resp.StatusCode != http.StatusOK {
			t.Errorf("200 characters: status %d, want 200", resp.StatusCode)
		}
	})

	t.Run("wrong section or page", func(t *testing.T) {
		for _, path := range []string{searchPath("metformin", "&section=secrets"), searchPath("metformin", "&page=2"), searchPath("metformin", "&section=medicines&page=2"), searchPath("metformin", "&section=medicines&page=x")} {
			if resp := f.get(t, path, jane); resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s: status %d, want 404", path, resp.StatusCode)
			}
		}
	})
}

// TestRecordSearchSeeAll checks the cap per section: 20 shown with "See all 25",
// whose pages show every match of that section.
func TestRecordSearchSeeAll(t *testing.T) {
	f := newFixture(t)
	var res []fhir.Resource
	for i := range 24 {
		res = append(res, medicine(fmt.Sprintf("many-%d", i), "jane", fmt.Sprintf("Metformin %dmg tablets", 100+i)))
	}
	if _, err := f.db.ImportResources(context.Background(), store.ImportOptions{Source: "gp"}, "more", res); err != nil {
		t.Fatal(err)
	}
	jane := f.signIn(t, f.jane)
	d := doc(t, f.get(t, searchPath("metformin"), jane))
	if n := d.Find("#results-medicines ~ table tbody tr").Length(); n != 20 {
		t.Errorf("%d rows, want 20", n)
	}
	link := d.Find(`a[href*="section=medicines"]`)
	if got := link.Text(); got != "See all 25 matches in medicines" {
		t.Fatalf("see-all link %q", got)
	}
	href, _ := link.Attr("href")
	d = doc(t, f.get(t, href, jane))
	if n := d.Find("main table tbody tr").Length(); n != 20 {
		t.Errorf("first page: %d rows, want 20", n)
	}
	next := d.Find(".nhsuk-pagination__link--next")
	if next.Length() != 1 {
		t.Fatal("no next page")
	}
	href, _ = next.Attr("href")
	resp := f.get(t, href, jane)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: status %d", href, resp.StatusCode)
	}
	d = doc(t, resp)
	if n := d.Find("main table tbody tr").Length(); n != 5 {
		t.Errorf("second page: %d rows, want 5", n)
	}
	if got := strings.TrimSpace(d.Find("main p").FilterFunction(func(_ int, s *goquery.Selection) bool { return strings.HasPrefix(s.Text(), "Showing") }).Text()); got != "Showing 21 to 25 of 25 matches." {
		t.Errorf("second page says %q", got)
	}
}

package web_test

import (
	"net/url"
	"strings"
	"testing"
)

// The "keep this out of sharing" question, its title and the choices page
// name an entry as its own page does, in plain words (views.ItemName), not
// by the source's coded display ("Hemoglobin A1c/Hemoglobin.total in Blood
// by IFCC protocol" for "HbA1c": a review, WCAG 3.2.4).
func TestKeepOutQuestionNamesTheEntryAsItsPageDoes(t *testing.T) {
	f := resultsFixture(t)
	jane := f.signIn(t, f.jane)
	entry := doc(t, f.get(t, hba1cTrend, jane))
	href, _ := entry.Find(`main table a[href^="/record/item/"]`).First().Attr("href")
	page := doc(t, f.get(t, href, jane))
	name := strings.TrimSpace(page.Find("h1").Text())
	keep, _ := page.Find(`main a[href^="/choices/entry"]`).Attr("href")
	if name != "HbA1c" || keep == "" {
		t.Fatalf("the HbA1c result's page: h1 %q, keep-out link %q", name, keep)
	}
	q := doc(t, f.get(t, keep, jane))
	caption := strings.TrimSpace(q.Find("legend .nhsuk-caption-l").Text())
	title := q.Find("head title").Text()
	if caption != name || !strings.Contains(title, " – "+name+" – ") {
		t.Errorf("the question names the entry %q, titled %q; its own page calls it %q", caption, title, name)
	}
	key, _ := q.Find(`input[name="key"]`).Attr("value")
	rec := f.post(t, "/choices/entry", jane, url.Values{"csrf": {csrfOf(t, f, jane)}, "for": {"self"}, "key": {key}, "answer": {"yes"}})
	if row := strings.Join(strings.Fields(recDoc(t, rec).Find("dl .nhsuk-summary-list__row").First().Text()), " "); !strings.Contains(row, name) {
		t.Errorf("the check page says %q; want the entry called %q", row, name)
	}
	f.post(t, "/choices/entry/confirm", jane, url.Values{"csrf": {csrfOf(t, f, jane)}, "for": {"self"}, "key": {key}, "answer": {"yes"}})
	choices := doc(t, f.get(t, "/choices", jane))
	kept := strings.TrimSpace(choices.Find(`a[href^="/choices/entry?key="]`).Closest(".nhsuk-summary-list__row").Find("dt").Text())
	if kept != name {
		t.Errorf("the choices page lists the entry as %q; its own page calls it %q", kept, name)
	}
}

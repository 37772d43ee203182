package web_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// Page titles tell pages apart (WCAG 2.4.2): a search of one part of the
// record says which, and a carer's record pages say whose record it is.
func TestTitlesTellPagesApart(t *testing.T) {
	f := newFixture(t)
	jane := f.signIn(t, f.jane)
	john := f.newCarer(t, "John Smith")
	f.grant(t, f.jane, f.ownAccount(t, f.jane), john, fhir.SectionMedicines, store.ScopeChoices)
	for _, tc := range []struct {
		who, path, want string
	}{
		{"Jane", "/record/medicines", "Medicines – My Care Record"},
		{"John", "/record/medicines", "Medicines – " + f.jane.Name() + "'s record – My Care Record"},
		{"Jane", "/record/search?q=metformin&section=medicines", "Search results for ‘metformin’ in medicines – My Care Record"},
		{"Jane", "/record/search?q=metformin", "Search results for ‘metformin’ – My Care Record"},
	} {
		cookie := jane
		if tc.who == "John" {
			cookie = john.cookie
		}
		if got := doc(t, f.get(t, tc.path, cookie)).Find("head > title").Text(); got != tc.want {
			t.Errorf("%s's %s is titled %q; want %q", tc.who, tc.path, got, tc.want)
		}
	}
}

// "Check your change" was one title for all six choices and every entry
// kept out, and to a carer named nobody; an entry's question named no entry
// (found by an accessibility review). Each now says which choice, and whose.
func TestChoiceTitlesTellPagesApart(t *testing.T) {
	f := newFixture(t)
	jane := f.signIn(t, f.jane)
	john := f.newCarer(t, "John Smith")
	forJane := f.grant(t, f.jane, f.ownAccount(t, f.jane), john, fhir.SectionMedicines, store.ScopeChoices)
	for _, tc := range []struct {
		who, path, want string
		form            url.Values
	}{
		{"Jane", "/choices/research", "Check your change: Research – My Care Record", url.Values{"answer": {"no"}, "for": {"self"}}},
		{"Jane", "/choices/planning", "Check your change: Planning and improving services – My Care Record", url.Values{"answer": {"no"}, "for": {"self"}}},
		{"John", "/choices/research", "Check your change: Research – " + f.jane.Name() + "'s choices – My Care Record", url.Values{"answer": {"no"}, "for": {itoa(forJane.ID)}}},
	} {
		cookie, id := jane, ""
		if tc.who == "John" {
			cookie, id = john.cookie, john.id
		}
		token := ""
		if id != "" {
			token = sessionCSRF(t, f, id)
		} else {
			token = csrfOf(t, f, jane)
		}
		tc.form.Set("csrf", token)
		rec := f.post(t, tc.path, cookie, tc.form)
		if got := docOf(t, rec.Body.String()).Find("head > title").Text(); got != tc.want {
			t.Errorf("%s's check page for %s is titled %q; want %q", tc.who, tc.path, got, tc.want)
		}
	}
	// An entry's question names the entry.
	item, _ := doc(t, f.get(t, "/record/medicines", jane)).Find(`main a[href^="/record/item/"]`).First().Attr("href")
	entry := doc(t, f.get(t, "/record/item/"+strings.TrimPrefix(item, "/record/item/"), jane))
	name := strings.TrimSpace(entry.Find("h1").Text())
	keep, ok := entry.Find(`main a[href^="/choices/entry"]`).Attr("href")
	if item == "" || !ok {
		t.Fatalf("no entry (%q) with a link to keep it out of sharing", item)
	}
	if got, want := doc(t, f.get(t, keep, jane)).Find("head > title").Text(), "Do you want to keep this entry out of sharing? – "+name+" – My Care Record"; got != want {
		t.Errorf("an entry's question is titled %q; want %q", got, want)
	}
}

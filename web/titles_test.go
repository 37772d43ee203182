package web_test

import (
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

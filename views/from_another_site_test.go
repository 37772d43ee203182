package views

import "testing"

// The page another website's link leads to says what it asked for, and, to
// a carer, whose record: a carer may help several people (a review: it said
// "this record").
func TestFromAnotherSiteSaysWhoseRecord(t *testing.T) {
	own, carer := Page{}, Page{Acting: &Acting{Name: "Mrs Jane Example"}}
	for _, tc := range []struct {
		p          Page
		what, want string
	}{
		{own, "download", "download your record"},
		{own, "print", "print your record"},
		{carer, "download", "download Mrs Jane Example's record"},
		{carer, "document", "download a document from Mrs Jane Example's record"},
	} {
		if got := fromAnotherSiteAction(tc.p, tc.what); got != tc.want {
			t.Errorf("%q for %v: %q, want %q", tc.what, tc.p.Acting != nil, got, tc.want)
		}
	}
}

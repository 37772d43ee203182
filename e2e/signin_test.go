package e2e

import (
	"strconv"
	"testing"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// signedIn starts a portal with demo data and enrols its first demo person
// (Jane Example) with a passkey in a new tab, returning the tab on /record.
// Journeys other than enrolment itself start here.
func signedIn(t *testing.T) (*portal, *tab, webauthn.AuthenticatorID) {
	t.Helper()
	return signedInTo(t, startPortal(t))
}

// signedInTo is signedIn on a portal already started.
func signedInTo(t *testing.T, p *portal) (*portal, *tab, webauthn.AuthenticatorID) {
	t.Helper()
	tb, auth := enrolledTab(t, p, p.Invites[0])
	return p, tb, auth
}

// proveCode enters the invitation's enrolment code and date of birth on
// its link's page, leaving the tab on "Create a passkey".
func proveCode(tb *tab, inv invite) {
	tb.t.Helper()
	wantPage(tb, "/enrol", tb.navigate(inv.URL).Status)
	tb.do("enter the code and date of birth",
		chromedp.SetValue(chromedp.CSS("#code"), inv.Code),
		chromedp.SetValue(chromedp.CSS("#dob-day"), strconv.Itoa(inv.BirthDate.Day())),
		chromedp.SetValue(chromedp.CSS("#dob-month"), strconv.Itoa(int(inv.BirthDate.Month()))),
		chromedp.SetValue(chromedp.CSS("#dob-year"), strconv.Itoa(inv.BirthDate.Year())),
	)
	wantPage(tb, "/enrol/passkey", tb.follow("submit the enrolment form", chromedp.Click(chromedp.CSS(enrolSubmit))).Status)
}

// enrolledTab enrols the demo person of the invitation with a passkey in a
// new tab, returning the tab on /record.
func enrolledTab(t *testing.T, p *portal, inv invite) (*tab, webauthn.AuthenticatorID) {
	t.Helper()
	tb := newTab(t)
	tb.navigate(p.BaseURL + "/")
	auth := tb.addPasskeyAuthenticator()
	proveCode(tb, inv)
	tb.waitVisible("#passkey-create")
	status := tb.clickThenLoad("create a passkey", "#passkey-create")
	wantPage(tb, "/record", status)
	return tb, auth
}

package e2e

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// recordSections are the slugs of the record's section pages, in the order
// the summary lists them.
var recordSections = []string{
	"allergies", "medicines", "conditions", "immunisations", "results",
	"encounters", "procedures", "documents", "care-plans", "care-team",
}

// demoFacts are words each of these sections must show for Jane Example:
// her demo record has a penicillin allergy, Metformin and HbA1c results.
var demoFacts = map[string][]string{
	"allergies": {"penicillin"},
	"medicines": {"metformin"},
	"results":   {"a1c"}, // "HbA1c", "Haemoglobin A1c" or LOINC's "Hemoglobin A1c"
}

const (
	enrolSubmit   = `form[action="/enrol"] button[type="submit"], form[action="/enrol"] input[type="submit"], form[action="/enrol"] button:not([type])`
	signOutButton = `form[action="/signout"] button, form[action="/signout"] input[type="submit"]`
)

// TestPatientJourney enrols Jane Example with a passkey, reads every section
// of her record, signs out and signs in again, checking each page with axe.
func TestPatientJourney(t *testing.T) {
	began := time.Now()
	p := startPortal(t)
	jane := p.Invites[0]
	if !strings.Contains(jane.Name, "Jane") {
		t.Fatalf("first demo person is %q, want Jane Example", jane.Name)
	}
	t.Logf("portal up on %s in %s", p.BaseURL, time.Since(began).Round(time.Millisecond))
	tb := newTab(t)
	lap := time.Now()
	stepDone := func(name string) {
		t.Logf("%-28s %6s", name, time.Since(lap).Round(time.Millisecond))
		lap = time.Now()
	}

	// 1. The start page; from a fresh page the first Tab reaches the skip link.
	resp := tb.navigate(p.BaseURL + "/")
	wantPage(tb, "/", resp.Status)
	tb.do("press Tab", chromedp.KeyEvent(kb.Tab))
	type focus struct {
		Tag, Class, Href, Text string
	}
	f := eval[focus](tb, `(() => { const e = document.activeElement || document.body;
		return {Tag: e.tagName, Class: e.className || '', Href: e.getAttribute('href') || '', Text: (e.textContent || '').trim()}; })()`)
	if f.Tag != "A" || !slices.Contains(strings.Fields(f.Class), "nhsuk-skip-link") || f.Href != "#maincontent" {
		t.Errorf("first Tab on / focuses <%s class=%q href=%q>%s, want the skip link a.nhsuk-skip-link href=#maincontent", f.Tag, f.Class, f.Href, f.Text)
	}
	if n := tb.nodeCount("#maincontent"); n != 1 {
		t.Errorf("/ has %d elements with id maincontent, want 1 for the skip link to land on", n)
	}
	tb.checkPage()
	auth := tb.addPasskeyAuthenticator()
	stepDone("start page")

	// 2. Enrol: a wrong date of birth first, then the right one.
	resp = tb.navigate(jane.URL)
	wantPage(tb, "/enrol", resp.Status)
	if got := value(tb, "#code"); got != jane.Code {
		t.Errorf("enrolment code field holds %q, want %q from the link", got, jane.Code)
	}
	tb.checkPage()

	wrong := jane.BirthDate.AddDate(1, 1, 1) // a real date, just not hers
	tb.do("enter a wrong date of birth",
		chromedp.SendKeys(chromedp.CSS("#dob-day"), strconv.Itoa(wrong.Day())),
		chromedp.SendKeys(chromedp.CSS("#dob-month"), strconv.Itoa(int(wrong.Month()))),
		chromedp.SendKeys(chromedp.CSS("#dob-year"), strconv.Itoa(wrong.Year())),
	)
	// Chromium logs the error status of a page load as a console error.
	tb.allow("the server responded with a status of 400")
	tb.allow("the server responded with a status of 422")
	resp = tb.follow("submit a wrong date of birth", chromedp.Click(chromedp.CSS(enrolSubmit)))
	if resp.Status != http.StatusBadRequest && resp.Status != http.StatusUnprocessableEntity {
		t.Errorf("enrolment with a wrong date of birth answered %d %s, want 400 or 422 with the form again (page says: %.300s)", resp.Status, resp.StatusText, tb.text())
	}
	if got := tb.path(); got != "/enrol" {
		t.Errorf("after a wrong date of birth the browser is on %s, want /enrol", got)
	}
	checkErrorSummary(tb)
	tb.checkPage()
	stepDone("enrol, wrong date of birth")

	if got := value(tb, "#code"); got != jane.Code {
		t.Errorf("after a wrong date of birth the code field holds %q, want %q kept", got, jane.Code)
	}
	tb.do("enter the right date of birth",
		chromedp.SetValue(chromedp.CSS("#code"), jane.Code),
		chromedp.SetValue(chromedp.CSS("#dob-day"), strconv.Itoa(jane.BirthDate.Day())),
		chromedp.SetValue(chromedp.CSS("#dob-month"), strconv.Itoa(int(jane.BirthDate.Month()))),
		chromedp.SetValue(chromedp.CSS("#dob-year"), strconv.Itoa(jane.BirthDate.Year())),
	)
	resp = tb.follow("submit the right date of birth", chromedp.Click(chromedp.CSS(enrolSubmit)))
	wantPage(tb, "/enrol/passkey", resp.Status)
	// The button is hidden until the script knows the browser can make passkeys.
	tb.waitVisible("#passkey-create")
	tb.checkPage()
	stepDone("enrol, right date of birth")

	// 3. Create the passkey: the portal signs Jane in and shows her record.
	status := tb.clickThenLoad("create a passkey", "#passkey-create")
	wantPage(tb, "/record", status)
	creds := tb.credentials(auth)
	if len(creds) != 1 {
		t.Errorf("virtual authenticator holds %d credentials after enrolment, want 1", len(creds))
	}
	for _, c := range creds {
		if !c.IsResidentCredential {
			t.Errorf("credential %x is not resident (discoverable); sign-in without a username needs it", c.CredentialID)
		}
		if c.RpID != "localhost" {
			t.Errorf("credential is for RP ID %q, want localhost", c.RpID)
		}
	}
	checkRecordPage(tb, "Jane")
	tb.checkPage()
	stepDone("create passkey")

	// 4. The summary links to every section; each section is a sound page.
	links := eval[[]string](tb, `[...document.querySelectorAll('a[href]')].filter(a => a.origin === location.origin).map(a => a.pathname)`)
	for _, slug := range recordSections {
		if !slices.Contains(links, "/record/"+slug) {
			t.Errorf("/record has no link to /record/%s", slug)
		}
	}
	for _, slug := range recordSections {
		path := "/record/" + slug
		resp := tb.navigate(p.BaseURL + path)
		wantPage(tb, path, resp.Status)
		if n := tb.nodeCount("h1"); n != 1 {
			t.Errorf("%s has %d h1 elements, want 1", path, n)
		}
		if h1 := strings.TrimSpace(eval[string](tb, `document.querySelector('h1')?.innerText ?? ''`)); h1 == "" {
			t.Errorf("%s has an empty h1", path)
		}
		text := strings.ToLower(tb.text())
		for _, fact := range demoFacts[slug] {
			if !strings.Contains(text, fact) {
				t.Errorf("%s does not show %q from Jane's demo record", path, fact)
			}
		}
		if slug == "medicines" {
			// One entry per fact: Metformin from the GP and the hospital is one row naming both.
			rows := eval[[]string](tb, `[...document.querySelectorAll('main tbody tr')].map(r => r.innerText).filter(t => /metformin/i.test(t))`)
			both := 0
			for _, r := range rows {
				if strings.Contains(r, "Meanwood Group Practice") && strings.Contains(r, "Leeds Teaching Hospitals") {
					both++
				}
			}
			if both == 0 {
				t.Errorf("no Metformin row on %s names both the GP and the hospital: %q", path, rows)
			}
		}
		tb.checkPage()
	}
	// A section that does not exist answers with the NHS "Page not found" page, also checked by axe.
	tb.allow("the server responded with a status of 404")
	resp = tb.navigate(p.BaseURL + "/record/no-such-section")
	if resp.Status != http.StatusNotFound {
		t.Errorf("/record/no-such-section answered %d, want 404", resp.Status)
	}
	if h1 := eval[string](tb, `document.querySelector('h1')?.innerText ?? ''`); h1 != "Page not found" {
		t.Errorf("the not-found page's heading is %q", h1)
	}
	tb.checkPage()
	stepDone("record sections")

	// 5. Sign out; the record is then out of reach.
	resp = tb.follow("sign out", chromedp.Click(chromedp.CSS(signOutButton)))
	wantPage(tb, "/signed-out", resp.Status)
	tb.checkPage()
	// The sign-in page starts a passkey autofill (conditional) request, which
	// the virtual authenticator answers at once. Hold it until the button is
	// clicked, as a person would pick a way to sign in.
	tb.setPresence(auth, false)
	resp = tb.navigate(p.BaseURL + "/record")
	wantPage(tb, "/signin", resp.Status)
	tb.checkPage()
	stepDone("sign out")

	// 6. Sign in again with the passkey button.
	tb.waitVisible("#passkey-signin")
	tb.setPresence(auth, true)
	status = tb.clickThenLoad("sign in with the passkey button", "#passkey-signin")
	wantPage(tb, "/record", status)
	checkRecordPage(tb, "Jane")
	// Signing in queued a sync with the unreachable source: the page says how that source stands.
	if text := tb.text(); !strings.Contains(text, "Leeds Community Healthcare") {
		t.Errorf("the record page does not say how the FHIR source stands: %.400s", text)
	}
	if n := len(tb.credentials(auth)); n != 1 {
		t.Errorf("virtual authenticator holds %d credentials after sign-in, want still 1", n)
	}
	tb.checkPage()
	stepDone("sign in with button")

	// 7. Sign out and in again through autofill: the sign-in page's
	// conditional request alone brings Jane back to her record.
	resp = tb.follow("sign out again", chromedp.Click(chromedp.CSS(signOutButton)))
	wantPage(tb, "/signed-out", resp.Status)
	tb.checkConsole("signed out again")
	status = tb.waitForPage("sign in through passkey autofill", p.BaseURL+"/signin", "/record")
	wantPage(tb, "/record", status)
	checkRecordPage(tb, "Jane")
	tb.checkConsole("signed in through autofill")
	stepDone("sign in with autofill")
	t.Logf("journey took %s", time.Since(began).Round(time.Millisecond))
}

// wantPage checks that the tab shows the page at path and that it loaded
// with status 200.
func wantPage(tb *tab, path string, status int64) {
	tb.t.Helper()
	if got := tb.path(); got != path {
		tb.t.Fatalf("on %s, want %s (page says: %.300s)", got, path, tb.text())
	}
	if status != http.StatusOK {
		tb.t.Errorf("%s answered %d, want 200 (page says: %.300s)", path, status, tb.text())
	}
}

// value is the current value of a form field.
func value(tb *tab, selector string) string {
	tb.t.Helper()
	v := eval[*string](tb, `document.querySelector(`+jsString(selector)+`)?.value ?? null`)
	if v == nil {
		tb.t.Fatalf("%s has no form field %s (page says: %.300s)", tb.location(), selector, tb.text())
	}
	return *v
}

// checkErrorSummary checks the NHS error summary is there and each of its
// links leads to a field on the page.
func checkErrorSummary(tb *tab) {
	tb.t.Helper()
	if n := tb.nodeCount(".nhsuk-error-summary"); n != 1 {
		tb.t.Errorf("%s has %d .nhsuk-error-summary, want 1", tb.location(), n)
		return
	}
	links := eval[[]string](tb, `[...document.querySelectorAll('.nhsuk-error-summary a')].map(a => a.getAttribute('href') || '')`)
	if len(links) == 0 {
		tb.t.Errorf("%s: error summary has no link to the field in error", tb.location())
	}
	for _, href := range links {
		id, ok := strings.CutPrefix(href, "#")
		if !ok || id == "" {
			tb.t.Errorf("error summary link %q is not a link to a field on the page", href)
			continue
		}
		if n := eval[int](tb, `document.getElementById(`+jsString(id)+`) ? 1 : 0`); n != 1 {
			tb.t.Errorf("error summary links to #%s, which is not on the page", id)
		}
	}
	tb.t.Logf("error summary says: %q", strings.Join(strings.Fields(eval[string](tb, `document.querySelector('.nhsuk-error-summary').innerText`)), " "))
}

// checkRecordPage checks the tab shows a record page with one h1, for the
// person named.
func checkRecordPage(tb *tab, name string) {
	tb.t.Helper()
	if n := tb.nodeCount("h1"); n != 1 {
		tb.t.Errorf("%s has %d h1 elements, want 1", tb.location(), n)
	}
	if text := tb.text(); !strings.Contains(text, name) {
		tb.t.Errorf("%s does not mention %s: %.300s", tb.location(), name, text)
	}
}

// TestPagesHaveStrictCSP fetches the public pages without a browser: each
// answers 200 with a Content-Security-Policy that allows no inline script or
// style, and the HTML has nothing inline that such a policy would block.
func TestPagesHaveStrictCSP(t *testing.T) {
	p := startPortal(t)
	enrol, err := url.Parse(p.Invites[0].URL)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	for _, tc := range []struct{ name, path string }{
		{"start", "/"},
		{"signin", "/signin"},
		{"enrol", enrol.RequestURI()},
	} {
		path := tc.path
		t.Run(tc.name, func(t *testing.T) {
			resp, err := client.Get(p.BaseURL + path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("GET %s: %s, want 200", path, resp.Status)
			}
			csp := resp.Header.Get("Content-Security-Policy")
			switch {
			case csp == "":
				t.Errorf("GET %s: no Content-Security-Policy header", path)
			case strings.Contains(csp, "'unsafe-inline'"):
				t.Errorf("GET %s: Content-Security-Policy allows 'unsafe-inline': %s", path, csp)
			case strings.Contains(csp, "'unsafe-eval'"):
				t.Errorf("GET %s: Content-Security-Policy allows 'unsafe-eval': %s", path, csp)
			case !strings.Contains(csp, "default-src") && !strings.Contains(csp, "script-src"):
				t.Errorf("GET %s: Content-Security-Policy has neither default-src nor script-src: %s", path, csp)
			}
			doc, err := goquery.NewDocumentFromReader(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			doc.Find("script:not([src])").Each(func(_ int, s *goquery.Selection) {
				t.Errorf("GET %s: inline <script> the policy blocks: %.120s", path, s.Text())
			})
			doc.Find("style").Each(func(_ int, s *goquery.Selection) {
				t.Errorf("GET %s: inline <style> the policy blocks: %.120s", path, s.Text())
			})
			doc.Find("[style]").Each(func(_ int, s *goquery.Selection) {
				t.Errorf("GET %s: style attribute the policy blocks on <%s>", path, goquery.NodeName(s))
			})
			doc.Find("*").Each(func(_ int, s *goquery.Selection) {
				for _, a := range s.Nodes[0].Attr {
					if strings.HasPrefix(a.Key, "on") {
						t.Errorf("GET %s: inline event handler %s on <%s> the policy blocks", path, a.Key, goquery.NodeName(s))
					}
				}
			})
			doc.Find("script[src]").Each(func(_ int, s *goquery.Selection) {
				if src, _ := s.Attr("src"); strings.Contains(src, "://") && !strings.HasPrefix(src, p.BaseURL) {
					t.Errorf("GET %s: script from another site: %s", path, src)
				}
			})
		})
	}
}

package views_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/a-h/templ"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
	"github.com/mycarerecord/portal/views"
)

// fakeAssets names files the way static.Assets does, without the files.
type fakeAssets struct{}

func (fakeAssets) URL(name string) string {
	i := strings.LastIndex(name, ".")
	return "/static/" + name[:i] + ".0123456789" + name[i:]
}

const token = "csrf-token-value"

func page(title, path string, signedIn bool) views.Page {
	p := views.Page{Title: title, Demo: true, CSRF: token, Assets: fakeAssets{}, Path: path}
	if signedIn {
		p.SignedIn, p.AccountName = true, "Mrs Jane Example"
	}
	return p
}

var jane = store.Person{ID: 1, Prefix: "Mrs", Given: "Jane", Family: "Example", BirthDate: "1957-03-14", NHSNumber: "9434765919"}

var gp = store.Source{ID: 1, Name: "gp", OrgName: "Meanwood Group Practice", LastImportAt: "2026-11-20T10:00:00Z"}

func items(section string, n int) []store.RecordItem {
	var its []store.RecordItem
	for i := range n {
		its = append(its, store.RecordItem{
			ID: int64(i + 1), Section: section, Display: fmt.Sprintf("Thing %d", i+1), Date: "2026-03-14T09:30:00Z",
			Status: "active", Value: "48 mmol/mol", Organisation: "Leeds Pathology", Detail: "Taken at the surgery", Source: gp,
		})
	}
	return its
}

func section(slug string) fhir.Section {
	s, _ := fhir.SectionBySlug(slug)
	return s
}

func render(t *testing.T, c templ.Component) (*goquery.Document, string) {
	t.Helper()
	var buf bytes.Buffer
	if err := c.Render(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	d, err := goquery.NewDocumentFromReader(strings.NewReader(html))
	if err != nil {
		t.Fatal(err)
	}
	return d, html
}

// pages is every page, in the states worth checking.
func pages() []struct {
	name     string
	c        templ.Component
	signedIn bool
} {
	summary := store.Summary{
		Counts:        map[string]int{"allergies": 1, "medicines": 3, "results": 12},
		Allergies:     items("allergies", 1),
		Medicines:     items("medicines", 3),
		RecentResults: items("results", 5),
		Sources:       []store.Source{gp, {ID: 2, Name: "leeds-lab"}},
	}
	manyPages := store.SectionPage{Section: section("results"), Items: items("results", 25), Total: 130, Page: 2, PerPage: 25}
	odd := store.SectionPage{Section: section("medicines"), Items: []store.RecordItem{{Display: "", Date: "", Status: "", Source: gp}}, Total: 1, Page: 1, PerPage: 25}
	return []struct {
		name     string
		c        templ.Component
		signedIn bool
	}{
		{"start", views.Start(page("My Care Record", "/", false)), false},
		{"sign in", views.SignIn(page("Sign in", "/signin", false), ""), false},
		{"sign in, going on to a page", views.SignIn(page("Sign in", "/signin", false), "/record/results"), false},
		{"enrol", views.Enrol(page("Set up your account", "/enrol", false), views.EnrolForm{Code: "ABCD"}), false},
		{"enrol with errors", views.Enrol(page("Set up your account", "/enrol", false), views.EnrolForm{
			Code: "<script>alert(1)</script>", Day: "31", Month: "2", Year: "1957",
			Errors: []views.FieldError{{"code", "Enter your enrolment code"}, {"dob-day", "Date of birth must be a real date"}},
		}), false},
		{"enrol passkey", views.EnrolPasskey(page("Create a passkey", "/enrol/passkey", false), jane, true, views.EnrolProblem{}), false},
		{"enrol passkey, out of date", views.EnrolPasskey(page("Create a passkey", "/enrol/passkey", false), jane, true, views.EnrolProblem{Message: "Nothing was added. Use your passkey once more.", UseOwn: true}), false},
		{"enrol passkey, out of date, the record with an account since", views.EnrolPasskey(page("Create a passkey", "/enrol/passkey", false), jane, false, views.EnrolProblem{Message: "Use your own", UseOwn: true, Otherwise: "Create one"}), false},
		{"record summary", views.RecordSummary(page("Your health record", "/record", true), jane, summary), true},
		{"empty record summary", views.RecordSummary(page("Your health record", "/record", true), jane, store.Summary{}), true},
		{"summary of someone who died", views.RecordSummary(page("Your health record", "/record", true), jane, store.Summary{Died: "1996-01-21T19:20:06+00:00"}), true},
		{"section, page 2 of 6", views.RecordSection(page("Test results", "/record/results", true), jane, manyPages), true},
		{"empty section", views.RecordSection(page("Allergies", "/record/allergies", true), jane, store.SectionPage{Section: section("allergies"), Page: 1, PerPage: 25}), true},
		{"section with blank fields", views.RecordSection(page("Medicines", "/record/medicines", true), jane, odd), true},
		{"signed out", views.SignedOut(page("You have signed out", "/signed-out", false)), false},
		{"error", views.ErrorPage(page("Page not found", "/nope", false), "Page not found", "Check the address."), false},
	}
}

func TestEveryPage(t *testing.T) {
	for _, tt := range pages() {
		t.Run(tt.name, func(t *testing.T) {
			d, html := render(t, tt.c)
			if !strings.HasPrefix(html, "<!doctype html>") && !strings.HasPrefix(html, "<!DOCTYPE html>") {
				t.Errorf("no doctype: %.40s", html)
			}
			if lang, _ := d.Find("html").Attr("lang"); lang != "en" {
				t.Errorf(`<html lang=%q>, want "en"`, lang)
			}
			if n := d.Find("h1").Length(); n != 1 {
				t.Errorf("%d h1 elements, want 1", n)
			}
			if n := d.Find("head > title").Length(); n != 1 || !strings.HasSuffix(d.Find("head > title").Text(), "My Care Record") {
				t.Errorf("title %q", d.Find("head > title").Text())
			}
			first := d.Find("a[href], button, input:not([type=hidden]), select, textarea, [tabindex]:not([tabindex='-1'])").First()
			if !first.Is("a.nhsuk-skip-link[href='#maincontent']") || strings.TrimSpace(first.Text()) != "Skip to main content" {
				h, _ := goquery.OuterHtml(first)
				t.Errorf("first focusable element is %s, want the skip link", h)
			}
			if d.Find("main#maincontent").Length() != 1 || d.Find("header").Length() != 1 || d.Find("footer").Length() != 1 {
				t.Error("missing a header, main#maincontent or footer landmark")
			}
			d.Find("nav").Each(func(_ int, s *goquery.Selection) {
				if l, _ := s.Attr("aria-label"); l == "" {
					t.Error("a nav without an aria-label")
				}
			})
			if d.Find("[style]").Length() > 0 || strings.Contains(html, "style=") {
				t.Error("an inline style attribute (the CSP forbids it)")
			}
			if d.Find("style").Length() > 0 {
				t.Error("a <style> element (the CSP forbids it)")
			}
			d.Find("script").Each(func(_ int, s *goquery.Selection) {
				if src, _ := s.Attr("src"); src == "" || strings.TrimSpace(s.Text()) != "" {
					t.Errorf("inline script (the CSP forbids it): %s", s.Text())
				}
			})
			d.Find("*").Each(func(_ int, s *goquery.Selection) {
				for _, a := range s.Nodes[0].Attr {
					if strings.HasPrefix(strings.ToLower(a.Key), "on") {
						t.Errorf("inline event handler %s", a.Key)
					}
				}
			})
			if c, _ := d.Find(`meta[name="csrf-token"]`).Attr("content"); c != token {
				t.Errorf("csrf-token meta %q", c)
			}
			d.Find(`form[method="post"]`).Each(func(_ int, f *goquery.Selection) {
				if v, _ := f.Find(`input[type="hidden"][name="csrf"]`).Attr("value"); v != token {
					t.Errorf("POST form to %s without the CSRF token", f.AttrOr("action", "?"))
				}
			})
			if got := strings.TrimSpace(d.Find(".mcr-demo-banner").Text()); got != "This is a demonstration. Everyone and everything in it is made up." {
				t.Errorf("demo banner %q", got)
			}
			ids := map[string]bool{}
			d.Find("[id]").Each(func(_ int, s *goquery.Selection) {
				id, _ := s.Attr("id")
				if ids[id] {
					t.Errorf("duplicate id %q", id)
				}
				ids[id] = true
			})
			d.Find("label[for]").Each(func(_ int, s *goquery.Selection) {
				if f, _ := s.Attr("for"); !ids[f] {
					t.Errorf("label for missing #%s", f)
				}
			})
			d.Find("[aria-describedby]").Each(func(_ int, s *goquery.Selection) {
				for _, id := range strings.Fields(s.AttrOr("aria-describedby", "")) {
					if !ids[id] {
						t.Errorf("aria-describedby names missing #%s", id)
					}
				}
			})
			for _, name := range []string{"nhsuk.css", "portal.css"} {
				if d.Find(`link[rel="stylesheet"][href="`+fakeAssets{}.URL(name)+`"]`).Length() != 1 {
					t.Errorf("no stylesheet %s", name)
				}
			}
			for _, name := range []string{"nhsuk.js", "portal.js"} {
				if d.Find(`script[type="module"][src="`+fakeAssets{}.URL(name)+`"]`).Length() != 1 {
					t.Errorf("no module script %s", name)
				}
			}
			signOut := d.Find(`form[action="/signout"] input[name="csrf"]`)
			if tt.signedIn {
				if v, _ := signOut.Attr("value"); v != token {
					t.Error("signed in, but no sign-out form with the CSRF token")
				}
				if d.Find(`a[href="/record"][aria-current]`).Length() == 0 {
					t.Error("record page does not mark 'Your record' as current")
				}
			} else {
				if signOut.Length() != 0 {
					t.Error("signed out, but a sign-out form")
				}
				if d.Find(`header a[href="/signin"]`).Length() != 1 {
					t.Error("signed out, but no sign-in link in the header")
				}
			}
		})
	}
}

func TestNoDemoBannerWhenNotDemo(t *testing.T) {
	p := page("Sign in", "/signin", false)
	p.Demo = false
	d, _ := render(t, views.SignIn(p, ""))
	if d.Find(".mcr-demo-banner").Length() != 0 {
		t.Fatal("demo banner on a real service")
	}
}

func TestLayoutWithoutAssets(t *testing.T) {
	p := page("Sign in", "/signin", false)
	p.Assets = nil
	d, _ := render(t, views.SignIn(p, ""))
	if n := d.Find(`link[rel="stylesheet"], script`).Length(); n != 0 {
		t.Fatalf("%d asset tags with no assets", n)
	}
}

func TestPasskeyPages(t *testing.T) {
	tests := []struct {
		name, button, begin, finish string
		c                           templ.Component
	}{
		{"sign in", "#passkey-signin", "/signin/begin", "/signin/finish", views.SignIn(page("Sign in", "/signin", false), "")},
		{"enrol", "#passkey-create", "/enrol/passkey/begin", "/enrol/passkey/finish", views.EnrolPasskey(page("Create a passkey", "/enrol/passkey", false), jane, true, views.EnrolProblem{})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _ := render(t, tt.c)
			if d.Find(`script[type="module"][src="`+fakeAssets{}.URL("passkey.js")+`"]`).Length() != 1 {
				t.Error("passkey.js not loaded")
			}
			b := d.Find(tt.button)
			if b.Length() != 1 || b.AttrOr("data-begin", "") != tt.begin || b.AttrOr("data-finish", "") != tt.finish || b.AttrOr("type", "") != "button" {
				h, _ := goquery.OuterHtml(b)
				t.Errorf("button: %s", h)
			}
			if _, hidden := b.Attr("hidden"); !hidden {
				t.Error("button shown before JavaScript has checked passkeys work")
			}
			e := d.Find("#passkey-error")
			if _, hidden := e.Attr("hidden"); !hidden || e.AttrOr("role", "") != "alert" || e.AttrOr("tabindex", "") != "-1" || e.Find(".nhsuk-error-summary__body p").Length() != 1 {
				h, _ := goquery.OuterHtml(e)
				t.Errorf("error summary: %s", h)
			}
			if !strings.Contains(d.Find("[data-passkey-nojs]").Text(), "You need JavaScript turned on to use a passkey") {
				t.Error("no message for people without JavaScript")
			}
		})
	}
	d, _ := render(t, views.SignIn(page("Sign in", "/signin", false), ""))
	in := d.Find("#passkey-username")
	if in.AttrOr("autocomplete", "") != "username webauthn" || d.Find(`label[for="passkey-username"]`).Length() != 1 {
		t.Error("no labelled #passkey-username with autocomplete 'username webauthn'")
	}
	// The autofill box is a way to choose a passkey, after the button, and
	// says so: not a field that reads as one to fill in ("Your passkey", "Optional").
	label := strings.TrimSpace(d.Find(`label[for="passkey-username"]`).Text())
	hint := d.Find("#passkey-username-hint").Text()
	if label != "Or choose your passkey from a list" || !strings.Contains(hint, "You do not need to type anything") || strings.Contains(hint, "Optional") {
		t.Errorf("autofill box labelled %q, hint %q", label, hint)
	}
	if d.Find(`#passkey-signin ~ .nhsuk-form-group #passkey-username`).Length() != 1 {
		t.Error("the autofill box comes before the sign-in button")
	}
	if d.Find(`main a[href="/enrol"]`).Length() == 0 {
		t.Error("sign-in page does not link to enrolment")
	}
	if a := d.Find(`main a[href="/carers/accept"]`); strings.TrimSpace(a.Text()) != "Enter your invitation code" {
		t.Errorf("sign-in page does not lead to accepting an invitation: %q", a.Text())
	}
	d, _ = render(t, views.EnrolPasskey(page("Create a passkey", "/enrol/passkey", false), jane, true, views.EnrolProblem{}))
	if !strings.Contains(d.Find("main").Text(), "You are setting up My Care Record for Mrs Jane Example") {
		t.Error("enrolment does not say whom it is for")
	}
	d, _ = render(t, views.Start(page("My Care Record", "/", false)))
	if d.Find(`main a[href="/signin"]`).Length() != 1 || d.Find(`main a[href="/enrol"]`).Length() != 1 {
		t.Error("start page lacks its two ways in")
	}
	if a := d.Find(`main a[href="/carers/accept"]`); strings.TrimSpace(a.Text()) != "Enter your invitation code" || !strings.Contains(a.Parent().Text(), "Has someone asked you to help with their record?") {
		t.Errorf("start page does not lead to accepting an invitation: %q", a.Parent().Text())
	}
	if d.Find(`script[src*="passkey"]`).Length() != 0 {
		t.Error("passkey.js loaded where there is no passkey button")
	}
}

func TestEnrolForm(t *testing.T) {
	f := views.EnrolForm{
		Code: `"><script>alert(1)</script>`, Day: "31", Month: "2", Year: "1957",
		Errors: []views.FieldError{{"code", "Enter your enrolment code"}, {"dob-year", "Year must include 4 numbers, like 1984"}},
	}
	d, html := render(t, views.Enrol(page("Set up your account", "/enrol", false), f))
	if strings.Contains(html, "<script>alert") {
		t.Fatal("form value reflected unescaped")
	}
	if got := d.Find("head > title").Text(); got != "Error: Set up your account – My Care Record" {
		t.Errorf("title %q", got)
	}
	links := d.Find(".nhsuk-error-summary a")
	if links.Length() != 2 || links.Eq(0).AttrOr("href", "") != "#code" || links.Eq(1).AttrOr("href", "") != "#dob-year" {
		t.Errorf("error summary links: %q", links.Text())
	}
	form := d.Find(`form[method="post"][action="/enrol"]`)
	if form.Length() != 1 {
		t.Fatal("no POST form to /enrol")
	}
	for _, tt := range []struct{ id, name, value, autocomplete string }{
		{"code", "code", f.Code, "off"},
		{"dob-day", "day", "31", "bday-day"},
		{"dob-month", "month", "2", "bday-month"},
		{"dob-year", "year", "1957", "bday-year"},
	} {
		in := form.Find("#" + tt.id)
		if in.AttrOr("name", "") != tt.name || in.AttrOr("value", "") != tt.value || in.AttrOr("autocomplete", "") != tt.autocomplete {
			h, _ := goquery.OuterHtml(in)
			t.Errorf("#%s: %s", tt.id, h)
		}
	}
	if form.Find("#code").AttrOr("spellcheck", "") != "false" {
		t.Error("code input is spell-checked")
	}
	if !form.Find("#code").HasClass("nhsuk-input--error") || !form.Find("#dob-year").HasClass("nhsuk-input--error") || form.Find("#dob-day").HasClass("nhsuk-input--error") {
		t.Error("wrong inputs marked as in error")
	}
	if n := d.Find(".nhsuk-form-group--error > .nhsuk-error-message, .nhsuk-form-group--error > fieldset > .nhsuk-error-message").Length(); n != 2 {
		t.Errorf("%d field error messages, want 2", n)
	}
	if d.Find("fieldset legend").Text() != "Date of birth" {
		t.Errorf("legend %q", d.Find("fieldset legend").Text())
	}
	if got := strings.TrimSpace(form.Find("button").Text()); got != "Continue" {
		t.Errorf("button %q", got)
	}
	// No errors: no summary, no error classes, plain title.
	d, _ = render(t, views.Enrol(page("Set up your account", "/enrol", false), views.EnrolForm{}))
	if d.Find(".nhsuk-error-summary, .nhsuk-form-group--error, .nhsuk-error-message").Length() != 0 || strings.HasPrefix(d.Find("head > title").Text(), "Error") {
		t.Error("error markup without errors")
	}
}

func TestRecordSummary(t *testing.T) {
	sum := store.Summary{
		Counts:    map[string]int{"allergies": 0, "medicines": 4, "conditions": 2},
		Medicines: items("medicines", 2),
		Sources:   []store.Source{gp, {ID: 2, Name: "leeds-lab", LastImportAt: "2026-11-25T10:00:00Z"}},
		Updated:   map[int64]string{gp.ID: "2026-11-20T10:00:00Z"}, // when each brought Jane's record up to date, not its last import
	}
	sum.Medicines[1].Status = "on-hold"
	tagged := sum
	tagged.Allergies = items("allergies", 1)
	tagged.Allergies[0].Status = "unconfirmed"
	tagged.RecentResults = items("results", 2)
	tagged.RecentResults[1].Status = "preliminary"
	d, _ := render(t, views.RecordSummary(page("Your health record", "/record", true), jane, tagged))
	if tags := d.Find(".mcr-item-list .nhsuk-tag"); tags.Length() != 3 || tags.Eq(0).Text() != "Suspected, not confirmed" || tags.Eq(1).Text() != "On hold" || tags.Eq(2).Text() != "Early result: it may change" {
		t.Errorf("the suspected allergy, the medicine on hold and the early result are not tagged so, alone: %q", tags.Text())
	}
	d, _ = render(t, views.RecordSummary(page("Your health record", "/record", true), jane, sum))
	main := d.Find("main").Text()
	for _, want := range []string{"Mrs Jane Example", "943 476 5919", "14 March 1957", "Thing 1", "Meanwood Group Practice", "leeds-lab",
		"Last updated 20 November 2026", "Not brought in yet", section("allergies").Empty, "No health conditions are recorded as current for you.", section("results").Empty} {
		if !strings.Contains(main, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
	nav := d.Find(`nav[aria-label="Parts of your record"]`)
	if n := nav.Find(`a[href^="/record/"]`).Not(`[href="/record/search"], [href="/record/access-log"]`).Length(); n != len(fhir.Sections()) {
		t.Errorf("section navigation has %d sections, want %d", n, len(fhir.Sections()))
	}
	if nav.Find(`a[href="/record/search"]`).Length() != 1 {
		t.Error("section navigation does not offer search")
	}
	if nav.Find(`a[href="/record/access-log"]`).Length() != 1 {
		t.Error("section navigation does not offer who has looked at the record")
	}
	if got := strings.Join(strings.Fields(nav.Find(`a[href="/record/medicines"]`).Text()), " "); got != "Medicines (4 items)" {
		t.Errorf("medicines nav link %q", got)
	}
	if got := strings.Join(strings.Fields(nav.Find(`a[href="/record/care-team"]`).Text()), " "); got != "Care team (0 items)" {
		t.Errorf("care team nav link %q", got)
	}
	if nav.Find(`a[href="/record"][aria-current="page"]`).Length() != 1 {
		t.Error("summary not marked current")
	}
	if d.Find(`main a[href="/record/medicines"]`).FilterFunction(func(_ int, s *goquery.Selection) bool {
		return strings.Contains(s.Text(), "See all medicines (4)")
	}).Length() != 1 {
		t.Error("no link to all medicines")
	}
}

// The summary says what the record holds that no page shows, in words, and
// where it is.
func TestRecordSummarySaysWhatItCannotShow(t *testing.T) {
	sum := store.Summary{Unshown: []store.UnshownKind{{Type: "Device", Count: 1, From: []string{"Leeds Teaching Hospitals"}},
		{Type: "ImagingStudy", Count: 6, From: []string{"Leeds Teaching Hospitals", "Meanwood Group Practice", "Pennine Community Care"}}}}
	d, _ := render(t, views.RecordSummary(page("Your health record", "/record", true), jane, sum))
	text := strings.Join(strings.Fields(d.Find("main #unshown").Text()), " ")
	for _, want := range []string{"Your record also holds things these pages cannot show yet:", "1 device, such as an implant, a pacemaker or a meter you use at home, from Leeds Teaching Hospitals",
		"6 scans or X-rays, from Leeds Teaching Hospitals, Meanwood Group Practice and Pennine Community Care", "in the file you can download below"} {
		if !strings.Contains(text, want) {
			t.Errorf("lacks %q: %s", want, text)
		}
	}
	if d, _ := render(t, views.RecordSummary(page("Your health record", "/record", true), jane, store.Summary{})); d.Find("main #unshown").Length() != 0 {
		t.Error("a record with nothing unshown says it has some")
	}
}

// A summary list holding only the most recent of its current items says so.
func TestRecordSummarySaysWhenThereAreMore(t *testing.T) {
	const more = "These are the 2 most recent. More are recorded as current: see them all on the full list."
	for _, cut := range []bool{false, true} {
		sum := store.Summary{Counts: map[string]int{"medicines": 4}, Medicines: items("medicines", 2), More: map[string]bool{"medicines": cut}}
		d, _ := render(t, views.RecordSummary(page("Your health record", "/record", true), jane, sum))
		if got := strings.Contains(d.Find("main").Text(), more); got != cut {
			t.Errorf("more current than shown %v: says so %v", cut, got)
		}
	}
}

func TestRecordSection(t *testing.T) {
	sp := store.SectionPage{Section: section("results"), Items: items("results", 25), Total: 130, Page: 2, PerPage: 25}
	d, _ := render(t, views.RecordSection(page("Test results", "/record/results", true), jane, sp))
	if got := d.Find("h1").Text(); got != "Test results" {
		t.Errorf("h1 %q", got)
	}
	if d.Find(`nav[aria-label="Parts of your record"] a[href="/record/results"][aria-current="page"]`).Length() != 1 {
		t.Error("current section not marked")
	}
	rows := d.Find("table tbody tr")
	if rows.Length() != 25 {
		t.Fatalf("%d rows, want 25", rows.Length())
	}
	row := strings.Join(strings.Fields(rows.First().Text()), " ")
	for _, want := range []string{"Thing 1", "Taken at the surgery", "48 mmol/mol", "14 March 2026", "Active", "Meanwood Group Practice (Leeds Pathology)"} {
		if !strings.Contains(row, want) {
			t.Errorf("row %q lacks %q", row, want)
		}
	}
	if got := d.Find("table thead th").Length(); got != 5 {
		t.Errorf("%d columns, want 5", got)
	}
	pg := d.Find(`nav[aria-label="Pagination"]`)
	if pg.Find(`a[rel="prev"][href="?page=1"]`).Length() != 1 || pg.Find(`a[rel="next"][href="?page=3"]`).Length() != 1 {
		t.Error("pagination links wrong")
	}
	if !strings.Contains(pg.Text(), "Page 1 of 6") || !strings.Contains(pg.Text(), "Page 3 of 6") {
		t.Errorf("pagination text %q", pg.Text())
	}
	if !strings.Contains(d.Find("main").Text(), "Showing 26 to 50 of 130 items.") {
		t.Error("no 'Showing' line")
	}

	// The first page has no Previous; one page has no pagination at all.
	sp.Page = 1
	d, _ = render(t, views.RecordSection(page("Test results", "/record/results", true), jane, sp))
	if d.Find(`a[rel="prev"]`).Length() != 0 || d.Find(`a[rel="next"]`).Length() != 1 {
		t.Error("first page pagination")
	}
	sp = store.SectionPage{Section: section("medicines"), Items: []store.RecordItem{{Source: gp}}, Total: 1, Page: 1, PerPage: 25}
	d, _ = render(t, views.RecordSection(page("Medicines", "/record/medicines", true), jane, sp))
	if d.Find(`nav[aria-label="Pagination"]`).Length() != 0 {
		t.Error("pagination for one page")
	}
	row = strings.Join(strings.Fields(d.Find("table tbody tr").Text()), " ")
	for _, want := range []string{"Unnamed item", "Date not recorded", "Not recorded"} {
		if !strings.Contains(row, want) {
			t.Errorf("row %q lacks %q", row, want)
		}
	}
	if got := d.Find("table thead th").Length(); got != 4 {
		t.Errorf("%d columns with no values, want 4", got)
	}

	// An empty section says so kindly.
	sp = store.SectionPage{Section: section("allergies"), Page: 1, PerPage: 25}
	d, _ = render(t, views.RecordSection(page("Allergies", "/record/allergies", true), jane, sp))
	if got := strings.TrimSpace(d.Find(".nhsuk-inset-text p").Text()); got != sp.Section.Empty {
		t.Errorf("empty section says %q", got)
	}
	if d.Find("table").Length() != 0 {
		t.Error("a table for an empty section")
	}
}

func TestErrorAndSignedOut(t *testing.T) {
	d, _ := render(t, views.ErrorPage(page("Page not found", "/x", false), "Page not found", "Check the <address>."))
	if d.Find("h1").Text() != "Page not found" || !strings.Contains(d.Find("main p").First().Text(), "Check the <address>.") || d.Find(`main a[href="/"]`).Length() != 1 {
		t.Error("error page")
	}
	d, _ = render(t, views.SignedOut(page("You have signed out", "/signed-out", false)))
	if d.Find("h1").Text() != "You have signed out" || d.Find(`main a[href="/signin"]`).Length() != 1 {
		t.Error("signed-out page")
	}
}

// templ drops the space at the start of an element's text, so a visually
// hidden word after a visible one ("Next<span> page</span>") ran into it:
// screen readers said "Nextpage". Such words are written as strings, { " page" }.
func TestHiddenWordsKeepTheirSpace(t *testing.T) {
	files, err := filepath.Glob("*_templ.go")
	if err != nil || len(files) == 0 {
		t.Fatal("no generated views", err)
	}
	runTogether := regexp.MustCompile(`[A-Za-z]<span class=\\"nhsuk-u-visually-hidden\\">[A-Za-z]`)
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range runTogether.FindAll(src, -1) {
			t.Errorf("%s: a hidden word runs into the word before it: %s", name, m)
		}
	}
}

// The print page and entry pages say only what there is to say: no column of
// "Not recorded" where no entry has a value, no "Recorded by" repeating
// "From", and an empty section says whom to ask.
func TestPagesLeaveOutWhatSaysNothing(t *testing.T) {
	allergies := items("allergies", 2)
	for i := range allergies {
		allergies[i].Value = ""
	}
	d, _ := render(t, views.RecordPrint(page("Your health record", "/record/print", true), jane, "",
		[]store.SectionPage{{Section: section("allergies"), Items: allergies, Total: 2, Page: 1, PerPage: 100}}))
	if strings.Contains(d.Find("main").Text(), "Not recorded") || d.Find("main thead th").Length() != 4 {
		t.Errorf("print page: %d columns, %q", d.Find("main thead th").Length(), strings.Join(strings.Fields(d.Find("main table").Text()), " "))
	}
	it := items("medicines", 1)[0]
	it.Organisation = gp.OrgName
	d, _ = render(t, views.RecordEntry(page("Thing 1", "/record/item/1", true), jane, store.Entry{Item: it}))
	if d.Find("dt:contains('Clinician or service')").Length() != 0 {
		t.Error("entry page names as its clinician or service the organisation it is from")
	}
	d, _ = render(t, views.RecordSection(page("Allergies", "/record/allergies", true), jane, store.SectionPage{Section: section("allergies"), Page: 1, PerPage: 25}))
	if !strings.Contains(d.Find("main").Text(), "If you think something is missing from your record, ask the GP practice.") {
		t.Error("an empty section does not say whom to ask")
	}
}

// The choices page promises to ask organisations not to share only when
// there is an organisation it can send choices to.
func TestChoicesPromiseWhatHappens(t *testing.T) {
	for _, tt := range []struct {
		receivers int
		want      string
	}{
		{0, "cannot receive choices from us yet"},
		{1, "we ask the organisations that hold your record not to share them"},
	} {
		v := views.ChoicesView{Person: jane, Choices: store.ConsentChoices{State: store.DefaultConsentState(), Receivers: tt.receivers}}
		d, _ := render(t, views.Choices(page("Your choices", "/choices", true), v))
		if got := d.Find("main").Text(); !strings.Contains(got, tt.want) {
			t.Errorf("%d receivers: page lacks %q", tt.receivers, tt.want)
		}
	}
}

// A carer answering the choices is told for whom, and a change another
// carer made is "Set by someone else acting for" the person, not named: who
// else helps the person is not theirs to know.
func TestChoicesForACarer(t *testing.T) {
	p := page("Your choices", "/choices", true)
	p.Acting = &views.Acting{Name: "Mrs Jane Example", Relationship: "son", Active: true, Scopes: []string{store.ScopeChoices}}
	d := store.ConsentDecision{Question: store.QuestionResearch, MadeAt: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC),
		Performer: store.Performer{AccountID: 7, Name: "John Smith", Carer: true, Relationship: "son"}}
	v := views.ChoicesView{Person: jane, Carer: true, ViewerID: 9, Choices: store.ConsentChoices{State: store.DefaultConsentState(),
		Origins: map[string]store.ChoiceOrigin{store.QuestionResearch: {Kind: store.OriginDecision, Decision: &d}}}}
	doc, _ := render(t, views.Choices(p, v))
	main := strings.Join(strings.Fields(doc.Find("main").Text()), " ")
	for _, want := range []string{"You are answering for Mrs Jane Example.", "Set by someone else acting for Mrs Jane Example"} {
		if !strings.Contains(main, want) {
			t.Errorf("choices page lacks %q: %s", want, main)
		}
	}
}

// "Check your change" promises what upstream does only when a change can
// reach upstream; keeping an entry out says what it does not hide.
func TestCheckYourChangeSaysWhereItApplies(t *testing.T) {
	for _, tt := range []struct {
		receivers int
		says      bool
	}{{0, true}, {2, false}} {
		v := views.CheckView{Person: jane, Question: store.QuestionDirectCare, Before: "yes", Answer: "no", Receivers: tt.receivers}
		d, _ := render(t, views.ChoiceCheck(page("Check your change", "/choices/direct-care", true), v))
		if got := strings.Contains(d.Find("main").Text(), "cannot receive choices from us yet"); got != tt.says {
			t.Errorf("%d receivers: says choices cannot be received = %v", tt.receivers, got)
		}
	}
	q := views.QuestionView{Person: jane, Question: "withhold-item:medicines|x|1", ItemKey: "medicines|x|1", ItemName: "Metformin"}
	d, _ := render(t, views.ChoiceQuestion(page("Keep this entry out", "/choices/entry", true), q))
	if !strings.Contains(d.Find("main").Text(), "other entries that mention it") {
		t.Error("keeping an entry out does not say other entries may still mention it")
	}
}

// The seconds a page's script counts down from are rounded up, so it never
// says someone is signed out while the server still holds their session.
func TestSecondsLeftRoundsUp(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{{0, "0"}, {200 * time.Millisecond, "1"}, {5 * time.Second, "5"}, {5*time.Second + time.Nanosecond, "6"}, {30 * time.Minute, "1800"}} {
		if got := views.SecondsLeft(tt.d); got != tt.want {
			t.Errorf("SecondsLeft(%s) = %s, want %s", tt.d, got, tt.want)
		}
	}
}

// The enrolment page's error summary links to the button that puts the
// problem right, and says what the page offers: a passkey of one's own to
// use only while the record has no account of its own.
func TestEnrolPasskeyProblemLinksToItsFix(t *testing.T) {
	problem := views.EnrolProblem{Message: "Use your own", UseOwn: true, Otherwise: "Create one"}
	for _, tt := range []struct {
		canLink    bool
		text, href string
	}{{true, "Use your own", "#passkey-signin"}, {false, "Create one", "#passkey-create"}} {
		d, _ := render(t, views.EnrolPasskey(page("Create a passkey", "/enrol/passkey", false), jane, tt.canLink, problem))
		link := d.Find("#passkey-error:not([hidden]) .nhsuk-error-summary__list a#passkey-error-message")
		if link.Text() != tt.text || link.AttrOr("href", "") != tt.href || d.Find(tt.href).Length() != 1 {
			t.Errorf("can link %v: %q to %q, want %q to %q, which the page has", tt.canLink, link.Text(), link.AttrOr("href", ""), tt.text, tt.href)
		}
	}
}

// A document recorded in error says so beside what it says, which may be
// about someone else (a clinical-safety review); a current one does not.
func TestADocumentRecordedInErrorWarns(t *testing.T) {
	for _, tt := range []struct {
		status      string
		attachments []store.Attachment
	}{
		{"entered-in-error", []store.Attachment{{Index: 0, ContentType: "text/plain", Text: "Diagnosis: something grave"}}},
		{"current", []store.Attachment{{Index: 0, ContentType: "text/plain", Text: "Diagnosis: something grave"}}},
		{"entered-in-error", nil}, // its description alone may be about someone else
	} {
		it := items("documents", 1)[0]
		it.Status = tt.status
		it.Source = gp
		d, _ := render(t, views.RecordEntry(page("Letter", "/record/item/1", true), jane, store.Entry{Item: it, Attachments: tt.attachments}))
		warns := d.Find(".nhsuk-warning-callout:contains('recorded in error')").Length() == 1 &&
			strings.Contains(d.Find(".nhsuk-warning-callout").Text(), "It may be about someone else")
		shows := len(tt.attachments) == 0 || strings.Contains(d.Find("main").Text(), "Diagnosis: something grave")
		if warns != (tt.status == "entered-in-error") || !shows {
			t.Errorf("%s with %d attachments: warns %v: %q", tt.status, len(tt.attachments), warns, strings.Join(strings.Fields(d.Find("main").Text()), " "))
		}
	}
}

package views_test

import (
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
	"github.com/mycarerecord/portal/views"
)

func TestActingBanner(t *testing.T) {
	p := page("Medicines", "/record/medicines", true)
	p.Acting = &views.Acting{Name: "Mrs Jane Example", Relationship: "mother", Scopes: []string{fhir.SectionMedicines}, Active: true}
	sp := store.SectionPage{Section: section(fhir.SectionMedicines), Items: items(fhir.SectionMedicines, 2), Total: 2, Page: 1, PerPage: 25}
	d, _ := render(t, views.RecordSection(p, jane, sp))

	banner := d.Find(`.mcr-acting-banner[role=region]`)
	if banner.Length() != 1 {
		t.Fatal("no acting-for banner")
	}
	if got := strings.Join(strings.Fields(banner.Text()), " "); !strings.Contains(got, "You are acting for Mrs Jane Example, as their mother") {
		t.Errorf("banner says %q", got)
	}
	if href, _ := banner.Find("a").Attr("href"); href != "/acting-for" {
		t.Errorf("switch link goes to %q", href)
	}
	var nav []string
	d.Find(".mcr-section-nav a").Each(func(_ int, s *goquery.Selection) { nav = append(nav, s.AttrOr("href", "")) })
	for _, href := range nav {
		if strings.HasPrefix(href, "/record/") && href != "/record/medicines" && href != "/record/search" {
			t.Errorf("navigation offers %s, which the carer was not given (all: %v)", href, nav)
		}
	}
	if d.Find(`.nhsuk-header__navigation a[href="/carers"]`).Length() != 0 {
		t.Error("the header offers the person's carers page while acting for someone")
	}

	// Without acting: no banner, every section.
	p.Acting = nil
	d, _ = render(t, views.RecordSection(p, jane, sp))
	if d.Find(".mcr-acting-banner").Length() != 0 {
		t.Error("banner on the account's own record")
	}
	for _, sec := range fhir.Sections() {
		if d.Find(`.mcr-section-nav a[href="/record/`+sec.Slug+`"]`).Length() != 1 {
			t.Errorf("own record navigation lacks %s", sec.Slug)
		}
	}
}

// A carer reads someone else's record: its headings name whose it is.
func TestCarerPagesNameWhoseRecord(t *testing.T) {
	for _, tt := range []struct {
		acting *views.Acting
		h1     string
		search string
	}{
		{nil, "Your health record", "Search your record"},
		{&views.Acting{Name: "Mrs Jane Example", Relationship: "son", Active: true, Scopes: []string{fhir.SectionMedicines}}, "Mrs Jane Example's health record", "Search Mrs Jane Example's record"},
	} {
		p := page("Summary", "/record", true)
		p.Acting = tt.acting
		d, _ := render(t, views.RecordSummary(p, jane, store.Summary{}))
		if got := strings.TrimSpace(d.Find("h1").Text()); got != tt.h1 {
			t.Errorf("h1 %q, want %q", got, tt.h1)
		}
		if got := strings.TrimSpace(d.Find(`label[for="record-search-q"]`).Text()); got != tt.search {
			t.Errorf("search label %q, want %q", got, tt.search)
		}
	}
}

// Sentences about the record read as the person's to a carer, never as the carer's.
func TestSentencesAboutTheRecordAreThePersons(t *testing.T) {
	p := page("Medicines", "/record/medicines", true)
	p.Acting = &views.Acting{Name: "Mrs Jane Example", Relationship: "son", Active: true, Scopes: []string{fhir.SectionMedicines}}
	d, _ := render(t, views.RecordSection(p, jane, store.SectionPage{Section: section(fhir.SectionMedicines), Page: 1, PerPage: 25}))
	main := strings.Join(strings.Fields(d.Find("main").Text()), " ")
	for _, want := range []string{"No medicines have been recorded for Mrs Jane Example.", "Parts of Mrs Jane Example's record", "Search Mrs Jane Example's record"} {
		if !strings.Contains(main, want) {
			t.Errorf("a carer's empty medicines page lacks %q: %s", want, main)
		}
	}
	if strings.Contains(main, "for you") || strings.Contains(main, "your record") {
		t.Errorf("a carer's page talks of their own record: %s", main)
	}
}

// A stopped access says the day it ended and what the carer could do, not
// the end date it had nor what they can do; an invitation cancelled before
// anyone accepted it gave no access to end. The carer's own page names the
// relationship as the person's: "Your neighbour".
func TestEndedAccessSaysItEnded(t *testing.T) {
	stopped := time.Date(2026, 11, 27, 15, 21, 0, 0, time.UTC)
	ends := time.Date(2027, 11, 27, 0, 0, 0, 0, time.UTC)
	amir := store.Grant{ID: 2, CarerName: "Amir Khan", Relationship: "neighbour", Scopes: []string{fhir.SectionMedicines}, EndsAt: ends,
		AcceptedAt: stopped.Add(-time.Hour), RevokedAt: stopped, Status: store.GrantRevoked}
	john := store.Grant{ID: 1, CarerName: "John Smith", Relationship: "son", Scopes: []string{fhir.SectionMedicines}, EndsAt: ends,
		AcceptedAt: stopped.Add(-time.Hour), Status: store.GrantActive}
	sam := store.Grant{ID: 3, CarerName: "Sam Example", Relationship: "friend", Scopes: []string{fhir.SectionMedicines}, EndsAt: ends,
		RevokedAt: stopped, Status: store.GrantRevoked}
	d, _ := render(t, views.Carers(page("People who can act for you", "/carers", true), []store.Grant{amir, john, sam}, ""))
	rows := func(card *goquery.Selection) map[string]string {
		out := map[string]string{}
		card.Find(".nhsuk-summary-list__row").Each(func(_ int, r *goquery.Selection) {
			out[strings.TrimSpace(r.Find("dt").Text())] = strings.Join(strings.Fields(r.Find("dd").Text()), " ")
		})
		return out
	}
	cards := d.Find(".nhsuk-card")
	if cards.Length() != 3 {
		t.Fatalf("%d cards", cards.Length())
	}
	for _, tt := range []struct {
		name string
		want map[string]string
	}{
		{"Amir Khan", map[string]string{"Status": "Stopped", "Could see and do": "Medicines", "Access ended": "27 November 2026"}},
		{"John Smith", map[string]string{"Status": "Active", "Can see and do": "Medicines", "Access ends": "27 November 2027"}},
		{"Sam Example", map[string]string{"Status": "Stopped Since 27 November 2026 at 3:21pm.", "Was invited to see and do": "Medicines"}},
	} {
		card := cards.FilterFunction(func(_ int, s *goquery.Selection) bool { return strings.Contains(s.Find("h2").Text(), tt.name) })
		got := rows(card)
		if len(got) != len(tt.want) {
			t.Errorf("%s's card: %q, want %q", tt.name, got, tt.want)
			continue
		}
		for k, v := range tt.want {
			if got[k] != v {
				t.Errorf("%s's card: %s %q, want %q (all: %q)", tt.name, k, got[k], v, got)
			}
		}
	}

	d, _ = render(t, views.GrantPage(page("Amir Khan", "/carers/2", true), views.GrantView{Grant: amir}, views.InviteForm{}))
	if got := d.Find(".nhsuk-caption-l").Text(); got != "Your neighbour" {
		t.Errorf("caption %q, want %q", got, "Your neighbour")
	}
	amir.Relationship = "Neighbour"
	d, _ = render(t, views.GrantPage(page("Amir Khan", "/carers/2", true), views.GrantView{Grant: amir}, views.InviteForm{}))
	if got := d.Find(".nhsuk-caption-l").Text(); got != "Your neighbour" {
		t.Errorf("caption %q, want %q", got, "Your neighbour")
	}
}

// The invitation's check page keeps a parental answer and a typed end date
// in its hidden fields and Change links, and no script carries them.
func TestInviteCheckCarriesTheAnswers(t *testing.T) {
	f := views.InviteForm{Name: "Ann O'Neil & Co", Relationship: "mother", Scopes: []string{fhir.SectionMedicines, store.ScopeDownload},
		Ends: "date", Day: "1", Month: "6", Year: "2030", Parental: true, Once: "tok"}
	d, _ := render(t, views.InviteCheck(page("Check your answers before sending the invitation", "/carers/invite", false), f, time.Date(2030, 6, 1, 0, 0, 0, 0, time.UTC)))
	form := d.Find(`form[action="/carers/invite/confirm"]`)
	for name, want := range map[string]string{"name": f.Name, "relationship": "mother", "ends": "date", "ends-day": "1", "ends-month": "6", "ends-year": "2030", "parental": "yes", "once": "tok"} {
		if got := form.Find(`input[type=hidden][name="`+name+`"]`).AttrOr("value", ""); got != want {
			t.Errorf("hidden %s is %q, want %q", name, got, want)
		}
	}
	if n := form.Find(`input[type=hidden][name=scope]`).Length(); n != 2 {
		t.Errorf("%d hidden scopes, want 2", n)
	}
	if d.Find("main script").Length() != 0 {
		t.Error("the check page carries its answers in script")
	}
	href := d.Find(`.nhsuk-summary-list__actions a[href$="#parental"]`).AttrOr("href", "")
	for _, want := range []string{"name=Ann+O%27Neil+%26+Co", "parental=yes", "ends-year=2030", "scope=download"} {
		if !strings.Contains(href, want) {
			t.Errorf("the parental Change link %q lacks %s", href, want)
		}
	}
	if got := strings.Join(strings.Fields(d.Find(".nhsuk-summary-list").Text()), " "); !strings.Contains(got, "1 June 2030") || !strings.Contains(got, "Yes. Their access ends on your 16th birthday") {
		t.Errorf("the answers read %q", got)
	}
}

// A carer's summary says which parts are not shared with them, so medicines
// without allergies never read as "no allergies" (found by a clinical-safety
// review).
func TestCarerSummarySaysWhatIsNotShared(t *testing.T) {
	p := page("Your health record", "/record", true)
	p.Acting = &views.Acting{Name: "Mrs Jane Example", Relationship: "son", Scopes: []string{fhir.SectionMedicines}, Active: true}
	sum := store.Summary{Counts: map[string]int{"medicines": 2, "allergies": 1}, Medicines: items("medicines", 2)}
	d, _ := render(t, views.RecordSummary(p, jane, sum))
	cards := map[string]string{}
	d.Find("main .nhsuk-card").Each(func(_ int, c *goquery.Selection) {
		cards[strings.TrimSpace(c.Find("h2").First().Text())] = strings.Join(strings.Fields(c.Text()), " ")
	})
	for _, title := range []string{"Allergies", "Current health conditions", "Recent test results"} {
		if !strings.Contains(cards[title], "Mrs Jane Example has not given you access to this part of their record.") {
			t.Errorf("%s card: %q", title, cards[title])
		}
	}
	if strings.Contains(cards["Current medicines"], "not been shared") || !strings.Contains(cards["Current medicines"], "Thing 1") {
		t.Errorf("medicines card: %q", cards["Current medicines"])
	}
}

// Two invitations to one name are told apart in their headings and links
// (WCAG 2.4.4, 2.4.6; a review: a second invitation to someone who lost the
// first read the same as it); one name alone is not numbered.
func TestTwoInvitationsToOneNameAreToldApart(t *testing.T) {
	ends := time.Date(2027, 11, 27, 0, 0, 0, 0, time.UTC)
	grant := func(id int64, name string) store.Grant {
		return store.Grant{ID: id, CarerName: name, Relationship: "son", Scopes: []string{fhir.SectionMedicines}, EndsAt: ends, Status: store.GrantInvited}
	}
	d, _ := render(t, views.Carers(page("People who can act for you", "/carers", true), []store.Grant{grant(2, "Amir Khan"), grant(1, "Amir Khan"), grant(3, "John Smith")}, ""))
	var links, headings []string
	d.Find(".nhsuk-card").Each(func(_ int, c *goquery.Selection) {
		headings = append(headings, strings.Join(strings.Fields(c.Find("h2").Text()), " "))
		links = append(links, strings.Join(strings.Fields(c.Find(`a[href^="/carers/"]`).Text()), " "))
	})
	wantHeadings := []string{"Amir Khan (son), invitation 1 of 2", "Amir Khan (son), invitation 2 of 2", "John Smith (son)"}
	wantLinks := []string{"Change or stop access for Amir Khan, invitation 1 of 2", "Change or stop access for Amir Khan, invitation 2 of 2", "Change or stop access for John Smith"}
	if strings.Join(headings, "|") != strings.Join(wantHeadings, "|") || strings.Join(links, "|") != strings.Join(wantLinks, "|") {
		t.Errorf("headings %q, links %q; want %q, %q", headings, links, wantHeadings, wantLinks)
	}
}

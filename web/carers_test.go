package web_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
	"github.com/mycarerecord/portal/views"
)

func docOf(t *testing.T, html string) *goquery.Document {
	t.Helper()
	d, err := goquery.NewDocumentFromReader(strings.NewReader(html))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// carerSession is a carer's account and signed-in session.
type carerSession struct {
	acct   store.Account
	id     string
	cookie *http.Cookie
}

// newCarer makes an account with no record of its own, signed in.
func (f *fixture) newCarer(t testing.TB, name string) carerSession {
	t.Helper()
	ctx := context.Background()
	acct, err := f.db.CreateCarerAccount(ctx, []byte("handle-"+name), name, store.Passkey{CredentialID: []byte("cred-" + name), PublicKey: []byte("k")})
	if err != nil {
		t.Fatal(err)
	}
	id, _, err := f.db.CreateSession(ctx, acct.ID, store.DefaultSessionPolicy())
	if err != nil {
		t.Fatal(err)
	}
	return carerSession{acct: acct, id: id, cookie: sessionCookie(t, id)}
}

// ownAccount is the person's account (f.signIn makes it).
func (f *fixture) ownAccount(t testing.TB, p store.Person) store.Account {
	t.Helper()
	a, err := f.db.AccountByPerson(context.Background(), p.ID)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// proveInvitation has a session prove an invitation's code and date of birth,
// then signs the account in again, as the pages have a carer do (a proved
// code signs the session out), and returns the new session's id, which
// holds the invitation.
func proveInvitation(t testing.TB, f *fixture, code, dob, sessionID string, acct store.Account) string {
	t.Helper()
	ctx := context.Background()
	_, proved, err := f.db.CheckInvitation(ctx, code, dob, sessionID)
	if err != nil {
		t.Fatal(err)
	}
	id, _, held, err := f.db.RotateSessionKeepingInvitation(ctx, proved, acct.ID, nil, store.DefaultSessionPolicy())
	if err != nil || !held {
		t.Fatalf("signing in again: held %v, %v", held, err)
	}
	return id
}

// addLily stores Lily Example, born on dob, at the GP, with any more of her
// resources, and returns her.
func addLily(t testing.TB, f *fixture, dob string, more ...fhir.Resource) store.Person {
	t.Helper()
	ctx := context.Background()
	if _, err := f.db.ImportResources(ctx, store.ImportOptions{Source: "gp", OrgName: "Meanwood Group Practice"}, "test",
		append([]fhir.Resource{patient("lily", "9000000017", "Lily", "Example", dob)}, more...)); err != nil {
		t.Fatal(err)
	}
	lily, err := f.db.PersonByNHSNumber(ctx, "9000000017")
	if err != nil {
		t.Fatal(err)
	}
	return lily
}

// heldInvitation is the id of the invitation the session holds, as the page
// asking to accept it shows.
func heldInvitation(t testing.TB, db *store.DB, session string) int64 {
	t.Helper()
	g, err := db.HeldInvitation(context.Background(), session)
	if err != nil {
		t.Fatal(err)
	}
	return g.ID
}

// grant has the person invite the carer with the scopes, the carer accept, and the carer act for them.
func (f *fixture) grant(t testing.TB, p store.Person, by store.Account, carer carerSession, scopes ...string) store.Grant {
	t.Helper()
	ctx := context.Background()
	_, code, err := f.db.CreateInvitation(ctx, p.ID, by.ID, store.Invitation{CarerName: carer.acct.DisplayName, Relationship: "son", Scopes: scopes},
		grantLogged(by, "invited "+carer.acct.DisplayName+" (son)"))
	if err != nil {
		t.Fatal(err)
	}
	// Accepted in a session of its own: a proved code gives the session it
	// is proved in a new id, and the carer's tests go on with carer.id.
	accepting, _, err := f.db.CreateSession(ctx, carer.acct.ID, store.DefaultSessionPolicy())
	if err != nil {
		t.Fatal(err)
	}
	_, accepting, err = f.db.CheckInvitation(ctx, code, p.BirthDate, accepting)
	if err != nil {
		t.Fatal(err)
	}
	g, err := f.db.AcceptInvitation(ctx, accepting, carer.acct.ID, heldInvitation(t, f.db, accepting), grantLogged(carer.acct, carer.acct.DisplayName+" accepted the invitation"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.db.SetActingFor(ctx, carer.id, carer.acct.ID, g.ID); err != nil {
		t.Fatal(err)
	}
	return g
}

func sessionCSRF(t testing.TB, f *fixture, id string) string {
	t.Helper()
	s, err := f.db.Session(context.Background(), id, store.DefaultSessionPolicy())
	if err != nil {
		t.Fatal(err)
	}
	return s.CSRFToken
}

func TestCarerSeesOnlyWhatIsGranted(t *testing.T) {
	f := newFixture(t)
	jane := f.signIn(t, f.jane)
	john := f.newCarer(t, "John Smith")
	f.grant(t, f.jane, f.ownAccount(t, f.jane), john, "medicines", "conditions")

	resp := f.get(t, "/record/medicines", john.cookie)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("granted section: status %d", resp.StatusCode)
	}
	d := doc(t, resp)
	if got := d.Find(".mcr-acting-banner").Text(); !strings.Contains(got, "You are acting for") || !strings.Contains(got, "Jane Example") {
		t.Errorf("banner %q", got)
	}
	if href, _ := d.Find(".mcr-acting-banner a").Attr("href"); href != "/acting-for" {
		t.Errorf("switch link %q", href)
	}
	if !strings.Contains(d.Find("main").Text(), "Metformin") {
		t.Error("granted medicines not shown")
	}
	// Every record page tells a carer it may not be all of it, and that the
	// person sees their looks, with nothing kept out; the person is not told so.
	const note = "Jane Example chooses which parts of their record you can see, and can keep single entries out, so this may not be all of it. They can see each time you look at their record."
	for _, path := range []string{"/record", "/record/medicines", "/record/search?q=metformin"} {
		if got := doc(t, f.get(t, path, john.cookie)).Find("#carer-note").Text(); got != note {
			t.Errorf("%s tells the carer %q; want %q", path, got, note)
		}
		if n := doc(t, f.get(t, path, jane)).Find("#carer-note").Length(); n != 0 {
			t.Errorf("%s tells Jane, on her own record, what a carer is told", path)
		}
	}
	var nav []string
	d.Find(".mcr-section-nav a").Each(func(_ int, s *goquery.Selection) { nav = append(nav, strings.TrimSpace(s.Text())) })
	for _, n := range nav {
		if strings.HasPrefix(n, "Allergies") || strings.HasPrefix(n, "Test results") {
			t.Errorf("navigation offers an ungranted section: %v", nav)
		}
	}

	for _, tt := range []struct {
		path string
		want int
	}{
		{"/record", 200},
		{"/record/conditions", 200},
		{"/record/allergies", 403},
		{"/record/results", 403},
		{"/record/results/abc", 403},
		{"/record/download", 403},
		{"/record/print", 403},
		{"/record/search?q=metformin", 200},
		{"/record/search?q=metformin&section=allergies", 403},
		{"/carers", 403},
		{"/carers/invite", 403},
		{"/account", 200},
		{"/caring", 200},
		{"/acting-for", 200},
		{"/record/nonsense", 404},
	} {
		if got := f.get(t, tt.path, john.cookie).StatusCode; got != tt.want {
			t.Errorf("%s: status %d, want %d", tt.path, got, tt.want)
		}
	}
	refused := doc(t, f.get(t, "/record/allergies", john.cookie))
	if got := refused.Find("main").Text(); !strings.Contains(got, "Jane Example has not given you access to allergies") {
		t.Errorf("refusal page says %q", got)
	}
	if refused.Find("h1").Length() != 1 {
		t.Error("refusal page needs one h1")
	}
	sum := doc(t, f.get(t, "/record", john.cookie))
	allergies := sum.Find(".nhsuk-card").FilterFunction(func(_ int, c *goquery.Selection) bool { return c.Find("h2").Text() == "Allergies" })
	if sum.Find("a[href='/record/allergies']").Length() != 0 || sum.Find("a[href='/record/download']").Length() != 0 ||
		!strings.Contains(allergies.Text(), "Jane Example has not given you access to this part of their record.") || allergies.Find("li").Length() != 0 {
		t.Errorf("summary shows an ungranted part or the download link, or does not say it is not shared: %q", allergies.Text())
	}
}

func TestCarerItemInUngrantedSection(t *testing.T) {
	f := newFixture(t)
	f.signIn(t, f.jane)
	john := f.newCarer(t, "John Smith")
	f.grant(t, f.jane, f.ownAccount(t, f.jane), john, "conditions")
	sp, err := f.db.RecordSection(context.Background(), f.jane.ID, "medicines", 1, 10)
	if err != nil || len(sp.Items) == 0 {
		t.Fatal("no medicine", err)
	}
	// An entry outside the grant is answered as no entry at all: a refusal
	// naming its section would tell John it exists.
	path := "/record/item/" + strconv.FormatInt(sp.Items[0].ID, 10)
	none := "/record/item/999999"
	for _, suffix := range []string{"", "/attachment/0"} {
		got, want := f.get(t, path+suffix, john.cookie), f.get(t, none+suffix, john.cookie)
		if got.StatusCode != http.StatusNotFound || doc(t, got).Find("main").Text() != doc(t, want).Find("main").Text() {
			t.Errorf("%s: status %d, want 404 as for %s", path+suffix, got.StatusCode, none+suffix)
		}
	}
	amir, err := f.db.RecordSection(context.Background(), f.amir.ID, "medicines", 1, 10)
	if err != nil || len(amir.Items) == 0 {
		t.Fatal("no medicine for Amir", err)
	}
	if got := f.get(t, "/record/item/"+strconv.FormatInt(amir.Items[0].ID, 10), john.cookie).StatusCode; got != http.StatusNotFound {
		t.Errorf("another person's item: status %d, want 404", got)
	}
}

func TestRevocationAndExpiryApplyAtTheNextRequest(t *testing.T) {
	f := newFixture(t)
	f.signIn(t, f.jane)
	jane := f.ownAccount(t, f.jane)
	ctx := context.Background()

	t.Run("revoked", func(t *testing.T) {
		john := f.newCarer(t, "John")
		g := f.grant(t, f.jane, jane, john, "medicines")
		if got := f.get(t, "/record/medicines", john.cookie).StatusCode; got != 200 {
			t.Fatalf("before: %d", got)
		}
		if _, err := f.db.RevokeGrant(ctx, f.jane.ID, g.ID, jane.ID, grantLogged(jane, "stopped John's access")); err != nil {
			t.Fatal(err)
		}
		resp := f.get(t, "/record/medicines", john.cookie)
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("after revoke: %d, want 403", resp.StatusCode)
		}
		if got := doc(t, resp).Find("main").Text(); strings.Contains(got, "Metformin") || !strings.Contains(got, "Your access to Jane Example's record has been stopped.") || strings.Contains(got, "ask Jane") {
			t.Errorf("after revoke the page says %q", got)
		}
	})
	t.Run("end date passed", func(t *testing.T) {
		mary := f.newCarer(t, "Mary")
		g := f.grant(t, f.jane, jane, mary, "medicines")
		if _, err := f.db.ChangeGrant(ctx, f.jane.ID, g.ID, jane.ID, []string{"medicines"}, time.Now().Add(time.Minute), grantLogged(jane, "changed Mary's access")); err != nil {
			t.Fatal(err)
		}
		if got := f.get(t, "/record/medicines", mary.cookie).StatusCode; got != 200 {
			t.Fatalf("before: %d", got)
		}
		f.db.SetClock(func() time.Time { return time.Now().Add(2 * time.Minute) })
		defer f.db.SetClock(time.Now)
		if got := f.get(t, "/record/medicines", mary.cookie).StatusCode; got != http.StatusForbidden {
			t.Fatalf("after the end date: %d, want 403", got)
		}
	})
}

func TestInviteAcceptSwitch(t *testing.T) {
	f := newFixture(t)
	janeCookie := f.signIn(t, f.jane)
	ctx := context.Background()

	// The form with nothing in it says what is wrong.
	rec := f.post(t, "/carers/invite", janeCookie, url.Values{"csrf": {csrfToken(t, f, janeCookie)}})
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "nhsuk-error-summary") {
		t.Fatalf("empty invitation: %d", rec.Code)
	}

	// Parental responsibility for an adult: the error is by the box, which points to it.
	rec = f.post(t, "/carers/invite", janeCookie, url.Values{"csrf": {csrfToken(t, f, janeCookie)},
		"name": {"John Smith"}, "relationship": {"son"}, "scope": {"medicines"}, "ends": {"12m"}, "parental": {"yes"}})
	if d := docOf(t, rec.Body.String()); rec.Code != http.StatusBadRequest || d.Find(`.nhsuk-error-summary a[href="#parental"]`).Length() != 1 ||
		d.Find(".nhsuk-form-group--error #parental-error").Length() != 1 || d.Find("#parental").AttrOr("aria-describedby", "") != "parental-hint parental-error" {
		t.Errorf("parental responsibility for an adult: %d; want the error summary linking to the box, and the error by it", rec.Code)
	}

	rec = f.post(t, "/carers/invite/confirm", janeCookie, url.Values{"csrf": {csrfToken(t, f, janeCookie)},
		"name": {"John Smith"}, "relationship": {"son"}, "scope": {"medicines", "choices"}, "ends": {"12m"}})
	if rec.Code != http.StatusOK {
		t.Fatalf("invite: %d %s", rec.Code, rec.Body.String())
	}
	d := docOf(t, rec.Body.String())
	code := strings.TrimSpace(d.Find("#invite-code").Text())
	link := strings.TrimSpace(d.Find("#invite-link").Text())
	if len(code) != 14 || !strings.HasSuffix(link, "/carers/accept?code="+code) {
		t.Fatalf("code %q link %q", code, link)
	}
	list := doc(t, f.get(t, "/carers", janeCookie))
	if !strings.Contains(list.Find("main").Text(), "Invited") {
		t.Error("the list does not show the invitation")
	}

	// The carer opens the link in a fresh browser.
	anon, _, err := f.db.CreateSession(ctx, 0, store.DefaultSessionPolicy())
	if err != nil {
		t.Fatal(err)
	}
	anonCookie := sessionCookie(t, anon)
	if got := f.get(t, "/carers/accept?code="+code, anonCookie); got.StatusCode != 200 {
		t.Fatalf("accept page: %d", got.StatusCode)
	}
	// A form that cannot be checked says why, speaking of the inviter's date of
	// birth, and costs no try at the code.
	for _, tt := range []struct{ code, day, month, year, field, want string }{
		{"", "14", "3", "1957", "code", "Enter the invitation code"},
		{code, "", "", "", "dob-day", "Enter their date of birth"},
		{code, "31", "2", "1957", "dob-day", "Their date of birth must be a real date"},
		{code, "14", "13", "1957", "dob-month", "Their date of birth must include a month between 1 and 12"},
		{code, "14", "3", "57", "dob-year", "Year must include 4 numbers, like 1984"},
	} {
		rec = f.post(t, "/carers/accept", anonCookie, url.Values{"csrf": {sessionCSRF(t, f, anon)}, "code": {tt.code}, "day": {tt.day}, "month": {tt.month}, "year": {tt.year}})
		d := docOf(t, rec.Body.String())
		if got := strings.TrimSpace(d.Find(`.nhsuk-error-summary a[href="#` + tt.field + `"]`).Text()); rec.Code != http.StatusBadRequest || got != tt.want {
			t.Errorf("accept with %q %s/%s/%s: %d, summary says %q, want %q", tt.code, tt.day, tt.month, tt.year, rec.Code, got, tt.want)
		}
	}
	rec = f.post(t, "/carers/accept", anonCookie, url.Values{"csrf": {sessionCSRF(t, f, anon)}, "code": {code}, "day": {"1"}, "month": {"1"}, "year": {"1990"}})
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "4 more tries") {
		t.Fatalf("wrong date of birth: %d", rec.Code)
	}
	rec = f.post(t, "/carers/accept", anonCookie, url.Values{"csrf": {sessionCSRF(t, f, anon)}, "code": {code}, "day": {"14"}, "month": {"3"}, "year": {"1957"}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/carers/accept/confirm" {
		t.Fatalf("right date of birth: %d %s", rec.Code, rec.Header().Get("Location"))
	}
	anon, anonCookie = sessionSet(t, rec) // a new id, now the code has proved who it is (TestCodesGiveTheSessionANewID)
	conf := doc(t, f.get(t, "/carers/accept/confirm", anonCookie))
	if conf.Find("#inviter-name").Text() != "Jane Example" || conf.Find("#passkey-create").Length() != 1 || conf.Find("#passkey-signin").Length() != 1 {
		t.Fatal("confirm page lacks the name or the passkey buttons")
	}
	if got := conf.Find("#looks-shown").Text(); got != "Jane Example can see each time you look at or change their record, and can change or stop your access at any time." {
		t.Errorf("the confirm page tells the carer %q about their looks being shown", got)
	}

	// Signing in from the invitation (as its passkey ceremony would) brings it along.
	john, err := f.db.CreateCarerAccount(ctx, []byte("john"), "John Smith", store.Passkey{CredentialID: []byte("john"), PublicKey: []byte("k")})
	if err != nil {
		t.Fatal(err)
	}
	signedIn, _, moved, err := f.db.RotateSessionKeepingInvitation(ctx, anon, john.ID, nil, store.DefaultSessionPolicy())
	if err != nil {
		t.Fatal(err)
	}
	if !moved {
		t.Fatal("the invitation did not follow the sign-in")
	}
	johnCookie := sessionCookie(t, signedIn)
	// The signed-in carer's page asks to accept the invitation it shows, and names it in its form.
	invitation, _ := doc(t, f.get(t, "/carers/accept/confirm", johnCookie)).Find(`form[action="/carers/accept/confirm"] input[name="invitation"]`).Attr("value")
	rec = f.post(t, "/carers/accept/confirm", johnCookie, url.Values{"csrf": {sessionCSRF(t, f, signedIn)}, "invitation": {invitation}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/acting-for" {
		t.Fatalf("accept: %d", rec.Code)
	}
	if !strings.Contains(doc(t, f.get(t, "/carers", janeCookie)).Find("main").Text(), "Active") {
		t.Error("Jane does not see the grant as active")
	}
	// Not acting for anyone yet, John is still logged as her carer, in the words of the grant he accepted.
	if log, err := f.db.AccessLog(ctx, f.jane.ID, 1); err != nil || len(log) != 1 || !strings.HasSuffix(log[0].What, " accepted the invitation") ||
		log[0].ActorKind != store.ActorCarer || log[0].Relationship != "son" {
		t.Errorf("Jane's access log says %+v (%v); want John, her carer (son), accepting", log, err)
	}

	// With no record of his own, John is asked whom to act for.
	if got := f.get(t, "/record", johnCookie); got.StatusCode != http.StatusSeeOther || got.Header.Get("Location") != "/acting-for" {
		t.Fatalf("/record before choosing: %d %s", got.StatusCode, got.Header.Get("Location"))
	}
	choose := doc(t, f.get(t, "/acting-for", johnCookie))
	value, ok := choose.Find("input[name=who]").Attr("value")
	if !ok || choose.Find("input[name=who][value=self]").Length() != 0 {
		t.Fatal("acting-for page: want one choice and no Myself")
	}
	if choose.Find("input[name=who][checked]").AttrOr("value", "") != value {
		t.Error("acting-for page: the one choice there is is not chosen already")
	}
	// Continuing without a choice asks again, saying why, with the form kept.
	rec = f.post(t, "/acting-for", johnCookie, url.Values{"csrf": {sessionCSRF(t, f, signedIn)}})
	if rec.Code != http.StatusBadRequest {
		t.Fatalf("no choice: %d, want 400", rec.Code)
	}
	if d := docOf(t, rec.Body.String()); d.Find(`.nhsuk-error-summary a[href="#acting-1"]`).Text() != "Choose whose record you want to use" ||
		d.Find("#acting-1").Length() != 1 || d.Find(".nhsuk-form-group--error #who-error").Length() != 1 || !strings.HasPrefix(d.Find("title").Text(), "Error: ") {
		t.Errorf("no choice: want the error summary linking to the first choice, its message by the field and Error: in the title:\n%s", rec.Body.String())
	}
	rec = f.post(t, "/acting-for", johnCookie, url.Values{"csrf": {sessionCSRF(t, f, signedIn)}, "who": {value}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("switch: %d", rec.Code)
	}
	page := doc(t, f.get(t, "/record/medicines", johnCookie))
	if !strings.Contains(page.Find(".mcr-acting-banner").Text(), "Jane Example") {
		t.Error("no banner after switching")
	}

	// Someone else's grant id cannot be chosen.
	mary := f.newCarer(t, "Mary")
	rec = f.post(t, "/acting-for", mary.cookie, url.Values{"csrf": {sessionCSRF(t, f, mary.id)}, "who": {value}})
	if rec.Code != http.StatusForbidden {
		t.Errorf("acting under another's grant: %d, want 403", rec.Code)
	}

	// John gives up; Jane sees it.
	grants, _ := f.db.GrantsForAccount(ctx, john.ID)
	rec = f.post(t, "/caring/"+strconv.FormatInt(grants[0].ID, 10)+"/give-up", johnCookie, url.Values{"csrf": {sessionCSRF(t, f, signedIn)}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("give up: %d", rec.Code)
	}
	if !strings.Contains(doc(t, f.get(t, "/carers", janeCookie)).Find("main").Text(), "Given up") {
		t.Error("Jane does not see that John gave up")
	}
	if log, err := f.db.AccessLog(ctx, f.jane.ID, 1); err != nil || len(log) != 1 || log[0].What != grants[0].CarerName+" gave up their access" ||
		log[0].ActorKind != store.ActorCarer || log[0].Relationship != grants[0].Relationship || grants[0].Relationship == "" {
		t.Errorf("Jane's access log says %+v (%v); want John, her carer (%s), giving up", log, err, grants[0].Relationship)
	}
	if got := f.get(t, "/record/medicines", johnCookie).StatusCode; got != http.StatusForbidden {
		t.Errorf("after giving up: %d, want 403", got)
	}
}

func TestChangeAndRevokePages(t *testing.T) {
	f := newFixture(t)
	janeCookie := f.signIn(t, f.jane)
	jane := f.ownAccount(t, f.jane)
	john := f.newCarer(t, "John")
	g := f.grant(t, f.jane, jane, john, "medicines")
	path := "/carers/" + strconv.FormatInt(g.ID, 10)
	csrf := csrfToken(t, f, janeCookie)

	if got := f.get(t, "/record/conditions", john.cookie).StatusCode; got != 403 {
		t.Fatalf("before change: %d", got)
	}
	rec := f.post(t, path, janeCookie, url.Values{"csrf": {csrf}, "scope": {"medicines", "conditions"}, "ends": {"never"}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("change: %d %s", rec.Code, rec.Body.String())
	}
	if got := doc(t, f.get(t, rec.Header().Get("Location"), janeCookie)).Find("#done-message").Text(); got != "You have changed John's access. It applies from their next click." {
		t.Errorf("after changing, the banner says %q", got)
	}
	if got := f.get(t, "/record/conditions", john.cookie).StatusCode; got != 200 {
		t.Errorf("after change: %d", got)
	}
	rec = f.post(t, path, janeCookie, url.Values{"csrf": {csrf}, "scope": {"medicines", "download"}, "ends": {"never"}})
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "every part of it") {
		t.Errorf("download without every section: %d", rec.Code)
	}
	// Amir cannot see or change Jane's carers.
	amir := f.signIn(t, f.amir)
	if got := f.get(t, path, amir).StatusCode; got != http.StatusNotFound {
		t.Errorf("Amir reads Jane's grant: %d", got)
	}
	// An address saying it was stopped, while it is not, confirms nothing
	// (a review: a link from John read "You have stopped John's access").
	if got := doc(t, f.get(t, "/carers?done=revoked&grant="+strconv.FormatInt(g.ID, 10), janeCookie)).Find("#done-message").Text(); got != "" {
		t.Errorf("John's access is active, yet the banner says %q", got)
	}
	if got := doc(t, f.get(t, "/caring?done=gave-up&grant="+strconv.FormatInt(g.ID, 10), john.cookie)).Find("#done-message").Text(); got != "" {
		t.Errorf("John has not given up his access, yet his banner says %q", got)
	}
	if got := f.get(t, path+"/revoke", janeCookie).StatusCode; got != 200 {
		t.Errorf("revoke page: %d", got)
	}
	rec = f.post(t, path+"/revoke", janeCookie, url.Values{"csrf": {csrf}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("revoke: %d", rec.Code)
	}
	// The page it goes back to names whose access stopped, and that card
	// says when it ended and what they could do, not when it would have.
	list := doc(t, f.get(t, rec.Header().Get("Location"), janeCookie))
	if got := strings.TrimSpace(list.Find(".nhsuk-notification-banner--success #done-message").Text()); got != "You have stopped John's access. They can no longer see your record." {
		t.Errorf("after stopping, the banner says %q", got)
	}
	card := strings.Join(strings.Fields(list.Find(".nhsuk-card").Text()), " ")
	if !strings.Contains(card, "Could see and doMedicines") || !strings.Contains(card, "Access ended") || strings.Contains(card, "Access ends") || strings.Contains(card, "Can see and do") {
		t.Errorf("the stopped access's card: %s", card)
	}
	// Someone else's grant in the address is not named, nor confirmed.
	if got := doc(t, f.get(t, "/carers?done=revoked&grant=999", janeCookie)).Find("#done-message").Text(); got != "" {
		t.Errorf("a grant not Jane's confirmed in the banner: %q", got)
	}
	d := doc(t, f.get(t, path, janeCookie))
	if !strings.Contains(d.Find("main").Text(), "Stopped John's access") || d.Find("form[action='"+path+"']").Length() != 0 {
		t.Error("after revoking, the page should show the history and no change form")
	}
	log, err := f.db.AccessLog(context.Background(), f.jane.ID, 50)
	if err != nil {
		t.Fatal(err)
	}
	var grants []string
	for _, a := range log {
		if a.Action == "grant" {
			grants = append(grants, a.What)
		}
	}
	// Newest first: the two changes made here, after the invitation and its acceptance.
	if len(grants) != 4 || !strings.HasPrefix(grants[0], "stopped ") || !strings.HasPrefix(grants[1], "changed ") {
		t.Errorf("access log's grant entries %q, want stopped, changed, then accepted and invited", grants)
	}
}

func TestParentalAccessEndsAtSixteen(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sixteen := time.Now().In(store.UKZone()).AddDate(0, 0, 10) // Lily turns 16 in ten days, in the UK
	dob := sixteen.AddDate(-16, 0, 0).Format("2006-01-02")
	lily := addLily(t, f, dob, medicine("m3", "lily", "Salbutamol inhaler"))
	lilyCookie := f.signIn(t, lily)
	rec := f.post(t, "/carers/invite/confirm", lilyCookie, url.Values{"csrf": {csrfToken(t, f, lilyCookie)},
		"name": {"Jane Example"}, "relationship": {"mother"}, "scope": {"medicines"}, "ends": {"never"}, "parental": {"yes"}})
	if rec.Code != http.StatusOK {
		t.Fatalf("parental invitation: %d %s", rec.Code, rec.Body.String())
	}
	mum := f.newCarer(t, "Mum")
	grants, _ := f.db.GrantsForPerson(ctx, lily.ID)
	if len(grants) != 1 || !grants[0].Parental || grants[0].EndsAt.In(store.UKZone()).Format("2006-01-02") != sixteen.Format("2006-01-02") {
		t.Fatalf("grant %+v: want parental, ending on the 16th birthday %s", grants, sixteen.Format("2006-01-02"))
	}
	// Accept as the store would after the code and date of birth.
	code := strings.TrimSpace(docOf(t, rec.Body.String()).Find("#invite-code").Text())
	renewed := proveInvitation(t, f, code, dob, mum.id, mum.acct)
	mum.id, mum.cookie = renewed, sessionCookie(t, renewed) // a proved code gives the session a new id
	g, err := f.db.AcceptInvitation(ctx, mum.id, mum.acct.ID, heldInvitation(t, f.db, mum.id), grantLogged(mum.acct, "Mum accepted the invitation"))
	if err != nil {
		t.Fatal(err)
	}
	f.db.SetActingFor(ctx, mum.id, mum.acct.ID, g.ID)
	if got := f.get(t, "/record/medicines", mum.cookie).StatusCode; got != 200 {
		t.Fatalf("before the birthday: %d", got)
	}
	// Her mother reads whose birthday it is, not "your".
	if caring := doc(t, f.get(t, "/caring", mum.cookie)).Find("main").Text(); !strings.Contains(caring, "ends by "+lily.Name()+"'s 16th birthday") || strings.Contains(caring, "your 16th") {
		t.Errorf("the carer's page says: %s", caring)
	}

	f.db.SetClock(func() time.Time { return time.Now().AddDate(0, 0, 11) })
	defer f.db.SetClock(time.Now)
	// Sessions would have timed out in 11 days: sign both in again.
	mumSession, _, _ := f.db.CreateSession(ctx, mum.acct.ID, store.DefaultSessionPolicy())
	if err := f.db.SetActingFor(ctx, mumSession, mum.acct.ID, g.ID); store.ErrorCode(err) != store.EFORBIDDEN {
		t.Errorf("acting after the 16th birthday: %v, want forbidden", err)
	}
	lilyAcct := f.ownAccount(t, lily)
	lilySession, _, _ := f.db.CreateSession(ctx, lilyAcct.ID, store.DefaultSessionPolicy())
	d := doc(t, f.get(t, "/carers", sessionCookie(t, lilySession)))
	if !strings.Contains(d.Find("main").Text(), "ended on your 16th birthday") {
		t.Errorf("Lily is not told the parental access ended: %s", d.Find("main").Text())
	}
	again, ok := d.Find(`a[href^="/carers/invite?again="]`).Attr("href")
	if !ok {
		t.Fatal("no link to invite her mother again")
	}
	form := doc(t, f.get(t, again, sessionCookie(t, lilySession)))
	if v, _ := form.Find("#carer-name").Attr("value"); v != "Jane Example" {
		t.Errorf("invite again starts with name %q", v)
	}
	if form.Find("#scope-medicines[checked]").Length() != 1 {
		t.Error("invite again does not start with the scopes she had")
	}
}

// grantLogged makes the access log entry of a change to a grant made by a
// test, as the portal would log it: by the account, on the record of the
// grant's person, in the words given.
func grantLogged(by store.Account, words string) store.Logged[store.Grant] {
	return func(g store.Grant) store.Access {
		a := store.Access{AccountID: by.ID, PersonID: g.PersonID, Action: "grant", What: words, Device: "A web browser on an unknown device",
			ActorKind: store.ActorSelf, ActorName: by.DisplayName}
		if by.PersonID != g.PersonID {
			a.ActorKind, a.Relationship = store.ActorCarer, g.Relationship
		}
		return a
	}
}

// A form is for the record it was made for: a carer who switches to another
// person in another window and then sends a form left open changes nobody's
// record, and is told why.
func TestFormsStayWithTheirRecord(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.signIn(t, f.jane)
	f.signIn(t, f.amir)
	john := f.newCarer(t, "John Smith")
	forJane := f.grant(t, f.jane, f.ownAccount(t, f.jane), john, "medicines", store.ScopeChoices)
	forAmir := f.grant(t, f.amir, f.ownAccount(t, f.amir), john, "medicines", store.ScopeChoices)
	if err := f.db.SetActingFor(ctx, john.id, john.acct.ID, forJane.ID); err != nil {
		t.Fatal(err)
	}
	// "Check your change" for Jane: the form sends whose record it is for.
	token := sessionCSRF(t, f, john.id)
	rec := f.post(t, "/choices/research", john.cookie, url.Values{"csrf": {token}, "for": {itoa(forJane.ID)}, "answer": {"no"}})
	form := docOf(t, rec.Body.String()).Find(`form[action="/choices/research/confirm"]`)
	sent := url.Values{}
	form.Find("input[type=hidden]").Each(func(_ int, in *goquery.Selection) {
		name, _ := in.Attr("name")
		value, _ := in.Attr("value")
		sent.Set(name, value)
	})
	if rec.Code != http.StatusOK || sent.Get("for") != itoa(forJane.ID) || sent.Get("answer") != "no" {
		t.Fatalf("check page for Jane: %d, form sends %v", rec.Code, sent)
	}
	// In another window, John switches to Amir; then confirms in the first.
	if err := f.db.SetActingFor(ctx, john.id, john.acct.ID, forAmir.ID); err != nil {
		t.Fatal(err)
	}
	rec = f.post(t, "/choices/research/confirm", john.cookie, sent)
	if rec.Code != http.StatusConflict || !strings.Contains(docOf(t, rec.Body.String()).Find("main").Text(), "You have switched to Amir Khan's record") {
		t.Errorf("confirming Jane's change while acting for Amir: %d %q, want 409 saying so", rec.Code, docOf(t, rec.Body.String()).Find("main").Text())
	}
	for _, p := range []store.Person{f.jane, f.amir} {
		if hist, err := f.db.ConsentHistory(ctx, p.ID); err != nil || len(hist) != 0 {
			t.Errorf("%s's choices changed %d times (%v)", p.Name(), len(hist), err)
		}
	}
	// A form with no record named, or one made for their own record, is refused alike.
	for _, who := range []string{"", "self", itoa(forJane.ID)} {
		sent.Set("for", who)
		if rec := f.post(t, "/choices/research/confirm", john.cookie, sent); rec.Code != http.StatusConflict {
			t.Errorf("for=%q: %d, want 409", who, rec.Code)
		}
	}
	// Sent from a page made for Amir, it is made.
	sent.Set("for", itoa(forAmir.ID))
	if rec := f.post(t, "/choices/research/confirm", john.cookie, sent); rec.Code != http.StatusSeeOther {
		t.Errorf("confirming Amir's change while acting for Amir: %d", rec.Code)
	}
	if hist, err := f.db.ConsentHistory(ctx, f.amir.ID); err != nil || len(hist) != 1 {
		t.Errorf("Amir's choices changed %d times (%v); want once", len(hist), err)
	}
}

// Accepting takes the invitation the page showed, not one whose code was
// entered since in another window.
func TestAcceptTakesTheInvitationShown(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.signIn(t, f.jane)
	f.signIn(t, f.amir)
	john := f.newCarer(t, "John Smith")
	invite := func(p store.Person) {
		_, code, err := f.db.CreateInvitation(ctx, p.ID, f.ownAccount(t, p).ID, store.Invitation{CarerName: "John Smith", Relationship: "son", Scopes: []string{"medicines"}},
			grantLogged(f.ownAccount(t, p), "invited John Smith (son)"))
		if err != nil {
			t.Fatal(err)
		}
		renewed := proveInvitation(t, f, code, p.BirthDate, john.id, john.acct)
		john.id, john.cookie = renewed, sessionCookie(t, renewed) // a proved code gives the session a new id
	}
	invite(f.jane)
	shown := doc(t, f.get(t, "/carers/accept/confirm", john.cookie))
	invitation, _ := shown.Find(`form[action="/carers/accept/confirm"] input[name="invitation"]`).Attr("value")
	if shown.Find("#inviter-name").Text() != "Jane Example" || invitation == "" {
		t.Fatalf("confirm page shows %q, invitation %q", shown.Find("#inviter-name").Text(), invitation)
	}
	invite(f.amir) // in another window
	rec := f.post(t, "/carers/accept/confirm", john.cookie, url.Values{"csrf": {sessionCSRF(t, f, john.id)}, "for": {"self"}, "invitation": {invitation}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("accept: %d", rec.Code)
	}
	grants, err := f.db.GrantsForAccount(ctx, john.acct.ID)
	if err != nil || len(grants) != 1 || grants[0].PersonID != f.jane.ID {
		t.Fatalf("John's grants after accepting Jane's invitation: %+v, %v", grants, err)
	}
	// Without the invitation named, nothing is accepted.
	if rec := f.post(t, "/carers/accept/confirm", john.cookie, url.Values{"csrf": {sessionCSRF(t, f, john.id)}, "for": {"self"}}); rec.Code != http.StatusForbidden {
		t.Errorf("accept with no invitation named: %d, want 403", rec.Code)
	}
}

// A carer is never told of what the person keeps out of sharing, nor of an
// organisation whose only part in the record is kept out; and a fact another
// source reports as well stays in the carer's view, as that source reports it.
func TestCarerIsNotToldOfWhatIsKeptOut(t *testing.T) {
	ctx := context.Background()
	resource := func(raw string) fhir.Resource {
		r, err := fhir.ParseResource([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	janeAt := func(f *fixture, source, org string, res ...fhir.Resource) {
		t.Helper()
		if _, err := f.db.ImportResources(ctx, store.ImportOptions{Source: source, OrgName: org}, "test",
			append([]fhir.Resource{patient("jane", "9434765919", "Jane", "Example", "1957-03-14")}, res...)); err != nil {
			t.Fatal(err)
		}
	}
	keepOut := func(f *fixture, jane *http.Cookie, category string) {
		t.Helper()
		slug := store.ConsentQuestionSlug(store.WithholdQuestion(category))
		if rec := f.post(t, "/choices/"+slug+"/confirm", jane, url.Values{"csrf": {csrfOf(t, f, jane)}, "for": {"self"}, "answer": {"yes"}}); rec.Code != http.StatusSeeOther {
			t.Fatalf("keep %s out: %d", category, rec.Code)
		}
	}
	everything := []string{store.ScopeDownload}
	for _, s := range fhir.Sections() {
		everything = append(everything, s.Slug)
	}

	t.Run("a clinic whose only entry is kept out", func(t *testing.T) {
		f := newFixture(t)
		jane := f.signIn(t, f.jane)
		janeAt(f, "shc", "Leeds Sexual Health Clinic", resource(`{"resourceType":"Condition","id":"c-sti","subject":{"reference":"Patient/jane"},`+
			`"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"A54.9","display":"Gonococcal infection"}]},"recordedDate":"2024-02-01"}`))
		if !strings.Contains(readAll(f.get(t, "/record", jane)), "Leeds Sexual Health Clinic") {
			t.Fatal("Jane's own summary does not name the clinic")
		}
		keepOut(f, jane, store.CategorySexualHealth)
		john := f.newCarer(t, "John Smith")
		f.grant(t, f.jane, f.ownAccount(t, f.jane), john, everything...)
		for _, path := range []string{"/record", "/record/conditions", "/record/print", "/record/download"} {
			if body := readAll(f.get(t, path, john.cookie)); strings.Contains(body, "Sexual Health") || strings.Contains(body, "Gonococcal") || strings.Contains(body, "source:shc") {
				t.Errorf("%s tells the carer of the clinic or its entry", path)
			}
		}
		// The entry's address is answered as one that does not exist.
		sec, err := f.db.RecordSection(ctx, f.jane.ID, fhir.SectionConditions, 1, 50)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range sec.Items {
			if it.Code != "A54.9" {
				continue
			}
			got, none := f.get(t, "/record/item/"+itoa(it.ID), john.cookie), f.get(t, "/record/item/999999", john.cookie)
			if got.StatusCode != http.StatusNotFound || doc(t, got).Find("main").Text() != doc(t, none).Find("main").Text() {
				t.Errorf("the kept-out entry answers %d, unlike one that does not exist", got.StatusCode)
			}
		}
	})

	// The same medicine from the GP and from a social care service, which Jane
	// keeps out of sharing: in either order of arrival, her carer sees the
	// GP's, and is not told of the social care service.
	for _, first := range []string{"gp2", "sc"} {
		t.Run("a fact social care reports too, "+first+" first", func(t *testing.T) {
			f := newFixture(t)
			jane := f.signIn(t, f.jane)
			med := func(id string) fhir.Resource {
				return resource(`{"resourceType":"MedicationRequest","id":"` + id + `","status":"active","intent":"order","subject":{"reference":"Patient/jane"},` +
					`"medicationCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"322236009","display":"Paracetamol 500mg tablets"}]},"authoredOn":"2025-02-10"}`)
			}
			imports := map[string]func(){
				"gp2": func() { janeAt(f, "gp2", "Meanwood Group Practice", med("p1")) },
				"sc":  func() { janeAt(f, "sc", "Leeds Adult Social Care", med("p2")) },
			}
			imports[first]()
			for name, load := range imports {
				if name != first {
					load()
				}
			}
			if err := f.db.SetSourceSocialCare(ctx, "sc", true); err != nil {
				t.Fatal(err)
			}
			if _, err := f.db.FinishStalledBulkLoad(ctx, false); err != nil { // as portal source social-care does
				t.Fatal(err)
			}
			keepOut(f, jane, store.CategorySocialCare)
			if main := doc(t, f.get(t, "/record/medicines", jane)).Find("main").Text(); !strings.Contains(main, "Paracetamol") || !strings.Contains(main, "Leeds Adult Social Care") {
				t.Errorf("Jane's own medicines page: %q", strings.Join(strings.Fields(main), " "))
			}
			john := f.newCarer(t, "John Smith")
			f.grant(t, f.jane, f.ownAccount(t, f.jane), john, everything...)
			main := doc(t, f.get(t, "/record/medicines", john.cookie)).Find("main").Text()
			if !strings.Contains(main, "Paracetamol") || !strings.Contains(main, "Meanwood Group Practice") {
				t.Errorf("the carer does not see the GP's paracetamol: %q", strings.Join(strings.Fields(main), " "))
			}
			for _, path := range []string{"/record", "/record/medicines", "/record/download"} {
				if body := readAll(f.get(t, path, john.cookie)); strings.Contains(body, "Social Care") || strings.Contains(body, "source:sc\"") {
					t.Errorf("%s tells the carer of the social care service", path)
				}
			}
			// Nor does search find the GP's entry by the social care report's words.
			for _, q := range []string{"social care", "Leeds Adult Social Care"} {
				if main := doc(t, f.get(t, "/record/search?q="+url.QueryEscape(q), john.cookie)).Find("main").Text(); strings.Contains(main, "Paracetamol") {
					t.Errorf("the carer's search for %q finds the fact by the kept-out report's words", q)
				}
			}
			if main := doc(t, f.get(t, "/record/search?q=paracetamol", john.cookie)).Find("main").Text(); !strings.Contains(main, "Paracetamol") {
				t.Error("the carer's search does not find the GP's paracetamol")
			}
		})
	}
}

// An invitation form sent twice (the page showing the code reloaded) makes
// one invitation: the second sending makes no second live code, and says so.
func TestInvitationFormSentTwice(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	jane := f.signIn(t, f.jane)
	form := doc(t, f.get(t, "/carers/invite", jane)).Find(`form[action="/carers/invite"]`)
	once, _ := form.Find(`input[name="once"]`).Attr("value")
	other, _ := doc(t, f.get(t, "/carers/invite", jane)).Find(`form[action="/carers/invite"] input[name="once"]`).Attr("value")
	if len(once) < 20 || once == other {
		t.Fatalf("the form's token %q (another form's %q): want a long random one per form", once, other)
	}
	sent := url.Values{"csrf": {csrfToken(t, f, jane)}, "for": {"self"}, "once": {once},
		"name": {"John Smith"}, "relationship": {"son"}, "scope": {"medicines"}, "ends": {"12m"}}
	if rec := f.post(t, "/carers/invite/confirm", jane, sent); rec.Code != http.StatusOK || docOf(t, rec.Body.String()).Find("#invite-code").Length() != 1 {
		t.Fatalf("first sending: %d", rec.Code)
	}
	rec := f.post(t, "/carers/invite/confirm", jane, sent)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/carers?done=sent-before" {
		t.Fatalf("second sending: %d to %q, want 303 to /carers?done=sent-before", rec.Code, rec.Header().Get("Location"))
	}
	if got := doc(t, f.get(t, "/carers?done=sent-before", jane)).Find(".nhsuk-notification-banner").Text(); !strings.Contains(got, "You have already made this invitation") {
		t.Errorf("the carers page does not say the invitation was made before: %q", got)
	}
	grants, err := f.db.GrantsForPerson(ctx, f.jane.ID)
	if err != nil || len(grants) != 1 {
		t.Fatalf("Jane has %d invitations (%v), want 1", len(grants), err)
	}
	// The same form brought back (the browser's Back button) and changed is another invitation.
	changed := url.Values{}
	for k, v := range sent {
		changed[k] = v
	}
	changed.Set("name", "Dad Example")
	changed.Set("relationship", "father")
	if rec := f.post(t, "/carers/invite/confirm", jane, changed); rec.Code != http.StatusOK || docOf(t, rec.Body.String()).Find("#invite-code").Length() != 1 {
		t.Errorf("the form brought back and changed: %d, want a new invitation's code", rec.Code)
	}
	// Another form is another invitation.
	sent.Set("once", other)
	if rec := f.post(t, "/carers/invite/confirm", jane, sent); rec.Code != http.StatusOK {
		t.Errorf("a second form: %d", rec.Code)
	}
}

// A change to a carer's access sent after it ended (a page left open while
// the carer gave it up) says it has ended; nothing is changed.
func TestChangeToAnEndedAccess(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	jane := f.signIn(t, f.jane)
	john := f.newCarer(t, "John Smith")
	g := f.grant(t, f.jane, f.ownAccount(t, f.jane), john, "medicines")
	if _, err := f.db.GiveUpGrant(ctx, john.acct.ID, g.ID, grantLogged(john.acct, "John Smith gave up their access")); err != nil {
		t.Fatal(err)
	}
	rec := f.post(t, "/carers/"+itoa(g.ID), jane, url.Values{"csrf": {csrfToken(t, f, jane)}, "for": {"self"}, "scope": {"medicines", "conditions"}, "ends": {"never"}})
	if rec.Code != http.StatusConflict || !strings.Contains(docOf(t, rec.Body.String()).Find("main").Text(), "This access has ended, so it cannot be changed") {
		t.Errorf("change to an ended access: %d to %q; want 409 saying it has ended", rec.Code, rec.Header().Get("Location"))
	}
}

// A carer's summary and search pages say whose record they are, in the title too.
func TestCarerPageTitlesNameThePerson(t *testing.T) {
	f := newFixture(t)
	f.signIn(t, f.jane)
	john := f.newCarer(t, "John Smith")
	f.grant(t, f.jane, f.ownAccount(t, f.jane), john, "medicines")
	for path, want := range map[string]string{"/record": f.jane.Name() + "'s health record", "/record/search": "Search " + f.jane.Name() + "'s record"} {
		if got := doc(t, f.get(t, path, john.cookie)).Find("title").Text(); !strings.HasPrefix(got, want) {
			t.Errorf("%s: title %q, want it to start %q", path, got, want)
		}
	}
}

// A carer with no record of their own is not told to switch to themselves,
// nor to ask for access no grant can give; the whose-record form names the
// person, with the carer's relationship to them in its hint.
func TestCarerToldOnlyWhatTheyCanDo(t *testing.T) {
	f := newFixture(t)
	f.signIn(t, f.jane)
	john := f.newCarer(t, "John Smith")
	f.grant(t, f.jane, f.ownAccount(t, f.jane), john, "medicines")
	for _, path := range []string{"/carers", "/record/access-log"} {
		resp := f.get(t, path, john.cookie)
		main := strings.Join(strings.Fields(doc(t, resp).Find("main").Text()), " ")
		if resp.StatusCode != http.StatusForbidden || strings.Contains(main, "Switch to yourself") || strings.Contains(main, "ask "+f.jane.Name()) {
			t.Errorf("%s: %d %q; want 403 without 'Switch to yourself' or 'ask %s'", path, resp.StatusCode, main, f.jane.Name())
		}
	}
	d := doc(t, f.get(t, "/acting-for", john.cookie))
	if label := strings.TrimSpace(d.Find(`label[for="acting-1"]`).Text()); label != f.jane.Name() {
		t.Errorf("whose-record label %q, want %q", label, f.jane.Name())
	}
	if hint := d.Find("#acting-1-hint").Text(); !strings.Contains(hint, "You are their son.") {
		t.Errorf("whose-record hint %q lacks the relationship", hint)
	}
}

// No field points its description at nothing: aria-describedby is left out
// when a field has neither hint nor error (an empty one names no element).
func TestNoEmptyDescriptions(t *testing.T) {
	f := newFixture(t)
	jane := f.signIn(t, f.jane)
	for _, path := range []string{"/carers/invite", "/account"} {
		doc(t, f.get(t, path, jane)).Find("[aria-describedby]").Each(func(_ int, s *goquery.Selection) {
			if ids := strings.TrimSpace(s.AttrOr("aria-describedby", "")); ids == "" {
				t.Errorf("%s: %s has an empty aria-describedby", path, s.AttrOr("id", goquery.NodeName(s)))
			}
		})
	}
}

// The end date is asked beneath "On a date I choose" (laid out as an NHS
// conditional, always shown), and choosing it with no date says what to enter.
func TestInviteEndDateIsAskedWhenChosen(t *testing.T) {
	f := newFixture(t)
	jane := f.signIn(t, f.jane)
	form := doc(t, f.get(t, "/carers/invite", jane))
	if form.Find(`.nhsuk-radios__item:has(#ends-date) + #conditional-ends-date.nhsuk-radios__conditional #ends-day`).Length() != 1 {
		t.Error("the end date is not beneath its choice")
	}
	rec := f.post(t, "/carers/invite", jane, url.Values{"csrf": {csrfToken(t, f, jane)}, "name": {"John Smith"}, "relationship": {"son"},
		"scope": {"medicines"}, "ends": {"date"}})
	d := docOf(t, rec.Body.String())
	if msg := d.Find(".nhsuk-error-summary a[href='#ends-day']").Text(); msg != "Enter the date their access should end" {
		t.Errorf("the date chosen, none entered: the error says %q", msg)
	}
	// A date typed in under another choice is not quietly dropped.
	for ends, chose := range map[string]string{"12m": "In 12 months", "never": "When I stop it"} {
		rec = f.post(t, "/carers/invite", jane, url.Values{"csrf": {csrfToken(t, f, jane)}, "name": {"John Smith"}, "relationship": {"son"},
			"scope": {"medicines"}, "ends": {ends}, "ends-day": {"1"}, "ends-month": {"6"}, "ends-year": {"2027"}})
		want := "You chose ‘" + chose + "’ and also gave an end date: choose ‘On a date I choose’, or clear the date"
		if msg := docOf(t, rec.Body.String()).Find(".nhsuk-error-summary a[href='#ends-day']").Text(); rec.Code != http.StatusBadRequest || msg != want {
			t.Errorf("%s with a date: %d, the error says %q, want %q", ends, rec.Code, msg, want)
		}
	}
}

// "In 12 months", which the change page offers, ends access 12 months from
// now; it used to leave the end as it was.
func TestChangeAccessToEndInTwelveMonths(t *testing.T) {
	f := newFixture(t)
	janeCookie := f.signIn(t, f.jane)
	g := f.grant(t, f.jane, f.ownAccount(t, f.jane), f.newCarer(t, "John"), "medicines")
	path := "/carers/" + strconv.FormatInt(g.ID, 10)
	end := time.Now().AddDate(2, 0, 0)
	if rec := f.post(t, path, janeCookie, url.Values{"csrf": {csrfToken(t, f, janeCookie)}, "scope": {"medicines"}, "ends": {"date"},
		"ends-day": {strconv.Itoa(end.Day())}, "ends-month": {strconv.Itoa(int(end.Month()))}, "ends-year": {strconv.Itoa(end.Year())}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("change to a date: %d", rec.Code)
	}
	// The change form shows the end as it stands in the date boxes: left as shown, it is no choice.
	shown := termsOf(t, doc(t, f.get(t, path, janeCookie)))
	rec := f.post(t, "/carers/"+strconv.FormatInt(g.ID, 10), janeCookie, url.Values{"csrf": {csrfToken(t, f, janeCookie)}, "scope": {"medicines"}, "ends": {"12m"},
		"ends-day": {shown.Get("ends-day")}, "ends-month": {shown.Get("ends-month")}, "ends-year": {shown.Get("ends-year")}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("change to 12 months: %d", rec.Code)
	}
	if grants, _ := f.db.GrantsForPerson(context.Background(), f.jane.ID); len(grants) != 1 || grants[0].EndsAt.Sub(time.Now().AddDate(1, 0, 0)).Abs() > time.Hour {
		t.Errorf("after choosing 12 months: %+v; want access to end in 12 months", grants)
	}
}

// Another carer's access and one that does not exist are not found in the
// same words, so no one can tell which ids exist.
func TestCaringNotFoundSaysTheSame(t *testing.T) {
	f := newFixture(t)
	f.signIn(t, f.jane) // makes her account
	john, amir := f.newCarer(t, "John"), f.newCarer(t, "Amir")
	g := f.grant(t, f.jane, f.ownAccount(t, f.jane), john, "medicines")
	says := func(path string) string {
		t.Helper()
		resp := f.get(t, path, amir.cookie)
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("%s: %d, want 404", path, resp.StatusCode)
		}
		return strings.Join(strings.Fields(doc(t, resp).Find("main").Text()), " ")
	}
	theirs, none := says("/caring/"+strconv.FormatInt(g.ID, 10)+"/give-up"), says("/caring/999999/give-up")
	if theirs != none {
		t.Errorf("another carer's access says %q, an id that does not exist %q: want the same", theirs, none)
	}
}

// termsOf is the end date the change form's boxes show.
func termsOf(t *testing.T, d *goquery.Document) url.Values {
	t.Helper()
	v := url.Values{}
	for _, name := range []string{"ends-day", "ends-month", "ends-year"} {
		v.Set(name, d.Find("input[name='"+name+"']").AttrOr("value", ""))
	}
	if v.Get("ends-year") == "" {
		t.Fatal("the change form shows no end date")
	}
	return v
}

// An invitation not yet accepted is cancelled, as its confirmation page
// says, not "stopped": the grant page uses the same words.
func TestPendingInvitationIsCancelled(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	janeCookie := f.signIn(t, f.jane)
	jane := f.ownAccount(t, f.jane)
	g, _, err := f.db.CreateInvitation(ctx, f.jane.ID, jane.ID, store.Invitation{CarerName: "John Smith", Relationship: "son", Scopes: []string{"medicines"}},
		grantLogged(jane, "invited John Smith (son)"))
	if err != nil {
		t.Fatal(err)
	}
	main := doc(t, f.get(t, "/carers/"+strconv.FormatInt(g.ID, 10), janeCookie)).Find("main")
	if main.Find(`h2:contains("Cancel the invitation")`).Length() != 1 || main.Find(`a.nhsuk-button--warning:contains("Cancel invitation")`).Length() != 1 ||
		strings.Contains(main.Text(), "Stop their access") {
		t.Errorf("a pending invitation's page: %q", strings.Join(strings.Fields(main.Text()), " "))
	}
}

// Someone on their own record who also helps another person finds the way
// to that person's record in the header, on every page (WCAG 3.2.3); one
// who helps no one is offered nothing of the kind.
func TestHelperOnTheirOwnRecordCanSwitch(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	janeCookie := f.signIn(t, f.jane)
	f.signIn(t, f.amir)
	amirAcct := f.ownAccount(t, f.amir)
	id, _, err := f.db.CreateSession(ctx, amirAcct.ID, store.DefaultSessionPolicy())
	if err != nil {
		t.Fatal(err)
	}
	amir := carerSession{acct: amirAcct, id: id, cookie: sessionCookie(t, id)}
	f.grant(t, f.jane, f.ownAccount(t, f.jane), amir, "medicines")
	if err := f.db.SetActingFor(ctx, amir.id, amir.acct.ID, 0); err != nil { // back to his own record
		t.Fatal(err)
	}
	for _, path := range []string{"/record", "/account", "/carers"} {
		if got := doc(t, f.get(t, path, amir.cookie)).Find(`header nav a[href="/acting-for"]`).Text(); got != "Switch record" {
			t.Errorf("%s: the header's link to switch record says %q, want \"Switch record\"", path, got)
		}
	}
	if n := doc(t, f.get(t, "/record", janeCookie)).Find(`a[href="/acting-for"]`).Length(); n != 0 {
		t.Errorf("Jane, who helps no one, is offered %d links to switch record", n)
	}
	// The banner's link is called as the header's is (found by a review: it
	// said "Switch"), and offers "your own" only to someone with a record of
	// their own.
	john := f.newCarer(t, "John")
	f.grant(t, f.jane, f.ownAccount(t, f.jane), john, "medicines")
	for _, tt := range []struct {
		who  carerSession
		want string
	}{
		{john, "Switch record, to someone else's"},
		{amir, "Switch record, to someone else's or your own"},
	} {
		if err := f.db.SetActingFor(ctx, tt.who.id, tt.who.acct.ID, f.grantOf(t, tt.who)); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(strings.Fields(doc(t, f.get(t, "/record", tt.who.cookie)).Find(".mcr-acting-banner a").Text()), " "); got != tt.want {
			t.Errorf("%s's banner link says %q, want %q", tt.who.acct.DisplayName, got, tt.want)
		}
	}
}

// grantOf is the id of the carer's one active access.
func (f *fixture) grantOf(t *testing.T, carer carerSession) int64 {
	t.Helper()
	grants, err := f.db.ActiveGrantsForAccount(context.Background(), carer.acct.ID)
	if err != nil || len(grants) != 1 {
		t.Fatalf("%s's active access: %+v, %v", carer.acct.DisplayName, grants, err)
	}
	return grants[0].ID
}

// Changing only what a carer may see, with the change form's end date left
// as it showed it, keeps the end as it was, to the minute ("In 12 months"
// ends at the time of day it was chosen); a date typed in moves it.
func TestChangeKeepsTheEndShown(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name      string
		typed     func(shown time.Time) time.Time // the date in the boxes
		wantMoved bool
		wantWhat  string
	}{
		{"left as shown", func(shown time.Time) time.Time { return shown }, false, "Changed what they can see and do"},
		{"another date", func(shown time.Time) time.Time { return shown.AddDate(0, 0, 1) }, true, "Changed what they can see and do and the end date to "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			jane := f.signIn(t, f.jane)
			token := csrfToken(t, f, jane)
			if rec := f.post(t, "/carers/invite/confirm", jane, url.Values{"csrf": {token}, "name": {"John Smith"}, "relationship": {"son"},
				"scope": {"medicines"}, "ends": {"12m"}, "once": {"x1"}}); rec.Code != http.StatusOK {
				t.Fatalf("invite: %d", rec.Code)
			}
			grants, err := f.db.GrantsForPerson(ctx, f.jane.ID)
			if err != nil || len(grants) != 1 {
				t.Fatalf("%d invitations (%v)", len(grants), err)
			}
			g := grants[0]
			path := "/carers/" + itoa(g.ID)
			shown := termsOf(t, doc(t, f.get(t, path, jane)))
			day, _ := strconv.Atoi(shown.Get("ends-day"))
			month, _ := strconv.Atoi(shown.Get("ends-month"))
			year, _ := strconv.Atoi(shown.Get("ends-year"))
			typed := tt.typed(time.Date(year, time.Month(month), day, 0, 0, 0, 0, store.UKZone()))
			if rec := f.post(t, path, jane, url.Values{"csrf": {token}, "scope": {"medicines", "conditions"}, "ends": {"date"},
				"ends-day": {strconv.Itoa(typed.Day())}, "ends-month": {strconv.Itoa(int(typed.Month()))}, "ends-year": {strconv.Itoa(typed.Year())}}); rec.Code != http.StatusSeeOther {
				t.Fatalf("change: %d", rec.Code)
			}
			after, err := f.db.PersonGrant(ctx, f.jane.ID, g.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := g.EndsAt
			if tt.wantMoved {
				want = typed
			}
			if !after.EndsAt.Equal(want) {
				t.Errorf("the end is %v, was %v; want %v", after.EndsAt, g.EndsAt, want)
			}
			ev, err := f.db.GrantEvents(ctx, g.ID)
			if err != nil || len(ev) == 0 {
				t.Fatalf("%d events (%v)", len(ev), err)
			}
			if tt.wantMoved {
				tt.wantWhat += typed.Format("2 January 2006") // the day typed, in UK time
			}
			if got := ev[len(ev)-1].What; got != tt.wantWhat {
				t.Errorf("the history says %q; want %q", got, tt.wantWhat)
			}
		})
	}
}

// The invitation form brought back with Back and sent again with another
// end date is another invitation, with that end date; sent again as it was
// ("In 12 months" a moment later) it is the one made before.
func TestInvitationFormSentAgainWithAnotherEnd(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name     string
		ends     url.Values // the second sending's end
		wantCode int
		wantEnds func(first time.Time) bool
	}{
		{"as it was", url.Values{"ends": {"12m"}}, http.StatusSeeOther, func(time.Time) bool { return true }},
		{"when I stop it", url.Values{"ends": {"never"}}, http.StatusOK, time.Time.IsZero},
		{"on a date", url.Values{"ends": {"date"}, "ends-day": {"1"}, "ends-month": {"6"}, "ends-year": {strconv.Itoa(time.Now().Year() + 2)}}, http.StatusOK,
			func(t time.Time) bool {
				return t.Equal(time.Date(time.Now().Year()+2, 6, 1, 0, 0, 0, 0, store.UKZone()))
			}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			jane := f.signIn(t, f.jane)
			sent := url.Values{"csrf": {csrfToken(t, f, jane)}, "name": {"John Smith"}, "relationship": {"son"}, "scope": {"medicines"}, "once": {"same-form"}, "ends": {"12m"}}
			if rec := f.post(t, "/carers/invite/confirm", jane, sent); rec.Code != http.StatusOK {
				t.Fatalf("first sending: %d", rec.Code)
			}
			for k, v := range tt.ends {
				sent[k] = v
			}
			rec := f.post(t, "/carers/invite/confirm", jane, sent)
			grants, err := f.db.GrantsForPerson(ctx, f.jane.ID)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Code != tt.wantCode {
				t.Fatalf("second sending: %d to %q, want %d", rec.Code, rec.Header().Get("Location"), tt.wantCode)
			}
			if want := map[int]int{http.StatusOK: 2, http.StatusSeeOther: 1}[tt.wantCode]; len(grants) != want {
				t.Fatalf("%d invitations, want %d", len(grants), want)
			}
			if ends := grants[0].EndsAt; !tt.wantEnds(ends) { // newest first
				t.Errorf("the invitation sent last ends %v", ends)
			}
		})
	}
}

// The invitation form leads to "Check your answers before sending the
// invitation": it shows every answer, each Change link fills the form in
// again, and only "Create invitation" makes the invitation, once, after
// checking its hidden fields again.
func TestInvitationCheckYourAnswers(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	jane := f.signIn(t, f.jane)
	token := csrfToken(t, f, jane)
	once, _ := doc(t, f.get(t, "/carers/invite", jane)).Find(`form[action="/carers/invite"] input[name="once"]`).Attr("value")
	year := strconv.Itoa(time.Now().Year() + 2)
	rec := f.post(t, "/carers/invite", jane, url.Values{"csrf": {token}, "once": {once}, "name": {"John Smith"}, "relationship": {"son"},
		"scope": {"medicines", "choices"}, "ends": {"date"}, "ends-day": {"1"}, "ends-month": {"6"}, "ends-year": {year}})
	if rec.Code != http.StatusOK {
		t.Fatalf("the form: %d, want 200 and the check page", rec.Code)
	}
	d := docOf(t, rec.Body.String())
	if got := strings.TrimSpace(d.Find("h1").Text()); d.Find("h1").Length() != 1 || got != "Check your answers before sending the invitation" {
		t.Errorf("the check page's heading: %q", got)
	}
	if d.Find(".nhsuk-back-link").Length() != 1 {
		t.Error("the check page has no back link")
	}
	rows := map[string]string{}
	d.Find(".nhsuk-summary-list__row").Each(func(_ int, r *goquery.Selection) {
		rows[strings.TrimSpace(r.Find(".nhsuk-summary-list__key").Text())] = strings.Join(strings.Fields(r.Find(".nhsuk-summary-list__value").Text()), " ")
	})
	for key, want := range map[string]string{
		"Their full name":                   "John Smith",
		"How they are related to you":       "son",
		"Parts of your record they can see": views.ScopeTitle("medicines"),
		"What they can do":                  views.ScopeTitle("choices"),
		"When their access ends":            "1 June " + year,
	} {
		if rows[key] != want {
			t.Errorf("%q: %q, want %q", key, rows[key], want)
		}
	}
	if n := d.Find(".nhsuk-summary-list__actions a").Length(); n != 5 {
		t.Errorf("%d Change links, want 5 (Jane, an adult, is not asked about parental responsibility)", n)
	}
	if grants, _ := f.db.GrantsForPerson(ctx, f.jane.ID); len(grants) != 0 {
		t.Fatalf("the check page made %d invitations, want none yet", len(grants))
	}

	// Change: the form comes back filled in, with the same token.
	change, _ := d.Find(`.nhsuk-summary-list__actions a[href$="#relationship"]`).Attr("href")
	change, _, _ = strings.Cut(change, "#") // a browser keeps the fragment to itself
	form := doc(t, f.get(t, change, jane)).Find(`form[action="/carers/invite"]`)
	for sel, want := range map[string]string{"#carer-name": "John Smith", "#relationship": "son", `input[name="once"]`: once,
		"#ends-day": "1", "#ends-month": "6", "#ends-year": year} {
		if got := form.Find(sel).AttrOr("value", ""); got != want {
			t.Errorf("the form after Change: %s is %q, want %q", sel, got, want)
		}
	}
	for sel, want := range map[string]bool{"#scope-medicines": true, "#scope-choices": true, "#scope-conditions": false, "#ends-date": true, "#parental": false} {
		if _, got := form.Find(sel).Attr("checked"); got != want {
			t.Errorf("the form after Change: %s ticked %v, want %v", sel, got, want)
		}
	}

	// The check page's form, as sent, with its fields tampered with: checked again.
	sendForm := d.Find(`form[action="/carers/invite/confirm"]`)
	if sendForm.Find(`button[type=submit]`).Text() != "Create invitation" || sendForm.Find(`input[name="csrf"]`).AttrOr("value", "") == "" {
		t.Fatal("the check page has no Create invitation form with a CSRF token")
	}
	sent := url.Values{}
	sendForm.Find("input").Each(func(_ int, in *goquery.Selection) {
		sent.Add(in.AttrOr("name", ""), in.AttrOr("value", ""))
	})
	for name, tamper := range map[string]url.Values{
		"no name":              {"name": {""}},
		"a permission unknown": {"scope": {"everything"}},
		"download, not all":    {"scope": {"medicines", "download"}},
		"an end date past":     {"ends-year": {"2001"}},
		"parental, an adult":   {"parental": {"yes"}},
	} {
		bad := url.Values{}
		for k, v := range sent {
			bad[k] = v
		}
		for k, v := range tamper {
			bad[k] = v
		}
		if rec := f.post(t, "/carers/invite/confirm", jane, bad); rec.Code != http.StatusBadRequest || docOf(t, rec.Body.String()).Find(".nhsuk-error-summary").Length() != 1 {
			t.Errorf("sent with %s: %d, want 400 and the form with its error summary", name, rec.Code)
		}
	}
	if grants, _ := f.db.GrantsForPerson(ctx, f.jane.ID); len(grants) != 0 {
		t.Fatalf("tampered sendings made %d invitations, want none", len(grants))
	}

	// Create invitation: exactly one invitation, its code shown once, logged.
	rec = f.post(t, "/carers/invite/confirm", jane, sent)
	if rec.Code != http.StatusOK || docOf(t, rec.Body.String()).Find("#invite-code").Length() != 1 {
		t.Fatalf("send invitation: %d, want the code", rec.Code)
	}
	if rec := f.post(t, "/carers/invite/confirm", jane, sent); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/carers?done=sent-before" {
		t.Errorf("sent again: %d to %q, want 303 to /carers?done=sent-before", rec.Code, rec.Header().Get("Location"))
	}
	grants, err := f.db.GrantsForPerson(ctx, f.jane.ID)
	if err != nil || len(grants) != 1 {
		t.Fatalf("%d invitations (%v), want 1", len(grants), err)
	}
	g := grants[0]
	if g.CarerName != "John Smith" || g.Relationship != "son" || !slices.Equal(g.Scopes, []string{"medicines", "choices"}) || g.Parental ||
		!g.EndsAt.Equal(time.Date(time.Now().Year()+2, 6, 1, 0, 0, 0, 0, store.UKZone())) {
		t.Errorf("the invitation: %+v", g)
	}
	if log := doc(t, f.get(t, "/record/access-log", jane)).Find("main").Text(); !strings.Contains(log, "invited John Smith (son)") {
		t.Error("the access log does not say John Smith was invited")
	}
}

// TestInvitationFormNamesEveryProblemAtOnce: an impossible end date and a
// download without every part of the record were named one at a time, the
// second only once the first was put right (WCAG 3.3.1; found by an
// accessibility review). Now the form names both, in the order it asks them.
func TestInvitationFormNamesEveryProblemAtOnce(t *testing.T) {
	f := newFixture(t)
	jane := f.signIn(t, f.jane)
	year := strconv.Itoa(time.Now().Year() + 2)
	rec := f.post(t, "/carers/invite", jane, url.Values{"csrf": {csrfToken(t, f, jane)}, "name": {"John Smith"}, "relationship": {""},
		"scope": {"medicines", "download"}, "ends": {"date"}, "ends-day": {"31"}, "ends-month": {"2"}, "ends-year": {year}})
	if rec.Code != http.StatusBadRequest {
		t.Fatalf("the form: %d, want 400", rec.Code)
	}
	var got []string
	docOf(t, rec.Body.String()).Find(".nhsuk-error-summary__list a").Each(func(_ int, a *goquery.Selection) {
		href, _ := a.Attr("href")
		got = append(got, href)
	})
	if want := []string{"#relationship", "#scope-" + store.CarerScopes()[0], "#ends-day"}; !slices.Equal(got, want) {
		t.Errorf("the error summary links to %q; want %q, every problem in the form's order", got, want)
	}
}

// TestAnEndDateBeginsInUKTime: "Access ends 15 July" ended access at
// midnight UTC, 1am in the UK in summer, and a 16th birthday likewise (found
// by a security review). The day named now begins at midnight UK time, and
// the pages name that day.
func TestAnEndDateBeginsInUKTime(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	jane := f.signIn(t, f.jane)
	once, _ := doc(t, f.get(t, "/carers/invite", jane)).Find(`form[action="/carers/invite"] input[name="once"]`).Attr("value")
	year := time.Now().Year() + 1
	rec := f.post(t, "/carers/invite/confirm", jane, url.Values{"csrf": {csrfToken(t, f, jane)}, "once": {once}, "name": {"John Smith"}, "relationship": {"son"},
		"scope": {"medicines"}, "ends": {"date"}, "ends-day": {"15"}, "ends-month": {"7"}, "ends-year": {strconv.Itoa(year)}})
	if rec.Code != http.StatusOK {
		t.Fatalf("send the invitation: %d", rec.Code)
	}
	grants, err := f.db.GrantsForPerson(ctx, f.jane.ID)
	if err != nil || len(grants) != 1 {
		t.Fatalf("grants %+v, %v", grants, err)
	}
	want := time.Date(year, time.July, 15, 0, 0, 0, 0, store.UKZone())
	if !grants[0].EndsAt.Equal(want) || want.UTC().Hour() != 23 {
		t.Errorf("access ends at %v; want %v, 15 July beginning in the UK", grants[0].EndsAt.UTC(), want.UTC())
	}
	if body := readAll(f.get(t, "/carers", jane)); !strings.Contains(body, "15 July "+strconv.Itoa(year)) {
		t.Errorf("the carers page does not say access ends 15 July %d", year)
	}
}

// TestCarerReadsTheHistoryOfTheirAccess: the history of an access is
// written for the person, so a carer read "Changed what they can see and do"
// of themselves (found by an accessibility review). To the carer it says
// "you" of them, and an end "when you cancel it" is when the person stops it.
func TestCarerReadsTheHistoryOfTheirAccess(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.signIn(t, f.jane)
	jane := f.ownAccount(t, f.jane)
	john := f.newCarer(t, "John Smith")
	g := f.grant(t, f.jane, jane, john, "medicines")
	if _, err := f.db.ChangeGrant(ctx, f.jane.ID, g.ID, jane.ID, []string{"medicines", "conditions"}, time.Time{}, grantLogged(jane, "changed")); err != nil {
		t.Fatal(err)
	}
	main := strings.Join(strings.Fields(doc(t, f.get(t, "/caring", john.cookie)).Find("main").Text()), " ")
	if !strings.Contains(main, "Changed what you can see and do") || strings.Contains(main, "what they can see") {
		t.Errorf("the carer's history of their access says: %s", main)
	}
}

// TestChangeFormNamesEveryProblemAtOnce: the form changing a carer's access
// named one problem at a time, as the invitation form did (found by a
// review). It names every problem at once, in the order it asks them.
func TestChangeFormNamesEveryProblemAtOnce(t *testing.T) {
	f := newFixture(t)
	cookie := f.signIn(t, f.jane)
	jane := f.ownAccount(t, f.jane)
	john := f.newCarer(t, "John Smith")
	g := f.grant(t, f.jane, jane, john, "medicines")
	rec := f.post(t, "/carers/"+itoa(g.ID), cookie, url.Values{"csrf": {csrfToken(t, f, cookie)}, "scope": {"medicines", "download"},
		"ends": {"date"}, "ends-day": {"1"}, "ends-month": {"1"}, "ends-year": {"2001"}})
	if rec.Code != http.StatusBadRequest {
		t.Fatalf("the change form: %d, want 400", rec.Code)
	}
	var got []string
	docOf(t, rec.Body.String()).Find(".nhsuk-error-summary__list a").Each(func(_ int, a *goquery.Selection) {
		href, _ := a.Attr("href")
		got = append(got, href)
	})
	if want := []string{"#scope-" + store.CarerScopes()[0], "#ends-day"}; !slices.Equal(got, want) {
		t.Errorf("the error summary links to %q; want %q", got, want)
	}
}

// TestParentalInvitationOnceSixteen: a parental invitation not yet accepted,
// of a child whose date of birth was corrected to make them 16 already, has
// run out, as its access has ended: it can be neither accepted nor changed,
// and says so (before, it was still open, and each change was refused for
// parental responsibility in a form that could not be put right).
func TestParentalInvitationOnceSixteen(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sixteen := time.Now().AddDate(0, 0, 10)
	dob := sixteen.AddDate(-16, 0, 0).Format("2006-01-02")
	lily := addLily(t, f, dob)
	lilyCookie := f.signIn(t, lily)
	rec := f.post(t, "/carers/invite/confirm", lilyCookie, url.Values{"csrf": {csrfToken(t, f, lilyCookie)},
		"name": {"Jane Example"}, "relationship": {"mother"}, "scope": {"medicines", "conditions"}, "ends": {"never"}, "parental": {"yes"}})
	if rec.Code != http.StatusOK {
		t.Fatalf("parental invitation: %d", rec.Code)
	}
	code := docOf(t, rec.Body.String()).Find("#invite-code").Text()
	// The GP corrects the date of birth: she was 16 a month ago.
	older := time.Now().AddDate(-16, -1, 0).Format("2006-01-02")
	if _, err := f.db.ImportResources(ctx, store.ImportOptions{Source: "gp"}, "test2",
		[]fhir.Resource{patient("lily", "9000000017", "Lily", "Example", older)}); err != nil {
		t.Fatal(err)
	}
	grants, _ := f.db.GrantsForPerson(ctx, lily.ID)
	g := grants[0]
	if g.Open() || g.Status != store.GrantExpired {
		t.Fatalf("the invitation after the correction: %s", g.Status)
	}
	mum := f.newCarer(t, "Jane Example")
	if _, _, err := f.db.CheckInvitation(ctx, code, older, mum.id); store.ErrorCode(err) != store.EEXPIRED {
		t.Errorf("accepting it: %v, want it to have run out", err)
	}
	rec = f.post(t, "/carers/"+strconv.FormatInt(g.ID, 10), lilyCookie, url.Values{"csrf": {csrfToken(t, f, lilyCookie)}, "scope": {"medicines"}, "ends": {"never"}})
	if rec.Code != http.StatusConflict || !strings.Contains(docOf(t, rec.Body.String()).Find("main").Text(), "This access has ended, so it cannot be changed") {
		t.Errorf("changing it: %d, want 409 saying it has ended", rec.Code)
	}
}

// Only a child's invitation asks about parental responsibility: an adult was
// asked whether someone had it for them (found by a review).
func TestOnlyAChildIsAskedAboutParentalResponsibility(t *testing.T) {
	f := newFixture(t)
	dob := time.Now().AddDate(-10, 0, 0).Format("2006-01-02")
	lily := addLily(t, f, dob)
	for _, tc := range []struct {
		who   store.Person
		asked bool
	}{{f.jane, false}, {lily, true}} {
		cookie := f.signIn(t, tc.who)
		form := doc(t, f.get(t, "/carers/invite", cookie))
		if got := form.Find(`input#parental`).Length() == 1; got != tc.asked {
			t.Errorf("%s's invitation form asks about parental responsibility: %v, want %v", tc.who.Name(), got, tc.asked)
		}
		rec := f.post(t, "/carers/invite", cookie, url.Values{"csrf": {csrfToken(t, f, cookie)}, "name": {"Sam"}, "relationship": {"father"},
			"scope": {"medicines"}, "ends": {"never"}})
		if got := strings.Contains(rec.Body.String(), "Do they have parental responsibility for you?"); rec.Code != http.StatusOK || got != tc.asked {
			t.Errorf("%s's check page: %d, asks about parental responsibility: %v, want %v", tc.who.Name(), rec.Code, got, tc.asked)
		}
	}
}

// TestParentalInvitationSaysItEndsAtSixteen: a child turning 16 in three
// days invites a parent, access for 12 months asked: the check page says it
// ends on the 16th birthday, as the grant does, and the code works no longer
// than that (a product review: "In 12 months, on …" on the check page, the
// birthday on the next, and a code working past both).
func TestParentalInvitationSaysItEndsAtSixteen(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sixteen := time.Now().In(store.UKZone()).AddDate(0, 0, 3) // dates as the UK has them, on any machine (a review)
	lily := addLily(t, f, sixteen.AddDate(-16, 0, 0).Format("2006-01-02"))
	cookie := f.signIn(t, lily)
	form := url.Values{"csrf": {csrfToken(t, f, cookie)}, "name": {"Jane Example"}, "relationship": {"mother"}, "scope": {"medicines"}, "ends": {"12m"}, "parental": {"yes"}}
	rec := f.post(t, "/carers/invite", cookie, form)
	want := "On your 16th birthday, " + sixteen.In(store.UKZone()).Format("2 January 2006")
	if got := docOf(t, rec.Body.String()).Find("main").Text(); rec.Code != http.StatusOK || !strings.Contains(got, want) || strings.Contains(got, "In 12 months") {
		t.Errorf("the check page: %d, %q; want it to say %q", rec.Code, got, want)
	}
	if rec := f.post(t, "/carers/invite/confirm", cookie, form); rec.Code != http.StatusOK {
		t.Fatalf("create the invitation: %d", rec.Code)
	}
	grants, err := f.db.GrantsForPerson(ctx, lily.ID)
	if err != nil || len(grants) != 1 {
		t.Fatal(grants, err)
	}
	if g := grants[0]; g.EndsAt.In(store.UKZone()).Format("2006-01-02") != sixteen.In(store.UKZone()).Format("2006-01-02") || g.CodeExpiresAt.After(g.EndsAt) {
		t.Errorf("the invitation ends %s, its code works until %s; want both by the 16th birthday, %s", g.EndsAt, g.CodeExpiresAt, sixteen.Format("2 January 2006"))
	}
}

package web_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
)

// csrfToken reads the session's CSRF token from a page it can see.
func csrfToken(t *testing.T, f *fixture, cookie *http.Cookie) string {
	t.Helper()
	token, ok := doc(t, f.get(t, "/account", cookie)).Find(`meta[name="csrf-token"]`).Attr("content")
	if !ok || token == "" {
		t.Fatal("no CSRF token on /account")
	}
	return token
}

func (f *fixture) post(t *testing.T, path string, cookie *http.Cookie, form url.Values) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if cookie != nil {
		req.AddCookie(cookie)
	}
	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, req)
	return rec
}

// secondPasskey gives the person's account another passkey, synced, and returns them all.
func secondPasskey(t *testing.T, f *fixture, p store.Person) []store.Passkey {
	t.Helper()
	ctx := context.Background()
	acct, err := f.db.AccountByPerson(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.db.AddPasskey(ctx, acct.ID, store.Passkey{CredentialID: []byte("second-" + p.NHSNumber), PublicKey: []byte("k"), BackupEligible: true, BackupState: true, Nickname: "Password manager"}); err != nil {
		t.Fatal(err)
	}
	pks, err := f.db.Passkeys(ctx, acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	return pks
}

func TestAccountPageListsPasskeys(t *testing.T) {
	f := newFixture(t)
	jane := f.signIn(t, f.jane)
	pks := secondPasskey(t, f, f.jane)
	resp := f.get(t, "/account", jane)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	d := doc(t, resp)
	if got := strings.TrimSpace(d.Find("h1").Text()); got != "Your account" {
		t.Errorf("h1 %q", got)
	}
	cards := d.Find(".mcr-passkey")
	if cards.Length() != 2 {
		t.Fatalf("%d passkeys listed, want 2", cards.Length())
	}
	first, second := cards.Eq(0).Text(), cards.Eq(1).Text()
	for _, want := range []string{"Created", "Last used", "Not used to sign in yet", "On one device"} {
		if !strings.Contains(first, want) {
			t.Errorf("first passkey lacks %q: %s", want, first)
		}
	}
	if !strings.Contains(second, "Password manager") || !strings.Contains(second, "Synced passkey (for example in your password manager)") {
		t.Errorf("synced passkey not described as synced: %s", second)
	}
	// Each Remove link leads to a page that asks first; the links name the passkey for screen readers.
	if got := d.Find(`a[href="/account/passkeys/` + itoa(pks[1].ID) + `/remove"]`).Text(); got != "Remove Password manager" || d.Find(`form[action$="/remove"]`).Length() != 0 {
		t.Errorf("remove link reads %q, or the account page removes with no question", got)
	}
	if got := d.Find(`a[href="/account/passkeys/` + itoa(pks[1].ID) + `/rename"]`).Text(); got != "Rename Password manager" {
		t.Errorf("rename link reads %q", got)
	}
	if b := d.Find("#passkey-create"); b.AttrOr("data-begin", "") != "/account/passkeys/begin" || b.AttrOr("data-finish", "") != "/account/passkeys/finish" {
		t.Errorf("add passkey button: %v", b.Nodes)
	}
	if d.Find(`a[href="/account"][aria-current="page"]`).Length() != 1 {
		t.Errorf("header navigation does not mark Your account as the current page")
	}
}

func TestAddPasskeyBeginExcludesTheAccountsPasskeys(t *testing.T) {
	f := newFixture(t)
	jane := f.signIn(t, f.jane)
	pks := secondPasskey(t, f, f.jane)
	req := httptest.NewRequest(http.MethodPost, "/account/passkeys/begin", strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", csrfToken(t, f, jane))
	req.AddCookie(jane)
	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var got struct {
		PublicKey struct {
			User struct{ ID string }
			// go-webauthn writes ids as base64url without padding.
			ExcludeCredentials []struct{ ID string }
		}
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.PublicKey.User.ID != base64.RawURLEncoding.EncodeToString([]byte("handle-"+f.jane.NHSNumber)) {
		t.Errorf("user id %q is not the account's user handle", got.PublicKey.User.ID)
	}
	var ex []string
	for _, c := range got.PublicKey.ExcludeCredentials {
		ex = append(ex, c.ID)
	}
	want := []string{base64.RawURLEncoding.EncodeToString(pks[0].CredentialID), base64.RawURLEncoding.EncodeToString(pks[1].CredentialID)}
	if strings.Join(ex, ",") != strings.Join(want, ",") {
		t.Errorf("excludeCredentials %q, want %q", ex, want)
	}
	// A ceremony begun here cannot be finished as an enrolment, and a finish with no ceremony is refused.
	req = httptest.NewRequest(http.MethodPost, "/enrol/passkey/finish", strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", csrfToken(t, f, jane))
	req.AddCookie(jane)
	rec = httptest.NewRecorder()
	f.handler.ServeHTTP(rec, req)
	if rec.Code < 400 {
		t.Errorf("enrolment finish after an account begin: %d", rec.Code)
	}
}

func TestAnotherAccountsPasskeyIsNotFound(t *testing.T) {
	f := newFixture(t)
	jane := f.signIn(t, f.jane)
	f.signIn(t, f.amir)
	amirs := secondPasskey(t, f, f.amir)
	token := csrfToken(t, f, jane)
	for _, id := range []string{itoa(amirs[0].ID), itoa(amirs[1].ID), "999999", "abc", "-1"} {
		for _, action := range []string{"rename", "remove"} {
			path := "/account/passkeys/" + id + "/" + action
			if resp := f.get(t, path, jane); resp.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s: %d, want 404", path, resp.StatusCode)
			}
			rec := f.post(t, path, jane, url.Values{"csrf": {token}, "nickname": {"Stolen"}, "confirm": {"yes"}})
			if rec.Code != http.StatusNotFound {
				t.Errorf("POST %s: %d, want 404", path, rec.Code)
			}
		}
	}
	acct, _ := f.db.AccountByPerson(context.Background(), f.amir.ID)
	if pks, _ := f.db.Passkeys(context.Background(), acct.ID); len(pks) != 2 || pks[1].Nickname != "Password manager" {
		t.Fatalf("Amir's passkeys changed: %+v", pks)
	}
}

func TestRenamePasskeyForm(t *testing.T) {
	f := newFixture(t)
	jane := f.signIn(t, f.jane)
	pks := secondPasskey(t, f, f.jane)
	path := "/account/passkeys/" + itoa(pks[1].ID) + "/rename"
	d := doc(t, f.get(t, path, jane))
	if got := d.Find("#nickname").AttrOr("value", ""); got != "Password manager" {
		t.Errorf("form starts with %q, want the current name", got)
	}
	if d.Find("h1 label[for=nickname]").Length() != 1 {
		t.Errorf("the label is not the page's heading")
	}
	token := csrfToken(t, f, jane)
	const hidden = "Passkey name must not contain hidden characters, such as control characters or ones that change the direction of text"
	tests := []struct {
		name, nickname string
		wantStatus     int
		wantError      string
	}{
		{"empty", "  ", 400, "Enter a name for your passkey"},
		{"too long", strings.Repeat("x", store.MaxPasskeyNickname+1), 400, "Passkey name must be 50 characters or fewer"},
		{"script is not reflected raw", "<script>alert(1)</script>" + strings.Repeat("x", 50), 400, "Passkey name must be 50 characters or fewer"},
		{"right-to-left override", "\u202eexe.live", 400, hidden},
		{"left-to-right isolate", "phone\u2066", 400, hidden},
		{"right-to-left mark", "phone\u200f", 400, hidden},
		{"NUL", "pho\x00ne", 400, hidden},
		{"escape", "\x1b[2Jphone", 400, hidden},
		{"C1 control", "phone\u0090", 400, hidden},
		{"renamed", "Jane's phone", 303, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := f.post(t, path, jane, url.Values{"csrf": {token}, "nickname": {tt.nickname}})
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d", rec.Code, tt.wantStatus)
			}
			if strings.Contains(rec.Body.String(), "<script>alert") {
				t.Fatal("input reflected unescaped")
			}
			if tt.wantError == "" {
				if got := rec.Header().Get("Location"); got != "/account?done=renamed" {
					t.Fatalf("Location %q", got)
				}
				return
			}
			resp := rec.Result()
			d := doc(t, resp)
			if got := strings.TrimSpace(d.Find(`.nhsuk-error-summary a[href="#nickname"]`).Text()); got != tt.wantError {
				t.Errorf("error summary %q, want %q", got, tt.wantError)
			}
			if !strings.HasPrefix(d.Find("title").Text(), "Error: ") {
				t.Errorf("title %q does not start with Error:", d.Find("title").Text())
			}
			if d.Find("#nickname-error").Length() != 1 || d.Find("#nickname.nhsuk-input--error").Length() != 1 {
				t.Errorf("the field is not marked as wrong")
			}
		})
	}
	d = doc(t, f.get(t, "/account?done=renamed", jane))
	if !strings.Contains(d.Find(".nhsuk-notification-banner").Text(), "You have renamed your passkey") || !strings.Contains(d.Find(".mcr-passkey").Text(), "Jane's phone") {
		t.Errorf("account page after renaming: %s", d.Find("main").Text())
	}
}

func TestRemovePasskeys(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	jane := f.signIn(t, f.jane)
	pks := secondPasskey(t, f, f.jane)
	acct, _ := f.db.AccountByPerson(ctx, f.jane.ID)
	elsewhere, _, _ := f.db.CreateSession(ctx, acct.ID, store.DefaultSessionPolicy())
	token := csrfToken(t, f, jane)

	// One of two goes once confirmed on a page of its own.
	ask := doc(t, f.get(t, "/account/passkeys/"+itoa(pks[0].ID)+"/remove", jane))
	if ask.Find("h1").Text() != "Remove this passkey?" || ask.Find(`form[action="/account/passkeys/`+itoa(pks[0].ID)+`/remove"] input[name="csrf"]`).Length() != 1 {
		t.Errorf("the page asking to remove one of two: %q", ask.Find("main").Text())
	}
	rec := f.post(t, "/account/passkeys/"+itoa(pks[0].ID)+"/remove", jane, url.Values{"csrf": {token}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/account?done=removed" {
		t.Fatalf("remove one of two: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	last := "/account/passkeys/" + itoa(pks[1].ID) + "/remove"
	d := doc(t, f.get(t, "/account", jane))
	if d.Find(`a[href="`+last+`"]`).Length() != 1 || d.Find(`form[action="`+last+`"]`).Length() != 0 {
		t.Errorf("the last passkey's Remove is not a link to the confirmation page")
	}

	// The last one without confirming goes to the confirmation page, which explains how to get back in.
	rec = f.post(t, last, jane, url.Values{"csrf": {token}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != last {
		t.Fatalf("remove the last unconfirmed: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	resp := f.get(t, last, jane)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("confirmation page: %d", resp.StatusCode)
	}
	d = doc(t, resp)
	if text := d.Find("main").Text(); !strings.Contains(text, "new enrolment code from your GP practice") {
		t.Errorf("confirmation page does not explain how to get back in: %s", text)
	}
	if d.Find(`form[action="`+last+`"] input[name="confirm"][value="yes"]`).Length() != 1 {
		t.Fatal("no confirming form")
	}
	// A carer with no record here is told to be invited again: no GP
	// practice gives them a code for it (a review).
	john := f.newCarer(t, "John Smith")
	jpks, err := f.db.Passkeys(ctx, john.acct.ID)
	if err != nil || len(jpks) != 1 {
		t.Fatalf("John's passkeys: %v, %v", jpks, err)
	}
	resp = f.get(t, "/account/passkeys/"+itoa(jpks[0].ID)+"/remove", john.cookie)
	if text := strings.Join(strings.Fields(doc(t, resp).Find("main").Text()), " "); resp.StatusCode != http.StatusOK ||
		!strings.Contains(text, "To help someone with their record again, they will need to invite you again.") || strings.Contains(text, "enrolment code") || strings.Contains(text, "health record is not deleted") {
		t.Errorf("a carer's confirmation page (%d) says: %s", resp.StatusCode, text)
	}
	if pks, _ := f.db.Passkeys(ctx, acct.ID); len(pks) != 1 {
		t.Fatalf("%d passkeys before confirming, want 1", len(pks))
	}

	// Confirmed: gone, and signed out everywhere.
	rec = f.post(t, last, jane, url.Values{"csrf": {token}, "confirm": {"yes"}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/account/removed" {
		t.Fatalf("remove the last, confirmed: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	if c := rec.Result().Cookies(); len(c) != 1 || c[0].MaxAge >= 0 {
		t.Errorf("the session cookie was not cleared: %v", c)
	}
	if resp := f.get(t, "/record", jane); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("this session still works: %d", resp.StatusCode)
	}
	if _, err := f.db.Session(ctx, elsewhere, store.DefaultSessionPolicy()); store.ErrorCode(err) != store.ENOTFOUND {
		t.Errorf("another session survived: %v", err)
	}
	resp = f.get(t, "/account/removed", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(doc(t, resp).Find("main").Text(), "new enrolment code") {
		t.Errorf("signed-out page: %d", resp.StatusCode)
	}
}

func TestSignOutOtherSessions(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	jane := f.signIn(t, f.jane)
	acct, _ := f.db.AccountByPerson(ctx, f.jane.ID)
	p := store.DefaultSessionPolicy()
	var others []string
	for range 2 {
		id, _, _ := f.db.CreateSession(ctx, acct.ID, p)
		others = append(others, id)
	}
	amir := f.signIn(t, f.amir)
	d := doc(t, f.get(t, "/account", jane))
	if got := d.Find("#other-sessions").Text(); got != "You are also signed in on 2 other devices or browsers." {
		t.Errorf("before: %q", got)
	}
	// An address saying so while others are signed in confirms nothing (a review).
	if got := doc(t, f.get(t, "/account?done=signed-out-others", jane)).Find(".nhsuk-notification-banner--success").Text(); got != "" {
		t.Errorf("signed in on 2 others, yet the page confirms signing out of them: %q", strings.TrimSpace(got))
	}
	token, _ := d.Find(`form[action="/account/sessions/signout-others"] input[name="csrf"]`).Attr("value")
	rec := f.post(t, "/account/sessions/signout-others", jane, url.Values{"csrf": {token}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/account?done=signed-out-others" {
		t.Fatalf("%d to %q", rec.Code, rec.Header().Get("Location"))
	}
	for _, id := range others {
		if _, err := f.db.Session(ctx, id, p); store.ErrorCode(err) != store.ENOTFOUND {
			t.Errorf("another session survived: %v", err)
		}
	}
	d = doc(t, f.get(t, "/account?done=signed-out-others", jane))
	if got := d.Find("#other-sessions").Text(); got != "You are not signed in to My Care Record anywhere else." {
		t.Errorf("after: %q", got)
	}
	if !strings.Contains(d.Find(".nhsuk-notification-banner--success").Text(), "You have signed out of all other sessions") {
		t.Errorf("no confirmation: %s", d.Find("main").Text())
	}
	if resp := f.get(t, "/record", amir); resp.StatusCode != http.StatusOK {
		t.Errorf("another account was signed out: %d", resp.StatusCode)
	}
}

func TestAccountPostsNeedCSRF(t *testing.T) {
	f := newFixture(t)
	jane := f.signIn(t, f.jane)
	pks := secondPasskey(t, f, f.jane)
	id := itoa(pks[1].ID)
	for _, path := range []string{
		"/account/passkeys/begin", "/account/passkeys/finish",
		"/account/passkeys/" + id + "/rename", "/account/passkeys/" + id + "/remove",
		"/account/sessions/signout-others",
	} {
		t.Run(path, func(t *testing.T) {
			for name, form := range map[string]url.Values{
				"no token":    {"nickname": {"x"}, "confirm": {"yes"}},
				"wrong token": {"csrf": {"not-the-token"}, "nickname": {"x"}, "confirm": {"yes"}},
			} {
				if rec := f.post(t, path, jane, form); rec.Code != http.StatusForbidden {
					t.Errorf("%s: status %d, want 403", name, rec.Code)
				}
			}
		})
	}
	if got, _ := f.db.Passkeys(context.Background(), pks[0].AccountID); len(got) != 2 || got[1].Nickname != "Password manager" {
		t.Fatalf("a refused request changed the passkeys: %+v", got)
	}
}

func TestAccessibilityStatementIsPublic(t *testing.T) {
	f := newFixture(t)
	resp := f.get(t, "/accessibility", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	d := doc(t, resp)
	if got := d.Find("h1").Text(); got != "Accessibility statement for My Care Record" {
		t.Errorf("h1 %q", got)
	}
	text := d.Find("main").Text()
	for _, want := range []string{"WCAG", "2.2", "axe-core", "keyboard", "JavaScript", "table", "Reporting accessibility problems", "Enforcement procedure", "Equality and Human Rights Commission"} {
		if !strings.Contains(text, want) {
			t.Errorf("statement does not mention %q", want)
		}
	}
	// Linked from the footer of every page, signed in or not.
	jane := f.signIn(t, f.jane)
	for _, page := range []struct {
		path   string
		cookie *http.Cookie
	}{{"/", nil}, {"/signin", nil}, {"/accessibility", nil}, {"/record", jane}, {"/account", jane}, {"/record/nope", jane}} {
		d := doc(t, f.get(t, page.path, page.cookie))
		if d.Find(`footer a[href="/accessibility"]`).Length() != 1 {
			t.Errorf("%s: no footer link to the accessibility statement", page.path)
		}
	}
}

// TestANewPasskeyHasSignedIn: the passkey made when enrolling, or when a
// carer accepts an invitation, signs its maker in there and then, so their
// account page says it was used today, not that it has not been used yet.
func TestANewPasskeyHasSignedIn(t *testing.T) {
	lastUsed := func(t *testing.T, c *passkeyBrowser) string {
		t.Helper()
		rec := c.page("/account")
		if rec.Code != http.StatusOK {
			t.Fatalf("account page: %d", rec.Code)
		}
		d := docOf(t, rec.Body.String())
		if n := d.Find(".mcr-passkey").Length(); n != 1 {
			t.Fatalf("%d passkeys listed, want 1", n)
		}
		row := d.Find(`.mcr-passkey .nhsuk-summary-list__row:contains("Last used") .nhsuk-summary-list__value`)
		return strings.TrimSpace(row.Text())
	}
	today := time.Now().In(store.UKZone()).Format("2 January 2006")
	t.Run("enrolling", func(t *testing.T) {
		f := newFixture(t)
		_, c := f.enrolWithKey(t, f.jane)
		if got := lastUsed(t, c); got != today {
			t.Errorf("last used %q, want %q", got, today)
		}
	})
	t.Run("accepting an invitation", func(t *testing.T) {
		f := newFixture(t)
		f.signIn(t, f.jane) // Jane's account, to invite from
		b := holdingInvitation(t, f)
		opts := b.must(b.json("/carers/accept/passkey/begin", nil), http.StatusOK, "accept begin")
		k := newSoftKey(t, "http://localhost:8080", "localhost")
		b.must(b.json("/carers/accept/passkey/finish", keyCreate(t, k, opts)), http.StatusOK, "accept finish")
		if got := lastUsed(t, b); got != today {
			t.Errorf("last used %q, want %q", got, today)
		}
	})
}

// TestEnrollingAgainSaysToRemoveTheLostPasskey: a code to set up an account
// that has passkeys already is most often for a lost phone or computer. The
// new passkey went straight to the record, the lost one still working and
// nothing said (found by a security review). It goes to the account page,
// which says to remove the lost passkey and sign out elsewhere; a first
// enrolment still goes to the record.
func TestEnrollingAgainSaysToRemoveTheLostPasskey(t *testing.T) {
	f := newFixture(t)
	redirect := func(c *passkeyBrowser) string {
		t.Helper()
		opts := c.must(c.json("/enrol/passkey/begin", nil), http.StatusOK, "enrol begin")
		var r struct{ Redirect string }
		if err := json.Unmarshal(c.must(c.json("/enrol/passkey/finish", keyCreate(t, newSoftKey(t, "http://localhost:8080", "localhost"), opts)), http.StatusOK, "enrol finish"), &r); err != nil {
			t.Fatal(err)
		}
		return r.Redirect
	}
	if got := redirect(f.enrolForm(t, f.jane)); got != "/record" {
		t.Errorf("a first enrolment goes to %q; want the record", got)
	}
	again := f.enrolForm(t, f.jane)
	got := redirect(again)
	if got != "/account?done=enrolled-again" {
		t.Fatalf("enrolling again goes to %q; want the account page", got)
	}
	main := strings.Join(strings.Fields(doc(t, f.get(t, got, again.cookie)).Find("main").Text()), " ")
	if !strings.Contains(main, "If you did this because you lost a phone or computer, or someone else may have one you used, remove its passkey below and sign out of all other sessions.") {
		t.Errorf("the account page after enrolling again says: %s", main)
	}
}

// TestABannerNeedsTheRedirectFromThisSite: a confirmation the address asks
// for ("done") is shown after a form's redirect, which is same-origin, and
// not from a link in a message or another site, which could confirm what
// nobody did: "You have removed the passkey", "You have changed John's
// access" (a review).
func TestABannerNeedsTheRedirectFromThisSite(t *testing.T) {
	f := newFixture(t)
	jane := f.signIn(t, f.jane)
	john := f.newCarer(t, "John Smith")
	g := f.grant(t, f.jane, f.ownAccount(t, f.jane), john, "medicines")
	for _, path := range []string{"/account?done=removed", "/account?done=added", "/carers?done=changed&grant=" + itoa(g.ID), "/choices?done=saved-before"} {
		for _, tc := range []struct {
			site string
			want bool
		}{{"same-origin", true}, {"none", false}, {"cross-site", false}, {"same-site", false}} {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			req.Header.Set("Sec-Fetch-Site", tc.site)
			req.AddCookie(jane)
			rec := httptest.NewRecorder()
			f.handler.ServeHTTP(rec, req)
			banner := docOf(t, rec.Body.String()).Find(".nhsuk-notification-banner").Length() > 0
			if rec.Code != http.StatusOK || banner != tc.want {
				t.Errorf("%s from %s: status %d, banner %v; want 200, banner %v", path, tc.site, rec.Code, banner, tc.want)
			}
		}
	}
}

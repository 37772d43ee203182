package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
)

// Alice, whom Jane invited, types the invitation code and Jane's date of
// birth at a shared computer and walks away. Amir, who has his own account,
// signs in at the same browser: he is not offered the invitation, and cannot
// accept it (a review: it passed to his session, one click from a grant).
// Signing in from the invitation's own page, as Alice would, brings it along.
func TestOnlyASignInFromTheInvitationTakesItAlong(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.signIn(t, f.jane)
	janeAcct := f.ownAccount(t, f.jane)
	amirKey, _ := f.enrolWithKey(t, f.amir)
	invite := func() string {
		_, code, err := f.db.CreateInvitation(ctx, f.jane.ID, janeAcct.ID, store.Invitation{CarerName: "Alice Brown", Relationship: "daughter", Scopes: []string{"medicines"}},
			grantLogged(janeAcct, "invited Alice Brown (daughter)"))
		if err != nil {
			t.Fatal(err)
		}
		return code
	}
	prove := func(b *passkeyBrowser, code string) {
		b.page("/carers/accept")
		b.must(b.form("/carers/accept", url.Values{"code": {code}, "day": {"14"}, "month": {"3"}, "year": {"1957"}}), http.StatusSeeOther, "the code proved")
	}
	offered := func(b *passkeyBrowser) (string, bool) {
		return docOf(t, b.page("/carers/accept/confirm").Body.String()).Find(`input[name="invitation"]`).Attr("value")
	}

	b := newPasskeyBrowser(t, f.handler)
	prove(b, invite())
	b.page("/signin")
	opts := b.must(b.json("/signin/begin", nil), http.StatusOK, "Amir: sign-in begin")
	if fin := b.must(b.json("/signin/finish", keyGet(t, amirKey, opts)), http.StatusOK, "Amir: sign-in finish"); strings.Contains(string(fin), "/carers/accept") {
		t.Errorf("Amir's sign-in sends him to %s", fin)
	}
	if held, ok := offered(b); ok {
		t.Errorf("Amir, who never typed the code, is offered Jane's invitation")
		b.form("/carers/accept/confirm", url.Values{"invitation": {held}, "for": {"self"}})
	}
	amir, err := f.db.AccountByPerson(ctx, f.amir.ID)
	if err != nil {
		t.Fatal(err)
	}
	if gs, _ := f.db.ActiveGrantsForAccount(ctx, amir.ID); len(gs) != 0 {
		t.Errorf("Amir acts for %d people", len(gs))
	}

	// The sign-in on the invitation's page takes it along.
	b = newPasskeyBrowser(t, f.handler)
	prove(b, invite())
	b.page("/carers/accept/confirm") // the page with the button
	opts = b.must(b.json("/carers/accept/signin/begin", nil), http.StatusOK, "sign-in from the invitation: begin")
	if fin := b.must(b.json("/carers/accept/signin/finish", keyGet(t, amirKey, opts)), http.StatusOK, "sign-in from the invitation: finish"); !strings.Contains(string(fin), "/carers/accept/confirm") {
		t.Errorf("a sign-in from the invitation sends them to %s; want the invitation", fin)
	}
	if _, ok := offered(b); !ok {
		t.Error("a sign-in from the invitation's page is not offered it")
	}
	// With no invitation held, its sign-in is refused.
	b = newPasskeyBrowser(t, f.handler)
	b.page("/signin")
	if rec := b.json("/carers/accept/signin/begin", nil); rec.Code == http.StatusOK {
		t.Errorf("a sign-in from an invitation with none held: %d", rec.Code)
	}
}

// linkAnswerWaiting has Amir accept Jane's invitation as a new carer, with a
// passkey made for it, then, at a shared computer, type a code for his own
// record and answer "Add this record to my account" with that passkey,
// leaving the answer waiting there; then sign in on his phone. It returns
// the two browsers and his account.
func linkAnswerWaiting(t *testing.T, f *fixture) (shared, phone *passkeyBrowser, carer store.Account) {
	t.Helper()
	ctx := context.Background()
	f.signIn(t, f.jane)
	_, invitation, err := f.db.CreateInvitation(ctx, f.jane.ID, f.ownAccount(t, f.jane).ID, store.Invitation{CarerName: "Amir Khan", Relationship: "neighbour", Scopes: []string{"medicines"}},
		grantLogged(f.ownAccount(t, f.jane), "invited Amir Khan (neighbour)"))
	if err != nil {
		t.Fatal(err)
	}
	a := newPasskeyBrowser(t, f.handler)
	a.page("/carers/accept")
	a.must(a.form("/carers/accept", url.Values{"code": {invitation}, "day": {"14"}, "month": {"3"}, "year": {"1957"}}), http.StatusSeeOther, "invitation code")
	a.page("/carers/accept/confirm")
	key := newSoftKey(t, "http://localhost:8080", "localhost")
	opts := a.must(a.json("/carers/accept/passkey/begin", nil), http.StatusOK, "carer passkey begin")
	a.must(a.json("/carers/accept/passkey/finish", keyCreate(t, key, opts)), http.StatusOK, "carer passkey finish")
	carer, _, err = f.db.AccountByUserHandle(ctx, key.UserHandle)
	if err != nil {
		t.Fatal(err)
	}
	code, _, err := f.db.CreateEnrolmentCode(ctx, f.amir.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	a.page("/enrol")
	a.must(a.form("/enrol", url.Values{"code": {code}, "day": {"01"}, "month": {"07"}, "year": {"1980"}}), http.StatusSeeOther, "enrolment code")
	a.page("/enrol/passkey")
	opts = a.must(a.json("/enrol/link/begin", nil), http.StatusOK, "link begin")
	a.must(a.json("/enrol/link/finish", keyGet(t, key, opts)), http.StatusOK, "link finish")
	a.page("/enrol/link")
	// From his phone, he signs in.
	b := newPasskeyBrowser(t, f.handler)
	b.addr = "198.51.100.9:1"
	b.page("/signin")
	opts = b.must(b.json("/signin/begin", nil), http.StatusOK, "sign-in begin")
	b.must(b.json("/signin/finish", keyGet(t, key, opts)), http.StatusOK, "sign-in finish")
	return a, b, carer
}

// A carer at a shared computer answers "Add this record to my account" with
// his passkey and walks away before confirming. From his phone he signs out
// of all other sessions: that ends the answer waiting at the shared computer
// too, so whoever presses "Add" there next is not signed in to his account
// (a review: it was, as the waiting answer was in a session not yet his).
func TestSignOutOthersEndsAPendingLinkSignIn(t *testing.T) {
	f := newFixture(t)
	shared, phone, carer := linkAnswerWaiting(t, f)
	phone.page("/account")
	phone.must(phone.form("/account/sessions/signout-others", url.Values{}), http.StatusSeeOther, "sign out others")

	// Whoever sits down at the shared computer next presses "Add".
	rec := shared.form("/enrol/link", url.Values{"account": {itoa(carer.ID)}})
	if rec.Code == http.StatusSeeOther && rec.Header().Get("Location") == "/record" && opensRecord(shared) {
		t.Fatalf("after Amir signed out of all other sessions, the answer waiting at the shared computer still signed in to his account (%d to %q)", rec.Code, rec.Header().Get("Location"))
	}
	// His phone is still signed in.
	if rec := phone.do(http.MethodGet, "/account", "", nil); rec.Code != http.StatusOK {
		t.Fatalf("signing out the other sessions ended the phone's own: /account answered %d", rec.Code)
	}
}

// TestAccountPageCountsAPendingLinkSignIn: the account page counts a
// session at another computer holding one of the account's passkeys'
// answers to "Add this record to my account", which would sign in to it,
// and so offers "Sign out of all other sessions" (a review: it said "not
// signed in anywhere else").
func TestAccountPageCountsAPendingLinkSignIn(t *testing.T) {
	_, phone, _ := linkAnswerWaiting(t, newFixture(t))
	rec := phone.do(http.MethodGet, "/account", "", nil)
	if strings.Contains(rec.Body.String(), "not signed in to My Care Record anywhere else") || !strings.Contains(rec.Body.String(), "signout-others") {
		t.Errorf("a passkey answer of this account waits at another computer, ready to sign in to it, yet the account page offers no way to end it:\n%s", rec.Body.String())
	}
}

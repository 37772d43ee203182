package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

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

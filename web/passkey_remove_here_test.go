package web_test

import (
	"context"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
)

// TestRemovePasskeySaysWhetherThisSessionEnds: the page asking to remove a
// passkey says the person will be signed out here only when they signed in
// here with it (a product review: it said so of every passkey, and the
// person stayed signed in).
func TestRemovePasskeySaysWhetherThisSessionEnds(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.signIn(t, f.jane)
	pks := secondPasskey(t, f, f.jane)
	acct, err := f.db.AccountByPerson(ctx, f.jane.ID)
	if err != nil {
		t.Fatal(err)
	}
	bare, _, err := f.db.CreateSession(ctx, 0, store.DefaultSessionPolicy())
	if err != nil {
		t.Fatal(err)
	}
	id, _, _, err := f.db.RotateSession(ctx, bare, acct.ID, pks[0].CredentialID, store.DefaultSessionPolicy())
	if err != nil {
		t.Fatal(err)
	}
	jane := sessionCookie(t, id)
	for _, tc := range []struct {
		pk   store.Passkey
		want string
	}{
		{pks[0], "You signed in with this passkey, so you will be signed out here"},
		{pks[1], "You will stay signed in here."},
	} {
		if got := doc(t, f.get(t, "/account/passkeys/"+itoa(tc.pk.ID)+"/remove", jane)).Find("main").Text(); !strings.Contains(got, tc.want) {
			t.Errorf("removing passkey %d, signed in with %d: %q; want %q", tc.pk.ID, pks[0].ID, got, tc.want)
		}
	}
}

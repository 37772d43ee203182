package store_test

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mycarerecord/portal/store"
)

// The lost-passkey flow (a new enrolment code for a person whose record has
// an account) numbers a name the account has: enrolled and re-enrolled on
// one day, both read "Passkey created <date>", as did their Rename and
// Remove links (a review).
func TestAPasskeyFromASecondEnrolmentIsNumbered(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	jane := addPerson(t, db, "9434765919", "1957-03-14")
	name := "Passkey created 28 November 2026"
	acct, err := db.EnrolPasskey(ctx, jane.ID, []byte("h"), jane.Name(), store.Passkey{CredentialID: []byte("c1"), PublicKey: []byte("k"), Nickname: name})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.EnrolPasskey(ctx, jane.ID, []byte("h"), jane.Name(), store.Passkey{CredentialID: []byte("c2"), PublicKey: []byte("k"), Nickname: name}); err != nil {
		t.Fatal(err)
	}
	pks, err := db.Passkeys(ctx, acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(pks) != 2 || pks[0].Nickname == pks[1].Nickname {
		t.Errorf("the account's passkeys: %q and %q, named alike", pks[0].Nickname, pks[1].Nickname)
	}
}

// A numbered name stays within the longest a passkey's name may be.
func TestANumberedPasskeyNameIsNoLonger(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	jane := addPerson(t, db, "9434765919", "1957-03-14")
	long := strings.Repeat("é", store.MaxPasskeyNickname)
	acct, err := db.EnrolPasskey(ctx, jane.ID, []byte("h"), jane.Name(), store.Passkey{CredentialID: []byte("c1"), PublicKey: []byte("k"), Nickname: long})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.AddPasskey(ctx, acct.ID, store.Passkey{CredentialID: []byte("c2"), PublicKey: []byte("k"), Nickname: long}); err != nil {
		t.Fatal(err)
	}
	pks, err := db.Passkeys(ctx, acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := pks[1].Nickname; utf8.RuneCountInString(got) != store.MaxPasskeyNickname || !strings.HasSuffix(got, "é (2)") {
		t.Errorf("the second passkey's name: %q (%d characters)", got, utf8.RuneCountInString(got))
	}
}

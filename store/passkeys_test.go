package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
)

// accountWithPasskeys enrols the person with n passkeys and returns the account and them.
func accountWithPasskeys(t *testing.T, db *store.DB, p store.Person, n int) (store.Account, []store.Passkey) {
	t.Helper()
	ctx := context.Background()
	acct, err := db.EnrolPasskey(ctx, p.ID, []byte("handle-"+p.NHSNumber), p.Name(), store.Passkey{CredentialID: []byte(p.NHSNumber + "-0"), PublicKey: []byte("k"), Nickname: "First"})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < n; i++ {
		if err := db.AddPasskey(ctx, acct.ID, store.Passkey{CredentialID: []byte(p.NHSNumber + "-" + string(rune('0'+i))), PublicKey: []byte("k"), BackupEligible: true}); err != nil {
			t.Fatal(err)
		}
	}
	pks, err := db.Passkeys(ctx, acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(pks) != n {
		t.Fatalf("%d passkeys, want %d", len(pks), n)
	}
	return acct, pks
}

func TestRenamePasskey(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	jane, amir := addPerson(t, db, "9434765919", "1957-03-14"), addPerson(t, db, "9000000009", "1980-07-01")
	acct, pks := accountWithPasskeys(t, db, jane, 2)
	other, otherPks := accountWithPasskeys(t, db, amir, 1)
	tests := []struct {
		name      string
		account   int64
		passkey   int64
		nickname  string
		wantCode  string
		wantSaved string
	}{
		{"renamed, spaces tidied", acct.ID, pks[1].ID, "  My   phone ", "", "My phone"},
		{"empty", acct.ID, pks[1].ID, "   ", store.EINVALID, ""},
		{"too long", acct.ID, pks[1].ID, strings.Repeat("é", store.MaxPasskeyNickname+1), store.EINVALID, ""},
		{"exactly the longest", acct.ID, pks[1].ID, strings.Repeat("é", store.MaxPasskeyNickname), "", strings.Repeat("é", store.MaxPasskeyNickname)},
		{"tab and line break tidied as spaces", acct.ID, pks[1].ID, "My\tphone\r\n", "", "My phone"},
		{"right-to-left override", acct.ID, pks[1].ID, "\u202eexe.live", store.EINVALID, ""},
		{"pop directional formatting", acct.ID, pks[1].ID, "phone\u202c", store.EINVALID, ""},
		{"left-to-right mark", acct.ID, pks[1].ID, "phone\u200e", store.EINVALID, ""},
		{"right-to-left mark", acct.ID, pks[1].ID, "phone\u200f", store.EINVALID, ""},
		{"first strong isolate", acct.ID, pks[1].ID, "\u2068phone", store.EINVALID, ""},
		{"pop directional isolate", acct.ID, pks[1].ID, "phone\u2069", store.EINVALID, ""},
		{"Arabic letter mark", acct.ID, pks[1].ID, "phone\u061c", store.EINVALID, ""},
		{"NUL", acct.ID, pks[1].ID, "pho\x00ne", store.EINVALID, ""},
		{"escape", acct.ID, pks[1].ID, "\x1b[31mphone", store.EINVALID, ""},
		{"unit separator", acct.ID, pks[1].ID, "pho\x1fne", store.EINVALID, ""},
		{"delete", acct.ID, pks[1].ID, "phone\x7f", store.EINVALID, ""},
		{"C1 control", acct.ID, pks[1].ID, "phone\u009b", store.EINVALID, ""},
		{"Arabic script", acct.ID, pks[1].ID, "هاتفي", "", "هاتفي"},
		{"emoji joined by ZWJ", acct.ID, pks[1].ID, "Family 👨\u200d👩\u200d👧", "", "Family 👨\u200d👩\u200d👧"},
		{"another account's passkey", acct.ID, otherPks[0].ID, "Mine now", store.ENOTFOUND, ""},
		{"no such passkey", acct.ID, 99999, "Gone", store.ENOTFOUND, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := db.RenamePasskey(ctx, tt.account, tt.passkey, tt.nickname)
			if got := store.ErrorCode(err); got != tt.wantCode {
				t.Fatalf("error %v (code %q), want code %q", err, got, tt.wantCode)
			}
			if tt.wantSaved != "" {
				pk, err := db.AccountPasskey(ctx, tt.account, tt.passkey)
				if err != nil {
					t.Fatal(err)
				}
				if pk.Nickname != tt.wantSaved {
					t.Fatalf("nickname %q, want %q", pk.Nickname, tt.wantSaved)
				}
			}
		})
	}
	if pk, _ := db.AccountPasskey(ctx, other.ID, otherPks[0].ID); pk.Nickname != "First" {
		t.Fatalf("another account's passkey was renamed to %q", pk.Nickname)
	}
	if _, err := db.AccountPasskey(ctx, acct.ID, otherPks[0].ID); store.ErrorCode(err) != store.ENOTFOUND {
		t.Fatalf("AccountPasskey of another account's passkey: %v, want ENOTFOUND", err)
	}
}

func TestRemovePasskey(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	jane, amir := addPerson(t, db, "9434765919", "1957-03-14"), addPerson(t, db, "9000000009", "1980-07-01")
	acct, pks := accountWithPasskeys(t, db, jane, 2)
	other, otherPks := accountWithPasskeys(t, db, amir, 1)
	p := store.DefaultSessionPolicy()
	here, _, err := db.CreateSession(ctx, acct.ID, p)
	if err != nil {
		t.Fatal(err)
	}
	elsewhere, _, _ := db.CreateSession(ctx, acct.ID, p)
	otherSession, _, _ := db.CreateSession(ctx, other.ID, p)

	if _, err := db.RemovePasskey(ctx, acct.ID, otherPks[0].ID, true); store.ErrorCode(err) != store.ENOTFOUND {
		t.Fatalf("removing another account's passkey: %v, want ENOTFOUND", err)
	}
	left, err := db.RemovePasskey(ctx, acct.ID, pks[0].ID, false)
	if err != nil || left != 1 {
		t.Fatalf("remove one of two: left %d, %v", left, err)
	}
	if _, err := db.Session(ctx, here, p); err != nil {
		t.Fatalf("removing a passkey that is not the last ended a session: %v", err)
	}
	// The last one needs confirming.
	if _, err := db.RemovePasskey(ctx, acct.ID, pks[1].ID, false); store.ErrorCode(err) != store.ECONFLICT {
		t.Fatalf("removing the last passkey unconfirmed: %v, want ECONFLICT", err)
	}
	if got, _ := db.Passkeys(ctx, acct.ID); len(got) != 1 {
		t.Fatalf("unconfirmed removal removed it: %d left", len(got))
	}
	left, err = db.RemovePasskey(ctx, acct.ID, pks[1].ID, true)
	if err != nil || left != 0 {
		t.Fatalf("remove the last, confirmed: left %d, %v", left, err)
	}
	// With nothing left to sign in with, every session of the account has ended; others' have not.
	for _, id := range []string{here, elsewhere} {
		if _, err := db.Session(ctx, id, p); store.ErrorCode(err) != store.ENOTFOUND {
			t.Fatalf("a session survived removing the last passkey: %v", err)
		}
	}
	if _, err := db.Session(ctx, otherSession, p); err != nil {
		t.Fatalf("another account's session ended: %v", err)
	}
	// The account stays, linked to its person, so a new enrolment code brings the person back to it.
	if a, err := db.AccountByPerson(ctx, jane.ID); err != nil || a.ID != acct.ID {
		t.Fatalf("account after removing every passkey: %+v, %v", a, err)
	}
	again, err := db.EnrolPasskey(ctx, jane.ID, []byte("new handle ignored"), jane.Name(), store.Passkey{CredentialID: []byte("new"), PublicKey: []byte("k")})
	if err != nil || again.ID != acct.ID {
		t.Fatalf("enrolling again: account %d, %v; want %d", again.ID, err, acct.ID)
	}
}

func TestDeleteOtherSessions(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	jane, amir := addPerson(t, db, "9434765919", "1957-03-14"), addPerson(t, db, "9000000009", "1980-07-01")
	acct, _ := accountWithPasskeys(t, db, jane, 1)
	other, _ := accountWithPasskeys(t, db, amir, 1)
	p := store.DefaultSessionPolicy()
	here, _, _ := db.CreateSession(ctx, acct.ID, p)
	var elsewhere []string
	for range 3 {
		id, _, _ := db.CreateSession(ctx, acct.ID, p)
		elsewhere = append(elsewhere, id)
	}
	otherSession, _, _ := db.CreateSession(ctx, other.ID, p)
	if n, err := db.OtherSessions(ctx, acct.ID, here, p); err != nil || n != 3 {
		t.Fatalf("other sessions before: %d, %v; want 3", n, err)
	}
	n, err := db.DeleteOtherSessions(ctx, acct.ID, here)
	if err != nil || n != 3 {
		t.Fatalf("ended %d, %v; want 3", n, err)
	}
	if _, err := db.Session(ctx, here, p); err != nil {
		t.Fatalf("the session that asked was ended: %v", err)
	}
	for _, id := range elsewhere {
		if _, err := db.Session(ctx, id, p); store.ErrorCode(err) != store.ENOTFOUND {
			t.Fatalf("another session of the account survived: %v", err)
		}
	}
	if _, err := db.Session(ctx, otherSession, p); err != nil {
		t.Fatalf("another account's session was ended: %v", err)
	}
	if n, _ := db.OtherSessions(ctx, acct.ID, here, p); n != 0 {
		t.Fatalf("other sessions after: %d, want 0", n)
	}
}

// Passkeys added on one day, named alike ("Passkey added 28 November
// 2026"), are told apart by a number: their Rename and Remove links read the
// same (a review, WCAG 2.4.4). Another account's passkey of that name counts
// for nothing.
func TestPasskeysAddedAlikeAreNumbered(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	jane, amir := addPerson(t, db, "9434765919", "1957-03-14"), addPerson(t, db, "9000000009", "1980-07-01")
	acct, _ := accountWithPasskeys(t, db, jane, 1)
	other, _ := accountWithPasskeys(t, db, amir, 1)
	if err := db.AddPasskey(ctx, other.ID, store.Passkey{CredentialID: []byte("amir-2"), PublicKey: []byte("k"), Nickname: "Passkey added 28 November 2026"}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := db.AddPasskey(ctx, acct.ID, store.Passkey{CredentialID: []byte{'j', byte(i)}, PublicKey: []byte("k"), Nickname: "Passkey added 28 November 2026"}); err != nil {
			t.Fatal(err)
		}
	}
	pks, err := db.Passkeys(ctx, acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, pk := range pks {
		names = append(names, pk.Nickname)
	}
	want := "First|Passkey added 28 November 2026|Passkey added 28 November 2026 (2)|Passkey added 28 November 2026 (3)"
	if got := strings.Join(names, "|"); got != want {
		t.Errorf("names: %q, want %q", got, want)
	}
}

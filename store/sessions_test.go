package store_test

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/mycarerecord/portal/store"
)

// A session is signed in with a passkey, whose removal ends it. A passkey
// that is not the account's (removed between the sign-in's check and the
// new session, or another account's) starts no session: one started anyway
// would name no passkey, and removing it would never end that session.
func TestSessionNamesItsPasskey(t *testing.T) {
	ctx := context.Background()
	p := store.DefaultSessionPolicy()
	for _, tt := range []struct {
		name    string
		removed bool // the passkey is removed before the session starts
		others  bool // the passkey is another account's
		want    string
	}{
		{"its own passkey", false, false, ""},
		{"a passkey removed meanwhile", true, false, store.ENOTFOUND},
		{"another account's passkey", false, true, store.ENOTFOUND},
	} {
		t.Run(tt.name, func(t *testing.T) {
			db := mustOpenDB(t)
			jane, amir := addPerson(t, db, "9434765919", "1957-03-14"), addPerson(t, db, "9000000009", "1980-07-01")
			acct, pks := accountWithPasskeys(t, db, jane, 2)
			_, otherPks := accountWithPasskeys(t, db, amir, 1)
			cred := pks[0]
			if tt.others {
				cred = otherPks[0]
			}
			if tt.removed {
				if _, err := db.RemovePasskey(ctx, acct.ID, cred.ID, false); err != nil {
					t.Fatal(err)
				}
			}
			before := newSession(t, db)
			id, _, _, err := db.RotateSession(ctx, before, acct.ID, cred.CredentialID, p)
			if store.ErrorCode(err) != tt.want {
				t.Fatalf("sign in: %v, want %q", err, tt.want)
			}
			if n, err := db.OtherSessions(ctx, acct.ID, "", p); err != nil || (n == 0) != (tt.want != "") {
				t.Fatalf("%d sessions of the account (%v) after %v", n, err, tt.want)
			}
			if tt.want != "" {
				return
			}
			if _, err := db.RemovePasskey(ctx, acct.ID, cred.ID, false); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Session(ctx, id, p); store.ErrorCode(err) != store.ENOTFOUND {
				t.Errorf("the session outlived its passkey: %v", err)
			}
		})
	}
}

// A session's CSRF token is nowhere in the database, as its id is not (found
// by a review: tokens were stored in plain text); it is the same each time
// the session is read, another for another session or a new id, and under
// the server's secret another again.
func TestCSRFTokenIsNotStored(t *testing.T) {
	ctx := context.Background()
	db, path := mustOpenDBFile(t)
	id, s, err := db.CreateSession(ctx, 0, store.DefaultSessionPolicy())
	if err != nil {
		t.Fatal(err)
	}
	other, o, err := db.CreateSession(ctx, 0, store.DefaultSessionPolicy())
	if err != nil {
		t.Fatal(err)
	}
	read, err := db.Session(ctx, id, store.DefaultSessionPolicy())
	if err != nil || read.CSRFToken != s.CSRFToken || len(s.CSRFToken) < 40 || s.CSRFToken == o.CSRFToken {
		t.Fatalf("tokens %q, read again %q (%v), another session's %q: want one long token a session, the same each read", s.CSRFToken, read.CSRFToken, err, o.CSRFToken)
	}
	db.Close()
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	wal, _ := os.ReadFile(path + "-wal")
	for _, secret := range []string{id, other, s.CSRFToken, o.CSRFToken} {
		if bytes.Contains(file, []byte(secret)) || bytes.Contains(wal, []byte(secret)) {
			t.Errorf("the database file holds %q", secret)
		}
	}
	db, err = store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.UseCodeKey(ctx, []byte("0123456789abcdef0123456789abcdef"), true); err != nil {
		t.Fatal(err)
	}
	keyed, err := db.Session(ctx, id, store.DefaultSessionPolicy())
	if err != nil || keyed.CSRFToken == s.CSRFToken {
		t.Errorf("under the server's secret the token is %q (%v); want another than %q", keyed.CSRFToken, err, s.CSRFToken)
	}
}

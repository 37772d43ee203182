package store_test

import (
	"context"
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

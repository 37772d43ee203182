package store_test

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

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

// TestABareSessionOutlastsTheIdleTime: a session that only carries a form's
// CSRF token (nobody signed in, nothing held) lasts a day without a request,
// past its absolute end too, so a page to sign in, enrol or accept an
// invitation left open still works when sent (a review: refused after 30
// minutes, what was typed lost, WCAG 2.2.1); one signed in, or holding a
// code proved, ends after the idle time as before; the sweep keeps them so.
func TestABareSessionOutlastsTheIdleTime(t *testing.T) {
	ctx, p := context.Background(), store.DefaultSessionPolicy()
	db, clk, code := enrolmentCodeAt9(t)
	bare := newSession(t, db)
	_, proved, err := db.RedeemEnrolmentCode(ctx, newSession(t, db), code, "1957-03-14")
	if err != nil {
		t.Fatal(err)
	}
	other := addPerson(t, db, "9434765927", "1968-09-22")
	acct, err := db.EnrolPasskey(ctx, other.ID, []byte("handle"), other.Name(), store.Passkey{CredentialID: []byte("c1"), PublicKey: []byte("k")})
	if err != nil {
		t.Fatal(err)
	}
	signedIn, _, err := db.CreateSession(ctx, acct.ID, p)
	if err != nil {
		t.Fatal(err)
	}
	live := func(id string) bool {
		_, err := db.Session(ctx, id, p)
		if err != nil && store.ErrorCode(err) != store.ENOTFOUND {
			t.Fatal(err)
		}
		return err == nil
	}
	clk.t = clk.t.Add(31 * time.Minute)
	if _, err := db.DeleteExpiredSessions(ctx, p); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		id   string
		want bool
	}{"bare": {bare, true}, "holding a code proved": {proved, false}, "signed in": {signedIn, false}} {
		if got := live(tc.id); got != tc.want {
			t.Errorf("31 minutes on, the %s session is live %v; want %v", name, got, tc.want)
		}
	}
	// 13 hours on, with a request every 11 hours: past the 12-hour end.
	clk.t = clk.t.Add(11 * time.Hour)
	if !live(bare) {
		t.Fatal("the bare session ended within a day of its last request")
	}
	clk.t = clk.t.Add(2 * time.Hour)
	if !live(bare) {
		t.Error("the bare session ended at the absolute end, which binds only what it could take")
	}
	clk.t = clk.t.Add(24*time.Hour + time.Minute)
	if n, err := db.DeleteExpiredSessions(ctx, p); err != nil || n != 1 {
		t.Errorf("a day after its last request, the sweep removed %d sessions, %v; want the bare one", n, err)
	}
	if live(bare) {
		t.Error("the bare session outlived a day without a request")
	}
}

// TestACodeProvedInAnOldBareSessionKeepsItGoing: a page to enrol left open
// 13 hours (its bare session past the absolute end a signed-in one has)
// still takes the code, and the session that then holds it starts its
// times anew, to set up a passkey (a review: it had ended already, and the
// person was sent to sign in with their code used).
func TestACodeProvedInAnOldBareSessionKeepsItGoing(t *testing.T) {
	ctx, p := context.Background(), store.DefaultSessionPolicy()
	db, clk, code := enrolmentCodeAt9(t)
	bare := newSession(t, db) // the enrolment page, opened at 09:00
	clk.t = clk.t.Add(13 * time.Hour)
	if _, err := db.Session(ctx, bare, p); err != nil {
		t.Fatalf("the bare session, 13 hours on: %v; want it live, as it is bare", err)
	}
	_, proved, err := db.RedeemEnrolmentCode(ctx, bare, code, "1957-03-14")
	if err != nil {
		t.Fatal(err)
	}
	s, err := db.Session(ctx, proved, p)
	if err != nil {
		t.Fatalf("the session that has just proved the code: %v; want it live to set up a passkey", err)
	}
	if want := clk.t.Add(p.Absolute); !s.ExpiresAt.Equal(want) {
		t.Errorf("it ends at %s; want %s, the absolute end from now", s.ExpiresAt, want)
	}
}

// enrolmentCodeAt9 is a store whose clock reads 09:00 on 28 November 2026,
// holding Jane, 9434765919, with an enrolment code for her good for 72 hours.
func enrolmentCodeAt9(t *testing.T) (*store.DB, *clock, string) {
	t.Helper()
	db := mustOpenDB(t)
	clk := &clock{t: time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)}
	db.SetClock(clk.now)
	person := addPerson(t, db, "9434765919", "1957-03-14")
	code, _, err := db.CreateEnrolmentCode(context.Background(), person.ID, 72*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return db, clk, code
}

package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
)

// A session holding a code stores no passkey from it once it has expired:
// kept alive by "I need more time" (TouchSession), one that proved a code
// minutes before it expired stored a passkey from it hours later (a review).
func TestAHoldDoesNotOutliveItsCode(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	clk := &clock{t: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	db.SetClock(clk.now)
	jane := addPerson(t, db, "9434765919", "1957-03-14")
	code, _, err := db.CreateEnrolmentCode(ctx, jane.ID, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	clk.t = clk.t.Add(9 * time.Minute)
	sid, _, err := db.CreateSession(ctx, 0, store.DefaultSessionPolicy())
	if err != nil {
		t.Fatal(err)
	}
	_, sid, err = db.RedeemEnrolmentCode(ctx, sid, code, "1957-03-14")
	if err != nil {
		t.Fatal(err)
	}
	for range 8 { // "I need more time", every 25 minutes: 3h20 on
		clk.t = clk.t.Add(25 * time.Minute)
		if _, err := db.TouchSession(ctx, sid, store.DefaultSessionPolicy()); err != nil {
			t.Fatal(err)
		}
	}
	other, _, err := db.CreateSession(ctx, 0, store.DefaultSessionPolicy())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.RedeemEnrolmentCode(ctx, other, code, "1957-03-14"); store.ErrorCode(err) != store.EEXPIRED {
		t.Fatalf("the code proved again: %v; want it expired", err)
	}
	if _, err := db.EnrolSessionPasskey(ctx, sid, []byte("h"), jane.Name(), store.Passkey{CredentialID: []byte("c1"), PublicKey: []byte("k"), Nickname: "Passkey"}); err == nil {
		t.Errorf("a passkey was stored from a code that expired 3h11m before; the session only proved it while in date")
	}
}

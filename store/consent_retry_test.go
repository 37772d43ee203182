package store_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
)

// TestRetryRefusedOnceALaterChangeIsQueued: a change a source did not accept
// may be sent again only while no later change to that source has been
// queued, whatever became of the later one. The later one carries every
// choice; sent again after it (or while it is on the wire), the older one
// would reach the source last and win. The person is told plainly there is
// nothing to send again, and the choices pages are told not to offer it.
func TestRetryRefusedOnceALaterChangeIsQueued(t *testing.T) {
	for _, later := range []string{
		"",        // no later change
		"waiting", // queued, not yet picked up
		"sending", // claimed by a pusher, on the wire
		store.DeliveryFailed,
		store.DeliverySent,
	} {
		name := "a later change " + later
		if later == "" {
			name = "no later change"
		}
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			f := newConsentFixture(t)
			now := time.Date(2026, 11, 25, 10, 42, 0, 0, time.UTC)
			f.db.SetClock(func() time.Time { return now })
			first := claimOne(t, f, "no")
			if err := f.db.ConsentNotDelivered(ctx, first, "The server said: no", time.Time{}); err != nil {
				t.Fatal(err)
			}
			var err error
			switch later {
			case "waiting":
				changeResearch(t, f, "yes")
			case "sending":
				claimOne(t, f, "yes")
			case store.DeliveryFailed:
				err = f.db.ConsentNotDelivered(ctx, claimOne(t, f, "yes"), "The server said: no", time.Time{})
			case store.DeliverySent:
				err = f.db.ConsentDelivered(ctx, claimOne(t, f, "yes"), "c-1", "1")
			}
			if err != nil {
				t.Fatal(err)
			}
			overtaken := later != ""

			hist, err := f.db.ConsentHistory(ctx, f.jane.ID)
			if err != nil {
				t.Fatal(err)
			}
			shown := hist[len(hist)-1].Deliveries[0] // the oldest: the refused one
			if shown.ID != first.ID || shown.Overtaken != overtaken {
				t.Errorf("the refused delivery reads %+v, want Overtaken %v", shown, overtaken)
			}

			err = f.db.RetryConsentDelivery(ctx, f.jane.ID, first.ID, store.Access{AccountID: 1, PersonID: f.jane.ID, Action: "choice", What: "send change again"})
			switch {
			case !overtaken && err != nil:
				t.Errorf("retry with no later change: %v, want it made", err)
			case overtaken && store.ErrorCode(err) != store.ENOTFOUND:
				t.Errorf("retry after a later change: %v, want %s", err, store.ENOTFOUND)
			case overtaken && err.Error() != "There is no change waiting to be sent again.":
				t.Errorf("retry after a later change says %q", err)
			}
		})
	}
}

// changeResearch makes Jane's research answer a, which queues a delivery to the gp.
func changeResearch(t *testing.T, f *consentFixture, a string) {
	t.Helper()
	if _, err := f.db.ChangeConsent(context.Background(), f.jane.ID, janeHerself, store.ConsentChange{Question: store.QuestionResearch, Answer: a}, store.ChoiceLogged(1)); err != nil {
		t.Fatal(err)
	}
}

// claimOne makes a change and claims its delivery, as a pusher about to send it does.
func claimOne(t *testing.T, f *consentFixture, a string) store.OutboxItem {
	t.Helper()
	changeResearch(t, f, a)
	items, err := f.db.ClaimConsentOutbox(context.Background(), 10, time.Minute)
	if err != nil || len(items) != 1 {
		t.Fatalf("claimed %+v (%v), want the one delivery", items, err)
	}
	return items[0]
}

// TestReleaseFreesOnlyClaimsOfStoppedSenders: a pusher starting made every
// claimed delivery due at once, a running process's too, which then sent it
// a second time beside its holder. Now only a delivery no running process
// holds is made due: one claimed by a process that has stopped, or one
// waiting out a back-off.
func TestReleaseFreesOnlyClaimsOfStoppedSenders(t *testing.T) {
	ctx := context.Background()
	f := newConsentFixture(t)
	now := time.Date(2026, 11, 25, 10, 42, 0, 0, time.UTC)
	f.db.SetClock(func() time.Time { return now })
	claimOne(t, f, "no")
	raw, err := sql.Open("sqlite3", "file:"+f.path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	f.db.ReleaseConsentClaims(ctx, true)
	if items, _ := f.db.ClaimConsentOutbox(ctx, 10, time.Minute); len(items) != 0 {
		t.Fatalf("a delivery this running process holds was claimed again after a release: %+v", items)
	}
	// The same claim made by a process that has stopped: freed by a pusher's
	// round too, not only when one starts (a portal outbox push stopped half
	// way held its claims for the whole lease).
	if _, err := raw.Exec(`UPDATE consent_outbox SET claimed_by = 'claim 00 by serve pid 2147483646 started 1'`); err != nil {
		t.Fatal(err)
	}
	if err := f.db.ReleaseConsentClaims(ctx, false); err != nil {
		t.Fatal(err)
	}
	items, err := f.db.ClaimConsentOutbox(ctx, 10, time.Minute)
	if err != nil || len(items) != 1 || items[0].Attempts != 2 {
		t.Fatalf("a stopped sender's delivery after a round's release: %+v, %v; want it claimed again", items, err)
	}
	// One waiting out a back-off is made due when a pusher starts, not in each round.
	if err := f.db.ConsentNotDelivered(ctx, items[0], "no answer", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, start := range []bool{false, true} {
		if err := f.db.ReleaseConsentClaims(ctx, start); err != nil {
			t.Fatal(err)
		}
		if items, _ := f.db.ClaimConsentOutbox(ctx, 10, time.Minute); (len(items) == 1) != start {
			t.Errorf("a delivery waiting out a back-off, released as a pusher starts %v: claimed %d; want it claimed only then", start, len(items))
		}
	}
}

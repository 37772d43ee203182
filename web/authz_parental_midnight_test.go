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

// TestParentalAccessEndsAtMidnightMidSession (an authorization review): a parent's session open across the child's 16th birthday (UK midnight) stops at the next click.
func TestParentalAccessEndsAtMidnightMidSession(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	uk := time.Now().In(store.UKZone())
	birthday := time.Date(uk.Year(), uk.Month(), uk.Day()+1, 0, 0, 0, 0, store.UKZone())
	dob := birthday.AddDate(-16, 0, 0).Format("2006-01-02")
	lily := addLily(t, f, dob, medicine("m3", "lily", "Salbutamol inhaler"))
	lilyCookie := f.signIn(t, lily)
	rec := f.post(t, "/carers/invite/confirm", lilyCookie, url.Values{"csrf": {csrfToken(t, f, lilyCookie)},
		"name": {"Mum"}, "relationship": {"mother"}, "scope": {"medicines", "choices"}, "ends": {"never"}, "parental": {"yes"}})
	if rec.Code != http.StatusOK {
		t.Fatalf("invite: %d", rec.Code)
	}
	code := strings.TrimSpace(docOf(t, rec.Body.String()).Find("#invite-code").Text())
	before := birthday.Add(-10 * time.Minute)
	f.db.SetClock(func() time.Time { return before })
	defer f.db.SetClock(time.Now)
	mum := f.newCarer(t, "Mum")
	renewed := proveInvitation(t, f, code, dob, mum.id, mum.acct)
	mum.id, mum.cookie = renewed, sessionCookie(t, renewed)
	g, err := f.db.AcceptInvitation(ctx, mum.id, mum.acct.ID, heldInvitation(t, f.db, mum.id), grantLogged(mum.acct, "accepted"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.db.SetActingFor(ctx, mum.id, mum.acct.ID, g.ID); err != nil {
		t.Fatal(err)
	}
	if got := f.get(t, "/record/medicines", mum.cookie).StatusCode; got != 200 {
		t.Fatalf("before midnight: %d", got)
	}
	f.db.SetClock(func() time.Time { return birthday.Add(5 * time.Minute) })
	for _, p := range []string{"/record/medicines", "/record", "/choices", "/record/search?q=salbutamol"} {
		if code, body := rawReq(f, http.MethodGet, p, mum.cookie); code != http.StatusForbidden || strings.Contains(body, "Salbutamol") {
			t.Errorf("GET %s after the 16th birthday: %d", p, code)
		}
	}
	if rec := f.post(t, "/choices/research/confirm", mum.cookie, url.Values{"csrf": {sessionCSRF(t, f, mum.id)}, "for": {itoa(g.ID)}, "answer": {"no"}}); rec.Code != http.StatusForbidden {
		t.Errorf("POST after the 16th birthday: %d", rec.Code)
	}
}

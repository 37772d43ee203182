package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/sessions"
)

// TestSignInWhileActingSyncsThePersonActedFor: Amir, acting for Jane, signs
// in again in the same browser (a sign-in page left open in another tab):
// the new session goes on acting for Jane, and the sync started is of her
// record, the one he lands on, not of his own (a review).
func TestSignInWhileActingSyncsThePersonActedFor(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.signIn(t, f.jane) // Jane's account, to invite Amir
	k, c := f.enrolWithKey(t, f.amir)
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.AddCookie(c.cookie)
	sess, err := sessions.NewCookieStore(testHashKey, testBlockKey).Get(req, "mcr_session")
	if err != nil {
		t.Fatal(err)
	}
	amir := carerSession{acct: f.ownAccount(t, f.amir), id: sess.Values["id"].(string), cookie: c.cookie}
	f.grant(t, f.jane, f.ownAccount(t, f.jane), amir, "medicines")
	withStalledSync(t, f) // a real worker, whose one source never answers: a sync started stays running
	c.handler = f.handler
	c.page("/record/medicines")
	opts := c.must(c.json("/signin/begin", nil), http.StatusOK, "sign-in begin")
	c.must(c.json("/signin/finish", keyGet(t, k, opts)), http.StatusOK, "sign-in finish")
	if page := doc(t, f.get(t, "/record/medicines", c.cookie)).Text(); !strings.Contains(page, "Metformin") {
		t.Fatalf("after signing in again Amir is not on Jane's record")
	}
	running := func(personID int64) bool {
		sts, err := f.db.SyncStatuses(ctx, personID)
		if err != nil {
			t.Fatal(err)
		}
		return len(sts) == 1 && sts[0].RunningSince != ""
	}
	for deadline := time.Now().Add(5 * time.Second); !running(f.jane.ID) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if !running(f.jane.ID) || running(f.amir.ID) {
		t.Errorf("after signing in again while acting for Jane: her record syncing %v, Amir's own %v; want hers alone", running(f.jane.ID), running(f.amir.ID))
	}
}

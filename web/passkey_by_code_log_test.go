package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
)

// TestANewPasskeyFromACodeIsOnTheAccessLog: a passkey added with an
// enrolment code to an account that has one is on the person's access log,
// in words, as whoever holds it reads the record as them from then on; the
// first passkey, which makes the account, is not (a privacy review: nothing
// said a second had been added).
func TestANewPasskeyFromACodeIsOnTheAccessLog(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	_, jane := f.enrolWithKey(t, f.jane)
	jane.must(jane.page("/record"), http.StatusOK, "summary")
	added := func() int {
		t.Helper()
		if _, err := f.db.MoveAccessSpool(ctx); err != nil {
			t.Fatal(err)
		}
		log, err := f.db.AccessLog(ctx, f.jane.ID, 100)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, a := range log {
			if a.Action == store.ActionAccount && a.What == store.PasskeyAddedByCode {
				n++
			}
		}
		return n
	}
	if n := added(); n != 0 {
		t.Fatalf("after the first passkey, %d entries say one was added with a code; want none", n)
	}
	_, other := f.enrolWithKey(t, f.jane) // whoever holds a new code and the date of birth
	other.must(other.page("/record/medicines"), http.StatusOK, "medicines")
	if n := added(); n != 1 {
		t.Errorf("after a second passkey from a code, %d entries say so; want 1", n)
	}
	body := jane.must(jane.page("/record/access-log"), http.StatusOK, "access log")
	if !strings.Contains(string(body), "Added a passkey using an enrolment code") {
		t.Errorf("the access log page does not say a passkey was added with a code")
	}
}

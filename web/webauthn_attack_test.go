package web_test

import (
	"bytes"
	"context"
	"database/sql"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
)

// opensRecord reports whether the client's session opens the record.
func opensRecord(c *passkeyBrowser) bool {
	rec := c.do(http.MethodGet, "/record", "", nil)
	return rec.Code == http.StatusOK
}

// TestPasskeyCeremoniesWithSoftwareKey checks the software authenticator the
// attack tests bend: left alone, it enrols and signs in through the real
// handlers.
func TestPasskeyCeremoniesWithSoftwareKey(t *testing.T) {
	f := newFixture(t)
	k, enrolled := f.enrolWithKey(t, f.jane)
	if !opensRecord(enrolled) {
		t.Fatal("enrolment did not sign in")
	}
	rec, c := f.signInWithKey(t, k)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"/record"`) {
		t.Fatalf("sign-in: %d %s", rec.Code, rec.Body.String())
	}
	if !opensRecord(c) {
		t.Fatal("sign-in did not open the record")
	}
}

// TestWebAuthnAttacksRefused bends one part of a real passkey sign-in at a
// time. Each must be refused with a 4xx and leave the browser signed out.
func TestWebAuthnAttacksRefused(t *testing.T) {
	tests := []struct {
		name   string
		bend   func(k *softKey)
		status int
	}{
		// A phishing site relaying the ceremony: the browser writes its own origin into clientDataJSON.
		{"wrong origin", func(k *softKey) { k.Origin = "https://mycarerecord.example.evil" }, http.StatusBadRequest},
		{"origin differs only in scheme", func(k *softKey) { k.Origin = "https://localhost:8080" }, http.StatusBadRequest},
		{"origin differs only in port", func(k *softKey) { k.Origin = "http://localhost:8081" }, http.StatusBadRequest},
		// A passkey scoped to another site: the authenticator hashes that RP ID into its data.
		{"wrong RP ID", func(k *softKey) { k.RPID = "evil.example" }, http.StatusBadRequest},
		{"parent domain as RP ID", func(k *softKey) { k.RPID = "localhost." }, http.StatusBadRequest},
		// The portal asks for user verification (PIN or biometric), not mere presence.
		{"user present but not verified", func(k *softKey) { k.Flags = flagUP }, http.StatusBadRequest},
		{"not even present", func(k *softKey) { k.Flags = flagUV }, http.StatusBadRequest},
		// A copy of the key that has counted fewer uses than the original.
		{"sign count going backwards", func(k *softKey) { k.SignCount = 0 }, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			k, _ := f.enrolWithKey(t, f.jane)
			if rec, _ := f.signInWithKey(t, k); rec.Code != http.StatusOK {
				t.Fatalf("the unbent key does not sign in: %d %s", rec.Code, rec.Body.String())
			}
			tt.bend(k)
			rec, c := f.signInWithKey(t, k)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body.String())
			}
			if !strings.Contains(rec.Body.String(), `"error"`) {
				t.Errorf("refusal does not say what to do: %s", rec.Body.String())
			}
			if opensRecord(c) {
				t.Fatal("the refused ceremony signed the browser in")
			}
		})
	}
}

// TestEnrolmentWithoutUserVerificationRefused: the passkey made at enrolment
// must also have verified the user, or it could later be used by anyone holding the device.
func TestEnrolmentWithoutUserVerificationRefused(t *testing.T) {
	for _, tt := range []struct {
		name string
		bend func(k *softKey)
	}{
		{"not verified", func(k *softKey) { k.Flags = flagUP }},
		{"wrong origin", func(k *softKey) { k.Origin = "https://evil.example" }},
		{"wrong RP ID", func(k *softKey) { k.RPID = "evil.example" }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			c := f.enrolForm(t, f.jane)
			opts := c.must(c.json("/enrol/passkey/begin", nil), http.StatusOK, "enrol begin")
			k := newSoftKey(t, "http://localhost:8080", "localhost")
			tt.bend(k)
			if rec := c.json("/enrol/passkey/finish", keyCreate(t, k, opts)); rec.Code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", rec.Code, rec.Body.String())
			}
			if opensRecord(c) {
				t.Fatal("a refused passkey signed the browser in")
			}
		})
	}
}

// TestReplayedAssertionRefused sends one signed assertion twice: a challenge
// is answered once only, so the copy is refused whether it comes back in the
// same browser session, in the same session after a new challenge, or in
// another browser.
func TestReplayedAssertionRefused(t *testing.T) {
	f := newFixture(t)
	k, _ := f.enrolWithKey(t, f.jane)

	c := newPasskeyBrowser(t, f.handler)
	c.page("/signin")
	opts := c.must(c.json("/signin/begin", nil), http.StatusOK, "begin")
	assertion := keyGet(t, k, opts)
	c.must(c.json("/signin/finish", assertion), http.StatusOK, "first use")

	t.Run("same session", func(t *testing.T) {
		c.page("/record")
		c.must(c.form("/signout", url.Values{}), http.StatusSeeOther, "sign out")
		c.page("/signin")
		if rec := c.json("/signin/finish", assertion); rec.Code != http.StatusBadRequest {
			t.Fatalf("status %d, want 400: %s", rec.Code, rec.Body.String())
		}
		if opensRecord(c) {
			t.Fatal("replay signed in")
		}
	})
	t.Run("same session after a new challenge", func(t *testing.T) {
		c.page("/signin")
		c.must(c.json("/signin/begin", nil), http.StatusOK, "begin")
		if rec := c.json("/signin/finish", assertion); rec.Code != http.StatusBadRequest {
			t.Fatalf("status %d, want 400: %s", rec.Code, rec.Body.String())
		}
		if opensRecord(c) {
			t.Fatal("replay signed in")
		}
	})
	t.Run("another browser", func(t *testing.T) {
		other := newPasskeyBrowser(t, f.handler)
		other.page("/signin")
		other.must(other.json("/signin/begin", nil), http.StatusOK, "begin")
		if rec := other.json("/signin/finish", assertion); rec.Code != http.StatusBadRequest {
			t.Fatalf("status %d, want 400: %s", rec.Code, rec.Body.String())
		}
		if opensRecord(other) {
			t.Fatal("replay signed in")
		}
	})
	t.Run("registration answer sent to sign-in", func(t *testing.T) {
		other := newPasskeyBrowser(t, f.handler)
		other.page("/signin")
		opts := other.must(other.json("/signin/begin", nil), http.StatusOK, "begin")
		if rec := other.json("/signin/finish", keyCreate(t, newSoftKey(t, "http://localhost:8080", "localhost"), opts)); rec.Code != http.StatusBadRequest {
			t.Fatalf("status %d, want 400: %s", rec.Code, rec.Body.String())
		}
	})
}

// answeredChallenge enrols Jane, then has a fresh browser begin a sign-in,
// and returns it with her passkey's answer, not yet sent.
func answeredChallenge(t *testing.T, f *fixture) (*passkeyBrowser, []byte) {
	t.Helper()
	k, _ := f.enrolWithKey(t, f.jane)
	c := newPasskeyBrowser(t, f.handler)
	c.page("/signin")
	return c, keyGet(t, k, c.must(c.json("/signin/begin", nil), http.StatusOK, "begin"))
}

// TestChallengeAnsweredOnceWhenSentTogether sends one assertion eight times
// at once in the same browser session: only one request may take the
// challenge, so only one signs in.
func TestChallengeAnsweredOnceWhenSentTogether(t *testing.T) {
	f := newFixture(t)
	c, assertion := answeredChallenge(t, f)
	codes := make([]int, 8)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range codes {
		tab := *c // each request with the session's cookie and token, as a browser's tabs would
		wg.Go(func() {
			<-start
			codes[i] = tab.json("/signin/finish", assertion).Code
		})
	}
	close(start)
	wg.Wait()
	if n := slices.Index(codes, http.StatusOK); n < 0 || slices.Contains(codes[n+1:], http.StatusOK) {
		t.Fatalf("statuses %v, want exactly one 200", codes)
	}
}

// TestExpiredChallengeRefused: a challenge past its ten minutes is refused,
// though the session that holds it is still alive.
func TestExpiredChallengeRefused(t *testing.T) {
	f := newFixture(t)
	c, assertion := answeredChallenge(t, f)
	raw, err := sql.Open("sqlite3", "file:"+f.path+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var stored string
	if err := raw.QueryRow(`SELECT json_extract(ceremony, '$.data.expires') FROM sessions WHERE ceremony IS NOT NULL`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	expires, _ := time.Parse(time.RFC3339Nano, stored)
	if left := time.Until(expires); left <= 9*time.Minute || left > 10*time.Minute {
		t.Fatalf("the challenge expires in %s, want 10 minutes", left)
	}
	past := time.Now().Add(-time.Second).UTC().Format(time.RFC3339Nano)
	if res, err := raw.Exec(`UPDATE sessions SET ceremony = json_set(ceremony, '$.data.expires', ?) WHERE ceremony IS NOT NULL`, past); err != nil {
		t.Fatal(err)
	} else if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("%d ceremonies waiting, want 1", n)
	}
	if rec := c.json("/signin/finish", assertion); rec.Code != http.StatusBadRequest || opensRecord(c) {
		t.Fatalf("an expired challenge: status %d, want 400: %s", rec.Code, rec.Body.String())
	}
}

// TestClonedPasskeyKeepsTheOriginalsCount: after a refused clone, the stored
// count is not wound back, so the clone stays refused and the original still works.
func TestClonedPasskeyKeepsTheOriginalsCount(t *testing.T) {
	f := newFixture(t)
	k, _ := f.enrolWithKey(t, f.jane)
	for range 3 {
		if rec, _ := f.signInWithKey(t, k); rec.Code != http.StatusOK {
			t.Fatalf("sign-in: %d", rec.Code)
		}
	}
	original := k.SignCount
	k.SignCount = 1 // the clone was copied after the first use
	for range 2 {
		if rec, c := f.signInWithKey(t, k); rec.Code != http.StatusForbidden || opensRecord(c) {
			t.Fatalf("clone: status %d, want 403", rec.Code)
		}
	}
	k.SignCount = original
	if rec, _ := f.signInWithKey(t, k); rec.Code != http.StatusOK {
		t.Fatalf("the original after a refused clone: %d %s", rec.Code, rec.Body.String())
	}
}

// TestPasskeyWithoutCounterSignsIn: synced passkeys always report a sign count
// of 0, which is not a clone; refusing it would lock out most phone users.
func TestPasskeyWithoutCounterSignsIn(t *testing.T) {
	f := newFixture(t)
	k := newSoftKey(t, "http://localhost:8080", "localhost")
	k.NoCounter = true
	c := f.enrolForm(t, f.jane)
	opts := c.must(c.json("/enrol/passkey/begin", nil), http.StatusOK, "enrol begin")
	c.must(c.json("/enrol/passkey/finish", keyCreate(t, k, opts)), http.StatusOK, "enrol finish")
	for i := range 3 {
		if rec, c := f.signInWithKey(t, k); rec.Code != http.StatusOK || !opensRecord(c) {
			t.Fatalf("sign-in %d with a counter of 0: %d %s", i+1, rec.Code, rec.Body.String())
		}
	}
}

// TestRemovingAPasskeyEndsItsSessions: a person who removes a passkey (one
// they lost, or one someone added with their unlocked browser) also signs
// out every device it signed in, and only those; removing the one this
// browser signed in with signs it out too.
func TestRemovingAPasskeyEndsItsSessions(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	k1, a := f.enrolWithKey(t, f.jane)
	var keys []*softKey
	for range 2 {
		a.page("/account")
		k := newSoftKey(t, "http://localhost:8080", "localhost")
		opts := a.must(a.json("/account/passkeys/begin", nil), http.StatusOK, "add begin")
		a.must(a.json("/account/passkeys/finish", keyCreate(t, k, opts)), http.StatusOK, "add finish")
		keys = append(keys, k)
	}
	k2 := keys[0]
	_, b := f.signInWithKey(t, k2)
	_, c := f.signInWithKey(t, k1)
	if !opensRecord(a) || !opensRecord(b) || !opensRecord(c) {
		t.Fatal("not everyone is signed in")
	}
	passkeyID := func(k *softKey) string {
		pks, err := f.db.Passkeys(ctx, f.ownAccount(t, f.jane).ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, pk := range pks {
			if bytes.Equal(pk.CredentialID, k.CredID) {
				return strconv.FormatInt(pk.ID, 10)
			}
		}
		t.Fatal("no such passkey")
		return ""
	}

	a.page("/account")
	if rec := a.form("/account/passkeys/"+passkeyID(k2)+"/remove", url.Values{}); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/account?done=removed" {
		t.Fatalf("remove k2: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	if opensRecord(b) {
		t.Error("the session signed in with the removed passkey still opens the record")
	}
	if !opensRecord(a) || !opensRecord(c) {
		t.Error("sessions signed in with another passkey ended")
	}

	a.page("/account")
	if rec := a.form("/account/passkeys/"+passkeyID(k1)+"/remove", url.Values{}); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/signed-out" {
		t.Fatalf("remove k1 from a browser signed in with it: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	if opensRecord(a) || opensRecord(c) {
		t.Error("a session signed in with k1 survived its removal")
	}
	if rec, d := f.signInWithKey(t, keys[1]); rec.Code != http.StatusOK || !opensRecord(d) {
		t.Errorf("the passkey left does not sign in: %d", rec.Code)
	}
}

// TestSessionCookie: the cookie a sign-in sets is for this site's pages only,
// out of script's reach, and ends when the browser closes.
func TestSessionCookie(t *testing.T) {
	f := newFixture(t)
	k, _ := f.enrolWithKey(t, f.jane)
	rec, _ := f.signInWithKey(t, k)
	var set []string
	for _, line := range rec.Result().Header.Values("Set-Cookie") {
		if strings.HasPrefix(line, "mcr_session=") {
			set = append(set, line)
		}
	}
	if len(set) != 1 {
		t.Fatalf("Set-Cookie for the session: %q", set)
	}
	for _, want := range []string{"; Path=/", "; HttpOnly", "; Secure", "; SameSite=Lax"} {
		if !strings.Contains(set[0], want) {
			t.Errorf("%q lacks %q", set[0], want)
		}
	}
	for _, lasting := range []string{"Max-Age=", "Expires="} {
		if strings.Contains(set[0], lasting) {
			t.Errorf("%q outlives the browser (%s)", set[0], lasting)
		}
	}
}

// TestPasskeyChangesNeedARecentSignIn: someone who finds a browser left
// signed in cannot add a passkey of their own or remove the owner's; after
// "Confirm it's you" with one of the account's own passkeys (not anyone
// else's), the owner can, for ten minutes.
func TestPasskeyChangesNeedARecentSignIn(t *testing.T) {
	f := newFixture(t)
	amirKey, _ := f.enrolWithKey(t, f.amir)
	janeKey, a := f.enrolWithKey(t, f.jane)
	a.page("/account")
	opts := a.must(a.json("/account/passkeys/begin", nil), http.StatusOK, "add begin, just signed in")
	f.db.SetClock(func() time.Time { return time.Now().Add(11 * time.Minute) })
	// A passkey begun in time is finished after: the authenticator has made it.
	a.must(a.json("/account/passkeys/finish", keyCreate(t, newSoftKey(t, "http://localhost:8080", "localhost"), opts)), http.StatusOK, "add finish, begun in time")

	d := doc(t, a.page("/account").Result())
	if d.Find("#passkey-create").Length() != 0 || d.Find(`a[href="/account/confirm"]`).Length() != 1 {
		t.Error("the account page offers to add a passkey without confirming first")
	}
	if rec := a.json("/account/passkeys/begin", nil); rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "Reload this page, then confirm it's you") {
		t.Errorf("add begin 11 minutes after sign-in: %d %s", rec.Code, rec.Body.String())
	}
	pks, err := f.db.Passkeys(context.Background(), f.ownAccount(t, f.jane).ID)
	if err != nil || len(pks) != 2 {
		t.Fatalf("%v %d passkeys", err, len(pks))
	}
	remove := "/account/passkeys/" + strconv.FormatInt(pks[0].ID, 10) + "/remove"
	if rec := a.do(http.MethodGet, remove, "", nil); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/account/confirm" {
		t.Errorf("remove page: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	if rec := a.form(remove, url.Values{"confirm": {"yes"}}); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/account/confirm" {
		t.Errorf("remove: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	if left, _ := f.db.Passkeys(context.Background(), f.ownAccount(t, f.jane).ID); len(left) != 2 {
		t.Fatal("the passkey was removed without confirming")
	}

	a.page("/account/confirm")
	opts = a.must(a.json("/account/confirm/begin", nil), http.StatusOK, "confirm begin")
	if rec := a.json("/account/confirm/finish", keyGet(t, amirKey, opts)); rec.Code != http.StatusBadRequest {
		t.Errorf("confirmed with another person's passkey: %d %s", rec.Code, rec.Body.String())
	}
	opts = a.must(a.json("/account/confirm/begin", nil), http.StatusOK, "confirm begin")
	if rec := a.json("/account/confirm/finish", keyGet(t, janeKey, opts)); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "/account?done=confirmed") {
		t.Fatalf("confirm with her own passkey: %d %s", rec.Code, rec.Body.String())
	}
	a.page("/account")
	a.must(a.json("/account/passkeys/begin", nil), http.StatusOK, "add begin, just confirmed")
}

// TestACodeSignsOutWhoeverWasSignedIn: a code proved in a signed-in session
// signs it out, so an account signed in before the code (perhaps by someone
// else on this browser) never takes what it gives: whoever typed it signs in
// again, and the invitation they were accepting waits for them.
func TestACodeSignsOutWhoeverWasSignedIn(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.signIn(t, f.jane) // makes her account
	_, code, err := f.db.CreateInvitation(ctx, f.jane.ID, f.ownAccount(t, f.jane).ID, store.Invitation{CarerName: "Amir Khan", Relationship: "friend", Scopes: []string{"medicines"}},
		grantLogged(f.ownAccount(t, f.jane), "invited Amir Khan (friend)"))
	if err != nil {
		t.Fatal(err)
	}
	amirKey, a := f.enrolWithKey(t, f.amir)
	a.page("/carers/accept")
	rec := a.form("/carers/accept", url.Values{"code": {code}, "day": {"14"}, "month": {"3"}, "year": {"1957"}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("accept form: %d %s", rec.Code, rec.Body.String())
	}
	next := rec.Header().Get("Location")
	if rec := a.page("/account"); rec.Code == http.StatusOK {
		t.Error("still signed in after the code")
	}
	d := docOf(t, a.page(next).Body.String())
	if d.Find("#accept-invitation").Length() != 0 || d.Find("#passkey-signin").Length() != 1 {
		t.Fatal("the invitation is offered to accept with one click, or no sign-in, after the code signed the session out")
	}
	// It says why, so someone with an account signs in rather than making a second.
	if !strings.Contains(d.Find("main").Text(), "We signed you out when you entered the code") {
		t.Errorf("the page does not say the code signed them out: %s", d.Find("main").Text())
	}
	opts := a.must(a.json("/carers/accept/signin/begin", nil), http.StatusOK, "sign-in begin") // the page's button
	if rec := a.json("/carers/accept/signin/finish", keyGet(t, amirKey, opts)); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "/carers/accept/confirm") {
		t.Fatalf("sign in: %d %s", rec.Code, rec.Body.String())
	}
	if d := docOf(t, a.page("/carers/accept/confirm").Body.String()); d.Find("#accept-invitation").Length() != 1 {
		t.Error("signed in again, the invitation is not there to accept")
	}
}

// TestACarerAddsTheirOwnRecordToTheirAccount: someone who helps others, with
// an account and passkey made for that, given an enrolment code for their own
// record, uses that passkey on the enrolment page, confirms on a page naming
// the account and whom it helps, and the record is added to the same
// account, keeping the people they help. Before, the enrolment made
// a second account (found by a review). An ordinary sign-in in a session
// holding an enrolment (someone else at the same computer) never takes it up.
func TestACarerAddsTheirOwnRecordToTheirAccount(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.signIn(t, f.jane)
	_, invitation, err := f.db.CreateInvitation(ctx, f.jane.ID, f.ownAccount(t, f.jane).ID, store.Invitation{CarerName: "Amir Khan", Relationship: "neighbour", Scopes: []string{"medicines"}},
		grantLogged(f.ownAccount(t, f.jane), "invited Amir Khan (neighbour)"))
	if err != nil {
		t.Fatal(err)
	}
	// Amir accepts as a new carer, making a passkey for it.
	a := newPasskeyBrowser(t, f.handler)
	a.page("/carers/accept")
	a.must(a.form("/carers/accept", url.Values{"code": {invitation}, "day": {"14"}, "month": {"3"}, "year": {"1957"}}), http.StatusSeeOther, "invitation code")
	a.page("/carers/accept/confirm")
	key := newSoftKey(t, "http://localhost:8080", "localhost")
	opts := a.must(a.json("/carers/accept/passkey/begin", nil), http.StatusOK, "carer passkey begin")
	a.must(a.json("/carers/accept/passkey/finish", keyCreate(t, key, opts)), http.StatusOK, "carer passkey finish")
	held, _ := docOf(t, a.page("/carers/accept/confirm").Body.String()).Find(`input[name="invitation"]`).Attr("value")
	if rec := a.form("/carers/accept/confirm", url.Values{"invitation": {held}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("accept: %d", rec.Code)
	}
	carer, _, err := f.db.AccountByUserHandle(ctx, key.UserHandle)
	if err != nil || carer.PersonID != 0 {
		t.Fatalf("the carer's account: %+v %v", carer, err)
	}
	enrol := func() {
		t.Helper()
		code, _, err := f.db.CreateEnrolmentCode(ctx, f.amir.ID, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		a.page("/enrol")
		day, month, year := f.amir.BirthDate[8:10], f.amir.BirthDate[5:7], f.amir.BirthDate[0:4]
		a.must(a.form("/enrol", url.Values{"code": {code}, "day": {day}, "month": {month}, "year": {year}}), http.StatusSeeOther, "enrolment code")
	}

	// His GP gives him a code for his own record; he types it in the same
	// browser, which signs him out. He walks away, and someone signs in at
	// the ordinary page: the enrolment is not theirs to take.
	enrol()
	a.page("/signin")
	opts = a.must(a.json("/signin/begin", nil), http.StatusOK, "sign-in begin")
	if rec := a.json("/signin/finish", keyGet(t, key, opts)); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"/record"`) {
		t.Fatalf("an ordinary sign-in: %d %s", rec.Code, rec.Body.String())
	}
	if rec := a.page("/enrol/passkey"); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/enrol" {
		t.Errorf("after an ordinary sign-in the enrolment is still held: %d to %q", rec.Code, rec.Header().Get("Location"))
	}

	// He types a new code, and uses his passkey on the enrolment page.
	enrol()
	d := docOf(t, a.page("/enrol/passkey").Body.String())
	use := d.Find(`#passkey-signin[data-begin="/enrol/link/begin"][data-finish="/enrol/link/finish"]`)
	if d.Find("#passkey-create").Length() != 1 || use.Length() != 1 || !strings.Contains(d.Find("main").Text(), "Already helping someone with My Care Record?") {
		t.Fatalf("the enrolment page offers no way to add the record to a carer's account: %s", d.Find("main").Text())
	}
	opts = a.must(a.json("/enrol/link/begin", nil), http.StatusOK, "link begin")
	if rec := a.json("/enrol/link/finish", keyGet(t, key, opts)); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"/enrol/link"`) {
		t.Fatalf("link: %d %s", rec.Code, rec.Body.String())
	}
	// Nothing is added until the person confirms, on a page naming the
	// account and whom it helps.
	if acct, err := f.db.AccountByPerson(ctx, f.amir.ID); err == nil {
		t.Fatalf("the record was added before it was confirmed, to account %d", acct.ID)
	}
	d = docOf(t, a.page("/enrol/link").Body.String())
	if main := strings.Join(strings.Fields(d.Find("main").Text()), " "); !strings.Contains(main, "The passkey you used is for the account in the name of Amir Khan.") ||
		!strings.Contains(main, "The person with this account helps:") || d.Find("main li").Text() != "Jane Example" || !strings.Contains(main, "Only if you are Amir Khan") {
		t.Errorf("the confirmation page: %s", main)
	}
	shown, _ := d.Find(`form[action="/enrol/link"] input[name="account"]`).Attr("value")
	if shown != itoa(carer.ID) {
		t.Fatalf("the form carries account %q, want %d", shown, carer.ID)
	}
	// A page out of date (a passkey used again in another window since, for
	// another account) adds nothing (found by a review).
	// It says so in the enrolment page's error summary, from which the
	// person goes on.
	if rec := a.form("/enrol/link", url.Values{"account": {itoa(carer.ID + 100)}}); rec.Code != http.StatusConflict {
		t.Errorf("confirming an account the page did not show: %d", rec.Code)
	} else if d := docOf(t, rec.Body.String()); !strings.Contains(d.Find(`#passkey-error:not([hidden]) a#passkey-error-message[href="#passkey-signin"]`).Text(), "Nothing was added.") ||
		!strings.HasPrefix(d.Find("title").Text(), "Error: ") || d.Find("#passkey-signin").Length() != 1 {
		t.Errorf("the page after confirming one out of date: %s", d.Find("main").Text())
	}
	if _, err := f.db.AccountByPerson(ctx, f.amir.ID); err == nil {
		t.Fatal("the record was added from a page out of date")
	}
	opts = a.must(a.json("/enrol/link/begin", nil), http.StatusOK, "link begin again")
	a.must(a.json("/enrol/link/finish", keyGet(t, key, opts)), http.StatusOK, "link finish again")
	a.page("/enrol/link")
	if rec := a.form("/enrol/link", url.Values{"account": {shown}}); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/record" {
		t.Fatalf("confirm: %d to %q: %s", rec.Code, rec.Header().Get("Location"), rec.Body.String())
	}
	if acct, err := f.db.AccountByPerson(ctx, f.amir.ID); err != nil || acct.ID != carer.ID {
		t.Errorf("Amir's record is on account %+v (%v), want the carer's account %d", acct, err, carer.ID)
	}
	if main := docOf(t, a.page("/acting-for").Body.String()).Find("main").Text(); !strings.Contains(main, "Jane Example") || !strings.Contains(main, "Myself") {
		t.Errorf("after adding his record, whose record to use: %s", main)
	}
	// The code is used up.
	if rec := a.json("/enrol/link/begin", nil); rec.Code == http.StatusOK {
		t.Errorf("linking again: %d", rec.Code)
	}
	if rec := a.form("/enrol/link", url.Values{"account": {shown}}); rec.Code == http.StatusSeeOther {
		t.Errorf("confirming again: %d", rec.Code)
	}
	// A record with an account already (a code for a lost passkey) is not offered to link.
	code, _, err := f.db.CreateEnrolmentCode(ctx, f.amir.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	b := newPasskeyBrowser(t, f.handler)
	b.page("/enrol")
	day, month, year := f.amir.BirthDate[8:10], f.amir.BirthDate[5:7], f.amir.BirthDate[0:4]
	b.must(b.form("/enrol", url.Values{"code": {code}, "day": {day}, "month": {month}, "year": {year}}), http.StatusSeeOther, "enrolment code")
	if d := docOf(t, b.page("/enrol/passkey").Body.String()); d.Find("#passkey-signin").Length() != 0 || d.Find("#passkey-create").Length() != 1 {
		t.Error("a record with an account is offered to be added to another")
	}
}

// TestCodesGiveTheSessionANewID: a code and date of birth prove who someone
// is, so the session that holds what they proved gets a new id. A cookie
// planted in the browser, or copied, before the code (session fixation) then
// reaches nothing: it cannot go on to make a passkey for the person.
func TestCodesGiveTheSessionANewID(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.signIn(t, f.jane) // makes her account
	_, invitation, err := f.db.CreateInvitation(ctx, f.jane.ID, f.ownAccount(t, f.jane).ID, store.Invitation{CarerName: "Amir Khan", Relationship: "friend", Scopes: []string{"medicines"}},
		grantLogged(f.ownAccount(t, f.jane), "invited Amir Khan (friend)"))
	if err != nil {
		t.Fatal(err)
	}
	enrolment, _, err := f.db.CreateEnrolmentCode(ctx, f.amir.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, page, code, day, month, year, next, begin string
	}{
		{"enrolment code", "/enrol", enrolment, f.amir.BirthDate[8:10], f.amir.BirthDate[5:7], f.amir.BirthDate[0:4], "/enrol/passkey", "/enrol/passkey/begin"},
		{"carer's invitation", "/carers/accept", invitation, "14", "3", "1957", "/carers/accept/confirm", "/carers/accept/passkey/begin"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := newPasskeyBrowser(t, f.handler)
			// A code is spent once: a double click does not send it twice.
			if form := c.page(tt.page).Body.String(); !strings.Contains(form, `data-prevent-double-click="true" type="submit">Continue</button>`) {
				t.Errorf("%s: the Continue button does not ignore a double click", tt.page)
			}
			planted := *c.cookie // what another could have set, or copied, before the code
			if rec := c.form(tt.page, url.Values{"code": {tt.code}, "day": {tt.day}, "month": {tt.month}, "year": {tt.year}}); rec.Code != http.StatusSeeOther {
				t.Fatalf("code form: %d %s", rec.Code, rec.Body.String())
			}
			if c.cookie == nil || c.cookie.Value == planted.Value {
				t.Fatal("the session kept the cookie it had before the code")
			}
			plantedCSRF := c.csrf
			if rec := c.page(tt.next); rec.Code != http.StatusOK {
				t.Fatalf("%s with the new cookie: %d", tt.next, rec.Code)
			}
			if c.csrf == plantedCSRF {
				t.Error("the session kept the CSRF token it had before the code")
			}
			other := newPasskeyBrowser(t, f.handler)
			other.cookie, other.csrf = &planted, plantedCSRF
			if rec := other.page(tt.next); rec.Code == http.StatusOK {
				t.Errorf("%s with the cookie from before the code: 200, want it refused", tt.next)
			}
			if rec := other.json(tt.begin, nil); rec.Code == http.StatusOK {
				t.Errorf("%s with the cookie from before the code: 200 %s, want it refused", tt.begin, rec.Body.String())
			}
		})
	}
}

// TestPlantedSignedInSessionGetsNothingFromACode: someone signed in to their
// own account plants their session cookie in another's browser (from a host
// under the same domain, for /enrol or /carers/accept only). The code and
// date of birth the other person types were held by that session, which
// kept its id as it was signed in, so its owner finished the enrolment with
// their own passkey, signed in to the patient's account, or accepted the
// invitation and acted for the patient (found by a security review). Now a
// proved code gives every session a new id, which only the browser that
// typed the code has.
func TestPlantedSignedInSessionGetsNothingFromACode(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.signIn(t, f.jane)
	jane := f.ownAccount(t, f.jane)
	_, invitation, err := f.db.CreateInvitation(ctx, f.jane.ID, jane.ID, store.Invitation{CarerName: "John Smith", Relationship: "son", Scopes: []string{"medicines"}}, grantLogged(jane, "invited"))
	if err != nil {
		t.Fatal(err)
	}
	enrolment, _, err := f.db.CreateEnrolmentCode(ctx, f.amir.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, page, code, day, month, year, next string
	}{
		{"enrolment code", "/enrol", enrolment, f.amir.BirthDate[8:10], f.amir.BirthDate[5:7], f.amir.BirthDate[0:4], "/enrol/passkey"},
		{"carer's invitation", "/carers/accept", invitation, "14", "3", "1957", "/carers/accept/confirm"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mallory := f.newCarer(t, "Mallory "+tt.page)
			attacker := newPasskeyBrowser(t, f.handler)
			attacker.addr = "198.51.100.7:1"
			attacker.cookie = mallory.cookie
			// The other person's browser sends the planted cookie.
			victim := newPasskeyBrowser(t, f.handler)
			victim.cookie = mallory.cookie
			victim.page(tt.page)
			if rec := victim.form(tt.page, url.Values{"code": {tt.code}, "day": {tt.day}, "month": {tt.month}, "year": {tt.year}}); rec.Code != http.StatusSeeOther {
				t.Fatalf("code form: %d %s", rec.Code, rec.Body.String())
			}
			if victim.cookie.Value == mallory.cookie.Value {
				t.Fatal("the signed-in session kept its cookie once a code was proved in it")
			}
			if rec := victim.page(tt.next); rec.Code != http.StatusOK {
				t.Errorf("%s in the browser that typed the code: %d", tt.next, rec.Code)
			}
			if rec := attacker.page(tt.next); rec.Code == http.StatusOK {
				t.Errorf("%s with the planted cookie: 200, want the enrolment or invitation out of its reach", tt.next)
			}
		})
	}
}

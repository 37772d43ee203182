package web_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// hookReader runs hook once, when the handler first reads the body.
type hookReader struct {
	r    io.Reader
	hook func()
}

func (h *hookReader) Read(p []byte) (int, error) {
	if h.hook != nil {
		h.hook()
		h.hook = nil
	}
	return h.r.Read(p)
}

// A code is held by every session that proves it, and completing in one
// leaves the others nothing (completeEnrolment). A second session holding
// Jane's code whose /enrol/passkey/finish is in flight when Jane adds her
// record to her carer account (LinkEnrolment) adds no passkey: the hold and
// the account are checked as the passkey is stored
// (store.EnrolSessionPasskey). Checked before, it got a passkey on that
// carer account, and with it Amir's record, which the account acts for (a
// review).
func TestAnEnrolmentLetGoMidRequestAddsNoPasskey(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.signIn(t, f.amir)
	janeHelps := f.newCarer(t, "Jane Example") // Jane's own carer account, helping Amir
	f.grant(t, f.amir, f.ownAccount(t, f.amir), janeHelps, fhir.SectionMedicines)

	code, _, err := f.db.CreateEnrolmentCode(ctx, f.jane.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// Jane proves her code (her session: store level).
	sid, _, err := f.db.CreateSession(ctx, 0, store.DefaultSessionPolicy())
	if err != nil {
		t.Fatal(err)
	}
	_, janeSession, err := f.db.RedeemEnrolmentCode(ctx, sid, code, f.jane.BirthDate)
	if err != nil {
		t.Fatal(err)
	}
	// Someone else who has the letter proves it too, through the pages, and begins a passkey.
	other := newPasskeyBrowser(t, f.handler)
	other.addr = "198.51.100.7:4444"
	other.page("/enrol")
	other.must(other.form("/enrol", url.Values{"code": {code}, "day": {"14"}, "month": {"03"}, "year": {"1957"}}), http.StatusSeeOther, "enrol form")
	other.page("/enrol/passkey")
	opts := other.must(other.json("/enrol/passkey/begin", nil), http.StatusOK, "enrol begin")
	k := newSoftKey(t, "http://localhost:8080", "localhost")
	body := keyCreate(t, k, opts)

	// Their finish is in flight when Jane adds her record to her carer account.
	req := httptest.NewRequest(http.MethodPost, "/enrol/passkey/finish", &hookReader{r: bytes.NewReader(body), hook: func() {
		if _, _, _, err := f.db.LinkEnrolment(ctx, janeSession, janeHelps.acct.ID, []byte("cred-Jane Example"), store.DefaultSessionPolicy()); err != nil {
			t.Errorf("Jane adds her record to her account: %v", err)
		}
	}})
	req.RemoteAddr = other.addr
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", other.csrf)
	req.AddCookie(other.cookie)
	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, req)

	pks, err := f.db.Passkeys(ctx, janeHelps.acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Code == http.StatusOK || len(pks) != 1 {
		t.Errorf("a session whose hold on the code ended mid-request added a passkey to Jane's carer account: finish %d %s; the account now has %d passkeys",
			rec.Code, strings.TrimSpace(rec.Body.String()), len(pks))
	}
	for _, ck := range rec.Result().Cookies() {
		if ck.Name == "mcr_session" && ck.MaxAge >= 0 {
			other.cookie = ck
		}
	}
	if resp := f.get(t, "/acting-for", other.cookie); resp.StatusCode == http.StatusOK && strings.Contains(readAll(resp), "Amir Khan") {
		t.Errorf("...and that session, signed in to it, may choose to act for Amir Khan")
	}
}

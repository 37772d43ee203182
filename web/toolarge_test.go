package web_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// A form too large to read, sent with the right token, is answered as too
// large: its token cannot be read either, but "your session may have timed
// out" would send the person looking for the wrong fault.
func TestATooLargeFormIsSaidToBe(t *testing.T) {
	f := newFixture(t)
	jane := f.signIn(t, f.jane)
	form := url.Values{"csrf": {csrfOf(t, f, jane)}, "for": {"self"}, "name": {strings.Repeat("x", 100_000)}}
	rec := f.post(t, "/carers/invite", jane, form)
	if rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), "What you sent is too large") {
		t.Errorf("a 100,000-character name: %d %.200q; want 413, saying it is too large", rec.Code, rec.Body.String())
	}
	// With the token in a header, as script sends it, the same.
	req := httptest.NewRequest(http.MethodPost, "/carers/invite", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-CSRF-Token", form.Get("csrf"))
	req.AddCookie(jane)
	rec = httptest.NewRecorder()
	f.handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("a 100,000-character name with the token in a header: %d, want 413", rec.Code)
	}
}

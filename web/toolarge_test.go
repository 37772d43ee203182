package web_test

import (
	"net/http"
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
}

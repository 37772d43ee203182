package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

// TestSignInGoesBackToThePageAskedFor: a signed-in page opened without a
// session (a bookmark, a page left open when the session ended) leads to
// sign-in, and signing in goes on to it (a product review: every sign-in
// went to the summary); a page elsewhere, or an action, is never where it
// goes (an open redirect).
func TestSignInGoesBackToThePageAskedFor(t *testing.T) {
	f := newFixture(t)
	k, _ := f.enrolWithKey(t, f.jane)
	c := newPasskeyBrowser(t, f.handler)
	rec := c.page("/record/results?page=1")
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/signin?next="+url.QueryEscape("/record/results?page=1") {
		t.Fatalf("a results page without a session: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	signin := c.page(rec.Header().Get("Location"))
	d, err := goquery.NewDocumentFromReader(strings.NewReader(signin.Body.String()))
	if err != nil {
		t.Fatal(err)
	}
	finish, _ := d.Find("#passkey-signin").Attr("data-finish")
	opts := c.must(c.json("/signin/begin", nil), http.StatusOK, "sign-in begin")
	var got struct{ Redirect string }
	if err := json.Unmarshal(c.must(c.json(finish, keyGet(t, k, opts)), http.StatusOK, "sign-in finish"), &got); err != nil || got.Redirect != "/record/results?page=1" {
		t.Errorf("signing in from %q goes to %q (%v); want /record/results?page=1", finish, got.Redirect, err)
	}
	// Never a confirmation a link could fake, nor a page that asks before
	// opening for another site, which the page after signing in is not.
	for path, want := range map[string]string{
		"/account?done=removed":            "/signin?next=" + url.QueryEscape("/account"),
		"/carers?done=revoked&grant=1":     "/signin?next=" + url.QueryEscape("/carers"),
		"/record/print":                    "/signin",
		"/record/download":                 "/signin",
		"/record/item/1/attachment/0":      "/signin",
		"/record/results?page=2&done=nope": "/signin?next=" + url.QueryEscape("/record/results?page=2"),
	} {
		if rec := newPasskeyBrowser(t, f.handler).page(path); rec.Header().Get("Location") != want {
			t.Errorf("%s without a session: to %q, want %q", path, rec.Header().Get("Location"), want)
		}
	}
	for _, next := range []string{"/account/removed", "/carers/accept", "/account/confirm", "https://evil.example/record", "//evil.example/record", "/\\evil.example", "/record/../signout", "/signout", "/enrol", "/choices/research/confirm?x=1#y"} {
		c := newPasskeyBrowser(t, f.handler)
		c.page("/signin")
		opts := c.must(c.json("/signin/begin", nil), http.StatusOK, "sign-in begin")
		var got struct{ Redirect string }
		if err := json.Unmarshal(c.must(c.json("/signin/finish?next="+url.QueryEscape(next), keyGet(t, k, opts)), http.StatusOK, "sign-in finish"), &got); err != nil || got.Redirect != "/record" {
			t.Errorf("signing in with next %q goes to %q (%v); want the summary", next, got.Redirect, err)
		}
	}
}

// toSignIn says whether a redirect goes to the sign-in page, going on, or
// not, to the page asked for.
func toSignIn(location string) bool {
	return location == "/signin" || strings.HasPrefix(location, "/signin?next=%2F")
}

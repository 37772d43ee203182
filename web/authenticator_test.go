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

	"github.com/PuerkitoBio/goquery"

	"github.com/mycarerecord/portal/e2e/passkeytest"
	"github.com/mycarerecord/portal/store"
)

// softKey is a software passkey (e2e/passkeytest) making real WebAuthn
// objects, so tests can drive the real ceremonies and then bend one part of
// them at a time.
type softKey = passkeytest.Key

const (
	flagUP = passkeytest.FlagUP
	flagUV = passkeytest.FlagUV
)

func newSoftKey(t testing.TB, origin, rpID string) *softKey {
	t.Helper()
	k, err := passkeytest.New(origin, rpID)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// keyCreate answers creation options as the browser would.
func keyCreate(t testing.TB, k *softKey, options []byte) []byte {
	t.Helper()
	b, err := k.Create(options)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// keyGet answers sign-in options as the browser would.
func keyGet(t testing.TB, k *softKey, options []byte) []byte {
	t.Helper()
	b, err := k.Get(options)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// passkeyBrowser is a browser as far as the portal can tell: it keeps the session
// cookie and the page's CSRF token, and comes from one address.
type passkeyBrowser struct {
	t       testing.TB
	handler http.Handler
	cookie  *http.Cookie
	csrf    string
	addr    string // RemoteAddr, e.g. "192.0.2.1:1234"
}

func newPasskeyBrowser(t testing.TB, h http.Handler) *passkeyBrowser {
	return &passkeyBrowser{t: t, handler: h, addr: "192.0.2.1:1234"}
}

func (c *passkeyBrowser) do(method, path, contentType string, body []byte) *httptest.ResponseRecorder {
	c.t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.RemoteAddr = c.addr
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.csrf != "" && contentType == "application/json" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	if c.cookie != nil {
		req.AddCookie(c.cookie)
	}
	rec := httptest.NewRecorder()
	c.handler.ServeHTTP(rec, req)
	for _, ck := range rec.Result().Cookies() {
		if ck.Name == "mcr_session" {
			if ck.MaxAge < 0 {
				c.cookie = nil
			} else {
				c.cookie = ck
			}
		}
	}
	return rec
}

// page GETs a page and keeps its CSRF token.
func (c *passkeyBrowser) page(path string) *httptest.ResponseRecorder {
	c.t.Helper()
	rec := c.do(http.MethodGet, path, "", nil)
	if d, err := goquery.NewDocumentFromReader(strings.NewReader(rec.Body.String())); err == nil {
		if tok, ok := d.Find(`meta[name="csrf-token"]`).Attr("content"); ok && tok != "" {
			c.csrf = tok
		} else if tok, ok := d.Find(`input[name="csrf"]`).Attr("value"); ok && tok != "" {
			c.csrf = tok
		}
	}
	return rec
}

func (c *passkeyBrowser) form(path string, v url.Values) *httptest.ResponseRecorder {
	c.t.Helper()
	v.Set("csrf", c.csrf)
	return c.do(http.MethodPost, path, "application/x-www-form-urlencoded", []byte(v.Encode()))
}

func (c *passkeyBrowser) json(path string, body []byte) *httptest.ResponseRecorder {
	c.t.Helper()
	if body == nil {
		body = []byte("{}")
	}
	return c.do(http.MethodPost, path, "application/json", body)
}

func (c *passkeyBrowser) must(rec *httptest.ResponseRecorder, want int, what string) []byte {
	c.t.Helper()
	if rec.Code != want {
		c.t.Fatalf("%s: status %d, want %d: %s", what, rec.Code, want, rec.Body.String())
	}
	b, _ := io.ReadAll(rec.Body)
	return b
}

// enrolForm gets a browser through the enrolment code and date of birth, to
// the page that makes a passkey.
func (f *fixture) enrolForm(t testing.TB, p store.Person) *passkeyBrowser {
	t.Helper()
	code, _, err := f.db.CreateEnrolmentCode(context.Background(), p.ID, 3600e9)
	if err != nil {
		t.Fatal(err)
	}
	c := newPasskeyBrowser(t, f.handler)
	c.page("/enrol")
	day, month, year := p.BirthDate[8:10], p.BirthDate[5:7], p.BirthDate[0:4]
	c.must(c.form("/enrol", url.Values{"code": {code}, "day": {day}, "month": {month}, "year": {year}}), http.StatusSeeOther, "enrol form")
	c.page("/enrol/passkey")
	return c
}

// enrolWithKey enrols the person through the real pages and passkey ceremony
// with a new software key, and returns the key and the signed-in client.
func (f *fixture) enrolWithKey(t testing.TB, p store.Person) (*softKey, *passkeyBrowser) {
	t.Helper()
	c := f.enrolForm(t, p)
	opts := c.must(c.json("/enrol/passkey/begin", nil), http.StatusOK, "enrol begin")
	k := newSoftKey(t, "http://localhost:8080", "localhost")
	c.must(c.json("/enrol/passkey/finish", keyCreate(t, k, opts)), http.StatusOK, "enrol finish")
	return k, c
}

// signInWithKey runs a passkey sign-in from a fresh browser and returns the
// finish response and the client.
func (f *fixture) signInWithKey(t testing.TB, k *softKey) (*httptest.ResponseRecorder, *passkeyBrowser) {
	t.Helper()
	c := newPasskeyBrowser(t, f.handler)
	c.page("/signin")
	opts := c.must(c.json("/signin/begin", nil), http.StatusOK, "sign-in begin")
	return c.json("/signin/finish", keyGet(t, k, opts)), c
}

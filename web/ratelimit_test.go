package web_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/web"
)

// TestRateLimits sends each guessable or costly endpoint request after request
// from one address, with a valid session and CSRF token so only the limit can
// refuse: a person's few tries go through, a guesser soon gets 429 "Too many
// tries" with Retry-After, and another address is not held back.
func TestRateLimits(t *testing.T) {
	tests := []struct {
		name, path string
		json       bool
		setup      func(f *fixture, c *passkeyBrowser) // leaves c on a page with a CSRF token
	}{
		{"enrolment code", "/enrol", false, func(f *fixture, c *passkeyBrowser) { c.page("/enrol") }},
		{"invitation code", "/carers/accept", false, func(f *fixture, c *passkeyBrowser) { c.page("/carers/accept") }},
		{"sign-in begin", "/signin/begin", true, func(f *fixture, c *passkeyBrowser) { c.page("/signin") }},
		{"sign-in finish", "/signin/finish", true, func(f *fixture, c *passkeyBrowser) { c.page("/signin") }},
		{"enrol passkey begin", "/enrol/passkey/begin", true, nil},
		{"enrol passkey finish", "/enrol/passkey/finish", true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			var c *passkeyBrowser
			if tt.setup != nil {
				c = newPasskeyBrowser(t, f.handler)
				tt.setup(f, c)
			} else {
				c = f.enrolForm(t, f.jane)
			}
			send := func(c *passkeyBrowser, i int) (int, string, string) {
				if tt.json {
					rec := c.json(tt.path, nil)
					return rec.Code, rec.Body.String(), rec.Header().Get("Retry-After")
				}
				// A different wrong code each time: the per-client limit, not the per-code one.
				rec := c.form(tt.path, url.Values{"code": {fmt.Sprintf("WRNG-%04d-CODE", i)}, "day": {"1"}, "month": {"1"}, "year": {"1990"}})
				return rec.Code, rec.Body.String(), rec.Header().Get("Retry-After")
			}
			refusedAt := 0
			for i := 1; i <= 200 && refusedAt == 0; i++ {
				code, body, retry := send(c, i)
				if code >= 500 {
					t.Fatalf("try %d: status %d", i, code)
				}
				if code == http.StatusTooManyRequests {
					refusedAt = i
					if retry == "" || retry == "0" {
						t.Errorf("429 without a Retry-After: %q", retry)
					}
					if tt.json && !strings.Contains(body, `"error"`) || !tt.json && !strings.Contains(body, "Too many tries") {
						t.Errorf("429 does not say too many tries: %s", body)
					}
				}
			}
			if refusedAt == 0 {
				t.Fatal("200 tries from one address, none refused")
			}
			if refusedAt <= 10 {
				t.Fatalf("refused at try %d: a person who mistypes a few times would be locked out", refusedAt)
			}
			t.Logf("refused at try %d", refusedAt)
			other := *c
			other.addr = "198.51.100.7:5555"
			if code, body, _ := send(&other, 0); code == http.StatusTooManyRequests {
				t.Fatalf("another address was refused too: %s", body)
			}
		})
	}
}

// TestCodeRateLimitAcrossAddresses: one code tried from many addresses is
// still refused after a few tries, and the right answer is refused too once
// the code is under attack, so spreading a guess over addresses does not help.
func TestCodeRateLimitAcrossAddresses(t *testing.T) {
	f := newFixture(t)
	code, _, err := f.db.CreateEnrolmentCode(context.Background(), f.amir.ID, 3600e9)
	if err != nil {
		t.Fatal(err)
	}
	refusedAt := 0
	for i := 1; i <= 50 && refusedAt == 0; i++ {
		c := newPasskeyBrowser(t, f.handler)
		c.addr = fmt.Sprintf("203.0.113.%d:1000", i)
		c.page("/enrol")
		// The code typed in different ways still counts as one code.
		typed := []string{code, strings.ToLower(code), " " + strings.ReplaceAll(code, "-", " ") + " "}[i%3]
		rec := c.form("/enrol", url.Values{"code": {typed}, "day": {"2"}, "month": {"7"}, "year": {"1980"}})
		if rec.Code == http.StatusTooManyRequests {
			refusedAt = i
		}
	}
	if refusedAt == 0 || refusedAt > 20 {
		t.Fatalf("one code tried from 50 addresses: refused at try %d, want within 20", refusedAt)
	}
	t.Logf("refused at try %d", refusedAt)
}

// TestSignedOutPagesLimited: the signed-out pages that start a session (a
// database write each) are limited per client, so a script cannot fill the
// sessions table; a person never comes near the limit.
func TestSignedOutPagesLimited(t *testing.T) {
	for _, path := range []string{"/signin", "/enrol", "/carers/accept"} {
		t.Run(path, func(t *testing.T) {
			f := newFixture(t)
			refusedAt := 0
			for i := 1; i <= 400 && refusedAt == 0; i++ {
				c := newPasskeyBrowser(t, f.handler) // no cookie: each would start a session
				rec := c.do(http.MethodGet, path, "", nil)
				switch {
				case rec.Code == http.StatusTooManyRequests:
					refusedAt = i
					if !strings.Contains(rec.Body.String(), "Too many tries") || rec.Header().Get("Retry-After") == "" {
						t.Errorf("429 without its words or Retry-After: %s", rec.Body.String())
					}
				case rec.Code != http.StatusOK:
					t.Fatalf("try %d: status %d", i, rec.Code)
				}
			}
			if refusedAt == 0 || refusedAt <= 60 {
				t.Fatalf("refused at try %d, want after 60 and within 400", refusedAt)
			}
		})
	}
}

// TestRateLimitsBehindATrustedProxy: behind the portal's TLS proxy every
// connection comes from the proxy; the client it names in X-Forwarded-For is
// counted instead, so one client using up its tries does not lock out the
// others. A client reaching the portal directly cannot choose its own name.
func TestRateLimitsBehindATrustedProxy(t *testing.T) {
	f := newFixture(t)
	srv, err := web.New(web.Config{Origin: "http://localhost:8080", HashKey: testHashKey, BlockKey: testBlockKey,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}, f.db, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	begin := func(remote, forwarded string) int {
		c := newPasskeyBrowser(t, srv)
		c.addr = remote
		c.page("/signin")
		req := httptest.NewRequest(http.MethodPost, "/signin/begin", strings.NewReader("{}"))
		req.RemoteAddr = remote
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-CSRF-Token", c.csrf)
		req.Header.Set("X-Forwarded-For", forwarded)
		req.AddCookie(c.cookie)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		return rec.Code
	}
	refused := false
	for range 40 {
		refused = refused || begin("10.0.0.5:40000", "203.0.113.9") == http.StatusTooManyRequests
	}
	if !refused {
		t.Fatal("40 sign-ins from one client behind the proxy, none refused")
	}
	if code := begin("10.0.0.5:40001", "198.51.100.7"); code != http.StatusOK {
		t.Errorf("another client behind the same proxy: %d", code)
	}
	// Straight to the portal, naming someone else, is still the connection's own address.
	for range 40 {
		begin("192.0.2.50:1000", fmt.Sprintf("198.51.100.%d", rand.IntN(250)))
	}
	if code := begin("192.0.2.50:1000", "198.51.100.251"); code != http.StatusTooManyRequests {
		t.Errorf("a client not behind the proxy escaped its limit by writing X-Forwarded-For: %d", code)
	}
}

// TestCodeRateLimitCountsEveryWayOfTypingIt: the same code followed by any
// white space a form can bring (a new line, a no-break space, an ideographic
// space) or typed with another kind of dash is the one code to the store, so
// the limit on each code counts it as one too (a review: each was a new
// count, so the limit did not hold against a guesser spread over addresses).
func TestCodeRateLimitCountsEveryWayOfTypingIt(t *testing.T) {
	f := newFixture(t)
	code, _, err := f.db.CreateEnrolmentCode(context.Background(), f.amir.ID, 3600e9)
	if err != nil {
		t.Fatal(err)
	}
	pads := []string{"\n", "\r", "\v", "\f", "\u00a0", "\u0085", "\u2003", "\u3000"}
	refusedAt := 0
	for i := 1; i <= 50 && refusedAt == 0; i++ {
		c := newPasskeyBrowser(t, f.handler)
		c.addr = fmt.Sprintf("203.0.113.%d:1000", i)
		c.page("/enrol")
		typed := code + strings.Repeat(pads[i%len(pads)], 1+i/len(pads))
		if i%2 == 0 {
			typed = strings.ReplaceAll(code, "-", "\u2013") // an en dash, as a phone may type
		}
		rec := c.form("/enrol", url.Values{"code": {typed}, "day": {"2"}, "month": {"7"}, "year": {"1980"}})
		if rec.Code == http.StatusTooManyRequests {
			refusedAt = i
		}
	}
	if refusedAt == 0 || refusedAt > 20 {
		t.Fatalf("one code, typed in 50 ways from 50 addresses: refused at try %d, want within 20 (the limit on each code)", refusedAt)
	}
}

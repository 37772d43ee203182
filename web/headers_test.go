package web_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/web"
)

var routeParam = regexp.MustCompile(`:[a-z_]+`)

// concrete turns a route pattern into an address that reaches it.
func concrete(path string) string {
	path = routeParam.ReplaceAllString(path, "1")
	return strings.ReplaceAll(path, "*", "css/portal.css")
}

// everyRoute lists every route the server registers (so new routes are covered
// without changing the tests), plus an address no route matches.
func everyRoute(t *testing.T, h http.Handler) []struct{ method, path string } {
	t.Helper()
	out := []struct{ method, path string }{{http.MethodGet, "/no-such-page"}}
	for _, r := range web.RoutesOf(h.(*web.Server)) {
		if r.Method == echoRouteNotFound {
			continue
		}
		out = append(out, struct{ method, path string }{r.Method, r.Path})
	}
	if len(out) < 20 {
		t.Fatalf("only %d routes: the listing is broken", len(out))
	}
	return out
}

const echoRouteNotFound = "echo_route_not_found"

// TestSecurityHeadersOnEveryRoute asks for every route, signed in, over an
// http and an https origin: every answer (pages, files, errors, redirects)
// carries a CSP without unsafe-inline that forbids framing, nosniff and a
// referrer policy; HSTS is sent over https only, as browsers ignore it over
// http and it would pin a plain-http development host.
func TestSecurityHeadersOnEveryRoute(t *testing.T) {
	f := newFixture(t)
	cookie := f.signIn(t, f.jane)
	secure, err := web.New(web.Config{Origin: "https://care.example.org", HashKey: testHashKey, BlockKey: testBlockKey}, f.db, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	for _, srv := range []struct {
		name    string
		handler http.Handler
		hsts    bool
	}{{"http", f.handler, false}, {"https", secure, true}} {
		for _, r := range everyRoute(t, srv.handler) {
			path := concrete(r.path)
			t.Run(srv.name+" "+r.method+" "+r.path, func(t *testing.T) {
				req := httptest.NewRequest(r.method, path, strings.NewReader(""))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.AddCookie(cookie)
				rec := httptest.NewRecorder()
				srv.handler.ServeHTTP(rec, req)
				h := rec.Header()
				csp := h.Get("Content-Security-Policy")
				for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"} {
					if !strings.Contains(csp, want) {
						t.Errorf("%d: CSP %q lacks %q", rec.Code, csp, want)
					}
				}
				if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") || strings.Contains(csp, "*") {
					t.Errorf("CSP %q allows too much", csp)
				}
				for name, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY"} {
					if got := h.Get(name); got != want {
						t.Errorf("%d: %s = %q, want %q", rec.Code, name, got, want)
					}
				}
				hsts := h.Get("Strict-Transport-Security")
				switch {
				case srv.hsts && !strings.Contains(hsts, "max-age=63072000"):
					t.Errorf("https origin: HSTS %q, want two years", hsts)
				case !srv.hsts && hsts != "":
					t.Errorf("http origin: HSTS %q sent", hsts)
				}
				if !strings.HasPrefix(r.path, "/static/") && !strings.HasPrefix(r.path, "/assets/") && h.Get("Cache-Control") != "no-store" {
					t.Errorf("Cache-Control %q on a page that may hold health data", h.Get("Cache-Control"))
				}
			})
		}
	}
}

// TestCSRFOnEveryStateChangingRoute sends every route that is not GET, HEAD or
// OPTIONS, signed in, without a token, with a wrong token, and with the right
// token from another website: each is refused with 403 before it acts.
func TestCSRFOnEveryStateChangingRoute(t *testing.T) {
	f := newFixture(t)
	cookie := f.signIn(t, f.jane)
	token, _ := doc(t, f.get(t, "/account", cookie)).Find(`meta[name="csrf-token"]`).Attr("content")
	if token == "" {
		t.Fatal("no CSRF token on /account")
	}
	n := 0
	for _, r := range everyRoute(t, f.handler) {
		switch r.method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			continue
		}
		n++
		for _, tt := range []struct {
			name, field, header, origin string
		}{
			{"no token", "", "", ""},
			{"wrong token in the form", "not-the-token", "", ""},
			{"wrong token in the header", "", "not-the-token", ""},
			{"right token from another site", token, "", "https://evil.example"},
			{"right token from a null origin", token, "", "null"},
		} {
			t.Run(r.method+" "+r.path+" "+tt.name, func(t *testing.T) {
				body := "code=ABCD-EFGH-JKMN&name=x"
				if tt.field != "" {
					body += "&csrf=" + tt.field
				}
				req := httptest.NewRequest(r.method, concrete(r.path), strings.NewReader(body))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				if tt.header != "" {
					req.Header.Set("X-CSRF-Token", tt.header)
				}
				if tt.origin != "" {
					req.Header.Set("Origin", tt.origin)
				}
				req.AddCookie(cookie)
				rec := httptest.NewRecorder()
				f.handler.ServeHTTP(rec, req)
				if rec.Code != http.StatusForbidden {
					t.Fatalf("status %d, want 403", rec.Code)
				}
			})
		}
	}
	t.Logf("%d state-changing routes, each refused without its token", n)
}

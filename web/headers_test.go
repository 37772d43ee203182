package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/mycarerecord/portal/store"
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
				if file := rec.Code == http.StatusOK && (strings.HasPrefix(r.path, "/static/") || strings.HasPrefix(r.path, "/assets/")); !file && h.Get("Cache-Control") != "no-store" {
					t.Errorf("%d: Cache-Control %q on an answer that is no file and may hold health data", rec.Code, h.Get("Cache-Control"))
				}
			})
		}
	}
}

// TestPagesUnderAnEncodedStaticPrefixAreNotStored: Echo routes on the
// address still encoded, so /%73tatic/… is no file but the signed-in 404
// page, with the person's name, whom a carer acts for and the session's CSRF
// token: no-store like every page (a review: it went out with no
// Cache-Control, which a cache keying on ".css" keeps).
func TestPagesUnderAnEncodedStaticPrefixAreNotStored(t *testing.T) {
	f := newFixture(t)
	f.signIn(t, f.jane)
	john := f.newCarer(t, "John Smith")
	f.grant(t, f.jane, f.ownAccount(t, f.jane), john, "medicines")
	for _, path := range []string{"/%73tatic/portal.css", "/%61ssets/logo.png", "/static%2F..%2Frecord"} {
		t.Run(path, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			req.AddCookie(john.cookie)
			rec := httptest.NewRecorder()
			f.handler.ServeHTTP(rec, req)
			body := rec.Body.String()
			if !strings.Contains(body, "Jane Example") || !strings.Contains(body, `name="csrf-token"`) {
				t.Fatalf("status %d: not the signed-in page this test is about", rec.Code)
			}
			if got := rec.Header().Get("Cache-Control"); got != "no-store" {
				t.Errorf("status %d, a page naming Jane Example and holding the CSRF token, has Cache-Control %q; want no-store", rec.Code, got)
			}
		})
	}
}

// The CSRF middleware's two refusals (web/middleware.go csrf), told apart
// from any other 403 by their words.
const (
	csrfTokenRefusal  = "Your session may have timed out. Go back, reload the page and try again."
	csrfOriginRefusal = "This request came from another website, so we did not act on it."
)

// csrfRefusal is which of the CSRF middleware's refusals the response is, or "".
func csrfRefusal(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	if rec.Code != http.StatusForbidden {
		return ""
	}
	d, err := goquery.NewDocumentFromReader(strings.NewReader(rec.Body.String()))
	if err != nil {
		t.Fatal(err)
	}
	main := strings.Join(strings.Fields(d.Find("main").Text()), " ")
	for _, msg := range []string{csrfTokenRefusal, csrfOriginRefusal} {
		if strings.Contains(main, msg) {
			return msg
		}
	}
	return ""
}

// csrfState is a session a route acts for, the address and the form it acts
// on, and how it answers them with the right token from the portal's origin
// (0: anything but a CSRF refusal).
type csrfState struct {
	cookie *http.Cookie
	token  string
	path   string
	form   url.Values
	want   int
}

// csrfStates set up the state a route needs before its handler acts, where
// Jane signed in is not enough: someone part way through enrolling, or
// through accepting an invitation, or a choice that exists. Without it the
// handler would refuse the right request with a 403 of its own, and the test
// could not tell that refusal from the CSRF middleware's.
var csrfStates = map[string]func(t *testing.T, f *fixture) csrfState{
	"/enrol/passkey/begin": func(t *testing.T, f *fixture) csrfState {
		b := f.enrolForm(t, f.amir)
		return csrfState{cookie: b.cookie, token: b.csrf, want: http.StatusOK}
	},
	"/enrol/passkey/finish": func(t *testing.T, f *fixture) csrfState {
		b := f.enrolForm(t, f.amir)
		b.must(b.json("/enrol/passkey/begin", nil), http.StatusOK, "enrol begin")
		// A passkey answer that is not one: refused by the ceremony, not by CSRF.
		return csrfState{cookie: b.cookie, token: b.csrf, want: http.StatusBadRequest}
	},
	"/carers/accept/passkey/begin": func(t *testing.T, f *fixture) csrfState {
		b := holdingInvitation(t, f)
		return csrfState{cookie: b.cookie, token: b.csrf, want: http.StatusOK}
	},
	"/carers/accept/passkey/finish": func(t *testing.T, f *fixture) csrfState {
		b := holdingInvitation(t, f)
		b.must(b.json("/carers/accept/passkey/begin", nil), http.StatusOK, "accept begin")
		return csrfState{cookie: b.cookie, token: b.csrf, want: http.StatusBadRequest}
	},
	"/carers/accept/confirm": func(t *testing.T, f *fixture) csrfState {
		ctx := context.Background()
		john := f.newCarer(t, "John Smith")
		_, code, err := f.db.CreateInvitation(ctx, f.jane.ID, f.ownAccount(t, f.jane).ID, store.Invitation{CarerName: "John Smith", Relationship: "son", Scopes: []string{"medicines"}},
			grantLogged(f.ownAccount(t, f.jane), "invited John Smith (son)"))
		if err != nil {
			t.Fatal(err)
		}
		renewed := proveInvitation(t, f, code, f.jane.BirthDate, john.id, john.acct)
		john.id, john.cookie = renewed, sessionCookie(t, renewed) // a proved code gives the session a new id
		form := url.Values{"invitation": {strconv.FormatInt(heldInvitation(t, f.db, john.id), 10)}}
		return csrfState{cookie: john.cookie, token: sessionCSRF(t, f, john.id), form: form, want: http.StatusSeeOther}
	},
	"/choices/:question": func(t *testing.T, f *fixture) csrfState {
		id, s, err := f.db.CreateSession(context.Background(), f.ownAccount(t, f.jane).ID, store.DefaultSessionPolicy())
		if err != nil {
			t.Fatal(err)
		}
		// Research use is "yes" until Jane says otherwise: "no" is a change to check.
		form := url.Values{"for": {"self"}, "answer": {"no"}}
		return csrfState{cookie: sessionCookie(t, id), token: s.CSRFToken, path: "/choices/research", form: form, want: http.StatusOK}
	},
}

// holdingInvitation is a signed-out browser that has entered an invitation's
// code and the inviter's date of birth, so holds the invitation.
func holdingInvitation(t *testing.T, f *fixture) *passkeyBrowser {
	t.Helper()
	acct := f.ownAccount(t, f.jane)
	_, code, err := f.db.CreateInvitation(context.Background(), f.jane.ID, acct.ID, store.Invitation{CarerName: "Amir Khan", Relationship: "friend", Scopes: []string{"medicines"}},
		grantLogged(acct, "invited Amir Khan (friend)"))
	if err != nil {
		t.Fatal(err)
	}
	b := newPasskeyBrowser(t, f.handler)
	b.addr = nextClientAddr()
	b.page("/carers/accept")
	dob := f.jane.BirthDate
	b.must(b.form("/carers/accept", url.Values{"code": {code}, "day": {dob[8:10]}, "month": {dob[5:7]}, "year": {dob[0:4]}}), http.StatusSeeOther, "invitation code")
	b.page("/carers/accept/confirm") // the session is given anew, with a new token
	return b
}

// TestCSRFOnEveryStateChangingRoute sends every route that is not GET, HEAD or
// OPTIONS, from a session the route acts for (csrfStates), without a token,
// with a wrong token, and with the right token from another website or a null
// origin: each is refused by the CSRF middleware itself, with its own words.
// Then the same request with the right token from the portal's own origin is
// not refused by it (and, where the route needs state, is answered as the
// handler answers it), so each refusal is the middleware's doing.
func TestCSRFOnEveryStateChangingRoute(t *testing.T) {
	f := newFixture(t)
	f.signIn(t, f.jane)
	jane := f.ownAccount(t, f.jane)
	n := 0
	for _, r := range everyRoute(t, f.handler) {
		switch r.method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			continue
		}
		n++
		// Each route its own session: the right request may end it (signing out).
		var st csrfState
		if setup, ok := csrfStates[r.path]; ok {
			st = setup(t, f)
		} else {
			id, s, err := f.db.CreateSession(context.Background(), jane.ID, store.DefaultSessionPolicy())
			if err != nil {
				t.Fatal(err)
			}
			st = csrfState{cookie: sessionCookie(t, id), token: s.CSRFToken}
		}
		if st.path == "" {
			st.path = concrete(r.path)
		}
		if st.form == nil {
			st.form = url.Values{"code": {"ABCD-EFGH-JKMN"}, "name": {"x"}, "for": {"self"}}
		}
		for _, tt := range []struct {
			name, field, query, header, origin string
			want                               string // the refusal; "" for the right request, last
		}{
			{"no token", "", "", "", "", csrfTokenRefusal},
			{"wrong token in the form", "not-the-token", "", "", "", csrfTokenRefusal},
			{"wrong token in the header", "", "", "not-the-token", "", csrfTokenRefusal},
			// An address goes into history, logs and Referer (a review).
			{"right token in the address only", "", st.token, "", "", csrfTokenRefusal},
			{"right token from another site", st.token, "", "", "https://evil.example", csrfOriginRefusal},
			{"right token from a null origin", st.token, "", "", "null", csrfOriginRefusal},
			{"right token from the portal", st.token, "", "", "http://localhost:8080", ""},
		} {
			t.Run(r.method+" "+r.path+" "+tt.name, func(t *testing.T) {
				form := url.Values{}
				for k, v := range st.form {
					form[k] = v
				}
				if tt.field != "" {
					form.Set("csrf", tt.field)
				}
				path := st.path
				if tt.query != "" {
					sep := "?"
					if strings.Contains(path, "?") {
						sep = "&"
					}
					path += sep + "csrf=" + url.QueryEscape(tt.query)
				}
				req := httptest.NewRequest(r.method, path, strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.RemoteAddr = nextClientAddr()
				if tt.header != "" {
					req.Header.Set("X-CSRF-Token", tt.header)
				}
				if tt.origin != "" {
					req.Header.Set("Origin", tt.origin)
				}
				req.AddCookie(st.cookie)
				rec := httptest.NewRecorder()
				f.handler.ServeHTTP(rec, req)
				got := csrfRefusal(t, rec)
				switch {
				case tt.want != "" && got != tt.want:
					t.Fatalf("status %d, %q; want 403 %q", rec.Code, got, tt.want)
				case tt.want == "" && got != "":
					t.Fatalf("the right request was refused as a forgery: %q", got)
				case tt.want == "" && st.want != 0 && rec.Code != st.want:
					t.Fatalf("the right request: status %d, want %d: %s", rec.Code, st.want, rec.Body.String())
				}
			})
		}
	}
	// Every one routes.go names, so that a listing that missed some fails.
	src, err := os.ReadFile("routes.go")
	if err != nil {
		t.Fatal(err)
	}
	if want := len(regexp.MustCompile(`\.(POST|PUT|PATCH|DELETE)\(`).FindAll(src, -1)); n != want {
		t.Errorf("%d state-changing routes tried, but routes.go names %d: the listing is broken", n, want)
	}
	t.Logf("%d state-changing routes, each refused without its token and not with it", n)
}

// TestSessionCookieOnHTTPSIsHostOnly: over https the session cookie has the
// __Host- prefix, so a browser takes it only from this host, for every path,
// Secure: another host under the same domain cannot plant a session for
// /enrol or /carers/accept that the browser would send first.
func TestSessionCookieOnHTTPSIsHostOnly(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct{ origin, name string }{
		{"https://care.example.org", "__Host-mcr_session"},
		{"http://localhost:8080", "mcr_session"},     // a browser refuses __Host- without https, except on localhost
		{"http://app.localhost:8080", "mcr_session"}, // serve takes localhost's subdomains over http too, and the cookie is Secure there
	} {
		srv, err := web.New(web.Config{Origin: tt.origin, HashKey: testHashKey, BlockKey: testBlockKey}, f.db, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/signin", nil))
		cookies := rec.Result().Cookies()
		if len(cookies) != 1 || cookies[0].Name != tt.name || cookies[0].Path != "/" || cookies[0].Domain != "" || !cookies[0].Secure || !cookies[0].HttpOnly {
			t.Errorf("%s: cookies %+v; want one %s, Path=/, no Domain, Secure, HttpOnly", tt.origin, cookies, tt.name)
		}
	}
}

package web_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/gorilla/sessions"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
	"github.com/mycarerecord/portal/web"
)

var (
	testHashKey  = bytes.Repeat([]byte{1}, 64)
	testBlockKey = bytes.Repeat([]byte{2}, 32)
)

// fixture is a server over a real database holding two people's records.
type fixture struct {
	db      *store.DB
	path    string // the database file
	handler http.Handler
	jane    store.Person
	amir    store.Person
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "portal.db")
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	res := []fhir.Resource{
		patient("jane", "9434765919", "Jane", "Example", "1957-03-14"),
		patient("amir", "9000000009", "Amir", "Khan", "1980-07-01"),
		medicine("m1", "jane", "Metformin 500mg tablets"),
		medicine("m2", "amir", "Sertraline 50mg tablets"),
	}
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "gp", OrgName: "Meanwood Group Practice"}, "test", res); err != nil {
		t.Fatal(err)
	}
	return fixtureOn(t, db, path)
}

// fixtureOn serves db, opened from path, holding the people newFixture imports.
func fixtureOn(t testing.TB, db *store.DB, path string) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{db: db, path: path}
	var err error
	if f.jane, err = db.PersonByNHSNumber(ctx, "9434765919"); err != nil {
		t.Fatal(err)
	}
	if f.amir, err = db.PersonByNHSNumber(ctx, "9000000009"); err != nil {
		t.Fatal(err)
	}
	if f.handler, err = web.New(web.Config{Origin: "http://localhost:8080", HashKey: testHashKey, BlockKey: testBlockKey}, db, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	return f
}

func patient(id, nhs, given, family, dob string) fhir.Resource {
	raw := `{"resourceType":"Patient","id":"` + id + `","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"` + nhs + `"}],` +
		`"name":[{"use":"official","given":["` + given + `"],"family":"` + family + `"}],"birthDate":"` + dob + `"}`
	return fhir.Resource{Type: "Patient", ID: id, Raw: []byte(raw)}
}

func medicine(id, patientID, name string) fhir.Resource {
	raw := `{"resourceType":"MedicationRequest","id":"` + id + `","status":"active","intent":"order","subject":{"reference":"Patient/` + patientID + `"},` +
		`"medicationCodeableConcept":{"text":"` + name + `"},"authoredOn":"2025-01-10"}`
	return fhir.Resource{Type: "MedicationRequest", ID: id, Raw: []byte(raw)}
}

// signIn makes a signed-in session for the person's account, as a passkey sign-in would, and returns its cookie.
func (f *fixture) signIn(t testing.TB, p store.Person) *http.Cookie {
	t.Helper()
	ctx := context.Background()
	acct, err := f.db.EnrolPasskey(ctx, p.ID, []byte("handle-"+p.NHSNumber), p.Name(), store.Passkey{CredentialID: []byte("cred-" + p.NHSNumber), PublicKey: []byte("k")})
	if err != nil {
		t.Fatal(err)
	}
	id, _, err := f.db.CreateSession(ctx, acct.ID, store.DefaultSessionPolicy())
	if err != nil {
		t.Fatal(err)
	}
	return sessionCookie(t, id)
}

// sessionCookie encodes a session id the way the server's cookie store does.
func sessionCookie(t testing.TB, id string) *http.Cookie {
	t.Helper()
	cs := sessions.NewCookieStore(testHashKey, testBlockKey)
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	sess, _ := cs.New(req, "mcr_session")
	sess.Values["id"] = id
	rec := httptest.NewRecorder()
	if err := cs.Save(req, rec, sess); err != nil {
		t.Fatal(err)
	}
	return rec.Result().Cookies()[0]
}

// sessionSet is the session id in the cookie the response sets.
func sessionSet(t testing.TB, rec *httptest.ResponseRecorder) (string, *http.Cookie) {
	t.Helper()
	for _, ck := range rec.Result().Cookies() {
		if ck.Name != "mcr_session" {
			continue
		}
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.AddCookie(ck)
		sess, err := sessions.NewCookieStore(testHashKey, testBlockKey).Get(req, "mcr_session")
		if id, ok := sess.Values["id"].(string); err == nil && ok {
			return id, ck
		}
		t.Fatalf("session cookie unreadable: %v", err)
	}
	t.Fatal("no session cookie set")
	return "", nil
}

func (f *fixture) get(t testing.TB, path string, cookie *http.Cookie) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if cookie != nil {
		req.AddCookie(cookie)
	}
	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, req)
	return rec.Result()
}

func doc(t *testing.T, resp *http.Response) *goquery.Document {
	t.Helper()
	d, err := goquery.NewDocumentFromReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestAnonymousRecordPagesRedirectToSignIn(t *testing.T) {
	f := newFixture(t)
	paths := []string{"/record"}
	for _, s := range fhir.Sections() {
		paths = append(paths, "/record/"+s.Slug)
	}
	for _, path := range paths {
		t.Run(path, func(t *testing.T) {
			resp := f.get(t, path, nil)
			if resp.StatusCode != http.StatusSeeOther || !toSignIn(resp.Header.Get("Location")) {
				t.Fatalf("got %d to %q, want 303 to /signin", resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	}
	t.Run("a forged or ended session is no session", func(t *testing.T) {
		resp := f.get(t, "/record", sessionCookie(t, "not-a-real-session-id"))
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("got %d, want 303", resp.StatusCode)
		}
	})
}

func TestOnePersonCannotReadAnother(t *testing.T) {
	f := newFixture(t)
	jane := f.signIn(t, f.jane)
	tests := []struct {
		name, path string
	}{
		{"own medicines", "/record/medicines"},
		{"person id in the query", "/record/medicines?person=" + itoa(f.amir.ID)},
		{"person id as another parameter", "/record/medicines?person_id=" + itoa(f.amir.ID) + "&nhs=9000000009"},
		{"summary with an id", "/record?person=" + itoa(f.amir.ID)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := f.get(t, tt.path, jane)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			body := doc(t, resp).Find("main").Text()
			if strings.Contains(body, "Sertraline") || strings.Contains(body, "Amir") {
				t.Fatalf("Jane's session shows Amir's record: %q", body)
			}
		})
	}
	resp := f.get(t, "/record/medicines", jane)
	if got := doc(t, resp).Find("main").Text(); !strings.Contains(got, "Metformin") {
		t.Fatalf("Jane's medicines page lacks her own medicine: %q", got)
	}
	for _, path := range []string{"/record/" + itoa(f.amir.ID), "/record/medicines/../../record/" + itoa(f.amir.ID), "/record/medicines?page=999"} {
		if resp := f.get(t, path, jane); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", path, resp.StatusCode)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestCSRFRequiredOnStateChanges(t *testing.T) {
	f := newFixture(t)
	jane := f.signIn(t, f.jane)
	for _, path := range []string{"/signout", "/enrol", "/signin/begin", "/signin/finish", "/enrol/passkey/begin", "/enrol/passkey/finish"} {
		t.Run(path, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, path, strings.NewReader("code=x"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.AddCookie(jane)
			rec := httptest.NewRecorder()
			f.handler.ServeHTTP(rec, req)
			if rec.Code != http.StatusForbidden {
				t.Fatalf("status %d without a CSRF token, want 403", rec.Code)
			}
		})
	}
}

func TestSecurityHeaders(t *testing.T) {
	f := newFixture(t)
	jane := f.signIn(t, f.jane)
	for _, path := range []string{"/", "/signin", "/enrol", "/record", "/record/results", "/signed-out", "/healthz", "/nope"} {
		t.Run(path, func(t *testing.T) {
			resp := f.get(t, path, jane)
			csp := resp.Header.Get("Content-Security-Policy")
			if !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "script-src 'self'") {
				t.Errorf("CSP %q", csp)
			}
			for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "Cache-Control": "no-store"} {
				if got := resp.Header.Get(h); got != want {
					t.Errorf("%s = %q, want %q", h, got, want)
				}
			}
		})
	}
}

func TestSignOutEndsTheSessionOnTheServer(t *testing.T) {
	f := newFixture(t)
	jane := f.signIn(t, f.jane)
	resp := f.get(t, "/record", jane)
	d := doc(t, resp)
	token, ok := d.Find(`form[action="/signout"] input[name="csrf"]`).Attr("value")
	if !ok || token == "" {
		t.Fatal("no sign-out form with a CSRF token on the record page")
	}
	req := httptest.NewRequest(http.MethodPost, "/signout", strings.NewReader(url.Values{"csrf": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(jane)
	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/signed-out" {
		t.Fatalf("sign out: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	// The old cookie, replayed, no longer opens the record.
	if resp := f.get(t, "/record", jane); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after sign-out the old cookie still works: %d", resp.StatusCode)
	}
}

func TestEnrolFormErrors(t *testing.T) {
	f := newFixture(t)
	// Get a session and its token from the form page.
	resp := f.get(t, "/enrol?code=ABCD", nil)
	cookie := resp.Cookies()[0]
	token, _ := doc(t, resp).Find(`input[name="csrf"]`).Attr("value")
	code, _, err := f.db.CreateEnrolmentCode(context.Background(), f.jane.ID, 3600e9)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name              string
		form              url.Values
		wantStatus        int
		wantErrorFor      string // id the error summary links to
		wantLocationAfter string
	}{
		{"empty", url.Values{}, 400, "code", ""},
		{"not a date", url.Values{"code": {code}, "day": {"31"}, "month": {"2"}, "year": {"1957"}}, 400, "dob-day", ""},
		{"script in the code is not reflected raw", url.Values{"code": {"<script>alert(1)</script>"}, "day": {"14"}, "month": {"3"}, "year": {"1957"}}, 400, "code", ""},
		{"wrong date of birth", url.Values{"code": {code}, "day": {"15"}, "month": {"3"}, "year": {"1957"}}, 400, "dob-day", ""},
		{"right", url.Values{"code": {code}, "day": {"14"}, "month": {"3"}, "year": {"1957"}}, 303, "", "/enrol/passkey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.form.Set("csrf", token)
			req := httptest.NewRequest(http.MethodPost, "/enrol", strings.NewReader(tt.form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.AddCookie(cookie)
			rec := httptest.NewRecorder()
			f.handler.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d", rec.Code, tt.wantStatus)
			}
			if strings.Contains(rec.Body.String(), "<script>alert") {
				t.Fatal("input reflected unescaped")
			}
			if tt.wantErrorFor != "" {
				d, _ := goquery.NewDocumentFromReader(rec.Body)
				if n := d.Find(`.nhsuk-error-summary a[href="#` + tt.wantErrorFor + `"]`).Length(); n != 1 {
					t.Fatalf("error summary links to #%s %d times; page: %s", tt.wantErrorFor, n, d.Find(".nhsuk-error-summary").Text())
				}
			}
			if got := rec.Header().Get("Location"); got != tt.wantLocationAfter {
				t.Fatalf("Location %q, want %q", got, tt.wantLocationAfter)
			}
		})
	}
}

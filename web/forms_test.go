package web_test

import (
	"cmp"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/mycarerecord/portal/store"
)

// badInputs are what people and attackers type: nothing, far too much, the
// wrong kind of thing, Unicode's edge cases and markup.
var badInputs = []struct{ name, value string }{
	{"empty", ""},
	{"spaces", "   \t  "},
	{"oversized", strings.Repeat("A", 100_000)},
	{"long line", strings.Repeat("ab ", 2000)},
	{"negative", "-1"},
	{"huge number", "99999999999999999999999"},
	{"not a number", "1e309"},
	{"date-like", "2026-02-30"},
	{"script", `<script>alert("forms")</script>`},
	{"attribute breakout", `"><img src=x onerror=alert("forms")>`},
	{"invalid UTF-8", "\xff\xfe\xfd"},
	{"NUL and controls", "a\x00b\x1bc"},
	{"right-to-left override", "\u202eevil\u202c"},
	{"emoji", strings.Repeat("😀", 300)},
	{"combining marks", "e" + strings.Repeat("\u0301", 500)},
	{"SQL", "' OR 1=1; DROP TABLE sessions; --"},
}

var idPattern = regexp.MustCompile(`/[0-9]+`)

// pageForm is one form found on a page.
type pageForm struct {
	page, method, action string
	fields               url.Values // every named field with the value the page gives it
}

// TestEveryFormRefusesBadInput walks every page a signed-in person can reach
// by following links, finds every form, and sends each of its fields each bad
// input in turn (with the page's CSRF token, so the handler itself answers):
// never a server error, never the input echoed back unescaped. New pages and
// forms are covered without changing the test.
func TestEveryFormRefusesBadInput(t *testing.T) {
	f := newFixture(t)
	withDemoSources(t, f)
	ctx := context.Background()
	f.signIn(t, f.jane)
	acct, err := f.db.AccountByPerson(ctx, f.jane.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Each request gets a fresh session, so that a form that signs out or
	// removes a passkey does not end the walk.
	session := func() (*http.Cookie, string) {
		id, s, err := f.db.CreateSession(ctx, acct.ID, store.DefaultSessionPolicy())
		if err != nil {
			t.Fatal(err)
		}
		return sessionCookie(t, id), s.CSRFToken
	}

	// Jane has a carer, so her carers' forms are there; the carer walks
	// too, acting for her, and a second invitation waits to be accepted.
	john := f.newCarer(t, "John Smith")
	grant := f.grant(t, f.jane, acct, john, "medicines", "choices")
	if _, _, err := f.db.CreateInvitation(ctx, f.jane.ID, acct.ID, store.Invitation{CarerName: "Amir Khan", Relationship: "friend", Scopes: []string{"medicines"}},
		grantLogged(acct, "invited Amir Khan (friend)")); err != nil {
		t.Fatal(err)
	}
	carerSession := func() (*http.Cookie, string) {
		id, s, err := f.db.CreateSession(ctx, john.acct.ID, store.DefaultSessionPolicy())
		if err != nil {
			t.Fatal(err)
		}
		if err := f.db.SetActingFor(ctx, id, john.acct.ID, grant.ID); err != nil {
			// A form given up or revoked the grant: Jane asks John again.
			john.id = id
			grant = f.grant(t, f.jane, acct, john, "medicines", "choices")
		}
		return sessionCookie(t, id), s.CSRFToken
	}

	forms := crawlForms(t, f.handler, session, []string{"/record", "/account", "/carers", "/enrol", "/signin", "/carers/accept", "/accessibility"})
	carerForms := crawlForms(t, f.handler, carerSession, []string{"/record", "/caring", "/acting-for", "/account"})
	if len(forms) < 3 || len(carerForms) < 3 {
		t.Fatalf("found only %d and %d forms: the walk is broken", len(forms), len(carerForms))
	}
	type roleForm struct {
		pageForm
		session func() (*http.Cookie, string)
	}
	var roles []roleForm
	for _, fm := range forms {
		roles = append(roles, roleForm{fm, session})
	}
	for _, fm := range carerForms {
		roles = append(roles, roleForm{fm, carerSession})
	}
	for _, fm := range roles {
		for field := range fm.fields {
			if field == "csrf" {
				continue
			}
			for _, in := range badInputs {
				values := url.Values{}
				for k, v := range fm.fields {
					values[k] = append([]string(nil), v...)
				}
				values.Set(field, in.value)
				cookie, token := fm.session()
				values.Set("csrf", token)
				var req *http.Request
				if fm.method == http.MethodGet {
					req = httptest.NewRequest(http.MethodGet, fm.action+"?"+values.Encode(), nil)
				} else {
					req = httptest.NewRequest(http.MethodPost, fm.action, strings.NewReader(values.Encode()))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				}
				req.AddCookie(cookie)
				rec := httptest.NewRecorder()
				f.handler.ServeHTTP(rec, req)
				body := rec.Body.String()
				where := fm.method + " " + fm.action + " (form on " + fm.page + ") field " + field + " = " + in.name
				if rec.Code >= 500 {
					t.Errorf("%s: status %d", where, rec.Code)
				}
				if strings.Contains(in.value, "<") && strings.Contains(body, in.value) {
					t.Errorf("%s: the input came back unescaped", where)
				}
				if rec.Code == http.StatusBadRequest && strings.Contains(rec.Header().Get("Content-Type"), "text/html") &&
					!strings.Contains(body, "nhsuk-error-summary") && !strings.Contains(body, "There is a problem") {
					t.Errorf("%s: 400 without an error summary or problem page", where)
				}
			}
		}
	}
	var names []string
	for _, fm := range roles {
		names = append(names, fm.method+" "+fm.action)
	}
	t.Logf("%d forms (%d the person's, %d a carer's), %d bad inputs in each field: %s", len(roles), len(forms), len(carerForms), len(badInputs), strings.Join(names, ", "))
}

// crawlForms follows same-site links from the start pages (at most 300
// pages) and returns every form on them.
func crawlForms(t *testing.T, h http.Handler, session func() (*http.Cookie, string), start []string) []pageForm {
	t.Helper()
	seen := map[string]bool{}
	queue := append([]string(nil), start...)
	var out []pageForm
	formSeen := map[string]bool{}
	for len(queue) > 0 && len(seen) < 300 {
		page := queue[0]
		queue = queue[1:]
		if seen[page] {
			continue
		}
		seen[page] = true
		cookie, _ := session()
		req := httptest.NewRequest(http.MethodGet, page, nil)
		req.AddCookie(cookie)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Errorf("GET %s: status %d", page, rec.Code)
		}
		if !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
			continue
		}
		d, err := goquery.NewDocumentFromReader(io.NopCloser(rec.Body))
		if err != nil {
			t.Fatal(err)
		}
		d.Find("a[href]").Each(func(_ int, a *goquery.Selection) {
			href, _ := a.Attr("href")
			u, err := url.Parse(href)
			if err != nil || u.Host != "" || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "/static/") || strings.HasPrefix(u.Path, "/assets/") ||
				strings.Contains(u.Path, "/attachment/") || u.Path == "/record/download" {
				return
			}
			// One page of each paged list is enough.
			q := u.Query()
			q.Del("page")
			u.RawQuery = q.Encode()
			u.Fragment = ""
			if !seen[u.String()] {
				queue = append(queue, u.String())
			}
		})
		out = append(out, formsOf(d, page, formSeen)...)
	}
	// A form's answer may be another form (a "check your answers" page): send
	// each POST form once as the page fills it, and take the forms that come
	// back; those that end what the session may do (giving up a carer's
	// access, revoking it) go last, so the others are sent while it stands.
	ending := regexp.MustCompile(`/(give-up|revoke)$`)
	sent := slices.Clone(out)
	last := func(fm pageForm) int {
		if ending.MatchString(fm.action) {
			return 1
		}
		return 0
	}
	slices.SortStableFunc(sent, func(a, b pageForm) int { return cmp.Compare(last(a), last(b)) })
	for _, fm := range sent {
		if fm.method != http.MethodPost {
			continue
		}
		cookie, token := session()
		values := url.Values{}
		for k, v := range fm.fields {
			values[k] = v
		}
		values.Set("csrf", token)
		req := httptest.NewRequest(http.MethodPost, fm.action, strings.NewReader(values.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(cookie)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Errorf("POST %s as the page fills it: status %d", fm.action, rec.Code)
		}
		if rec.Code == http.StatusOK && strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
			d, err := goquery.NewDocumentFromReader(rec.Body)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, formsOf(d, fm.action, formSeen)...)
		}
	}
	return out
}

// formsOf returns the forms on a page not seen before.
func formsOf(d *goquery.Document, page string, formSeen map[string]bool) []pageForm {
	var out []pageForm
	{
		d.Find("form").Each(func(_ int, form *goquery.Selection) {
			fm := pageForm{page: page, method: strings.ToUpper(form.AttrOr("method", "GET")), action: form.AttrOr("action", strings.SplitN(page, "?", 2)[0]), fields: url.Values{}}
			changed := map[string]bool{} // radio groups already given an answer other than the page's
			form.Find("input[name], select[name], textarea[name]").Each(func(_ int, in *goquery.Selection) {
				name := in.AttrOr("name", "")
				_, checked := in.Attr("checked")
				switch strings.ToLower(in.AttrOr("type", "text")) {
				case "radio":
					// Another answer than the page's, so that sending the form as filled
					// reaches the "check your answers" page behind it.
					if !changed[name] && (!checked || fm.fields.Get(name) == "") {
						fm.fields.Set(name, in.AttrOr("value", "on"))
						changed[name] = !checked
					}
				case "checkbox":
					if checked || fm.fields.Get(name) == "" {
						fm.fields.Set(name, in.AttrOr("value", "on"))
					}
				default:
					if goquery.NodeName(in) == "select" {
						fm.fields.Set(name, in.Find("option").First().AttrOr("value", ""))
					} else {
						fm.fields.Set(name, in.AttrOr("value", in.Text()))
					}
				}
			})
			// Forms that differ only by an id in the action are the same form.
			key := fm.method + " " + idPattern.ReplaceAllString(fm.action, "/N")
			if !formSeen[key] {
				formSeen[key] = true
				out = append(out, fm)
			}
		})
	}
	return out
}

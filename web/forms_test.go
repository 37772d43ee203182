package web_test

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/mycarerecord/portal/store"
)

// badInputs are what people and attackers type: nothing, far too much, the
// wrong kind of thing, Unicode's edge cases and markup.
var badInputs = []struct{ name, value string }{
	{"empty", ""},
	{"spaces", "   \t  "},
	// Far more than any field takes, yet with the rest of a form under the
	// 64 KiB body cap (limitBody), so that the handler itself answers.
	{"oversized", strings.Repeat("A", 60_000)},
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

// grantParam is the grant a confirmation names, in the address it is shown at ("/carers?done=revoked&grant=3").
var grantParam = regexp.MustCompile(`grant=[0-9]+`)

// pageForm is one form found on a page.
type pageForm struct {
	page, method, action string
	fields               url.Values // every named field with the value the page gives it
}

// clientAddr numbers the client addresses nextClientAddr hands out.
var clientAddr atomic.Uint32

// nextClientAddr is a client address no request has used yet. The rate
// limits (web/ratelimit.go) count per client address, which is the
// connection's own here (the fixture trusts no proxy, so X-Forwarded-For is
// ignored): a request from a fresh address is never refused as one try too
// many, and reaches its handler.
func nextClientAddr() string {
	n := clientAddr.Add(1)
	return fmt.Sprintf("10.%d.%d.%d:40000", byte(n>>16), byte(n>>8), byte(n))
}

// formsWorld is a database to walk for forms: Jane signed in, John caring
// for her (medicines and her choices), and a second invitation, to Amir,
// waiting to be accepted. It is kept as a snapshot, and each walk or run of
// bad inputs gets its own copy, with the same ids, so that what one does
// (giving up a grant, removing a passkey) does not change what another finds.
type formsWorld struct {
	snapshot string
	dir      string
	copies   int
	jane     store.Account
	john     store.Account
	grantID  int64
}

func newFormsWorld(t *testing.T) *formsWorld {
	t.Helper()
	ctx := context.Background()
	f := newFixture(t)
	withDemoSources(t, f)
	f.signIn(t, f.jane)
	jane := f.ownAccount(t, f.jane)
	john := f.newCarer(t, "John Smith")
	grant := f.grant(t, f.jane, jane, john, "medicines", "choices")
	if _, _, err := f.db.CreateInvitation(ctx, f.jane.ID, jane.ID, store.Invitation{CarerName: "Amir Khan", Relationship: "friend", Scopes: []string{"medicines"}},
		grantLogged(jane, "invited Amir Khan (friend)")); err != nil {
		t.Fatal(err)
	}
	w := &formsWorld{dir: t.TempDir(), jane: jane, john: john.acct, grantID: grant.ID}
	w.snapshot = filepath.Join(w.dir, "snapshot.db")
	raw, err := sql.Open("sqlite3", "file:"+store.URIPath(f.path))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.ExecContext(ctx, `VACUUM INTO ?`, w.snapshot); err != nil {
		t.Fatal(err)
	}
	return w
}

// worldCopy is one copy of a formsWorld, served.
type worldCopy struct {
	f *fixture
	w *formsWorld
	t *testing.T
}

// open serves a fresh copy of the world's database.
func (w *formsWorld) open(t *testing.T) *worldCopy {
	t.Helper()
	ctx := context.Background()
	w.copies++
	path := filepath.Join(w.dir, fmt.Sprintf("copy-%d.db", w.copies))
	data, err := os.ReadFile(w.snapshot)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	return &worldCopy{f: fixtureOn(t, db, path), w: w, t: t}
}

// close closes the copy's database and removes its files.
func (c *worldCopy) close() {
	c.f.db.Close()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(c.f.path + suffix)
	}
}

// jane is a new session signed in to Jane's account, and its CSRF token.
func (c *worldCopy) jane() (*http.Cookie, string) {
	c.t.Helper()
	id, s, err := c.f.db.CreateSession(context.Background(), c.w.jane.ID, store.DefaultSessionPolicy())
	if err != nil {
		c.t.Fatal(err)
	}
	return sessionCookie(c.t, id), s.CSRFToken
}

// john is a new session signed in to John's account, acting for Jane.
func (c *worldCopy) john() (*http.Cookie, string) {
	c.t.Helper()
	ctx := context.Background()
	id, s, err := c.f.db.CreateSession(ctx, c.w.john.ID, store.DefaultSessionPolicy())
	if err != nil {
		c.t.Fatal(err)
	}
	if err := c.f.db.SetActingFor(ctx, id, c.w.john.ID, c.w.grantID); err != nil {
		c.t.Fatalf("John can no longer act for Jane: %v", err)
	}
	return sessionCookie(c.t, id), s.CSRFToken
}

// formAnswer is how a form's handler is to answer a bad input: the handler's own
// refusal, never a refusal by the middleware in front of it (403 for CSRF,
// 429 for too many tries) nor a "not found" for the form itself.
type formAnswer int

const (
	// formRefused: 400, the form again with its error summary, or the "There is
	// a problem" page with the handler's message.
	formRefused formAnswer = iota
	// formOtherRecord: 409, the form's "for" names another record than the one
	// the session uses now (web/actor.go sameSubject).
	formOtherRecord
	// formNoSuchEntry: 404 "There is no such entry in this record": the value
	// names an entry the record does not hold (a choice's entry key).
	formNoSuchEntry
	// formAccepted: 2xx or 3xx: a field the handler does not read, or one that
	// takes any text (a search).
	formAccepted
)

func (a formAnswer) String() string {
	return [...]string{"400 with the form's error", "409 another record", "404 no such entry", "accepted"}[a]
}

// badAnswer is how one form answers a bad input in one field, where that is
// not formRefused.
type badAnswer struct {
	action *regexp.Regexp // the form's action, ids as /N
	field  string
	inputs []string // badInputs names; none: any
	want   formAnswer
	to     string // formAccepted: where it redirects (ids as /N), if it does
	alters bool   // formAccepted: it changes the record, so the next input needs a fresh copy
}

// badAnswers are the answers other than formRefused. The first row whose
// action, field and input match is the answer; a form or field not named here
// must refuse every bad input, so a new form is held to that without a row.
var badAnswers = func() []badAnswer {
	re := func(s string) *regexp.Regexp { return regexp.MustCompile("^" + s + "$") }
	blank := []string{"empty", "spaces"}
	// Nothing at all, or more than a passkey's name (50 characters) or a search takes.
	tooLongOrBlank := []string{"empty", "spaces", "oversized", "long line", "emoji", "combining marks"}
	return []badAnswer{
		// Forms that act on the session alone read no field but the token.
		{action: re("/signout"), want: formAccepted, to: "/signed-out"},
		{action: re("/session/extend"), want: formAccepted},
		{action: re("/account/sessions/signout-others"), want: formAccepted, to: "/account?done=signed-out-others"},
		{action: re("/acting-for"), field: "for", want: formAccepted, to: "/record"},
		// A search takes any text of a sensible length: nothing, or too much, is refused.
		{action: re("/record/search"), field: "q", inputs: tooLongOrBlank, want: formRefused},
		{action: re("/record/search"), field: "q", want: formAccepted},
		// The access log's filters: a date or person left blank is no filter.
		{action: re("/record/access-log"), field: "who", inputs: blank[:1], want: formAccepted},
		{action: re("/record/access-log"), field: "(from|to)-(day|month|year)", inputs: blank, want: formAccepted},
		// A passkey's name is any text of up to 50 characters.
		{action: re("/account/passkeys/N/rename"), field: "nickname", inputs: slices.Concat(tooLongOrBlank, []string{"NUL and controls", "right-to-left override"}), want: formRefused},
		{action: re("/account/passkeys/N/rename"), field: "nickname", want: formAccepted, to: "/account?done=renamed", alters: true},
		// The last passkey goes only when "confirm" is "yes": anything else asks again.
		{action: re("/account/passkeys/N/remove"), field: "confirm", want: formAccepted, to: "/account/passkeys/N/remove"},
		// Passkeys are the account's, not a record's: "for" is not read, and the
		// last passkey goes as the page confirmed it.
		{action: re("/account/passkeys/N/remove"), field: "for", want: formAccepted, to: "/account/removed", alters: true},
		// A person's own carers are always their own record's: "for" is not read.
		{action: re("/carers/N"), field: "for", want: formAccepted, to: "/carers?done=changed&grant=N", alters: true},
		// An end other than "never" or "date" is the form's default, "In 12 months".
		{action: re("/carers/N"), field: "ends", want: formAccepted, to: "/carers?done=changed&grant=N", alters: true},
		{action: re("/carers/N"), field: "ends-(day|month|year)", inputs: blank, want: formAccepted, to: "/carers?done=changed&grant=N", alters: true},
		{action: re("/carers/N/revoke"), field: "for", want: formAccepted, to: "/carers?done=revoked&grant=N", alters: true},
		{action: re("/caring/N/give-up"), field: "for", want: formAccepted, to: "/caring?done=gave-up&grant=N", alters: true},
		// A choice is made only for the record its form was made for, and only
		// about an entry the record holds.
		{action: re("/choices/.*"), field: "for", want: formOtherRecord},
		{action: re("/choices/entry(/confirm)?"), field: "key", want: formNoSuchEntry},
		// The entry the question was asked from is read only for the way back
		// to it should the question be shown again: no number, no way back.
		{action: re("/choices/entry"), field: "item", want: formAccepted},
	}
}()

// wantAnswer is how the form's handler is to answer the input in the field.
func wantAnswer(fm pageForm, field, input string) badAnswer {
	action := idPattern.ReplaceAllString(fm.action, "/N")
	for _, row := range badAnswers {
		if row.action.MatchString(action) && (row.field == "" || regexp.MustCompile("^"+row.field+"$").MatchString(field)) &&
			(len(row.inputs) == 0 || slices.Contains(row.inputs, input)) {
			return row
		}
	}
	return badAnswer{want: formRefused}
}

// TestEveryFormRefusesBadInput walks every page a signed-in person, and a
// carer acting for them, can reach by following links, finds every form, and
// sends each of its fields each bad input in turn, with the session's CSRF
// token, from a client address of its own (so no rate limit answers), to a
// fresh copy of the record for each form: each answer is the handler's own
// (badAnswers: the form's error, or the documented answer to that input),
// never a server error, never the input echoed back unescaped. New pages and
// forms are covered without changing the test.
func TestEveryFormRefusesBadInput(t *testing.T) {
	w := newFormsWorld(t)

	// Each walk on its own copy: the person's (revoking a grant, removing a
	// passkey) does not end the carer's.
	var forms, carerForms []pageForm
	for _, role := range []struct {
		out     *[]pageForm
		session func(*worldCopy) (*http.Cookie, string)
		start   []string
	}{
		{&forms, (*worldCopy).jane, []string{"/record", "/account", "/carers", "/enrol", "/signin", "/carers/accept", "/accessibility"}},
		{&carerForms, (*worldCopy).john, []string{"/record", "/caring", "/acting-for", "/account"}},
	} {
		c := w.open(t)
		*role.out = crawlForms(t, c.f.handler, func() (*http.Cookie, string) { return role.session(c) }, role.start)
		c.close()
	}
	// The README's count: 49 forms, 26 the person's and 23 a carer's.
	if len(forms) < 26 || len(carerForms) < 23 {
		t.Fatalf("found only %d and %d forms, want 26 and 23: the walk is broken", len(forms), len(carerForms))
	}
	type roleForm struct {
		pageForm
		session func(*worldCopy) (*http.Cookie, string)
	}
	var roles []roleForm
	for _, fm := range forms {
		roles = append(roles, roleForm{fm, (*worldCopy).jane})
	}
	for _, fm := range carerForms {
		roles = append(roles, roleForm{fm, (*worldCopy).john})
	}
	seen := map[formAnswer]int{}
	for _, fm := range roles {
		// A fresh copy for each form, and again after an input that changed
		// the record (a row that alters it, or an answer not expected), so
		// that each input meets the record as the page was made.
		c := w.open(t)
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
				cookie, token := fm.session(c)
				values.Set("csrf", token)
				var req *http.Request
				if fm.method == http.MethodGet {
					req = httptest.NewRequest(http.MethodGet, fm.action+"?"+values.Encode(), nil)
				} else {
					req = httptest.NewRequest(http.MethodPost, fm.action, strings.NewReader(values.Encode()))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				}
				req.RemoteAddr = nextClientAddr()
				req.AddCookie(cookie)
				rec := httptest.NewRecorder()
				c.f.handler.ServeHTTP(rec, req)
				body := rec.Body.String()
				where := fm.method + " " + fm.action + " (form on " + fm.page + ") field " + field + " = " + in.name
				want := wantAnswer(fm.pageForm, field, in.name)
				seen[want.want]++
				if problem := checkAnswer(rec, want); problem != "" {
					t.Errorf("%s: %s; want %v", where, problem, want.want)
				}
				if strings.Contains(in.value, "<") && strings.Contains(body, in.value) {
					t.Errorf("%s: the input came back unescaped", where)
				}
				if rec.Code < 400 && (want.want != formAccepted || want.alters) {
					c.close()
					c = w.open(t)
				}
			}
		}
		c.close()
	}
	var names []string
	for _, fm := range roles {
		names = append(names, fm.method+" "+fm.action)
	}
	t.Logf("%d forms (%d the person's, %d a carer's), %d bad inputs in each field, answers %v: %s", len(roles), len(forms), len(carerForms), len(badInputs), seen, strings.Join(names, ", "))
}

// checkAnswer says what is wrong with the response as the answer want, or "".
func checkAnswer(rec *httptest.ResponseRecorder, want badAnswer) string {
	body := rec.Body.String()
	html := strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html")
	d, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	if err != nil {
		return err.Error()
	}
	heading := strings.TrimSpace(d.Find("h1").First().Text())
	got := fmt.Sprintf("status %d (%q)", rec.Code, heading)
	switch want.want {
	case formRefused:
		if rec.Code != http.StatusBadRequest || !html {
			return got
		}
		if d.Find(".nhsuk-error-summary").Length() == 0 && heading != "There is a problem" {
			return got + " without an error summary or problem page"
		}
	case formOtherRecord:
		if rec.Code != http.StatusConflict || !strings.Contains(body, "since this page was opened") {
			return got
		}
	case formNoSuchEntry:
		if rec.Code != http.StatusNotFound || !strings.Contains(body, "There is no such entry in this record.") {
			return got
		}
	case formAccepted:
		if rec.Code >= 400 {
			return got
		}
		if to := grantParam.ReplaceAllString(idPattern.ReplaceAllString(rec.Header().Get("Location"), "/N"), "grant=N"); want.to != "" && to != want.to {
			return fmt.Sprintf("%s to %q, not %q", got, to, want.to)
		}
	}
	return ""
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
		req.RemoteAddr = nextClientAddr()
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
		req.RemoteAddr = nextClientAddr()
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

package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
	"github.com/mycarerecord/portal/web"
)

// The route × role authorization matrix. Every route the server registers
// must have at least one case here, and every case is tried by every role:
// a route added without an entry fails TestAuthorizationMatrix.

// Roles. A carer role "carer:X" acts for Jane with a grant of scope X (an
// action comes with one section, care-team; download needs every section).
const (
	roleAnonymous   = "anonymous"
	rolePatient     = "patient"         // Jane, her own record
	roleOther       = "another patient" // Amir, trying Jane's addresses
	roleExpired     = "carer, grant ended"
	roleRevoked     = "carer, grant revoked"
	roleOtherPerson = "carer acting for someone else" // all scopes for Amir, trying Jane's addresses
)

func carerRole(scope string) string { return "carer:" + scope }

// roleScopes is what each carer role's grant covers.
func roleScopes(scope string) []string {
	switch scope {
	case store.ScopeChoices:
		return []string{fhir.SectionCareTeam, store.ScopeChoices}
	case store.ScopeDownload:
		var all []string
		for _, s := range fhir.Sections() {
			all = append(all, s.Slug)
		}
		return append(all, store.ScopeDownload)
	}
	return []string{scope}
}

func allRoles() []string {
	roles := []string{roleAnonymous, rolePatient, roleOther}
	for _, s := range store.CarerScopes() {
		roles = append(roles, carerRole(s))
	}
	return append(roles, roleExpired, roleRevoked, roleOtherPerson)
}

// Route kinds for authzCase.scope besides a section slug or an action.
const (
	anyGrant = ""    // any active grant (the handler shows only what it covers)
	notAbout = "-"   // not about a record: carers use it as themselves, whatever their grants
	ownOnly  = "own" // the account's own record only: refused while acting for someone
)

// authzCase is one address of a route and the status each role must get.
type authzCase struct {
	method, route string // as registered
	url           string // with parameters filled in (see world.fill)
	scope         string // what a carer's grant must cover (or anyGrant, notAbout, ownOnly)
	anon          int
	patient       int
	other         int  // another patient
	carer         int  // a carer whose grant covers scope (any carer for notAbout)
	otherPerson   int  // a carer acting for Amir
	unseen        bool // a carer whose grant does not cover scope gets 404, as for nothing at all
	except        map[string]int
}

// want is the status the role must get.
func (c authzCase) want(role string) int {
	if v, ok := c.except[role]; ok {
		return v
	}
	switch role {
	case roleAnonymous:
		return c.anon
	case rolePatient:
		return c.patient
	case roleOther:
		return c.other
	case roleOtherPerson:
		return c.otherPerson
	case roleExpired, roleRevoked:
		if c.scope == notAbout {
			return c.carer
		}
		return http.StatusForbidden
	}
	scope := strings.TrimPrefix(role, "carer:")
	switch {
	case c.scope == notAbout, c.scope == anyGrant:
		return c.carer
	case c.scope == ownOnly:
		return http.StatusForbidden
	case slices.Contains(fullScopes(scope), c.scope):
		return c.carer
	case c.unseen:
		return http.StatusNotFound
	}
	return http.StatusForbidden
}

func fullScopes(scope string) []string { return roleScopes(scope) }

const (
	ok        = http.StatusOK
	noContent = http.StatusNoContent
	seeOther  = http.StatusSeeOther
	bad       = http.StatusBadRequest
	refused   = http.StatusForbidden
	notFound  = http.StatusNotFound
)

// public is a route anyone may use: the same status for every role, anonymous included.
func public(method, route, u string, status int) authzCase {
	return authzCase{method: method, route: route, url: u, scope: notAbout, anon: status, patient: status, other: status, carer: status, otherPerson: status}
}

// publicPost is a public form or JSON endpoint: anonymous requests carry no
// session, so no CSRF token, and are refused; signed-in ones get status.
func publicPost(route string, status int) authzCase {
	c := public(http.MethodPost, route, route, status)
	c.anon = refused
	return c
}

// signedIn is a route for signed-in accounts: anonymous GETs go to sign in, POSTs are refused.
func signedIn(method, route, u, scope string, patient, other, carer, otherPerson int) authzCase {
	anon := seeOther
	if method == http.MethodPost {
		anon = refused
	}
	return authzCase{method: method, route: route, url: u, scope: scope, anon: anon, patient: patient, other: other, carer: carer, otherPerson: otherPerson}
}

func (c authzCase) with(except map[string]int) authzCase { c.except = except; return c }

// hiddenOutsideGrant says a carer whose grant does not cover the route's
// scope is answered 404: the address names one entry, and a refusal naming
// its section would say that it exists.
func (c authzCase) hiddenOutsideGrant() authzCase { c.unseen = true; return c }

// authzCases is the matrix. {item}, {passkey}, {grant} and {caring} stand for
// Jane's medicine, Jane's passkey, Jane's invitation and carer:medicines's grant.
func authzCases() []authzCase {
	g, p := http.MethodGet, http.MethodPost
	cases := []authzCase{
		public(g, "/static/*", "/static/missing.css", notFound),
		public(g, "/assets/*", "/assets/missing.png", notFound),
		public(g, "/healthz", "/healthz", ok),
		public(g, "/", "/", seeOther).with(map[string]int{roleAnonymous: ok}),
		public(g, "/signin", "/signin", seeOther).with(map[string]int{roleAnonymous: ok}),
		publicPost("/signin/begin", ok),
		publicPost("/signin/finish", bad),
		public(g, "/enrol", "/enrol", ok),
		publicPost("/enrol", bad),
		public(g, "/enrol/passkey", "/enrol/passkey", seeOther),
		publicPost("/enrol/passkey/begin", refused),
		publicPost("/enrol/passkey/finish", refused),
		publicPost("/enrol/link/begin", refused),
		publicPost("/enrol/link/finish", refused),
		public(g, "/enrol/link", "/enrol/link", seeOther),
		publicPost("/enrol/link", refused),
		public(g, "/signed-out", "/signed-out", ok),
		public(g, "/account/removed", "/account/removed", ok),
		public(g, "/accessibility", "/accessibility", ok),
		public(g, "/help", "/help", ok),
		public(g, "/carers/accept", "/carers/accept", ok),
		publicPost("/carers/accept", bad),
		public(g, "/carers/accept/confirm", "/carers/accept/confirm", seeOther),
		publicPost("/carers/accept/signin/begin", refused),
		publicPost("/carers/accept/signin/finish", refused),
		publicPost("/carers/accept/passkey/begin", refused),
		publicPost("/carers/accept/passkey/finish", refused),

		// Jane's record.
		signedIn(g, "/record", "/record", anyGrant, ok, ok, ok, ok),
		signedIn(g, "/record/item/:id", "/record/item/{item}", fhir.SectionMedicines, ok, notFound, ok, notFound).hiddenOutsideGrant(),
		signedIn(g, "/record/item/:id/attachment/:n", "/record/item/{item}/attachment/0", fhir.SectionMedicines, notFound, notFound, notFound, notFound).hiddenOutsideGrant(),
		signedIn(g, "/record/search", "/record/search?q=metformin", anyGrant, ok, ok, ok, ok),
		signedIn(g, "/record/search", "/record/search?q=metformin&section=medicines", fhir.SectionMedicines, ok, ok, ok, ok),
		signedIn(g, "/record/results", "/record/results", fhir.SectionResults, ok, ok, ok, ok),
		signedIn(g, "/record/results/:code", "/record/results/no-such-test", fhir.SectionResults, notFound, notFound, notFound, notFound),
		signedIn(g, "/record/download", "/record/download", store.ScopeDownload, ok, ok, ok, ok),
		signedIn(g, "/record/print", "/record/print", store.ScopeDownload, ok, ok, ok, ok),

		// Who has looked at the record (web/access.go): the person's own only.
		signedIn(g, "/record/access-log", "/record/access-log", ownOnly, ok, ok, refused, refused),

		// The person's choices (web/consent.go): a carer needs "choices"; keeping one entry out also needs the entry's section.
		signedIn(g, "/choices", "/choices", store.ScopeChoices, ok, ok, ok, ok),
		signedIn(g, "/choices/history", "/choices/history", store.ScopeChoices, ok, ok, ok, ok),
		signedIn(g, "/choices/done/:id", "/choices/done/999999", store.ScopeChoices, notFound, notFound, notFound, notFound),
		signedIn(p, "/choices/deliveries/:id/retry", "/choices/deliveries/999999/retry", store.ScopeChoices, notFound, notFound, notFound, notFound),
		signedIn(g, "/choices/entry", "/choices/entry", store.ScopeChoices, notFound, notFound, notFound, notFound),
		signedIn(g, "/choices/entry", "/choices/entry?item={item}", store.ScopeChoices, ok, notFound, ok, notFound).
			with(map[string]int{carerRole(store.ScopeChoices): notFound}), // choices, but not medicines: as for no entry at all
		signedIn(p, "/choices/entry", "/choices/entry", store.ScopeChoices, notFound, notFound, notFound, notFound),
		signedIn(p, "/choices/entry/confirm", "/choices/entry/confirm", store.ScopeChoices, notFound, notFound, notFound, notFound),
		signedIn(g, "/choices/:question", "/choices/"+store.ConsentQuestionSlug(store.QuestionDirectCare), store.ScopeChoices, ok, ok, ok, ok),
		signedIn(p, "/choices/:question", "/choices/"+store.ConsentQuestionSlug(store.QuestionDirectCare), store.ScopeChoices, bad, bad, bad, bad),
		signedIn(p, "/choices/:question/confirm", "/choices/"+store.ConsentQuestionSlug(store.QuestionDirectCare)+"/confirm", store.ScopeChoices, bad, bad, bad, bad),

		// The account: a carer's own, whoever they act for.
		signedIn(p, "/session/extend", "/session/extend", notAbout, noContent, noContent, noContent, noContent),
		signedIn(g, "/account", "/account", notAbout, ok, ok, ok, ok),
		signedIn(p, "/account/passkeys/begin", "/account/passkeys/begin", notAbout, ok, ok, ok, ok),
		signedIn(p, "/account/passkeys/finish", "/account/passkeys/finish", notAbout, bad, bad, bad, bad),
		signedIn(g, "/account/passkeys/:id/rename", "/account/passkeys/{passkey}/rename", notAbout, ok, notFound, notFound, notFound),
		signedIn(p, "/account/passkeys/:id/rename", "/account/passkeys/{passkey}/rename", notAbout, bad, notFound, notFound, notFound),
		signedIn(g, "/account/passkeys/:id/remove", "/account/passkeys/{passkey}/remove", notAbout, ok, notFound, notFound, notFound),
		signedIn(p, "/account/passkeys/:id/remove", "/account/passkeys/{passkey}/remove", notAbout, seeOther, notFound, notFound, notFound),
		signedIn(p, "/account/sessions/signout-others", "/account/sessions/signout-others", notAbout, seeOther, seeOther, seeOther, seeOther),
		signedIn(g, "/account/confirm", "/account/confirm", notAbout, ok, ok, ok, ok),
		signedIn(p, "/account/confirm/begin", "/account/confirm/begin", notAbout, ok, ok, ok, ok),
		signedIn(p, "/account/confirm/finish", "/account/confirm/finish", notAbout, bad, bad, bad, bad),

		// Jane's carers: only Jane, never while acting.
		signedIn(g, "/carers", "/carers", ownOnly, ok, ok, refused, refused),
		signedIn(g, "/carers/invite", "/carers/invite", ownOnly, ok, ok, refused, refused),
		signedIn(p, "/carers/invite", "/carers/invite", ownOnly, bad, bad, refused, refused),
		signedIn(p, "/carers/invite/confirm", "/carers/invite/confirm", ownOnly, bad, bad, refused, refused),
		signedIn(g, "/carers/:id", "/carers/{grant}", ownOnly, ok, notFound, refused, refused),
		signedIn(p, "/carers/:id", "/carers/{grant}", ownOnly, bad, notFound, refused, refused),
		signedIn(g, "/carers/:id/revoke", "/carers/{grant}/revoke", ownOnly, ok, notFound, refused, refused),
		signedIn(p, "/carers/:id/revoke", "/carers/{grant}/revoke", ownOnly, seeOther, notFound, refused, refused),
		signedIn(p, "/carers/accept/confirm", "/carers/accept/confirm", notAbout, refused, refused, refused, refused),

		// The carer's side.
		signedIn(g, "/acting-for", "/acting-for", notAbout, ok, ok, ok, ok),
		signedIn(p, "/acting-for", "/acting-for", notAbout, bad, bad, bad, bad),
		signedIn(g, "/caring", "/caring", notAbout, ok, ok, ok, ok),
		signedIn(g, "/caring/:id/give-up", "/caring/{caring}/give-up", notAbout, notFound, notFound, notFound, notFound).
			with(map[string]int{carerRole(fhir.SectionMedicines): ok}),
		signedIn(p, "/caring/:id/give-up", "/caring/{caring}/give-up", notAbout, notFound, notFound, notFound, notFound).
			with(map[string]int{carerRole(fhir.SectionMedicines): seeOther}),

		// Last: signing out ends the session.
		publicPost("/signout", seeOther),
	}
	// Every section, by its address.
	var sections []authzCase
	for _, s := range fhir.Sections() {
		sections = append(sections, signedIn(g, "/record/:section", "/record/"+s.Slug, s.Slug, ok, ok, ok, ok))
	}
	at := slices.IndexFunc(cases, func(c authzCase) bool { return c.route == "/record" }) + 1
	return slices.Insert(cases, at, sections...)
}

// world is everyone the matrix needs, made the same way for each role so ids match.
type world struct {
	f       *fixture
	cookies map[string]*http.Cookie
	csrf    map[string]string
	subject map[string]string // what each role's pages put in their forms as "for"
	ids     map[string]string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	f := newFixture(t)
	w := &world{f: f, cookies: map[string]*http.Cookie{}, csrf: map[string]string{}, subject: map[string]string{}, ids: map[string]string{}}
	signIn := func(role string, p store.Person) store.Account {
		acct, err := f.db.EnrolPasskey(ctx, p.ID, []byte("handle-"+p.NHSNumber), p.Name(), store.Passkey{CredentialID: []byte("cred-" + p.NHSNumber), PublicKey: []byte("k")})
		if err != nil {
			t.Fatal(err)
		}
		id, s, err := f.db.CreateSession(ctx, acct.ID, store.DefaultSessionPolicy())
		if err != nil {
			t.Fatal(err)
		}
		w.cookies[role], w.csrf[role], w.subject[role] = sessionCookie(t, id), s.CSRFToken, "self"
		return acct
	}
	jane := signIn(rolePatient, f.jane)
	amir := signIn(roleOther, f.amir)
	carer := func(role string, p store.Person, by store.Account, scopes []string) store.Grant {
		c := f.newCarer(t, role)
		w.cookies[role], w.csrf[role] = c.cookie, sessionCSRF(t, f, c.id)
		g := f.grant(t, p, by, c, scopes...)
		w.subject[role] = strconv.FormatInt(g.ID, 10)
		return g
	}
	for _, s := range store.CarerScopes() {
		g := carer(carerRole(s), f.jane, jane, roleScopes(s))
		if s == fhir.SectionMedicines {
			w.ids["{caring}"] = strconv.FormatInt(g.ID, 10)
		}
	}
	ended := carer(roleExpired, f.jane, jane, []string{fhir.SectionMedicines})
	if _, err := f.db.ChangeGrant(ctx, f.jane.ID, ended.ID, jane.ID, ended.Scopes, time.Now().Add(time.Second), grantLogged(jane, "changed "+ended.CarerName+"'s access")); err != nil {
		t.Fatal(err)
	}
	revoked := carer(roleRevoked, f.jane, jane, []string{fhir.SectionMedicines})
	if _, err := f.db.RevokeGrant(ctx, f.jane.ID, revoked.ID, jane.ID, grantLogged(jane, "stopped "+revoked.CarerName+"'s access")); err != nil {
		t.Fatal(err)
	}
	carer(roleOtherPerson, f.amir, amir, store.CarerScopes())
	inv, _, err := f.db.CreateInvitation(ctx, f.jane.ID, jane.ID, store.Invitation{CarerName: "Pending", Relationship: "friend", Scopes: []string{fhir.SectionMedicines}},
		grantLogged(jane, "invited Pending (friend)"))
	if err != nil {
		t.Fatal(err)
	}
	w.ids["{grant}"] = strconv.FormatInt(inv.ID, 10)
	sp, err := f.db.RecordSection(ctx, f.jane.ID, fhir.SectionMedicines, 1, 1)
	if err != nil || len(sp.Items) != 1 {
		t.Fatal("Jane has no medicine", err)
	}
	w.ids["{item}"] = strconv.FormatInt(sp.Items[0].ID, 10)
	pks, err := f.db.Passkeys(ctx, jane.ID)
	if err != nil {
		t.Fatal(err)
	}
	w.ids["{passkey}"] = strconv.FormatInt(pks[0].ID, 10)
	// The ended grant's end date passes.
	f.db.SetClock(func() time.Time { return time.Now().Add(time.Minute) })
	return w
}

func (w *world) fill(u string) string {
	for k, v := range w.ids {
		u = strings.ReplaceAll(u, k, v)
	}
	return u
}

// seesJane says whether the role may see Jane's medicines at all.
func seesJane(role string) bool {
	if role == rolePatient {
		return true
	}
	if !strings.HasPrefix(role, "carer:") {
		return false
	}
	return slices.Contains(fullScopes(strings.TrimPrefix(role, "carer:")), fhir.SectionMedicines)
}

func TestAuthorizationMatrix(t *testing.T) {
	cases := authzCases()

	// Every registered route has a case, and every case a registered route.
	probe := newFixture(t)
	registered := map[string]bool{}
	for _, r := range web.RoutesOf(probe.handler.(*web.Server)) {
		switch r.Method {
		case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
			registered[r.Method+" "+r.Path] = true
		}
	}
	covered := map[string]bool{}
	for _, c := range cases {
		key := c.method + " " + c.route
		covered[key] = true
		if !registered[key] {
			t.Errorf("matrix case for %s, which is not a route", key)
		}
	}
	for key := range registered {
		if !covered[key] {
			t.Errorf("route %s has no row in the authorization matrix (web/authz_test.go): say what each role gets", key)
		}
	}

	for _, role := range allRoles() {
		t.Run(role, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			for _, c := range cases {
				u := w.fill(c.url)
				var req *http.Request
				if c.method == http.MethodPost {
					form := url.Values{}
					if tok := w.csrf[role]; tok != "" {
						form.Set("csrf", tok)
						form.Set("for", w.subject[role])
					}
					req = httptest.NewRequest(c.method, u, strings.NewReader(form.Encode()))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				} else {
					req = httptest.NewRequest(c.method, u, nil)
				}
				if ck := w.cookies[role]; ck != nil {
					req.AddCookie(ck)
				}
				rec := httptest.NewRecorder()
				w.f.handler.ServeHTTP(rec, req)
				if got, want := rec.Code, c.want(role); got != want {
					t.Errorf("%s %s: status %d, want %d", c.method, u, got, want)
				}
				body, _ := io.ReadAll(rec.Result().Body)
				if !seesJane(role) && strings.Contains(string(body), "Metformin") {
					t.Errorf("%s %s shows Jane's medicine", c.method, u)
				}
			}
		})
	}
}

package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// rawReq sends path as written (no client-side normalisation of %-escapes).
func rawReq(f *fixture, method, path string, ck *http.Cookie) (int, string) {
	req := httptest.NewRequest(method, "/", nil)
	req.URL, _ = url.ParseRequestURI(path)
	req.RequestURI = path
	if ck != nil {
		req.AddCookie(ck)
	}
	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(b)
}

// TestAStoppedGrantOpensNothing (an authorization review): a stopped grant with every scope opens nothing of the record, by any route.
func TestAStoppedGrantOpensNothing(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.signIn(t, f.jane)
	addSodiumAndLetter(t, f)
	jane := f.ownAccount(t, f.jane)
	john := f.newCarer(t, "John Smith")
	g := f.grant(t, f.jane, jane, john, store.CarerScopes()...)
	meds, _ := f.db.RecordSection(ctx, f.jane.ID, fhir.SectionMedicines, 1, 10)
	docs, _ := f.db.RecordSection(ctx, f.jane.ID, fhir.SectionDocuments, 1, 10)
	tests, _ := f.db.ResultTests(ctx, f.jane.ID)
	med, doc0 := itoa(meds.Items[0].ID), itoa(docs.Items[0].ID)
	if _, err := f.db.RevokeGrant(ctx, f.jane.ID, g.ID, jane.ID, grantLogged(jane, "stopped")); err != nil {
		t.Fatal(err)
	}
	before := len(accessLog(t, f, f.jane))
	for _, p := range []string{"/record", "/record/medicines", "/record/item/" + med, "/record/item/" + doc0 + "/attachment/0",
		"/record/search?q=metformin", "/record/results", "/record/results/" + tests[0].Key, "/record/download", "/record/print",
		"/choices", "/choices/history", "/choices/research", "/choices/entry?item=" + med, "/choices/done/1",
		"/record/access-log", "/carers", "/carers/" + itoa(g.ID)} {
		code, body := rawReq(f, http.MethodGet, p, john.cookie)
		if code != http.StatusForbidden || strings.Contains(body, "Metformin") || strings.Contains(body, "Discharge letter text") {
			t.Errorf("GET %s after the grant stopped: %d", p, code)
		}
	}
	tok := sessionCSRF(t, f, john.id)
	for _, p := range []string{"/choices/research", "/choices/research/confirm", "/choices/entry", "/choices/entry/confirm", "/choices/deliveries/1/retry"} {
		if rec := f.post(t, p, john.cookie, url.Values{"csrf": {tok}, "for": {itoa(g.ID)}, "answer": {"no"}}); rec.Code != http.StatusForbidden {
			t.Errorf("POST %s after the grant stopped: %d", p, rec.Code)
		}
	}
	if added := accessLog(t, f, f.jane)[before:]; len(added) != 0 {
		t.Errorf("refused requests logged %v", added)
	}
}

// TestOddAddressesStayGuarded (an authorization review): escaped or odd addresses do not take a carer past maySection/mayItem/maySearch.
func TestOddAddressesStayGuarded(t *testing.T) {
	f := newFixture(t)
	f.signIn(t, f.jane)
	john := f.newCarer(t, "John Smith")
	f.grant(t, f.jane, f.ownAccount(t, f.jane), john, fhir.SectionConditions)
	sp, _ := f.db.RecordSection(context.Background(), f.jane.ID, fhir.SectionMedicines, 1, 10)
	id := itoa(sp.Items[0].ID)
	for _, p := range []string{"/record/%6Dedicines", "/record/medicines%2F", "/record/MEDICINES", "/record/medicines/", "/record//medicines",
		"/record/item/" + id, "/record/item/%2B" + id, "/record/item/0" + id, "/record/item/" + id + "/", "/record/item/?item=" + id,
		"/record/search?q=metformin", "/record/search?q=metformin&section=Medicines", "/record/%64ownload", "/record/%70rint",
		"/choices/entry?item=" + id} {
		if code, body := rawReq(f, http.MethodGet, p, john.cookie); strings.Contains(body, "Metformin") {
			t.Errorf("GET %s (%d) shows an ungranted medicine", p, code)
		}
	}
	for _, m := range []string{http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		for _, p := range []string{"/record/medicines", "/record/download", "/choices/research/confirm"} {
			if code, _ := rawReq(f, m, p, john.cookie); code < 400 {
				t.Errorf("%s %s: %d", m, p, code)
			}
		}
	}
}

// TestEveryCarerReadIsLogged (an authorization review): every page of the record a carer opens is one entry in the person's access log.
func TestEveryCarerReadIsLogged(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.signIn(t, f.jane)
	addSodiumAndLetter(t, f)
	john := f.newCarer(t, "John Smith")
	g := f.grant(t, f.jane, f.ownAccount(t, f.jane), john, store.CarerScopes()...)
	meds, _ := f.db.RecordSection(ctx, f.jane.ID, fhir.SectionMedicines, 1, 10)
	docs, _ := f.db.RecordSection(ctx, f.jane.ID, fhir.SectionDocuments, 1, 10)
	tests, _ := f.db.ResultTests(ctx, f.jane.ID)
	if rec := f.post(t, "/choices/research/confirm", john.cookie, url.Values{"csrf": {sessionCSRF(t, f, john.id)}, "for": {itoa(g.ID)}, "answer": {"no"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("change: %d", rec.Code)
	}
	for _, p := range []string{"/record", "/record/medicines", "/record/item/" + itoa(meds.Items[0].ID), "/record/item/" + itoa(docs.Items[0].ID) + "/attachment/0",
		"/record/search?q=metformin", "/record/results", "/record/results/" + tests[0].Key, "/record/print", "/record/download",
		"/choices", "/choices/history", "/choices/research", "/choices/entry?item=" + itoa(meds.Items[0].ID), "/choices/done/1"} {
		before := len(accessLog(t, f, f.jane))
		if resp := f.get(t, p, john.cookie); resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", p, resp.StatusCode)
		}
		if added := accessLog(t, f, f.jane)[before:]; len(added) != 1 {
			t.Errorf("%s logged %v, want one entry", p, added)
		}
	}
}

package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// TestACarerWhoIsAPatientStaysApart (an authorization review): a carer who is also a patient (Amir, acting for Jane) reaches none of Jane's own pages,
// and a form made for his own record changes nothing while he acts for her.
func TestACarerWhoIsAPatientStaysApart(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.signIn(t, f.jane)
	amirCk := f.signIn(t, f.amir)
	jane, amir := f.ownAccount(t, f.jane), f.ownAccount(t, f.amir)
	sess, _, _ := f.db.CreateSession(ctx, amir.ID, store.DefaultSessionPolicy())
	amirC := carerSession{acct: amir, id: sess, cookie: sessionCookie(t, sess)}
	g := f.grant(t, f.jane, jane, amirC, fhir.SectionMedicines, "choices")
	pks, _ := f.db.Passkeys(ctx, jane.ID)
	for _, p := range []string{"/record/access-log", "/carers", "/carers/" + itoa(g.ID), "/carers/invite", "/account/passkeys/" + itoa(pks[0].ID) + "/rename"} {
		if code, body := rawReq(f, http.MethodGet, p, amirC.cookie); code == http.StatusOK || strings.Contains(body, "John") {
			t.Errorf("GET %s while acting for Jane: %d", p, code)
		}
	}
	if rec := f.post(t, "/choices/research/confirm", amirC.cookie, url.Values{"csrf": {sessionCSRF(t, f, amirC.id)}, "for": {"self"}, "answer": {"no"}}); rec.Code != http.StatusConflict {
		t.Errorf("a form for his own record, sent while acting for Jane: %d", rec.Code)
	}
	for _, p := range []int64{f.jane.ID, f.amir.ID} {
		if h, _ := f.db.ConsentHistory(ctx, p); len(h) != 0 {
			t.Errorf("person %d choices changed", p)
		}
	}
	_ = amirCk
}

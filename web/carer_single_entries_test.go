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

// TestACarerIsNotToldOfSingleEntriesKeptOut: a carer managing the person's
// choices reads the same choices page, and the same history, whether or not
// the person keeps a single entry out of sharing: not how many, nor when
// (a product review: "One single entry is kept out of sharing" and "A single
// entry: kept out of sharing, 29 November"). The confirmation of the
// person's change is the person's alone. Before keeping an entry out, the
// carer is told that only the person can share it again.
func TestACarerIsNotToldOfSingleEntriesKeptOut(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	jane := f.signIn(t, f.jane)
	john := f.newCarer(t, "John Smith")
	f.grant(t, f.jane, f.ownAccount(t, f.jane), john, store.ScopeChoices, fhir.SectionMedicines)
	pages := func() map[string]string {
		t.Helper()
		out := map[string]string{}
		for _, path := range []string{"/choices", "/choices/history"} {
			resp := f.get(t, path, john.cookie)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: %d", path, resp.StatusCode)
			}
			out[path] = strings.Join(strings.Fields(doc(t, resp).Find("main").Text()), " ")
		}
		return out
	}
	before := pages()
	if strings.Contains(before["/choices"], "single entry is") {
		t.Errorf("John's choices page counts entries kept out: %q", before["/choices"])
	}
	sec, err := f.db.RecordSection(ctx, f.jane.ID, fhir.SectionMedicines, 1, 10)
	if err != nil || len(sec.Items) == 0 {
		t.Fatalf("%v %+v", err, sec.Items)
	}
	hint := strings.Join(strings.Fields(doc(t, f.get(t, "/choices/entry?item="+itoa(sec.Items[0].ID), john.cookie)).Find("main").Text()), " ")
	if !strings.Contains(hint, "only Jane Example can share it again") {
		t.Errorf("before John keeps an entry out he is not told only Jane can share it again: %q", hint)
	}
	token := csrfOf(t, f, jane)
	if rec := f.post(t, "/choices/entry/confirm", jane, url.Values{"csrf": {token}, "for": {"self"}, "key": {store.ItemKey(sec.Items[0])}, "answer": {"yes"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("Jane keeps the entry out: %d", rec.Code)
	}
	after := pages()
	for path, was := range before {
		if after[path] != was {
			t.Errorf("John's %s changed when Jane kept an entry out:\nbefore %q\nafter  %q", path, was, after[path])
		}
	}
	hist, err := f.db.ConsentHistory(ctx, f.jane.ID)
	if err != nil || len(hist) == 0 {
		t.Fatal(hist, err)
	}
	if resp := f.get(t, "/choices/done/"+itoa(hist[0].ID), john.cookie); resp.StatusCode != http.StatusNotFound {
		t.Errorf("John opens the confirmation of Jane's change: %d, want 404", resp.StatusCode)
	}
	if resp := f.get(t, "/choices/done/"+itoa(hist[0].ID), jane); resp.StatusCode != http.StatusOK {
		t.Errorf("Jane opens the confirmation of her change: %d", resp.StatusCode)
	}
}

package web_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

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

// TestACarerIsNotToldOfSingleEntriesByTheirDeliveries: John's change was not
// accepted by the hospital; Jane then keeps one of her own entries out, a
// change sent to the hospital too, carrying every choice. John's pages never
// say a later change was sent: his change is shown as that one stands at
// the hospital, so once the hospital has refused it too his pages read as
// before, and sending his again sends it (reviews: "A later change, with all
// Jane Example's choices, has been sent to them since", "Try sending again"
// gone, and a retry answered but nothing sent).
func TestACarerIsNotToldOfSingleEntriesByTheirDeliveries(t *testing.T) {
	ctx := context.Background()
	sc := newHospitalScene(t)
	f, jane, john, forJane := sc.f, sc.jane, sc.john, sc.forJane
	johnToken := sessionCSRF(t, f, john.id)
	if rec := f.post(t, "/choices/research/confirm", john.cookie, url.Values{"csrf": {johnToken}, "for": {forJane}, "answer": {"no"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("John's change: %d", rec.Code)
	}
	items, err := f.db.ClaimConsentOutbox(ctx, 10, time.Minute)
	if err != nil || len(items) != 1 {
		t.Fatalf("claimed %d deliveries (%v); want John's to the hospital", len(items), err)
	}
	if err := f.db.ConsentNotDelivered(ctx, items[0], "refused", time.Time{}); err != nil {
		t.Fatal(err)
	}
	pages := sc.johnsPages
	before := pages(t)
	if !strings.Contains(before["/choices/history"], "Try sending again") {
		t.Fatalf("John's history does not offer to send his change again: %q", before["/choices/history"])
	}
	sc.janeKeepsOutTheGPsMedicine(t)
	waiting := pages(t)
	if h := waiting["/choices/history"]; strings.Contains(h, "A later change") || !strings.Contains(h, "Waiting to send to Leeds Teaching Hospitals") {
		t.Errorf("John's history, Jane's change waiting to be sent: %q; want his shown as waiting, no later change named", h)
	}
	// The hospital refuses Jane's change too: John's pages read as before.
	jane2, err := f.db.ClaimConsentOutbox(ctx, 10, time.Minute)
	if err != nil || len(jane2) != 1 {
		t.Fatalf("claimed %d deliveries (%v); want Jane's to the hospital", len(jane2), err)
	}
	if err := f.db.ConsentNotDelivered(ctx, jane2[0], "refused", time.Time{}); err != nil {
		t.Fatal(err)
	}
	after := pages(t)
	for path, was := range before {
		if after[path] != was {
			t.Errorf("John's %s changed when Jane kept an entry out:\nbefore %q\nafter  %q", path, was, after[path])
		}
	}
	// Sending his again sends the change that carries every choice, his among them.
	if rec := f.post(t, "/choices/deliveries/"+itoa(items[0].ID)+"/retry", john.cookie, url.Values{"csrf": {johnToken}, "for": {forJane}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("John sends his change again: %d", rec.Code)
	}
	again, err := f.db.ClaimConsentOutbox(ctx, 10, time.Minute)
	if err != nil || len(again) != 1 || again[0].ID != jane2[0].ID {
		t.Errorf("after John's retry, %d deliveries claimed (%v); want the hospital's newest, which carries every choice", len(again), err)
	}
	// The confirmation of his own change names no later change either.
	if got := strings.Join(strings.Fields(doc(t, f.get(t, "/choices/done/"+itoa(items[0].DecisionID), john.cookie)).Find("main").Text()), " "); strings.Contains(got, "A later change") {
		t.Errorf("John's confirmation of his change names a later change: %q", got)
	}
	// A later change he is shown (Jane's planning) overtakes his, as it does for Jane.
	if rec := f.post(t, "/choices/planning/confirm", jane, url.Values{"csrf": {csrfOf(t, f, jane)}, "for": {"self"}, "answer": {"no"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("Jane's planning change: %d", rec.Code)
	}
	if h, err := f.db.ConsentHistory(ctx, f.jane.ID); err != nil || len(h) != 3 || len(h[0].Deliveries) != 1 {
		t.Fatalf("after Jane's planning change, %d changes (%v); want 3, the newest sent to the hospital", len(h), err)
	}
	if rec := f.post(t, "/choices/deliveries/"+itoa(items[0].ID)+"/retry", john.cookie, url.Values{"csrf": {johnToken}, "for": {forJane}}); rec.Code != http.StatusNotFound {
		t.Errorf("John sends again a change Jane's later one, which he is shown, overtook: %d, want 404 as for Jane", rec.Code)
	}
}

// TestACarersSentChangeStaysSent: John's change reached the hospital; a
// later change of Jane's he is not shown is refused there: his change still
// says it was sent (a third review: "Not accepted", with "Try sending
// again", for a change that had reached them).
func TestACarersSentChangeStaysSent(t *testing.T) {
	sc := newHospitalScene(t)
	sc.johnChangesResearch(t)
	if sc.settle(t, true) != 1 {
		t.Fatal("John's change was not sent to the hospital")
	}
	sc.janeKeepsOutTheGPsMedicine(t)
	if sc.settle(t, false) != 1 {
		t.Fatal("Jane's change was not sent to the hospital")
	}
	for path, got := range sc.johnsPages(t) {
		if !strings.Contains(got, "Sent to Leeds Teaching Hospitals") || strings.Contains(got, "Not accepted") {
			t.Errorf("John's %s: %q; want his change still sent", path, got)
		}
	}
}

// TestACarerIsNotToldOfAResendForAnEntryKeptOut: Jane keeps her GP's
// Metformin out; John's change reaches the hospital; the hospital then comes
// to hold the Metformin too, so John's change, the latest, is sent there
// again, naming it. John's pages read as before throughout (a fourth review:
// "Waiting to send again … naming what they now hold", then "Sent again").
func TestACarerIsNotToldOfAResendForAnEntryKeptOut(t *testing.T) {
	sc := newHospitalScene(t)
	sc.janeKeepsOutTheGPsMedicine(t)
	sc.johnChangesResearch(t)
	for sc.settle(t, true) > 0 { // one at a time to each organisation, in order
	}
	sc.resendUnseen(t, "John's change")
}

// hospitalScene is Jane, known to a hospital too: a FHIR server, sent her
// choices, that shows John, her carer for her choices and medicines, a
// medicine of its own, so his pages name it.
type hospitalScene struct {
	f       *fixture
	jane    *http.Cookie
	john    carerSession
	forJane string
}

func newHospitalScene(t *testing.T) hospitalScene {
	t.Helper()
	ctx := context.Background()
	f := newFixture(t)
	if _, err := f.db.AddSource(ctx, store.Source{Name: "lth", OrgName: "Leeds Teaching Hospitals", BaseURL: "http://127.0.0.1:1/lth"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.ImportResources(ctx, store.ImportOptions{Source: "lth"}, "test", []fhir.Resource{patient("jane-lth", "9434765919", "Jane", "Example", "1957-03-14"),
		medicine("m-lth", "jane-lth", "Ramipril 5mg capsules")}); err != nil {
		t.Fatal(err)
	}
	sc := hospitalScene{f: f, jane: f.signIn(t, f.jane), john: f.newCarer(t, "John Smith")}
	sc.forJane = itoa(f.grant(t, f.jane, f.ownAccount(t, f.jane), sc.john, store.ScopeChoices, fhir.SectionMedicines).ID)
	return sc
}

// johnChangesResearch: John answers no to research for Jane.
func (sc hospitalScene) johnChangesResearch(t *testing.T) {
	t.Helper()
	if rec := sc.f.post(t, "/choices/research/confirm", sc.john.cookie, url.Values{"csrf": {sessionCSRF(t, sc.f, sc.john.id)}, "for": {sc.forJane}, "answer": {"no"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("John's change: %d", rec.Code)
	}
}

// janeKeepsOutTheGPsMedicine: Jane keeps her GP's Metformin out of sharing, which John is not shown.
func (sc hospitalScene) janeKeepsOutTheGPsMedicine(t *testing.T) {
	t.Helper()
	sec, err := sc.f.db.RecordSection(context.Background(), sc.f.jane.ID, fhir.SectionMedicines, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	gp := slices.IndexFunc(sec.Items, func(it store.RecordItem) bool { return it.Source.Name == "gp" })
	if gp < 0 {
		t.Fatalf("Jane has no medicine from the GP: %+v", sec.Items)
	}
	if rec := sc.f.post(t, "/choices/entry/confirm", sc.jane, url.Values{"csrf": {csrfOf(t, sc.f, sc.jane)}, "for": {"self"}, "key": {store.ItemKey(sec.Items[gp])}, "answer": {"yes"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("Jane keeps the entry out: %d", rec.Code)
	}
}

// settle claims the deliveries waiting and has each delivered, or refused,
// returning how many there were.
func (sc hospitalScene) settle(t *testing.T, deliver bool) int {
	t.Helper()
	ctx := context.Background()
	items, err := sc.f.db.ClaimConsentOutbox(ctx, 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if deliver {
			err = sc.f.db.ConsentDelivered(ctx, it, "consent-lth", "1")
		} else {
			err = sc.f.db.ConsentNotDelivered(ctx, it, "refused", time.Time{})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return len(items)
}

// johnsPages are John's choices page and history, as their words read.
func (sc hospitalScene) johnsPages(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, path := range []string{"/choices", "/choices/history"} {
		out[path] = strings.Join(strings.Fields(doc(t, sc.f.get(t, path, sc.john.cookie)).Find("main").Text()), " ")
	}
	return out
}

// TestACarerIsNotToldOfAResendOfAChangeTheyAreNotShown: John's change was
// refused; Jane's later change, which John is not shown, reached the
// hospital, so John's reads as sent; the hospital then comes to hold the
// entry Jane keeps out, and her change is sent again: John's pages stay as
// they were (a fifth review: "Waiting", then "Not accepted").
func TestACarerIsNotToldOfAResendOfAChangeTheyAreNotShown(t *testing.T) {
	sc := newHospitalScene(t)
	sc.johnChangesResearch(t)
	sc.settle(t, false)
	sc.janeKeepsOutTheGPsMedicine(t)
	if sc.settle(t, true) != 1 {
		t.Fatal("Jane's change was not sent to the hospital")
	}
	sc.resendUnseen(t, "Jane's change")
}

// resendUnseen has the hospital come to hold the Metformin Jane keeps out,
// so the latest change, whose (what), is sent there again naming it, and
// checks that John's pages read as they did before, while it waits and once
// refused: claiming queues the resend, and claimed it is waiting.
func (sc hospitalScene) resendUnseen(t *testing.T, what string) {
	t.Helper()
	ctx := context.Background()
	before := sc.johnsPages(t)
	if _, err := sc.f.db.ImportResources(ctx, store.ImportOptions{Source: "lth"}, "test", []fhir.Resource{medicine("m-lth2", "jane-lth", "Metformin 500mg tablets")}); err != nil {
		t.Fatal(err)
	}
	items, err := sc.f.db.ClaimConsentOutbox(ctx, 10, time.Minute)
	if err != nil || len(items) != 1 || !items[0].Refresh {
		t.Fatalf("claimed %d deliveries (%v); want %s, sent to the hospital again naming the Metformin it now holds", len(items), err, what)
	}
	for _, step := range []string{"waiting", "refused"} {
		if step == "refused" {
			if err := sc.f.db.ConsentNotDelivered(ctx, items[0], "refused", time.Time{}); err != nil {
				t.Fatal(err)
			}
		}
		for path, was := range before {
			if got := sc.johnsPages(t)[path]; got != was {
				t.Errorf("John's %s, %s sent again and %s:\nbefore %q\nafter  %q", path, what, step, was, got)
			}
		}
	}
}

package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// csrfOf reads the CSRF token from a signed-in page.
func csrfOf(t *testing.T, f *fixture, cookie *http.Cookie) string {
	t.Helper()
	d := doc(t, f.get(t, "/choices", cookie))
	token, ok := d.Find(`meta[name="csrf-token"]`).Attr("content")
	if !ok || token == "" {
		token, _ = d.Find(`input[name="csrf"]`).First().Attr("value")
	}
	if token == "" {
		t.Fatal("no CSRF token on /choices")
	}
	return token
}

func recDoc(t *testing.T, rec *httptest.ResponseRecorder) *goquery.Document {
	t.Helper()
	d, err := goquery.NewDocumentFromReader(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestChoicesPages(t *testing.T) {
	f := newFixture(t)
	jane := f.signIn(t, f.jane)
	token := csrfOf(t, f, jane)

	t.Run("summary", func(t *testing.T) {
		resp := f.get(t, "/choices", jane)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		d := doc(t, resp)
		if got := d.Find("h1").Text(); got != "Your choices" {
			t.Errorf("h1 %q", got)
		}
		if n := d.Find(".nhsuk-summary-list__actions a").Length(); n != 6 {
			t.Errorf("%d Change links, want 6 (three uses, three kinds of information)", n)
		}
		if got := d.Find("main").Text(); !strings.Contains(got, "You have not changed this") {
			t.Errorf("summary does not say where the choices came from: %q", got)
		}
	})

	t.Run("question page with the current answer", func(t *testing.T) {
		d := doc(t, f.get(t, "/choices/research", jane))
		if d.Find("h1").Length() != 1 || !strings.Contains(d.Find("legend h1").Text(), "research") {
			t.Errorf("heading %q", d.Find("h1").Text())
		}
		if v, _ := d.Find(`input[name="answer"][checked]`).Attr("value"); v != "yes" {
			t.Errorf("checked %q, want yes (the standard setting)", v)
		}
	})

	t.Run("nothing chosen", func(t *testing.T) {
		rec := f.post(t, "/choices/research", jane, url.Values{"csrf": {token}, "for": {"self"}})
		if rec.Code != http.StatusBadRequest {
			t.Fatalf("status %d", rec.Code)
		}
		d := recDoc(t, rec)
		if n := d.Find(`.nhsuk-error-summary a[href="#answer"]`).Length(); n != 1 {
			t.Errorf("error summary links to #answer %d times", n)
		}
		if !strings.HasPrefix(d.Find("title").Text(), "Error: ") || d.Find(".nhsuk-form-group--error #answer-error").Length() != 1 {
			t.Errorf("error not shown on the field or in the title")
		}
	})

	t.Run("no CSRF token", func(t *testing.T) {
		if rec := f.post(t, "/choices/research/confirm", jane, url.Values{"answer": {"no"}}); rec.Code != http.StatusForbidden {
			t.Fatalf("status %d, want 403", rec.Code)
		}
	})

	t.Run("unknown choice", func(t *testing.T) {
		if resp := f.get(t, "/choices/astrology", jane); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})

	t.Run("check, confirm, confirmation, history", func(t *testing.T) {
		rec := f.post(t, "/choices/research", jane, url.Values{"csrf": {token}, "for": {"self"}, "answer": {"no"}})
		if rec.Code != http.StatusOK {
			t.Fatalf("check: status %d", rec.Code)
		}
		d := recDoc(t, rec)
		if got := d.Find("h1").Text(); got != "Check your change" {
			t.Fatalf("h1 %q", got)
		}
		if a, _ := d.Find(`form[action="/choices/research/confirm"] input[name="answer"]`).Attr("value"); a != "no" {
			t.Fatalf("confirm form carries answer %q", a)
		}
		// Nothing changes until confirmed.
		if ch, _ := f.db.ConsentChoices(context.Background(), f.jane.ID); !ch.State.Research {
			t.Fatal("changed before confirming")
		}
		rec = f.post(t, "/choices/research/confirm", jane, url.Values{"csrf": {token}, "for": {"self"}, "answer": {"no"}})
		if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/choices/done/") {
			t.Fatalf("confirm: %d to %q", rec.Code, rec.Header().Get("Location"))
		}
		d = doc(t, f.get(t, rec.Header().Get("Location"), jane))
		panel := d.Find(".nhsuk-panel").Text()
		if !strings.Contains(panel, "Your choice has been saved") || !strings.Contains(panel, "you do not want your data to be used for research") || !strings.Contains(panel, "From ") {
			t.Errorf("panel %q", panel)
		}
		d = doc(t, f.get(t, "/choices/history", jane))
		hist := d.Find("main").Text()
		for _, want := range []string{"Research: no", "You", "kept in My Care Record"} {
			if !strings.Contains(hist, want) {
				t.Errorf("history lacks %q: %q", want, hist)
			}
		}
		d = doc(t, f.get(t, "/choices", jane))
		if got := d.Find("main").Text(); !strings.Contains(got, "ResearchNo Set by you on") {
			t.Errorf("summary after the change: %q", got)
		}
		// The change is on the access log.
		log, err := f.db.AccessLog(context.Background(), f.jane.ID, 50)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, a := range log {
			if a.Action == "choice" && a.What == "do not use your record for research" {
				found = true
			}
		}
		if !found {
			t.Errorf("no access log entry for the change: %+v", log)
		}
		// Another person's change cannot be opened.
		amir := f.signIn(t, f.amir)
		if resp := f.get(t, rec.Header().Get("Location"), amir); resp.StatusCode != http.StatusNotFound {
			t.Errorf("Amir opens Jane's change: %d", resp.StatusCode)
		}
	})

	t.Run("each kind of information", func(t *testing.T) {
		for _, c := range store.Categories() {
			rec := f.post(t, "/choices/"+c+"/confirm", jane, url.Values{"csrf": {token}, "for": {"self"}, "answer": {"yes"}})
			if rec.Code != http.StatusSeeOther {
				t.Fatalf("%s: status %d", c, rec.Code)
			}
		}
		ch, err := f.db.ConsentChoices(context.Background(), f.jane.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(ch.State.Withheld) != 3 {
			t.Errorf("withheld %v", ch.State.Withheld)
		}
	})
}

func TestKeepAnEntryOutOfSharing(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	jane := f.signIn(t, f.jane)
	token := csrfOf(t, f, jane)
	sec, err := f.db.RecordSection(ctx, f.jane.ID, fhir.SectionMedicines, 1, 10)
	if err != nil || len(sec.Items) != 1 {
		t.Fatalf("%v %+v", err, sec.Items)
	}
	item := sec.Items[0]
	d := doc(t, f.get(t, "/record/item/"+itoa(item.ID), jane))
	href, ok := d.Find(`a:contains("Keep this out of sharing")`).Attr("href")
	if !ok || href != "/choices/entry?item="+itoa(item.ID) {
		t.Fatalf("entry page link %q", href)
	}
	d = doc(t, f.get(t, href, jane))
	key, _ := d.Find(`input[name="key"]`).Attr("value")
	if key == "" || !strings.Contains(d.Find("legend").Text(), "Metformin") {
		t.Fatalf("question page for the entry: key %q, legend %q", key, d.Find("legend").Text())
	}
	if d.Find(`input[name="answer"][checked]`).Length() != 0 {
		t.Error("an answer is chosen before the person chose one")
	}
	// Back goes to the entry it came from (a review: only to the choices),
	// and still does once sent with no answer (a later review).
	if back := d.Find("a.nhsuk-back-link"); back.AttrOr("href", "") != "/record/item/"+itoa(item.ID) || !strings.Contains(back.Text(), "Back to Metformin") {
		t.Errorf("the question's back link: %q to %q; want back to the entry", back.Text(), back.AttrOr("href", ""))
	}
	unanswered := url.Values{"csrf": {token}, "for": {"self"}, "key": {key}, "item": {d.Find(`input[name="item"]`).AttrOr("value", "")}}
	if rec := f.post(t, "/choices/entry", jane, unanswered); rec.Code != http.StatusBadRequest ||
		docOf(t, rec.Body.String()).Find("a.nhsuk-back-link").AttrOr("href", "") != "/record/item/"+itoa(item.ID) {
		t.Errorf("sent with no answer (%d), the question goes back to %q; want the entry", rec.Code, docOf(t, rec.Body.String()).Find("a.nhsuk-back-link").AttrOr("href", ""))
	}
	before := len(accessLog(t, f, f.jane))
	// The answer it has now changes nothing, shows nothing of the entry, and logs nothing.
	if rec := f.post(t, "/choices/entry", jane, url.Values{"csrf": {token}, "for": {"self"}, "key": {key}, "answer": {"no"}}); rec.Code != http.StatusSeeOther ||
		rec.Header().Get("Location") != "/choices?done=unchanged" {
		t.Fatalf("the same answer: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	if log := accessLog(t, f, f.jane); len(log) != before {
		t.Errorf("the same answer, which shows nothing, was logged as a look at the entry: %q", log[before:])
	}
	rec := f.post(t, "/choices/entry", jane, url.Values{"csrf": {token}, "for": {"self"}, "key": {key}, "answer": {"yes"}})
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Check your change") {
		t.Fatalf("check: %d", rec.Code)
	}
	// "Check your change" names the entry, so it is a look at the record.
	if log := accessLog(t, f, f.jane); len(log) != before+1 || !strings.Contains(log[len(log)-1], "choices: Metformin") {
		t.Errorf("the check page was not logged as a look at the entry: %q", log[before:])
	}
	rec = f.post(t, "/choices/entry/confirm", jane, url.Values{"csrf": {token}, "for": {"self"}, "key": {key}, "answer": {"yes"}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("confirm: %d %s", rec.Code, rec.Body.String())
	}
	// The person's own pages label it.
	d = doc(t, f.get(t, "/record/medicines", jane))
	if got := d.Find(".mcr-withheld-tag").Length(); got != 1 {
		t.Errorf("medicines page labels %d entries as kept out of sharing, want 1", got)
	}
	d = doc(t, f.get(t, "/record/item/"+itoa(item.ID), jane))
	if !strings.Contains(d.Find("main").Text(), "Kept out of sharing") {
		t.Error("entry page does not say it is kept out of sharing")
	}
	d = doc(t, f.get(t, "/record/search?q=metformin", jane))
	if got := d.Find(".mcr-withheld-tag").Length(); got != 1 {
		t.Errorf("search results label %d entries as kept out of sharing, want 1", got)
	}
	d = doc(t, f.get(t, "/choices", jane))
	if !strings.Contains(d.Find("main").Text(), "Metformin") {
		t.Error("choices page does not list the entry")
	}
	// Another person's entry cannot be kept out (or even named) by id or by key.
	amirSec, _ := f.db.RecordSection(ctx, f.amir.ID, fhir.SectionMedicines, 1, 10)
	if resp := f.get(t, "/choices/entry?item="+itoa(amirSec.Items[0].ID), jane); resp.StatusCode != http.StatusNotFound {
		t.Errorf("Jane opens Amir's entry: %d", resp.StatusCode)
	}
	rec = f.post(t, "/choices/entry/confirm", jane, url.Values{"csrf": {token}, "for": {"self"}, "key": {store.ItemKey(amirSec.Items[0])}, "answer": {"yes"}})
	if rec.Code != http.StatusNotFound {
		t.Errorf("Jane keeps Amir's entry out: %d", rec.Code)
	}
	// And it can be shared again.
	rec = f.post(t, "/choices/entry/confirm", jane, url.Values{"csrf": {token}, "for": {"self"}, "key": {key}, "answer": {"no"}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("share again: %d", rec.Code)
	}
	d = doc(t, f.get(t, "/record/medicines", jane))
	if got := d.Find(".mcr-withheld-tag").Length(); got != 0 {
		t.Errorf("still labelled after sharing again")
	}
}

// TestCarerAndWithheldEntries: what Jane keeps out of sharing is not shown to
// her carer anywhere, not even by name on the choices pages, and only she can
// share it again.
func TestCarerAndWithheldEntries(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	jane := f.signIn(t, f.jane)
	john := f.newCarer(t, "John Smith")
	scopes := []string{store.ScopeChoices, store.ScopeDownload}
	for _, sec := range fhir.Sections() {
		scopes = append(scopes, sec.Slug)
	}
	forJane := itoa(f.grant(t, f.jane, f.ownAccount(t, f.jane), john, scopes...).ID)
	sec, err := f.db.RecordSection(ctx, f.jane.ID, fhir.SectionMedicines, 1, 10)
	if err != nil || len(sec.Items) != 1 {
		t.Fatalf("%v %+v", err, sec.Items)
	}
	item := sec.Items[0]
	key := store.ItemKey(item)
	if resp := f.get(t, "/record/medicines", john.cookie); !strings.Contains(doc(t, resp).Find("main").Text(), "Metformin") {
		t.Fatal("the carer does not see the medicine before it is kept out")
	}
	token := csrfOf(t, f, jane)
	if rec := f.post(t, "/choices/entry/confirm", jane, url.Values{"csrf": {token}, "for": {"self"}, "key": {key}, "answer": {"yes"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("keep out: %d", rec.Code)
	}
	for _, path := range []string{"/record", "/record/medicines", "/choices", "/choices/history", "/record/search?q=metformin"} {
		resp := f.get(t, path, john.cookie)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d", path, resp.StatusCode)
			continue
		}
		if got := doc(t, resp).Find("main").Text(); strings.Contains(got, "Metformin") {
			t.Errorf("%s shows the carer the entry kept out of sharing: %q", path, got)
		}
	}
	if resp := f.get(t, "/record/item/"+itoa(item.ID), john.cookie); resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusForbidden {
		t.Errorf("carer opens the entry: %d", resp.StatusCode)
	}
	resp := f.get(t, "/record/download", john.cookie)
	body, _ := io.ReadAll(resp.Body)
	if strings.Contains(string(body), "Metformin") {
		t.Error("the carer's download holds the entry kept out of sharing")
	}
	// To John the entry's key is as unknown as a key of nothing at all: a key is made of codes.
	if resp := f.get(t, "/choices/entry?key="+url.QueryEscape(key), john.cookie); resp.StatusCode != http.StatusNotFound {
		t.Errorf("carer opens share-again: %d, want 404", resp.StatusCode)
	}
	johnToken := sessionCSRF(t, f, john.id)
	if rec := f.post(t, "/choices/entry/confirm", john.cookie, url.Values{"csrf": {johnToken}, "for": {forJane}, "key": {key}, "answer": {"no"}}); rec.Code != http.StatusNotFound {
		t.Errorf("carer shares it again: %d, want 404", rec.Code)
	}
	// Nor does the page that confirms Jane's change name it to him.
	hist, err := f.db.ConsentHistory(ctx, f.jane.ID)
	if err != nil || len(hist) == 0 {
		t.Fatal(hist, err)
	}
	if got := doc(t, f.get(t, "/choices/done/"+itoa(hist[0].ID), john.cookie)).Find("main").Text(); strings.Contains(got, "Metformin") {
		t.Errorf("the confirmation of Jane's change names the entry to John: %q", got)
	}
	// His download holds neither who looked at her record nor her choices.
	hospitalAudit(t, f)
	resp = f.get(t, "/record/download", john.cookie)
	body, _ = io.ReadAll(resp.Body)
	for _, never := range []string{`"AuditEvent"`, `"Consent"`, `"RelatedPerson"`} {
		if strings.Contains(string(body), never) {
			t.Errorf("the carer's download holds a %s", never)
		}
	}
	if body := readAll(f.get(t, "/record/download", jane)); !strings.Contains(body, `"AuditEvent"`) || !strings.Contains(body, `"RelatedPerson"`) {
		t.Error("Jane's own download lacks the audit trail or her carers")
	}
	// Jane still sees it, labelled.
	if got := doc(t, f.get(t, "/record/medicines", jane)).Find(".mcr-withheld-tag").Length(); got != 1 {
		t.Errorf("Jane's page labels %d entries", got)
	}
	// A category Jane keeps out of sharing only she can share again: John lifting it would see it.
	if rec := f.post(t, "/choices/entry/confirm", jane, url.Values{"csrf": {token}, "for": {"self"}, "key": {key}, "answer": {"no"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("Jane shares the entry again: %d", rec.Code)
	}
	mental := store.WithholdQuestion(store.CategoryMentalHealth)
	slug := store.ConsentQuestionSlug(mental)
	if rec := f.post(t, "/choices/"+slug+"/confirm", jane, url.Values{"csrf": {token}, "for": {"self"}, "answer": {"yes"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("Jane keeps mental health out: %d", rec.Code)
	}
	if resp := f.get(t, "/choices/"+slug, john.cookie); resp.StatusCode != http.StatusForbidden {
		t.Errorf("John opens the mental health question: %d, want 403", resp.StatusCode)
	}
	if rec := f.post(t, "/choices/"+slug+"/confirm", john.cookie, url.Values{"csrf": {johnToken}, "for": {forJane}, "answer": {"no"}}); rec.Code != http.StatusForbidden {
		t.Errorf("John lifts mental health: %d, want 403", rec.Code)
	}
	if st, err := f.db.ConsentChoices(ctx, f.jane.ID); err != nil || !st.State.Withholds(store.CategoryMentalHealth) {
		t.Errorf("after John's try, mental health is no longer kept out (%v)", err)
	}
	// An entry kept out by its category is as unknown to John as a key of nothing at all.
	depression, err := fhir.ParseResource([]byte(`{"resourceType":"Condition","id":"c-dep","subject":{"reference":"Patient/jane"},` +
		`"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"F32.1","display":"Moderate depressive episode"}]},"recordedDate":"2024-02-01"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.ImportResources(ctx, store.ImportOptions{Source: "gp"}, "test", []fhir.Resource{depression}); err != nil {
		t.Fatal(err)
	}
	conditions, err := f.db.RecordSection(ctx, f.jane.ID, fhir.SectionConditions, 1, 10)
	if err != nil || len(conditions.Items) != 1 {
		t.Fatalf("Jane's conditions: %+v, %v", conditions.Items, err)
	}
	for _, k := range []string{store.ItemKey(conditions.Items[0]), "conditions|http://hl7.org/fhir/sid/icd-10|F99"} {
		rec := f.post(t, "/choices/entry", john.cookie, url.Values{"csrf": {johnToken}, "for": {forJane}, "key": {k}, "answer": {"yes"}})
		if rec.Code != http.StatusNotFound || strings.Contains(rec.Body.String(), "depressive") {
			t.Errorf("John asks to keep out %s: %d, want 404 naming nothing", k, rec.Code)
		}
	}
	choices := doc(t, f.get(t, "/choices", john.cookie))
	if choices.Find(`a[href="/choices/`+slug+`"]`).Length() != 0 || !strings.Contains(choices.Find("main").Text(), "Only Jane Example can share this again") {
		t.Error("John's choices page offers to change what Jane keeps out, or does not say why not")
	}
	// A change John makes is his, acting for Jane, in her history.
	if rec := f.post(t, "/choices/research/confirm", john.cookie, url.Values{"csrf": {johnToken}, "for": {forJane}, "answer": {"no"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("carer changes research: %d", rec.Code)
	}
	if got := doc(t, f.get(t, "/choices/history", jane)).Find("main").Text(); !strings.Contains(got, "John Smith (son), acting for you") {
		t.Errorf("Jane's history does not name John: %q", got)
	}
}

// TestDeliveryStatusAndRetry: the history says in words how each change went
// at each organisation, and offers to send a refused one again, until a
// later change is queued for that organisation: that one carries every
// choice, and the older must not be sent after it.
func TestDeliveryStatusAndRetry(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	if _, err := f.db.AddSource(ctx, store.Source{Name: "yh", OrgName: "Yorkshire and Humber Care Record", BaseURL: "http://127.0.0.1:1/fhir"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.ImportResources(ctx, store.ImportOptions{Source: "yh"}, "test", []fhir.Resource{patient("jane-yh", "9434765919", "Jane", "Example", "1957-03-14")}); err != nil {
		t.Fatal(err)
	}
	jane := f.signIn(t, f.jane)
	token := csrfOf(t, f, jane)
	answer := func(a string) {
		t.Helper()
		if rec := f.post(t, "/choices/research/confirm", jane, url.Values{"csrf": {token}, "for": {"self"}, "answer": {a}}); rec.Code != http.StatusSeeOther {
			t.Fatalf("confirm: %d", rec.Code)
		}
	}
	answer("no")
	items, err := f.db.ClaimConsentOutbox(ctx, 10, time.Minute)
	if err != nil || len(items) != 1 {
		t.Fatalf("claim %v %+v", err, items)
	}
	if err := f.db.ConsentNotDelivered(ctx, items[0], "The server answered 422 Unprocessable Entity. The server said: Consent.patient is required", time.Time{}); err != nil {
		t.Fatal(err)
	}
	d := doc(t, f.get(t, "/choices/history", jane))
	hist := strings.Join(strings.Fields(d.Find("main").Text()), " ")
	if want := "Not accepted by Yorkshire and Humber Care Record."; !strings.Contains(hist, want) {
		t.Errorf("history lacks %q: %q", want, hist)
	}
	if strings.Contains(hist, "422") || strings.Contains(hist, "Consent.patient") {
		t.Errorf("the history shows the server's technical reason to the patient: %q", hist)
	}
	action, ok := d.Find(`form[action^="/choices/deliveries/"] button`).Parent().Attr("action")
	if !ok {
		t.Fatal("no button to send the refused change again")
	}
	if rec := f.post(t, action, jane, url.Values{}); rec.Code != http.StatusForbidden {
		t.Errorf("retry without a CSRF token: %d", rec.Code)
	}
	rec := f.post(t, action, jane, url.Values{"csrf": {token}, "for": {"self"}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/choices/history?done=retried" {
		t.Fatalf("retry: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	done := doc(t, f.get(t, rec.Header().Get("Location"), jane))
	if done.Find(".nhsuk-notification-banner--success #done-message").Text() != "We will send your change again now." {
		t.Errorf("no banner saying the change will be sent again")
	}
	hist = strings.Join(strings.Fields(done.Find("main").Text()), " ")
	if strings.Contains(hist, "Not accepted") || strings.Count(hist, "we will keep trying") != 1 {
		t.Errorf("after retrying: %q", hist)
	}
	// Another person cannot retry Jane's delivery.
	amir := f.signIn(t, f.amir)
	if rec := f.post(t, action, amir, url.Values{"csrf": {csrfOf(t, f, amir)}, "for": {"self"}}); rec.Code != http.StatusNotFound {
		t.Errorf("Amir retries Jane's delivery: %d", rec.Code)
	}
	// Refused again, then a later change queued: that one carries every
	// choice, so the refused one is no longer offered, and cannot be sent.
	if items, err = f.db.ClaimConsentOutbox(ctx, 10, time.Minute); err != nil || len(items) != 1 {
		t.Fatalf("claim again %v %+v", err, items)
	}
	if err := f.db.ConsentNotDelivered(ctx, items[0], "The server answered 422 Unprocessable Entity.", time.Time{}); err != nil {
		t.Fatal(err)
	}
	answer("yes")
	d = doc(t, f.get(t, "/choices/history", jane))
	if d.Find(`form[action^="/choices/deliveries/"]`).Length() != 0 {
		t.Error("a refused change is offered to send again after a later change was queued")
	}
	if rec := f.post(t, action, jane, url.Values{"csrf": {token}, "for": {"self"}}); rec.Code != http.StatusNotFound {
		t.Errorf("retry of a change overtaken by a later one: %d, want 404", rec.Code)
	}
	if items, err = f.db.ClaimConsentOutbox(ctx, 10, time.Minute); err != nil || len(items) != 1 {
		t.Fatalf("claim the later change %v %+v", err, items)
	}
	if err := f.db.ConsentDelivered(ctx, items[0], "c1", "1"); err != nil {
		t.Fatal(err)
	}
	if got := doc(t, f.get(t, "/choices", jane)).Find("main").Text(); !strings.Contains(got, "Sent to Yorkshire and Humber Care Record on ") && !strings.Contains(got, "Waiting to send") {
		t.Errorf("choices page does not say how the latest change went: %q", got)
	}
}

func TestSameAnswerChangesNothing(t *testing.T) {
	f := newFixture(t)
	jane := f.signIn(t, f.jane)
	rec := f.post(t, "/choices/research", jane, url.Values{"csrf": {csrfOf(t, f, jane)}, "for": {"self"}, "answer": {"yes"}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/choices?done=unchanged" {
		t.Fatalf("same answer: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	if hist, _ := f.db.ConsentHistory(context.Background(), f.jane.ID); len(hist) != 0 {
		t.Fatalf("a decision was recorded: %+v", hist)
	}
	// The page it lands on says so, rather than nothing at all.
	if banner := doc(t, f.get(t, rec.Header().Get("Location"), jane)).Find(`.nhsuk-notification-banner[role="alert"]`).Text(); !strings.Contains(banner, "Nothing has changed") {
		t.Errorf("after the same answer the page says %q; want that nothing has changed", banner)
	}
	// No answer at all is an error that names the question.
	rec = f.post(t, "/choices/research", jane, url.Values{"csrf": {csrfOf(t, f, jane)}, "for": {"self"}})
	if msg := docOf(t, rec.Body.String()).Find(".nhsuk-error-summary a").Text(); !strings.Contains(msg, "Select yes or no to answer “") || !strings.Contains(msg, "research") {
		t.Errorf("no answer: the error says %q; want it to name the question", msg)
	}
}

// TestResultKeptOutOfSharingIsLabelled: a result kept out of sharing is
// labelled on the results page and on its test's page, as on every other
// page of the person's own record.
func TestResultKeptOutOfSharingIsLabelled(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	jane := f.signIn(t, f.jane)
	token := csrfOf(t, f, jane)
	var obs []fhir.Resource
	for i, v := range []string{"48", "52"} {
		id := fmt.Sprint("hba1c-", i)
		obs = append(obs, fhir.Resource{Type: "Observation", ID: id, Raw: []byte(`{"resourceType":"Observation","id":"` + id + `","status":"final",` +
			`"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],` +
			`"code":{"coding":[{"system":"http://loinc.org","code":"4548-4","display":"Hemoglobin A1c"}]},"subject":{"reference":"Patient/jane"},` +
			`"effectiveDateTime":"2026-0` + fmt.Sprint(i+1) + `-10","valueQuantity":{"value":` + v + `,"unit":"mmol/mol"}}`)})
	}
	if _, err := f.db.ImportResources(ctx, store.ImportOptions{Source: "gp"}, "test", obs); err != nil {
		t.Fatal(err)
	}
	tests, err := f.db.ResultTests(ctx, f.jane.ID)
	if err != nil || len(tests) == 0 {
		t.Fatalf("Jane's tests: %v, %d", err, len(tests))
	}
	test := tests[0]
	labels := func(path string) int {
		t.Helper()
		return doc(t, f.get(t, path, jane)).Find(".mcr-withheld-tag").Length()
	}
	if n := labels("/record/results"); n != 0 {
		t.Fatalf("results page labels %d results before any choice", n)
	}
	rec := f.post(t, "/choices/entry/confirm", jane, url.Values{"csrf": {token}, "for": {"self"}, "key": {store.ItemKey(test.Latest.Item)}, "answer": {"yes"}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("keep the result out: %d %s", rec.Code, rec.Body.String())
	}
	if n := labels("/record/results"); n != 1 {
		t.Errorf("results page labels %d results as kept out of sharing, want 1", n)
	}
	if n := labels("/record/results/" + test.Key); n < 1 {
		t.Errorf("%s labels no result as kept out of sharing", test.Key)
	}
}

// TestChoicesTitlesNameWhoseChoices: each choices page's title is its h1,
// which to Jane says "your" and to John, answering for her, names her.
func TestChoicesTitlesNameWhoseChoices(t *testing.T) {
	f := newFixture(t)
	jane := f.signIn(t, f.jane)
	john := f.newCarer(t, "John Smith")
	forJane := itoa(f.grant(t, f.jane, f.ownAccount(t, f.jane), john, store.ScopeChoices, fhir.SectionMedicines).ID)
	for _, tt := range []struct {
		who     string
		cookie  *http.Cookie
		csrf    string
		subject string
		answer  string   // a change to research: Jane's, then John's back again
		h1s     []string // list, question, check, saved, history
		check   string   // the check page's title: which choice, and to a carer whose
	}{
		{"Jane", jane, csrfOf(t, f, jane), "self", "no", []string{"Your choices", "Do you want your data to be used for research?", "Check your change",
			"Your choice has been saved", "History of your choices"}, "Check your change: Research"},
		{"John, for Jane", john.cookie, sessionCSRF(t, f, john.id), forJane, "yes", []string{"Jane Example's choices", "Does Jane Example want their data to be used for research?",
			"Check your change", "Jane Example's choice has been saved", "History of Jane Example's choices"}, "Check your change: Research – Jane Example's choices"},
	} {
		t.Run(tt.who, func(t *testing.T) {
			answer := url.Values{"csrf": {tt.csrf}, "for": {tt.subject}, "answer": {tt.answer}}
			check := f.post(t, "/choices/research", tt.cookie, answer)
			confirm := f.post(t, "/choices/research/confirm", tt.cookie, answer)
			if confirm.Code != http.StatusSeeOther {
				t.Fatalf("confirm: %d", confirm.Code)
			}
			pages := []*goquery.Document{
				doc(t, f.get(t, "/choices", tt.cookie)),
				doc(t, f.get(t, "/choices/research", tt.cookie)),
				recDoc(t, check),
				doc(t, f.get(t, confirm.Header().Get("Location"), tt.cookie)),
				doc(t, f.get(t, "/choices/history", tt.cookie)),
			}
			for i, d := range pages {
				h1 := strings.TrimSpace(d.Find("h1").Text())
				if h1 != tt.h1s[i] {
					t.Errorf("h1 %q, want %q", h1, tt.h1s[i])
				}
				want := h1 + " – My Care Record"
				if i == 2 {
					want = tt.check + " – My Care Record"
				}
				if got := d.Find("head > title").Text(); got != want {
					t.Errorf("title %q, want %q", got, want)
				}
			}
		})
	}
}

// An entry kept out of sharing whose key then changes upstream (a new dose)
// still says so on its page, and its "Share it again" link leads to the
// question that shares it again.
func TestShareAgainAfterTheEntryChanged(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	jane := f.signIn(t, f.jane)
	token := csrfOf(t, f, jane)
	sec, _ := f.db.RecordSection(ctx, f.jane.ID, fhir.SectionMedicines, 1, 10)
	item := sec.Items[0]
	key := store.ItemKey(item)
	if rec := f.post(t, "/choices/entry/confirm", jane, url.Values{"csrf": {token}, "for": {"self"}, "key": {key}, "answer": {"yes"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("keep out: %d", rec.Code)
	}
	raw := `{"resourceType":"MedicationRequest","id":"m1","status":"active","intent":"order","subject":{"reference":"Patient/jane"},` +
		`"medicationCodeableConcept":{"text":"Metformin 500mg tablets"},"authoredOn":"2025-01-10","dosageInstruction":[{"text":"Two tablets daily"}]}`
	if _, err := f.db.ImportResources(ctx, store.ImportOptions{Source: "gp"}, "test", []fhir.Resource{{Type: "MedicationRequest", ID: "m1", Raw: []byte(raw)}}); err != nil {
		t.Fatal(err)
	}
	d := doc(t, f.get(t, "/record/item/"+itoa(item.ID), jane))
	if !strings.Contains(d.Find("main").Text(), "Kept out of sharing") {
		t.Fatal("entry page no longer says kept out")
	}
	href, _ := d.Find(`a:contains("Share it again")`).Attr("href")
	if resp := f.get(t, href, jane); resp.StatusCode != http.StatusOK {
		t.Errorf("Share it again: %d", resp.StatusCode)
	}
}

// A carer answering choices is not told of an organisation that shows them
// nothing (a sexual health clinic whose every entry is kept out): not in the
// list of organisations a change was sent to, nor as the one whose Consent
// the choices start from. Deliveries to organisations they see are listed.
func TestCarerChoicesNameNoHiddenOrganisation(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	for _, s := range []store.Source{
		{Name: "lth", OrgName: "Leeds Teaching Hospitals", BaseURL: "http://127.0.0.1:1/lth"},
		{Name: "shc", OrgName: "Leeds Sexual Health Clinic", BaseURL: "http://127.0.0.1:1/shc"},
	} {
		if _, err := f.db.AddSource(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	parse := func(raw string) fhir.Resource {
		r, err := fhir.ParseResource([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	imports := []struct {
		source string
		res    []fhir.Resource
	}{
		{"lth", []fhir.Resource{patient("jane-lth", "9434765919", "Jane", "Example", "1957-03-14"),
			parse(`{"resourceType":"Condition","id":"c-copd","subject":{"reference":"Patient/jane-lth"},"code":{"coding":[{"system":"http://snomed.info/sct","code":"13645005","display":"Chronic obstructive lung disease"}]},"recordedDate":"2024-01-01"}`)}},
		{"shc", []fhir.Resource{patient("jane-shc", "9434765919", "Jane", "Example", "1957-03-14"),
			parse(`{"resourceType":"Condition","id":"c-sti","subject":{"reference":"Patient/jane-shc"},"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"A54.9","display":"Gonococcal infection"}]},"recordedDate":"2024-02-01"}`),
			parse(`{"resourceType":"Consent","id":"shc-consent","status":"active","scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},` +
				`"patient":{"reference":"Patient/jane-shc"},"dateTime":"2025-06-01T09:00:00Z","provision":{"type":"permit","provision":[` +
				`{"type":"deny","securityLabel":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"STD"}]}]}}`)}},
	}
	for _, im := range imports {
		if _, err := f.db.ImportResources(ctx, store.ImportOptions{Source: im.source}, "test", im.res); err != nil {
			t.Fatal(err)
		}
	}
	jane := f.signIn(t, f.jane)
	john := f.newCarer(t, "John Smith")
	all := []string{store.ScopeChoices}
	for _, s := range fhir.Sections() {
		all = append(all, s.Slug)
	}
	forJane := f.grant(t, f.jane, f.ownAccount(t, f.jane), john, all...)
	before := readAll(f.get(t, "/choices", john.cookie))
	if strings.Contains(before, "Sexual Health") || !strings.Contains(before, "As recorded by an organisation that holds the record") {
		t.Errorf("before any change, /choices names the clinic whose Consent the choices start from, or does not say where they come from")
	}
	rec := f.post(t, "/choices/research/confirm", john.cookie, url.Values{"csrf": {sessionCSRF(t, f, john.id)}, "for": {itoa(forJane.ID)}, "answer": {"no"}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("the carer's change: %d", rec.Code)
	}
	done := rec.Header().Get("Location")
	for _, path := range []string{"/choices", "/choices/history", done} {
		body := readAll(f.get(t, path, john.cookie))
		if strings.Contains(body, "Sexual Health") {
			t.Errorf("%s names the clinic to the carer", path)
		}
		if !strings.Contains(body, "Leeds Teaching Hospitals") {
			t.Errorf("%s does not say whether the change reached the hospital, which the carer sees", path)
		}
	}
	// The person is told of every organisation.
	for _, path := range []string{"/choices", "/choices/history"} {
		if body := readAll(f.get(t, path, jane)); !strings.Contains(body, "Leeds Sexual Health Clinic") {
			t.Errorf("%s does not name the clinic to the person", path)
		}
	}
	// Nor may the carer send again a change the clinic did not accept: only the person.
	var clinic int64
	for _, d := range mustHistory(t, f, f.jane.ID)[0].Deliveries {
		if d.SourceName == "Leeds Sexual Health Clinic" {
			clinic = d.ID
		}
	}
	if err := f.db.ConsentNotDelivered(ctx, store.OutboxItem{ID: clinic}, "The server said: no", time.Time{}); err != nil {
		t.Fatal(err)
	}
	retry := "/choices/deliveries/" + itoa(clinic) + "/retry"
	if rec := f.post(t, retry, john.cookie, url.Values{"csrf": {sessionCSRF(t, f, john.id)}, "for": {itoa(forJane.ID)}}); rec.Code != http.StatusNotFound {
		t.Errorf("the carer's retry of the clinic's delivery: %d; want 404", rec.Code)
	}
	if rec := f.post(t, retry, jane, url.Values{"csrf": {csrfOf(t, f, jane)}, "for": {"self"}}); rec.Code != http.StatusSeeOther {
		t.Errorf("the person's retry of the clinic's delivery: %d; want 303", rec.Code)
	}
}

func mustHistory(t *testing.T, f *fixture, personID int64) []store.ConsentDecision {
	t.Helper()
	hist, err := f.db.ConsentHistory(context.Background(), personID)
	if err != nil || len(hist) == 0 {
		t.Fatalf("history: %v, %v", hist, err)
	}
	return hist
}

// confirmation is a "Check your change" form as sent: by whom, to where.
type confirmation struct {
	cookie *http.Cookie
	path   string
	form   url.Values
}

// A confirmation sent twice (a double click, or Back and send again) makes
// one change: the second changes nothing, logs nothing and queues nothing,
// and the page it lands on says the change was saved already.
func TestConfirmSentTwiceChangesOnce(t *testing.T) {
	ctx := context.Background()
	// entry is Jane's confirmation that her one medicine is kept out of sharing ("yes") or shared again ("no").
	entry := func(answer string) func(*testing.T, *fixture, *http.Cookie, carerSession, string) confirmation {
		return func(t *testing.T, f *fixture, jane *http.Cookie, _ carerSession, _ string) confirmation {
			sec, err := f.db.RecordSection(ctx, f.jane.ID, fhir.SectionMedicines, 1, 10)
			if err != nil || len(sec.Items) != 1 {
				t.Fatalf("%v %+v", err, sec.Items)
			}
			return confirmation{jane, "/choices/entry/confirm", url.Values{"csrf": {csrfOf(t, f, jane)}, "for": {"self"}, "key": {store.ItemKey(sec.Items[0])}, "answer": {answer}}}
		}
	}
	for _, tt := range []struct {
		name string
		// send is the confirmation sent twice; before, if set, is sent once first.
		send, before func(t *testing.T, f *fixture, jane *http.Cookie, john carerSession, forJane string) confirmation
	}{
		{name: "research", send: func(t *testing.T, f *fixture, jane *http.Cookie, _ carerSession, _ string) confirmation {
			return confirmation{jane, "/choices/research/confirm", url.Values{"csrf": {csrfOf(t, f, jane)}, "for": {"self"}, "answer": {"no"}}}
		}},
		{name: "keep an entry out", send: entry("yes")},
		{name: "share an entry again", before: entry("yes"), send: entry("no")},
		{name: "a carer keeps a category out", send: func(t *testing.T, f *fixture, _ *http.Cookie, john carerSession, forJane string) confirmation {
			slug := store.ConsentQuestionSlug(store.WithholdQuestion(store.CategoryMentalHealth))
			return confirmation{john.cookie, "/choices/" + slug + "/confirm", url.Values{"csrf": {sessionCSRF(t, f, john.id)}, "for": {forJane}, "answer": {"yes"}}}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			jane := f.signIn(t, f.jane)
			john := f.newCarer(t, "John Smith")
			forJane := itoa(f.grant(t, f.jane, f.ownAccount(t, f.jane), john, store.ScopeChoices, fhir.SectionMedicines).ID)
			if tt.before != nil {
				if c := tt.before(t, f, jane, john, forJane); f.post(t, c.path, c.cookie, c.form).Code != http.StatusSeeOther {
					t.Fatal("the change before was not made")
				}
			}
			hist, err := f.db.ConsentHistory(ctx, f.jane.ID)
			if err != nil {
				t.Fatal(err)
			}
			c := tt.send(t, f, jane, john, forJane)
			logged := len(accessActions(t, f.db, f.jane.ID))
			var got []string
			for range 2 {
				rec := f.post(t, c.path, c.cookie, c.form)
				got = append(got, fmt.Sprint(rec.Code, " ", rec.Header().Get("Location")))
			}
			if !strings.HasPrefix(got[0], "303 /choices/done/") || got[1] != "303 /choices?done=saved-before" {
				t.Fatalf("sent twice: %q; want 303 to the change, then 303 to /choices?done=saved-before", got)
			}
			after, err := f.db.ConsentHistory(ctx, f.jane.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(after), len(hist)+1; got != want {
				t.Errorf("%d decisions in the history, want %d", got, want)
			}
			if got, want := len(accessActions(t, f.db, f.jane.ID)), logged+1; got != want {
				t.Errorf("%d access-log entries, want %d", got, want)
			}
			banner := doc(t, f.get(t, "/choices?done=saved-before", c.cookie)).Find(`.nhsuk-notification-banner[role="alert"]`).Text()
			if want := "That change was already saved, so we have not saved it again."; !strings.Contains(banner, want) {
				t.Errorf("the page says %q; want %q", banner, want)
			}
		})
	}
}

// A question's page, and the page that checks a change, show the answer held
// now: each look is on the person's access log, by whoever looked (found by
// a review: only an entry's question was logged).
func TestChoiceQuestionPagesAreLogged(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.signIn(t, f.jane)
	john := f.newCarer(t, "John Smith")
	f.grant(t, f.jane, f.ownAccount(t, f.jane), john, fhir.SectionCareTeam, store.ScopeChoices)
	for _, tc := range []struct {
		name string
		send func() int
	}{
		{"the question", func() int { return f.get(t, "/choices/research", john.cookie).StatusCode }},
		{"checking a change", func() int {
			return f.post(t, "/choices/research", john.cookie, url.Values{"csrf": {csrfToken(t, f, john.cookie)}, "for": {strconv.FormatInt(f.jane.ID, 10)},
				"answer": {"no"}}).Code
		}},
	} {
		before, err := f.db.AccessLog(ctx, f.jane.ID, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if code := tc.send(); code != http.StatusOK {
			t.Fatalf("%s: status %d", tc.name, code)
		}
		after, err := f.db.AccessLog(ctx, f.jane.ID, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(after) != len(before)+1 || after[0].What != "choices" || after[0].AccountID != john.acct.ID {
			t.Errorf("%s: %d entries more, the newest %+v; want one, of John's look at Jane's choices", tc.name, len(after)-len(before), after[0])
		}
	}
}

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

// Jane keeps mental health out of sharing, and her depression one by one
// too. Its page says another choice keeps it out too, and sharing it again
// alone does not promise a sharing that does not happen: her carer still
// cannot see it (a review: she was told "this entry is shared like the rest
// of your record").
func TestShareItAgainOnAnEntryAnotherChoiceKeepsOut(t *testing.T) {
	const depression = `{"resourceType":"Condition","id":"c1","subject":{"reference":"Patient/jane"},"clinicalStatus":{"coding":[{"code":"active"}]},` +
		`"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"F32.9","display":"Depressive episode, unspecified"}]},"recordedDate":"2025-02-01"}`
	f := newFixture(t)
	jane := f.signIn(t, f.jane)
	r, err := fhir.ParseResource([]byte(depression))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.ImportResources(context.Background(), store.ImportOptions{Source: "gp", OrgName: "Meanwood Group Practice"}, "test", []fhir.Resource{r}); err != nil {
		t.Fatal(err)
	}
	john := f.newCarer(t, "John Smith")
	f.grant(t, f.jane, f.ownAccount(t, f.jane), john, store.CarerScopes()...)
	if rec := f.post(t, "/choices/"+store.ConsentQuestionSlug(store.WithholdQuestion(store.CategoryMentalHealth))+"/confirm", jane,
		url.Values{"csrf": {csrfOf(t, f, jane)}, "for": {"self"}, "answer": {"yes"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("keep out mental health: %d", rec.Code)
	}
	sp, err := f.db.RecordSection(context.Background(), f.jane.ID, fhir.SectionConditions, 1, 50)
	if err != nil || len(sp.Items) != 1 {
		t.Fatalf("Jane's conditions: %v %v", sp.Items, err)
	}
	it := sp.Items[0]
	key := store.ItemKey(it)
	token := csrfOf(t, f, jane)
	if rec := f.post(t, "/choices/entry/confirm", jane, url.Values{"csrf": {token}, "for": {"self"}, "key": {key}, "answer": {"yes"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("keep out: %d", rec.Code)
	}
	page := doc(t, f.get(t, "/record/item/"+itoa(it.ID), jane)).Find("main").Text()
	if strings.Contains(page, "Share it again") && !strings.Contains(page, "another choice") {
		t.Errorf("the entry's page offers \"Share it again\" and never says mental health keeps it out too")
	}
	// Jane follows it and answers no.
	rec := f.post(t, "/choices/entry", jane, url.Values{"csrf": {token}, "for": {"self"}, "key": {key}, "answer": {"no"}})
	check := rec.Body.String()
	if rec := f.post(t, "/choices/entry/confirm", jane, url.Values{"csrf": {token}, "for": {"self"}, "key": {key}, "answer": {"no"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("share again: %d", rec.Code)
	}
	carerSees := strings.Contains(readAll(f.get(t, "/record/conditions", john.cookie)), "Depressive")
	if carerSees || !strings.Contains(check, "unless another of your choices keeps it out") {
		t.Errorf("sharing the depression again alone: the carer sees it %v; the check page says %q", carerSees, check)
	}
}

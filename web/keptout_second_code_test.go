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

// keepOutKind has Jane keep a kind of information out of sharing through her choices pages.
func keepOutKindByForm(t *testing.T, f *fixture, jane *http.Cookie, category string) {
	t.Helper()
	slug := store.ConsentQuestionSlug(store.WithholdQuestion(category))
	rec := f.post(t, "/choices/"+slug+"/confirm", jane, url.Values{"csrf": {csrfOf(t, f, jane)}, "for": {"self"}, "answer": {"yes"}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("Jane keeps %s out: %d", category, rec.Code)
	}
}

func importAtGP(t *testing.T, f *fixture, raws ...string) {
	t.Helper()
	var res []fhir.Resource
	for _, raw := range raws {
		r, err := fhir.ParseResource([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		res = append(res, r)
	}
	if _, err := f.db.ImportResources(context.Background(), store.ImportOptions{Source: "gp"}, "test", res); err != nil {
		t.Fatal(err)
	}
}

// Each test failed when a review wrote it: a kind was kept out by an entry's
// first code only.

// A diagnosis coded in SNOMED CT and in ICD-10 (as hospital systems send
// them) whose ICD-10 code is a mental health one (F42.9) is mental health
// information: once Jane keeps mental health out of sharing, her carer must
// not read it, as he does not read one coded in ICD-10 alone.
func TestAKindKeptOutByADiagnosisSecondCode(t *testing.T) {
	f := newFixture(t)
	jane := f.signIn(t, f.jane)
	john := f.newCarer(t, "John Smith")
	f.grant(t, f.jane, f.ownAccount(t, f.jane), john, fhir.SectionConditions)
	importAtGP(t, f,
		`{"resourceType":"Condition","id":"c-icd","subject":{"reference":"Patient/jane"},"clinicalStatus":{"coding":[{"code":"active"}]},`+
			`"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"F32.1","display":"Moderate depressive episode"}]},"recordedDate":"2024-02-01"}`,
		`{"resourceType":"Condition","id":"c-two","subject":{"reference":"Patient/jane"},"clinicalStatus":{"coding":[{"code":"active"}]},`+
			`"code":{"coding":[{"system":"http://snomed.info/sct","code":"191736004","display":"Obsessive-compulsive disorder"},`+
			`{"system":"http://hl7.org/fhir/sid/icd-10","code":"F42.9","display":"Obsessive-compulsive disorder, unspecified"}]},"recordedDate":"2024-03-01"}`)
	keepOutKindByForm(t, f, jane, store.CategoryMentalHealth)

	body := readAll(f.get(t, "/record/conditions", john.cookie))
	if strings.Contains(body, "depressive") {
		t.Fatal("control: the ICD-10-only diagnosis reaches the carer")
	}
	if strings.Contains(body, "Obsessive-compulsive") {
		t.Errorf("Jane keeps mental health out of sharing, yet her carer reads her diagnosis coded F42.9 (its second coding) on /record/conditions")
	}
	if body := readAll(f.get(t, "/record/search?q=obsessive", john.cookie)); strings.Contains(body, "Obsessive-compulsive") {
		t.Errorf("...and finds it by searching")
	}
	// Jane's own page says it is not kept out either.
	if d := doc(t, f.get(t, "/record/conditions", jane)); d.Find(".mcr-withheld-tag").Length() != 2 {
		t.Errorf("Jane's page labels %d of her 2 mental health diagnoses kept out of sharing", d.Find(".mcr-withheld-tag").Length())
	}
}

// The same with sexual health: a termination of pregnancy recorded by a
// hospital in OPCS-4 first and SNOMED CT second (714812005, on the list)
// reaches the carer after Jane keeps sexual health out of sharing, though a
// visit giving the same codes as its reason is kept out.
func TestAKindKeptOutByAProcedureSecondCode(t *testing.T) {
	f := newFixture(t)
	jane := f.signIn(t, f.jane)
	john := f.newCarer(t, "John Smith")
	f.grant(t, f.jane, f.ownAccount(t, f.jane), john, fhir.SectionProcedures, fhir.SectionEncounters)
	codes := `{"coding":[{"system":"http://fhir.nhs.uk/Id/opcs-4","code":"Q11.1"},{"system":"http://snomed.info/sct","code":"714812005","display":"Induced termination of pregnancy"}],"text":"Induced termination of pregnancy"}`
	importAtGP(t, f,
		`{"resourceType":"Procedure","id":"pr1","status":"completed","subject":{"reference":"Patient/jane"},"performedDateTime":"2025-01-10","code":`+codes+`}`,
		`{"resourceType":"Encounter","id":"e1","status":"finished","class":{"code":"AMB"},"type":[{"text":"Gynaecology clinic visit"}],"subject":{"reference":"Patient/jane"},`+
			`"period":{"start":"2025-01-10T09:00:00Z"},"reasonCode":[`+codes+`]}`)
	keepOutKindByForm(t, f, jane, store.CategorySexualHealth)
	if body := readAll(f.get(t, "/record/encounters", john.cookie)); strings.Contains(body, "Gynaecology clinic visit") {
		t.Fatal("control: the visit for the termination reaches the carer")
	}
	if body := readAll(f.get(t, "/record/procedures", john.cookie)); strings.Contains(body, "termination") {
		t.Errorf("Jane keeps sexual health out of sharing, yet her carer reads 'Induced termination of pregnancy' on /record/procedures (its visit, giving the same codes as reason, is kept out)")
	}
}

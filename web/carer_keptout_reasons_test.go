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

// keptOutWorld imports Jane's resources, gives John every scope, and has Jane
// keep out what keep() names (a category slug, or an entry key from the db).
// keptOutWorld imports raws for Jane from her GP, grants John, her carer,
// every part of her record, and has Jane keep out what keep's form says.
func keptOutWorld(t *testing.T, raws []string, keep func(f *fixture) url.Values) (*fixture, carerSession) {
	t.Helper()
	f := newFixture(t)
	jane := f.signIn(t, f.jane)
	var res []fhir.Resource
	for _, raw := range raws {
		r, err := fhir.ParseResource([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		res = append(res, r)
	}
	if _, err := f.db.ImportResources(context.Background(), store.ImportOptions{Source: "gp", OrgName: "Meanwood Group Practice"}, "test", res); err != nil {
		t.Fatal(err)
	}
	john := f.newCarer(t, "John Smith")
	f.grant(t, f.jane, f.ownAccount(t, f.jane), john, store.CarerScopes()...)
	form := keep(f)
	path := form.Get("path")
	form.Del("path")
	form.Set("csrf", csrfOf(t, f, jane))
	form.Set("for", "self")
	form.Set("answer", "yes")
	if rec := f.post(t, path, jane, form); rec.Code != http.StatusSeeOther {
		t.Fatalf("Jane keeps it out: %d", rec.Code)
	}
	return f, john
}

// category is the form that keeps a kind of information out of sharing.
func category(c string) func(*fixture) url.Values {
	return func(*fixture) url.Values {
		return url.Values{"path": {"/choices/" + store.ConsentQuestionSlug(store.WithholdQuestion(c)) + "/confirm"}}
	}
}

// mustNotShow fails when any of paths, as John reads them, holds any of never.
func mustNotShow(t *testing.T, f *fixture, john carerSession, paths, never []string) {
	t.Helper()
	for _, p := range paths {
		body := readAll(f.get(t, p, john.cookie))
		for _, w := range never {
			if strings.Contains(body, w) {
				t.Errorf("%s shows the carer %q, which Jane keeps out of sharing", p, w)
			}
		}
	}
}

// 1. Pages deliberately never show a vaccination's statusReason; the carer's download does.
// A vaccination not given for a reason of a kind Jane keeps out is kept
// from her carer, download too: the pages say only HL7's words for why, but
// the download held the resource, reason and all (a review).
func TestCarerNeverGetsAKeptOutKindWhyNotDone(t *testing.T) {
	f, john := keptOutWorld(t, []string{`{"resourceType":"Immunization","id":"i1","status":"not-done","patient":{"reference":"Patient/jane"},` +
		`"vaccineCode":{"coding":[{"system":"http://snomed.info/sct","code":"333621002","display":"Tetanus vaccine"}]},"occurrenceDateTime":"2025-01-10",` +
		`"statusReason":{"coding":[{"system":"http://snomed.info/sct","code":"86406008","display":"Human immunodeficiency virus infection"}]}}`},
		category(store.CategorySexualHealth))
	mustNotShow(t, f, john, []string{"/record/immunisations", "/record/download"}, []string{"86406008", "immunodeficiency"})
}

// 2. A procedure's complication / follow-up of a kept-out kind is shown to the carer.
// A procedure whose complication or follow-up is of a kind Jane keeps out is
// kept from her carer: its page said them in words (a review).
func TestCarerNeverReadsAKeptOutKindInAComplication(t *testing.T) {
	f, john := keptOutWorld(t, []string{`{"resourceType":"Procedure","id":"p1","status":"completed","subject":{"reference":"Patient/jane"},` +
		`"code":{"coding":[{"system":"http://snomed.info/sct","code":"73761001","display":"Colonoscopy"}]},"performedDateTime":"2025-02-01T09:30:00Z",` +
		`"complication":[{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"F05.9","display":"Delirium, unspecified"}]}],` +
		`"followUp":[{"coding":[{"system":"http://snomed.info/sct","code":"171207006","display":"Depression screening"}]}]}`},
		category(store.CategoryMentalHealth))
	mustNotShow(t, f, john, []string{"/record/procedures", "/record/search?q=depression", "/record/print", "/record/download"},
		[]string{"Delirium", "Depression screening"})
}

// 3. A single diagnosis kept out is still named by the visit for it.
// A diagnosis Jane keeps out, one entry, is not named to her carer by the
// visit for it, on the visits page, in search or in the download (a review).
func TestAKeptOutDiagnosisIsNotNamedByItsVisit(t *testing.T) {
	ed := `"code":{"coding":[{"system":"http://snomed.info/sct","code":"397803000","display":"Erectile dysfunction"}]}`
	f, john := keptOutWorld(t, []string{
		`{"resourceType":"Condition","id":"c1","subject":{"reference":"Patient/jane"},"clinicalStatus":{"coding":[{"code":"active"}]},` + ed + `,"recordedDate":"2025-02-01"}`,
		`{"resourceType":"Encounter","id":"e1","status":"finished","class":{"code":"AMB"},"type":[{"text":"GP consultation"}],"subject":{"reference":"Patient/jane"},` +
			`"period":{"start":"2025-02-01T09:00:00Z"},"reasonCode":[{` + strings.TrimSuffix(strings.TrimPrefix(ed, `"code":{`), `}`) + `}]}`},
		func(f *fixture) url.Values {
			sp, err := f.db.RecordSection(context.Background(), f.jane.ID, fhir.SectionConditions, 1, 10)
			if err != nil || len(sp.Items) != 1 {
				t.Fatal(sp.Items, err)
			}
			return url.Values{"path": {"/choices/entry/confirm"}, "key": {store.ItemKey(sp.Items[0])}}
		})
	mustNotShow(t, f, john, []string{"/record/conditions"}, []string{"Erectile"}) // the entry itself: held
	mustNotShow(t, f, john, []string{"/record/encounters", "/record/search?q=erectile", "/record/download"}, []string{"Erectile dysfunction"})
}

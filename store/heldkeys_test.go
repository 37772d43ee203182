package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// Sharing choices about one entry are held by its key, which changes when
// upstream changes the entry (store/import.go holdKeptOutKey).

func heldImport(t *testing.T, db *store.DB, source string, rs ...fhir.Resource) {
	t.Helper()
	if res, err := db.ImportResources(context.Background(), store.ImportOptions{Source: source}, "batch", rs); err != nil || res.Rejected != 0 {
		t.Fatalf("import: %+v, %v", res, err)
	}
}

func heldSection(t *testing.T, ctx context.Context, db *store.DB, personID int64, sec string) []store.RecordItem {
	t.Helper()
	page, err := db.RecordSection(ctx, personID, sec, 1, 50)
	if err != nil {
		t.Fatal(err)
	}
	return page.Items
}

func heldDisplays(items []store.RecordItem) []string {
	var out []string
	for _, it := range items {
		w := ""
		if it.Withheld {
			w = " [kept out]"
		}
		out = append(out, it.Display+w)
	}
	return out
}

const heldPatient = `"identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}],"name":[{"given":["Jane"],"family":"Example"}],"birthDate":"1957-03-14"`

func careTeam(id string, members ...string) fhir.Resource {
	var ps []string
	for _, m := range members {
		ps = append(ps, `{"role":[{"coding":[{"system":"http://snomed.info/sct","code":"158965000","display":"Medical practitioner"}]}],"member":{"display":"`+m+`"}}`)
	}
	return res("CareTeam", id, `"status":"active","subject":{"reference":"Patient/jane"},"name":"Sexual health clinic team","period":{"start":"2025-01-01"},"participant":[`+strings.Join(ps, ",")+`]`)
}

// An entry whose code was corrected upstream (asthma to COPD) before anyone
// kept anything out is not caught by a later choice to keep out a real asthma
// diagnosis: the decision names asthma, the Consent sent upstream names no
// COPD code, and a carer still sees COPD.
func TestLaterChoiceNeverCatchesAnEntryThatChangedKey(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	heldImport(t, db, "gp", res("Patient", "jane", heldPatient), condition("x1", "http://snomed.info/sct", "195967001", "Asthma"))
	// Upstream corrects x1's code: it was never asthma.
	heldImport(t, db, "gp", condition("x1", "http://snomed.info/sct", "13645005", "Chronic obstructive lung disease"))
	// Later, a real asthma diagnosis (another resource).
	heldImport(t, db, "hospital", res("Patient", "jane", heldPatient), condition("y2", "http://snomed.info/sct", "195967001", "Asthma"))
	jane, _ := db.PersonByNHSNumber(ctx, "9434765919")
	var asthma store.RecordItem
	for _, it := range heldSection(t, ctx, db, jane.ID, fhir.SectionConditions) {
		if it.Display == "Asthma" {
			asthma = it
		}
	}
	d, err := db.ChangeConsent(ctx, jane.ID, janeHerself, store.ConsentChange{Question: store.WithholdItemQuestion(store.ItemKey(asthma)), Answer: "yes"}, store.ChoiceLogged(1))
	if err != nil {
		t.Fatal(err)
	}
	if d.ItemLabel != "Asthma" {
		t.Errorf("decision label %q, want Asthma", d.ItemLabel)
	}
	if strings.Contains(string(d.FHIR), "13645005") {
		t.Errorf("the Consent sent upstream names COPD's code 13645005 as the entry kept out")
	}
	carer := heldDisplays(heldSection(t, store.ForCarer(ctx), db, jane.ID, fhir.SectionConditions))
	if len(carer) != 1 || carer[0] != "Chronic obstructive lung disease" {
		t.Errorf("carer sees %v; want COPD only (only asthma is kept out)", carer)
	}
}

// A care team member kept out of sharing stays out when the team's resource
// changes so that its items are replaced (a member renamed, one added).
func TestKeptOutMemberStaysOutWhenTheTeamChanges(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps [][]string
	}{
		{"renamed, then a member added", [][]string{{"Dr Ada Stone", "Nurse Bo Lee"}, {"Dr Ada Stone-Hart", "Nurse Bo Lee"}, {"Dr Ada Stone-Hart", "Nurse Bo Lee", "Cy Pharmacist"}}},
		{"renamed and a member added at once", [][]string{{"Dr Ada Stone", "Nurse Bo Lee"}, {"Dr Ada Stone-Hart", "Nurse Bo Lee", "Cy Pharmacist"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			db := mustOpenDB(t)
			heldImport(t, db, "gp", res("Patient", "jane", heldPatient), careTeam("ct1", tc.steps[0]...))
			jane, _ := db.PersonByNHSNumber(ctx, "9434765919")
			for _, it := range heldSection(t, ctx, db, jane.ID, fhir.SectionCareTeam) {
				if it.Display == "Dr Ada Stone" {
					if _, err := db.ChangeConsent(ctx, jane.ID, janeHerself, store.ConsentChange{Question: store.WithholdItemQuestion(store.ItemKey(it)), Answer: "yes"}, store.ChoiceLogged(1)); err != nil {
						t.Fatal(err)
					}
				}
			}
			for i, step := range tc.steps[1:] {
				heldImport(t, db, "gp", careTeam("ct1", step...))
				for _, d := range heldDisplays(heldSection(t, store.ForCarer(ctx), db, jane.ID, fhir.SectionCareTeam)) {
					if strings.HasPrefix(d, "Dr Ada") {
						t.Errorf("after change %d a carer sees %q, kept out of sharing", i+1, d)
					}
				}
			}
		})
	}
}

// A care team listed in another order keeps each member's entry, so keeping
// one member out hides no other.
func TestReorderedTeamKeepsOnlyTheKeptOutMemberOut(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	heldImport(t, db, "gp", res("Patient", "jane", heldPatient), careTeam("ct1", "Dr Ada Stone", "Nurse Bo Lee"))
	jane, _ := db.PersonByNHSNumber(ctx, "9434765919")
	keepAdaOut := func() {
		for _, it := range heldSection(t, ctx, db, jane.ID, fhir.SectionCareTeam) {
			if it.Display == "Dr Ada Stone" && !it.Withheld {
				if _, err := db.ChangeConsent(ctx, jane.ID, janeHerself, store.ConsentChange{Question: store.WithholdItemQuestion(store.ItemKey(it)), Answer: "yes"}, store.ChoiceLogged(1)); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	keepAdaOut() // before the team is listed in another order, and after
	heldImport(t, db, "gp", careTeam("ct1", "Nurse Bo Lee", "Dr Ada Stone"))
	keepAdaOut()
	if got := heldDisplays(heldSection(t, store.ForCarer(ctx), db, jane.ID, fhir.SectionCareTeam)); len(got) != 1 || got[0] != "Nurse Bo Lee" {
		t.Errorf("carer sees %v; want Nurse Bo Lee", got)
	}
}

// A carer asking about a key is never told an entry once had it: keys are
// made of codes, and a code corrected upstream may be one the person would
// not share.
func TestCarerNeverLearnsAnOldCode(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	heldImport(t, db, "gp", res("Patient", "jane", heldPatient), condition("x1", "http://snomed.info/sct", "86406008", "Human immunodeficiency virus infection"))
	heldImport(t, db, "gp", condition("x1", "http://snomed.info/sct", "195662009", "Acute viral pharyngitis"))
	jane, _ := db.PersonByNHSNumber(ctx, "9434765919")
	label, _, err := db.ItemLabelByKey(store.ForCarer(ctx), jane.ID, "conditions|http://snomed.info/sct|86406008")
	if err == nil {
		t.Errorf("carer asking for the HIV key gets %q: the record once held that code", label)
	}
}

// An entry kept out whose key then changes is shared again from its own page
// (by its key now), after which a carer sees it, and it is not kept out again
// when its key changes back.
func TestEntryWithChangedKeySharedAgain(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	heldImport(t, db, "gp", res("Patient", "jane", heldPatient), condition("x1", "http://snomed.info/sct", "195967001", "Asthma"))
	jane, _ := db.PersonByNHSNumber(ctx, "9434765919")
	it := heldSection(t, ctx, db, jane.ID, fhir.SectionConditions)[0]
	if _, err := db.ChangeConsent(ctx, jane.ID, janeHerself, store.ConsentChange{Question: store.WithholdItemQuestion(store.ItemKey(it)), Answer: "yes"}, store.ChoiceLogged(1)); err != nil {
		t.Fatal(err)
	}
	heldImport(t, db, "gp", condition("x1", "http://snomed.info/sct", "13645005", "Chronic obstructive lung disease"))
	now := heldSection(t, ctx, db, jane.ID, fhir.SectionConditions)[0]
	if !now.Withheld || len(heldSection(t, store.ForCarer(ctx), db, jane.ID, fhir.SectionConditions)) != 0 {
		t.Fatalf("after the code changed: %+v; want it still kept out", now)
	}
	if _, err := db.ChangeConsent(ctx, jane.ID, janeHerself, store.ConsentChange{Question: store.WithholdItemQuestion(store.ItemKey(now)), Answer: "no"}, store.ChoiceLogged(1)); err != nil {
		t.Fatalf("share again by the key the entry page links: %v", err)
	}
	for i, code := range []string{"", "195967001"} {
		if code != "" {
			heldImport(t, db, "gp", condition("x1", "http://snomed.info/sct", code, "Asthma"))
		}
		if got := heldSection(t, store.ForCarer(ctx), db, jane.ID, fhir.SectionConditions); len(got) != 1 {
			t.Errorf("step %d: a carer sees %v; want the entry shared again", i, heldDisplays(got))
		}
	}
}

package store_test

import (
	"context"
	"database/sql"
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

// A care team member kept out of sharing stays out through the team's
// changes: renamed, with a member added or leaving, at once or one after the
// other; with the members named by reference (each follows on from their own
// item), renamed then leaving and coming back (their keys wait for them,
// held_keys_waiting); and named by no reference (items pair by order).
func TestKeptOutMemberStaysOutWhenTheTeamChanges(t *testing.T) {
	noRef := func(names ...string) []refMember {
		var out []refMember
		for _, n := range names {
			out = append(out, refMember{name: n})
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		steps [][]refMember // the first is the team when Ada is kept out
	}{
		{"renamed, then a member added", [][]refMember{noRef("Dr Ada Stone", "Nurse Bo Lee"), noRef("Dr Ada Stone-Hart", "Nurse Bo Lee"), noRef("Dr Ada Stone-Hart", "Nurse Bo Lee", "Cy Pharmacist")}},
		{"renamed and a member added at once", [][]refMember{noRef("Dr Ada Stone", "Nurse Bo Lee"), noRef("Dr Ada Stone-Hart", "Nurse Bo Lee", "Cy Pharmacist")}},
		{"by reference: renamed while another leaves", [][]refMember{{bo, ada}, {adaHart}}},
		{"by reference: renamed, leaves, rejoins", [][]refMember{{ada, bo}, {adaHart, bo}, {bo}, {bo, adaHart}}},
		{"by reference, beside one by none: leaves, rejoins renamed as the other leaves", [][]refMember{{noRef("Nurse Bo Lee")[0], ada}, noRef("Nurse Bo Lee"), {adaHart}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			db := mustOpenDB(t)
			heldImport(t, db, "gp", res("Patient", "jane", heldPatient), refTeam("ct1", tc.steps[0]...))
			jane := janeOf(t, db)
			keepOutMember(t, db, jane, "Dr Ada Stone")
			for i, step := range tc.steps[1:] {
				heldImport(t, db, "gp", refTeam("ct1", step...))
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
	label, err := db.ItemLabelByKey(store.ForCarer(ctx), jane.ID, "conditions|http://snomed.info/sct|86406008")
	if err == nil {
		t.Errorf("carer asking for the HIV key gets %q: the record once held that code", label.Display)
	}
}

// An entry kept out whose key then changes is shared again from its own page
// (which asks about the key it was kept out by), after which a carer sees it, and it is not kept out again
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
	key, err := db.KeptOutKeyOf(ctx, jane.ID, now)
	if err != nil || key != store.ItemKey(it) {
		t.Fatalf("the entry's kept-out key: %q, %v; want the one it was kept out by, %q", key, err, store.ItemKey(it))
	}
	if _, err := db.ChangeConsent(ctx, jane.ID, janeHerself, store.ConsentChange{Question: store.WithholdItemQuestion(key), Answer: "no"}, store.ChoiceLogged(1)); err != nil {
		t.Fatalf("share again by the key the entry page asks about: %v", err)
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

// keepOutAsthmaThenCOPD has Jane keep her GP's asthma entry out of sharing,
// then the GP correct it to COPD.
func keepOutAsthmaThenCOPD(t *testing.T, db *store.DB) store.Person {
	t.Helper()
	ctx := context.Background()
	heldImport(t, db, "gp", res("Patient", "jane", heldPatient), condition("x1", "http://snomed.info/sct", "195967001", "Asthma"))
	jane, err := db.PersonByNHSNumber(ctx, "9434765919")
	if err != nil {
		t.Fatal(err)
	}
	it := heldSection(t, ctx, db, jane.ID, fhir.SectionConditions)[0]
	if _, err := db.ChangeConsent(ctx, jane.ID, janeHerself, store.ConsentChange{Question: store.WithholdItemQuestion(store.ItemKey(it)), Answer: "yes"}, store.ChoiceLogged(1)); err != nil {
		t.Fatal(err)
	}
	heldImport(t, db, "gp", condition("x1", "http://snomed.info/sct", "13645005", "Chronic obstructive lung disease"))
	return jane
}

// A carer cannot share again an entry the person keeps out by naming the key
// it has now.
func TestCarerCannotShareAgainByTheNewKey(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	jane := keepOutAsthmaThenCOPD(t, db)
	carer := store.Performer{AccountID: 2, Name: "Mary Smith", Carer: true, Relationship: "daughter"}
	if _, err := db.ChangeConsent(ctx, jane.ID, carer, store.ConsentChange{Question: store.WithholdItemQuestion("conditions|http://snomed.info/sct|13645005"), Answer: "no"}, store.ChoiceLogged(2)); err == nil {
		t.Error("a carer's 'share it again' by the entry's key now was accepted")
	}
	if got := heldSection(t, store.ForCarer(ctx), db, jane.ID, fhir.SectionConditions); len(got) != 0 {
		t.Errorf("a carer sees %v, kept out by the person", heldDisplays(got))
	}
}

// Another source's report of what the kept-out entry says now is an entry of
// its own to keep out: its page asks about its own key.
func TestAnotherSourcesReportIsAskedAboutByItsOwnKey(t *testing.T) {
	ctx := context.Background()
	db, path := mustOpenDBFile(t)
	jane := keepOutAsthmaThenCOPD(t, db)
	heldImport(t, db, "hospital", res("Patient", "jane", heldPatient), condition("y2", "http://snomed.info/sct", "13645005", "Chronic obstructive lung disease"))
	raw, err := sql.Open("sqlite3", "file:"+store.URIPath(path))
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	err = raw.QueryRow(`SELECT id FROM record_items WHERE resource_id = 'y2'`).Scan(&id)
	raw.Close()
	if err != nil {
		t.Fatal(err)
	}
	e, err := db.RecordEntry(ctx, jane.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	if key, err := db.KeptOutKeyOf(ctx, jane.ID, e.Item); err != nil || key != store.ItemKey(e.Item) {
		t.Errorf("the hospital's report is asked about by %q, %v; want its own key %q", key, err, store.ItemKey(e.Item))
	}
}

// A care team that gains a member while one is kept out keeps that one out,
// and only that one.
func TestReplacedTeamKeepsOnlyTheKeptOutMemberOut(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	heldImport(t, db, "gp", res("Patient", "jane", heldPatient), careTeam("ct1", "Dr Ada Stone", "Nurse Bo Lee"))
	jane, _ := db.PersonByNHSNumber(ctx, "9434765919")
	for _, it := range heldSection(t, ctx, db, jane.ID, fhir.SectionCareTeam) {
		if it.Display == "Dr Ada Stone" {
			if _, err := db.ChangeConsent(ctx, jane.ID, janeHerself, store.ConsentChange{Question: store.WithholdItemQuestion(store.ItemKey(it)), Answer: "yes"}, store.ChoiceLogged(1)); err != nil {
				t.Fatal(err)
			}
		}
	}
	heldImport(t, db, "gp", careTeam("ct1", "Dr Ada Stone-Hart", "Nurse Bo Lee", "Cy Pharmacist"))
	got := heldDisplays(heldSection(t, store.ForCarer(ctx), db, jane.ID, fhir.SectionCareTeam))
	if strings.Join(got, ", ") != "Nurse Bo Lee, Cy Pharmacist" && strings.Join(got, ", ") != "Cy Pharmacist, Nurse Bo Lee" {
		t.Errorf("a carer sees %v; want Nurse Bo Lee and Cy Pharmacist", got)
	}
	for _, it := range heldSection(t, ctx, db, jane.ID, fhir.SectionCareTeam) {
		if it.Withheld != strings.HasPrefix(it.Display, "Dr Ada") {
			t.Errorf("the person's page marks %q as kept out: %v", it.Display, it.Withheld)
		}
	}
}

// An entry kept out by the key it had before upstream changed it is not kept
// out a second time by its key now: it would then need sharing again twice.
func TestEntryKeptOutUnderItsOldKeyIsNotKeptOutTwice(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	jane := keepOutAsthmaThenCOPD(t, db)
	_, err := db.ChangeConsent(ctx, jane.ID, janeHerself, store.ConsentChange{Question: store.WithholdItemQuestion("conditions|http://snomed.info/sct|13645005"), Answer: "yes"}, store.ChoiceLogged(1))
	if store.ErrorCode(err) != store.EINVALID {
		t.Errorf("keeping it out again by its key now: %v; want it refused as already kept out", err)
	}
	// Another source's report of what it says now is an entry of its own, and may be kept out.
	heldImport(t, db, "hospital", res("Patient", "jane", heldPatient), condition("y2", "http://snomed.info/sct", "13645005", "Chronic obstructive lung disease"))
	if _, err := db.ChangeConsent(ctx, jane.ID, janeHerself, store.ConsentChange{Question: store.WithholdItemQuestion("conditions|http://snomed.info/sct|13645005"), Answer: "yes"}, store.ChoiceLogged(1)); err != nil {
		t.Errorf("keeping out the hospital's report: %v", err)
	}
}

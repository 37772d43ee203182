package store_test

// The cases of a review of the second round of clinical-safety rules, each
// a failing test when found (or, for the two that held, a check that they do).

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

func vaccinationAt(id, st, when string) string {
	return `{"resourceType":"Immunization","id":"` + id + `","status":"` + st + `","vaccineCode":{"coding":[{"system":"http://snomed.info/sct","code":"333621002","display":"Tetanus vaccine"}]},"patient":{"reference":"Patient/%s"},` + when + `}`
}

func shownIn(t *testing.T, ctx context.Context, db *store.DB, p int64, sec string) []string {
	t.Helper()
	sp, err := db.RecordSection(ctx, p, sec, 1, 50)
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, it := range sp.Items {
		s = append(s, it.Status+" "+it.Date+" "+it.Detail+" from "+it.SourceLabels())
	}
	slices.Sort(s)
	return s
}

// Two doses of one vaccine, each source giving its time only in words, at
// different times: two entries, as before, when the recorded day told them apart.
func TestDosesGivenInWordsAreNotOneFact(t *testing.T) {
	db := mustOpenDB(t)
	p := importSources(t, db,
		[]string{"gp", vaccinationAt("g1", "completed", `"occurrenceString":"About 1990","recorded":"2019-02-01"`)},
		[]string{"hospital", vaccinationAt("h1", "completed", `"occurrenceString":"Booster in 2010","recorded":"2024-07-09"`)})
	if got := shownIn(t, context.Background(), db, p, fhir.SectionImmunisations); len(got) != 2 {
		t.Errorf("entries %q; want the 1990 dose and the 2010 booster", got)
	}
}

// A vaccination kept out of sharing while two sources' reports of it (one
// "completed", one "not-done") were one fact stays out once 0043's re-read
// gives the not-done report its own key.
func TestKeptOutSurvivesTheSplit(t *testing.T) {
	ctx := context.Background()
	db, path := mustOpenDBFile(t)
	p := importSources(t, db,
		[]string{"gp", vaccinationAt("g1", "completed", `"occurrenceDateTime":"2025-01-10"`)},
		[]string{"pharmacy", vaccinationAt("x1", "not-done", `"occurrenceDateTime":"2025-01-10"`)})
	// As stored before this change: one key for both.
	raw, err := sql.Open("sqlite3", "file:"+store.URIPath(path))
	if err != nil {
		t.Fatal(err)
	}
	var old string
	if err := raw.QueryRow(`SELECT dedup_key FROM record_items WHERE status = 'completed'`).Scan(&old); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`UPDATE record_items SET dedup_key = ?, dup = (status = 'not-done')`, old); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	var it store.RecordItem
	sp, _ := db.RecordSection(ctx, p, fhir.SectionImmunisations, 1, 50)
	if len(sp.Items) != 1 {
		t.Fatalf("setup: %d entries", len(sp.Items))
	}
	it = sp.Items[0]
	if _, err := db.ChangeConsent(ctx, p, janeHerself, store.ConsentChange{Question: store.WithholdItemQuestion(store.ItemKey(it)), Answer: "yes"}, store.ChoiceLogged(1)); err != nil {
		t.Fatal(err)
	}
	raw, _ = sql.Open("sqlite3", "file:"+store.URIPath(path))
	if _, err := raw.Exec(`DELETE FROM reread_backlog; INSERT INTO reread_backlog (after_rowid, upto_rowid) SELECT 0, MAX(rowid) FROM resources`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	if err := db.FinishBulkLoad(ctx); err != nil {
		t.Fatal(err)
	}
	mine := shownIn(t, ctx, db, p, fhir.SectionImmunisations)
	carer := shownIn(t, store.ForCarer(ctx, fhir.SectionImmunisations), db, p, fhir.SectionImmunisations)
	if len(mine) != 2 || len(carer) != 0 {
		t.Errorf("after the re-read the person sees %q, a carer %q; want 2 and none", mine, carer)
	}
}

// One source's appointment, booked and then cancelled (two versions of one
// resource): one entry, cancelled; kept out of sharing throughout.
func TestAppointmentCancelledInALaterVersion(t *testing.T) {
	ctx := context.Background()
	appt := func(st string) string {
		return `{"resourceType":"Appointment","id":"a1","status":"` + st + `","serviceType":[{"text":"Diabetes clinic"}],"start":"2026-03-20T09:30:00Z","participant":[{"actor":{"reference":"Patient/%s"},"status":"accepted"}]}`
	}
	db := mustOpenDB(t)
	p := importSources(t, db, []string{"hospital", appt("booked")})
	sp, _ := db.RecordSection(ctx, p, fhir.SectionEncounters, 1, 50)
	if len(sp.Items) != 1 {
		t.Fatalf("setup %d", len(sp.Items))
	}
	if _, err := db.ChangeConsent(ctx, p, janeHerself, store.ConsentChange{Question: store.WithholdItemQuestion(store.ItemKey(sp.Items[0])), Answer: "yes"}, store.ChoiceLogged(1)); err != nil {
		t.Fatal(err)
	}
	importSources(t, db, []string{"hospital", appt("cancelled")})
	mine := shownIn(t, ctx, db, p, fhir.SectionEncounters)
	carer := shownIn(t, store.ForCarer(ctx, fhir.SectionEncounters), db, p, fhir.SectionEncounters)
	if len(mine) != 1 || !strings.HasPrefix(mine[0], "cancelled") || len(carer) != 0 {
		t.Errorf("person sees %q, carer %q", mine, carer)
	}
}

// Two sources' reports of one appointment, the hospital's saying cancelled:
// the person is not left with a "booked" entry standing beside it.
func TestAppointmentBookedAtOneSourceCancelledAtAnother(t *testing.T) {
	appt := func(id, st string) string {
		return `{"resourceType":"Appointment","id":"` + id + `","status":"` + st + `","serviceType":[{"text":"Diabetes clinic"}],"start":"2026-03-20T09:30:00Z","participant":[{"actor":{"reference":"Patient/%s"},"status":"accepted"}]}`
	}
	db := mustOpenDB(t)
	p := importSources(t, db, []string{"gp", appt("g1", "booked")}, []string{"hospital", appt("h1", "cancelled")})
	got := shownIn(t, context.Background(), db, p, fhir.SectionEncounters)
	if len(got) != 1 {
		t.Errorf("entries %q", got)
	}
}

// The GP diagnosed asthma in 2015 and recorded it resolved in 2024; a
// hospital's 2020 admission left its episode active, dated by the admission.
// The latest report is the GP's resolution.
func TestResolvedAfterTheHospitalsEpisode(t *testing.T) {
	cond := func(id, clinical, extra string) string {
		return `{"resourceType":"Condition","id":"` + id + `","subject":{"reference":"Patient/%s"},` +
			`"clinicalStatus":{"coding":[{"code":"` + clinical + `"}]},"verificationStatus":{"coding":[{"code":"confirmed"}]},` +
			`"code":{"coding":[{"system":"http://snomed.info/sct","code":"195967001","display":"Asthma"}]},` + extra + `}`
	}
	db := mustOpenDB(t)
	p := importSources(t, db,
		[]string{"gp", cond("g1", "resolved", `"onsetDateTime":"2015-01-05","abatementDateTime":"2024-06-01","recordedDate":"2024-06-01"`)},
		[]string{"hospital", cond("h1", "active", `"onsetDateTime":"2020-02-01","recordedDate":"2020-02-01"`)})
	sum, err := db.RecordSummary(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Conditions) != 0 {
		t.Errorf("summary's current conditions %q from %s; the GP resolved it in 2024", sum.Conditions[0].Display, sum.Conditions[0].SourceLabels())
	}
}

// A person who keeps sexual health out of sharing: a carer with the
// vaccinations part does not read an HIV diagnosis as why a dose was not given.
func TestWhyNotGivenKeptFromACarer(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	p := importSources(t, db, []string{"gp", vaccinationAt("g1", "not-done", `"occurrenceDateTime":"2025-01-10","statusReason":{"coding":[{"system":"http://snomed.info/sct","code":"86406008","display":"Human immunodeficiency virus infection"}]}`)})
	if _, err := db.ChangeConsent(ctx, p, janeHerself, store.ConsentChange{Question: store.WithholdQuestion(store.CategorySexualHealth), Answer: "yes"}, store.ChoiceLogged(1)); err != nil {
		t.Fatal(err)
	}
	for _, s := range shownIn(t, store.ForCarer(ctx, fhir.SectionImmunisations), db, p, fhir.SectionImmunisations) {
		if strings.Contains(s, "immunodeficiency") {
			t.Errorf("carer reads %q", s)
		}
	}
}

// A person who keeps sexual health out of sharing: a visit or a procedure
// whose reason is an HIV infection is kept out too, from a carer's pages,
// search and download, as its words name the reason; the person still sees
// it (found by a review).
func TestAVisitForAKeptOutReasonIsKeptOut(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	hiv := `"reasonCode":[{"coding":[{"system":"http://snomed.info/sct","code":"86406008","display":"Human immunodeficiency virus infection"}]}]`
	p := importSources(t, db, []string{"gp",
		`{"resourceType":"Encounter","id":"e1","status":"finished","class":{"code":"AMB"},"type":[{"text":"Clinic visit"}],"subject":{"reference":"Patient/%[1]s"},"period":{"start":"2025-02-01T09:00:00Z"},` + hiv + `}`,
		`{"resourceType":"Encounter","id":"e2","status":"finished","class":{"code":"AMB"},"type":[{"text":"Clinic visit"}],"subject":{"reference":"Patient/%[1]s"},"period":{"start":"2025-03-01T09:00:00Z"}}`,
		`{"resourceType":"Procedure","id":"pr1","status":"completed","code":{"text":"Blood test"},"subject":{"reference":"Patient/%[1]s"},"performedDateTime":"2025-02-01T09:30:00Z",` + hiv + `}`,
	})
	if _, err := db.ChangeConsent(ctx, p, janeHerself, store.ConsentChange{Question: store.WithholdQuestion(store.CategorySexualHealth), Answer: "yes"}, store.ChoiceLogged(1)); err != nil {
		t.Fatal(err)
	}
	carer := store.ForCarer(ctx, fhir.SectionEncounters, fhir.SectionProcedures)
	for _, sec := range []string{fhir.SectionEncounters, fhir.SectionProcedures} {
		for _, s := range shownIn(t, carer, db, p, sec) {
			if strings.Contains(s, "immunodeficiency") {
				t.Errorf("%s: a carer reads %q", sec, s)
			}
		}
		if mine := shownIn(t, ctx, db, p, sec); !strings.Contains(strings.Join(mine, "|"), "immunodeficiency") {
			t.Errorf("%s: the person no longer sees the reason: %q", sec, mine)
		}
	}
	if got := shownIn(t, carer, db, p, fhir.SectionEncounters); len(got) != 1 {
		t.Errorf("a carer's visits %q; want the other visit only", got)
	}
	found, err := db.SearchRecord(carer, p, "immunodeficiency", store.SearchOptions{})
	if err != nil || len(found.Sections) != 0 {
		t.Errorf("a carer's search finds %+v, %v", found.Sections, err)
	}
	var buf strings.Builder
	if _, err := db.WriteBundle(carer, p, &buf); err != nil || strings.Contains(buf.String(), "86406008") {
		t.Errorf("a carer's download holds the visit (%v)", err)
	}
}

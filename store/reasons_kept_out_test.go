package store_test

// The cases of a review of keeping entries out by their reasons, each a
// failing test when found (or, for those that held, a check that they do).

import (
	"context"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

const hivReason = `{"coding":[{"system":"http://snomed.info/sct","code":"86406008","display":"Human immunodeficiency virus infection"}]}`

func withholdSexualHealth(t *testing.T, db *store.DB, p int64) {
	t.Helper()
	if _, err := db.ChangeConsent(context.Background(), p, janeHerself, store.ConsentChange{Question: store.WithholdQuestion(store.CategorySexualHealth), Answer: "yes"}, store.ChoiceLogged(1)); err != nil {
		t.Fatal(err)
	}
}

func carerDownload(t *testing.T, db *store.DB, p int64) string {
	t.Helper()
	var buf strings.Builder
	if _, err := db.WriteBundle(store.ForCarer(context.Background()), p, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// A reason kept out reaches a carer's download through every other resource
// type that gives a reason: only Encounter and Procedure fill Item.Reasons.
func TestOtherReasonsInCarerDownload(t *testing.T) {
	for name, raw := range map[string]string{
		"MedicationRequest.reasonCode":    `{"resourceType":"MedicationRequest","id":"m1","status":"active","intent":"order","subject":{"reference":"Patient/%[1]s"},"medicationCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"319733000","display":"Co-trimoxazole 480mg tablets"}]},"authoredOn":"2025-02-01","reasonCode":[` + hivReason + `]}`,
		"Appointment.reasonCode":          `{"resourceType":"Appointment","id":"a1","status":"booked","serviceType":[{"text":"Clinic"}],"start":"2026-06-01T09:00:00+01:00","participant":[{"actor":{"reference":"Patient/%[1]s"}}],"reasonCode":[` + hivReason + `]}`,
		"Immunization.reasonCode":         `{"resourceType":"Immunization","id":"i1","status":"completed","vaccineCode":{"coding":[{"system":"http://snomed.info/sct","code":"333621002","display":"Tetanus vaccine"}]},"patient":{"reference":"Patient/%[1]s"},"occurrenceDateTime":"2025-02-01","reasonCode":[` + hivReason + `]}`,
		"DiagnosticReport.conclusionCode": `{"resourceType":"DiagnosticReport","id":"d1","status":"final","code":{"text":"Blood count"},"subject":{"reference":"Patient/%[1]s"},"effectiveDateTime":"2025-02-01","conclusionCode":[` + hivReason + `]}`,
	} {
		t.Run(name, func(t *testing.T) {
			db := mustOpenDB(t)
			p := importSources(t, db, []string{"gp", raw})
			withholdSexualHealth(t, db, p)
			if got := carerDownload(t, db, p); strings.Contains(got, "immunodeficiency") {
				t.Errorf("a carer's download names the reason kept out:\n%s", got)
			}
		})
	}
}

// One source's visit and appointment on one day, both written in UK summer
// time: the appointment (later) is now stored in UTC and sorts before the
// visit in the section, newest first, as strings compare "08:30:00Z" < "09:00:00+01:00".
func TestAppointmentSortsWithVisits(t *testing.T) {
	db := mustOpenDB(t)
	p := importSources(t, db, []string{"gp",
		`{"resourceType":"Encounter","id":"e1","status":"finished","class":{"code":"AMB"},"type":[{"text":"Nurse visit"}],"subject":{"reference":"Patient/%[1]s"},"period":{"start":"2026-06-01T09:00:00+01:00"}}`,
		`{"resourceType":"Appointment","id":"a1","status":"booked","serviceType":[{"text":"Diabetes clinic"}],"start":"2026-06-01T09:30:00+01:00","participant":[{"actor":{"reference":"Patient/%[1]s"}}]}`,
	})
	sp, err := db.RecordSection(context.Background(), p, fhir.SectionEncounters, 1, 50)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range sp.Items {
		got = append(got, it.Display+" "+it.Date)
	}
	if len(got) != 2 || !strings.HasPrefix(got[0], "Diabetes clinic") {
		t.Errorf("newest first: %q; want the 09:30 clinic before the 09:00 visit", got)
	}
}

// A visit whose reason changes upstream, from sensitive to not and back.
func TestReasonChangesUpstream(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	enc := func(reason string) string {
		return `{"resourceType":"Encounter","id":"e1","status":"finished","class":{"code":"AMB"},"type":[{"text":"Clinic visit"}],"subject":{"reference":"Patient/%[1]s"},"period":{"start":"2025-02-01T09:00:00Z"}` + reason + `}`
	}
	p := importSources(t, db, []string{"gp", enc(`,"reasonCode":[` + hivReason + `]`)})
	withholdSexualHealth(t, db, p)
	carer := store.ForCarer(ctx, fhir.SectionEncounters)
	if n := len(shownIn(t, carer, db, p, fhir.SectionEncounters)); n != 0 {
		t.Fatalf("carer sees %d", n)
	}
	importSources(t, db, []string{"gp", enc(``)})
	if n := len(shownIn(t, store.ForCarer(ctx, fhir.SectionEncounters), db, p, fhir.SectionEncounters)); n != 1 {
		t.Errorf("after the reason went: carer sees %d", n)
	}
	importSources(t, db, []string{"gp", enc(`,"reasonCode":[{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"B20.1"}],"text":"HIV disease"}]`)})
	if n := len(shownIn(t, store.ForCarer(ctx, fhir.SectionEncounters), db, p, fhir.SectionEncounters)); n != 0 {
		t.Errorf("after an ICD-10 B20 reason: carer sees %d", n)
	}
}

// Two sources' reports of one visit: the GP's names an HIV reason, the
// hospital's none. The GP's stands (lower source id), so a carer is shown
// no visit at all, though the hospital's report says nothing kept out.
func TestVisitReportedTwiceVanishesForCarer(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	enc := `{"resourceType":"Encounter","id":"e1","status":"finished","class":{"code":"AMB"},"type":[{"text":"Clinic visit"}],"subject":{"reference":"Patient/%[1]s"},"period":{"start":"2025-02-01T09:00:00Z"}`
	p := importSources(t, db, []string{"gp", enc + `,"reasonCode":[` + hivReason + `]}`}, []string{"hospital", enc + `}`})
	withholdSexualHealth(t, db, p)
	if got := shownIn(t, store.ForCarer(ctx, fhir.SectionEncounters), db, p, fhir.SectionEncounters); len(got) != 1 {
		t.Errorf("a carer's visits: %q; want the hospital's report", got)
	}
}

// Migration 0045 runs on stored resources whose reasons are not as FHIR
// has them (a reason as a bare string, a coding as a string), which the
// importer stored before it read reasons: one of them must not stop the
// portal from starting (found by a review). It fills the reasons of those
// that are well formed at once, marking their items as having reasons, so
// the person's own pages label them kept out before the re-read (also found
// by a review).
func TestReasonsMigrationOnOddResources(t *testing.T) {
	ctx := context.Background()
	db, path := mustOpenDBFile(t)
	appt := func(id, reason string) string {
		return `{"resourceType":"Appointment","id":"` + id + `","status":"booked","serviceType":[{"text":"Clinic"}],"start":"2026-06-01T09:00:00Z",` +
			`"participant":[{"actor":{"reference":"Patient/%[1]s"}}],"reasonCode":` + reason + `}`
	}
	p := importSources(t, db, []string{"gp",
		appt("odd1", `["HIV"]`), appt("odd2", `[{"coding":"x"}]`), appt("odd3", `[{"coding":["x"]}]`),
		appt("hiv", `[`+hivReason+`]`),
	})
	// As it was before 0045.
	db = rerunMigration(t, db, path, 45, `DROP TABLE record_item_reasons`, `ALTER TABLE record_items DROP COLUMN reason_codes`)
	if _, err := db.ChangeConsent(ctx, p, janeHerself, store.ConsentChange{Question: store.WithholdQuestion(store.CategorySexualHealth), Answer: "yes"}, store.ChoiceLogged(1)); err != nil {
		t.Fatal(err)
	}
	// Before the re-read: hidden from a carer, and labelled on the person's own page.
	for _, tt := range []struct {
		ctx      context.Context
		withheld bool
		want     int
	}{{store.ForCarer(ctx, fhir.SectionEncounters), false, 3}, {ctx, true, 4}} {
		sp, err := db.RecordSection(tt.ctx, p, fhir.SectionEncounters, 1, 10)
		if err != nil || len(sp.Items) != tt.want {
			t.Fatalf("%d entries (%v), want %d", len(sp.Items), err, tt.want)
		}
		for _, it := range sp.Items {
			if it.ResourceID == "hiv" && it.Withheld != tt.withheld {
				t.Errorf("the visit for HIV: kept out %v, want %v", it.Withheld, tt.withheld)
			}
		}
	}
	if _, err := db.FinishStalledBulkLoad(ctx, true); err != nil {
		t.Fatal(err)
	}
	if sp, err := db.RecordSection(store.ForCarer(ctx, fhir.SectionEncounters), p, fhir.SectionEncounters, 1, 10); err != nil || len(sp.Items) != 3 {
		t.Errorf("after the re-read, a carer sees %d entries (%v), want 3", len(sp.Items), err)
	}
}

// A reason given by reference to a Condition of a kind kept out keeps the
// entry out too, from a carer's pages and download, when the Condition is
// at the same source: a visit's reasonReference or diagnosis, in a bundle
// by urn:uuid or by id. The person still sees it.
func TestAReasonByReferenceIsKeptOut(t *testing.T) {
	ctx := context.Background()
	condition := `{"resourceType":"Condition","id":"c1","subject":{"reference":"Patient/%[1]s"},"clinicalStatus":{"coding":[{"code":"active"}]},"code":` + hivReason + `,"recordedDate":"2025-01-01"}`
	for name, link := range map[string]string{
		"reasonReference":       `"reasonReference":[{"reference":"Condition/c1","display":"Human immunodeficiency virus infection"}]`,
		"reasonReference, uuid": `"reasonReference":[{"reference":"urn:uuid:c1"}]`,
		"diagnosis":             `"diagnosis":[{"condition":{"reference":"Condition/c1"}}]`,
	} {
		t.Run(name, func(t *testing.T) {
			db := mustOpenDB(t)
			p := importSources(t, db, []string{"gp", condition,
				`{"resourceType":"Encounter","id":"e1","status":"finished","class":{"code":"AMB"},"type":[{"text":"Clinic visit"}],"subject":{"reference":"Patient/%[1]s"},"period":{"start":"2025-02-01T09:00:00Z"},` + link + `}`,
				`{"resourceType":"Encounter","id":"e2","status":"finished","class":{"code":"AMB"},"type":[{"text":"Clinic visit"}],"subject":{"reference":"Patient/%[1]s"},"period":{"start":"2025-03-01T09:00:00Z"}}`,
			})
			if _, err := db.ChangeConsent(ctx, p, janeHerself, store.ConsentChange{Question: store.WithholdQuestion(store.CategorySexualHealth), Answer: "yes"}, store.ChoiceLogged(1)); err != nil {
				t.Fatal(err)
			}
			carer := store.ForCarer(ctx, fhir.SectionEncounters)
			sp, err := db.RecordSection(carer, p, fhir.SectionEncounters, 1, 10)
			if err != nil || len(sp.Items) != 1 || sp.Items[0].ResourceID != "e2" {
				t.Errorf("a carer's visits: %+v (%v); want only the other visit", sp.Items, err)
			}
			var buf strings.Builder
			if _, err := db.WriteBundle(carer, p, &buf); err != nil || strings.Contains(buf.String(), `"e1"`) {
				t.Errorf("a carer's download holds the visit (%v)", err)
			}
			mine, err := db.RecordSection(ctx, p, fhir.SectionEncounters, 1, 10)
			if err != nil || len(mine.Items) != 2 {
				t.Errorf("the person's visits: %d (%v), want 2", len(mine.Items), err)
			}
			for _, it := range mine.Items {
				if it.ResourceID == "e1" && !it.Withheld {
					t.Error("the person's own page does not say the visit is kept out")
				}
			}
		})
	}
}

// Why a vaccination or a medicine was not given or stopped, a procedure's
// complications and follow-up, and a result's coded value or a part's count
// among an entry's reasons (a review: a carer's download held a vaccination
// not given for HIV infection, and the procedures page a complication of a
// kept-out kind), from the moment migration 0051 runs on a cache stored
// before (with 0054), and after its re-read. The person still sees them. An allergy's
// reactions do not: an allergy is never hidden for what it caused.
func TestMoreReasonsKeptOutThroughTheMigration(t *testing.T) {
	ctx := context.Background()
	const delirium = `{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"F05.9","display":"Delirium, unspecified"}]}`
	db, path := mustOpenDBFile(t)
	p := importSources(t, db, []string{"gp",
		`{"resourceType":"Immunization","id":"i1","status":"not-done","patient":{"reference":"Patient/%[1]s"},"vaccineCode":{"coding":[{"system":"http://snomed.info/sct","code":"333621002","display":"Tetanus vaccine"}]},"occurrenceDateTime":"2025-01-10","statusReason":` + hivReason + `}`,
		`{"resourceType":"MedicationStatement","id":"ms1","status":"stopped","subject":{"reference":"Patient/%[1]s"},"medicationCodeableConcept":{"text":"Sertraline 50mg tablets"},"effectiveDateTime":"2025-01-12","statusReason":[` + delirium + `]}`,
		`{"resourceType":"Procedure","id":"pr1","status":"completed","subject":{"reference":"Patient/%[1]s"},"code":{"coding":[{"system":"http://snomed.info/sct","code":"73761001","display":"Colonoscopy"}]},"performedDateTime":"2025-02-01T09:30:00Z","complication":[` + delirium + `]}`,
		`{"resourceType":"Procedure","id":"pr2","status":"completed","subject":{"reference":"Patient/%[1]s"},"code":{"coding":[{"system":"http://snomed.info/sct","code":"80146002","display":"Appendicectomy"}]},"performedDateTime":"2025-03-01T09:30:00Z","followUp":[` + hivReason + `]}`,
		`{"resourceType":"Observation","id":"o1","status":"final","subject":{"reference":"Patient/%[1]s"},"code":{"text":"Screening result"},"effectiveDateTime":"2025-04-01","valueCodeableConcept":` + hivReason + `}`,
		`{"resourceType":"Observation","id":"o2","status":"final","subject":{"reference":"Patient/%[1]s"},"code":{"text":"Screening panel"},"effectiveDateTime":"2025-04-02","component":[{"code":{"text":"Finding"},"valueCodeableConcept":` + hivReason + `}]}`,
		`{"resourceType":"AllergyIntolerance","id":"a1","patient":{"reference":"Patient/%[1]s"},"code":{"text":"Penicillin"},"recordedDate":"2025-05-01","reaction":[{"manifestation":[` + delirium + `]}]}`,
	})
	for _, cat := range []string{store.CategorySexualHealth, store.CategoryMentalHealth} {
		if _, err := db.ChangeConsent(ctx, p, janeHerself, store.ConsentChange{Question: store.WithholdQuestion(cat), Answer: "yes"}, store.ChoiceLogged(1)); err != nil {
			t.Fatal(err)
		}
	}
	sections := []string{fhir.SectionImmunisations, fhir.SectionMedicines, fhir.SectionProcedures, fhir.SectionResults}
	check := func(when string) {
		t.Helper()
		if got := shownIn(t, store.ForCarer(ctx, fhir.SectionAllergies), db, p, fhir.SectionAllergies); len(got) != 1 {
			t.Errorf("%s, a carer's allergies: %q; want the penicillin allergy", when, got)
		}
		keptOutOfEach(t, db, p, when, sections...)
	}
	check("as stored")
	// As it was before 0051: none of those fields among the reasons.
	// 0051 as it was first committed, and 0054, which corrects it: a database
	// that ran the first runs only the second.
	db = rerunMigration(t, db, path, 51, `DELETE FROM record_item_reasons`, `UPDATE record_items SET reason_codes = ''`,
		`DELETE FROM schema_migrations WHERE version = 54`)
	check("after the migration, before the re-read")
	if _, err := db.FinishStalledBulkLoad(ctx, true); err != nil {
		t.Fatal(err)
	}
	check("after the re-read")
}

// An entry that names a kept-out one by reference as what it is for or
// about is kept out with it: a report among its results and a procedure
// as its reason, a result kept out one by one; a visit for a diagnosis kept
// out one by one; and, with mental health kept out, a care plan addressing
// a depression and a care team whose reason is one (a review found them in
// a carer's download). So from the moment migration 0055 runs on a cache
// stored before (references to a Condition alone, as its bare id), and
// after its re-read.
func TestEntriesNamingAKeptOutOneThroughTheMigration(t *testing.T) {
	ctx := context.Background()
	const test = "6e0b5d3c-4b3a-4e57-9a55-0d3c1e2f4a10"
	db, path := mustOpenDBFile(t)
	p := importSources(t, db, []string{"gp",
		`{"resourceType":"Observation","id":"` + test + `","status":"final","subject":{"reference":"Patient/%[1]s"},"code":{"text":"Pregnancy test"},"effectiveDateTime":"2025-03-01","valueCodeableConcept":{"text":"Positive"}}`,
		`{"resourceType":"DiagnosticReport","id":"r1","status":"final","subject":{"reference":"Patient/%[1]s"},"code":{"text":"Urine tests"},"effectiveDateTime":"2025-03-01","result":[{"reference":"urn:uuid:` + test + `","display":"Pregnancy test: Positive"}]}`,
		`{"resourceType":"Procedure","id":"pr1","status":"completed","subject":{"reference":"Patient/%[1]s"},"code":{"text":"Ultrasound scan"},"performedDateTime":"2025-03-02T09:30:00Z","reasonReference":[{"reference":"Observation/` + test + `","display":"Pregnancy test: Positive"}]}`,
		`{"resourceType":"Condition","id":"c1","subject":{"reference":"Patient/%[1]s"},"clinicalStatus":{"coding":[{"code":"active"}]},"code":{"text":"Back pain"},"recordedDate":"2025-01-01"}`,
		`{"resourceType":"Encounter","id":"e1","status":"finished","subject":{"reference":"Patient/%[1]s"},"class":{"code":"AMB"},"type":[{"text":"Physiotherapy"}],"period":{"start":"2025-01-05T09:00:00Z"},"reasonReference":[{"reference":"Condition/c1","display":"Back pain"}]}`,
		`{"resourceType":"Condition","id":"c2","subject":{"reference":"Patient/%[1]s"},"clinicalStatus":{"coding":[{"code":"active"}]},"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"F32.9","display":"Depressive episode, unspecified"}]},"recordedDate":"2025-02-01"}`,
		`{"resourceType":"CarePlan","id":"cp1","status":"active","intent":"plan","title":"Support plan","subject":{"reference":"Patient/%[1]s"},"period":{"start":"2025-02-01"},"addresses":[{"reference":"Condition/c2","display":"Depressive episode"}]}`,
		`{"resourceType":"CareTeam","id":"t1","status":"active","name":"Community team","subject":{"reference":"Patient/%[1]s"},"reasonCode":[{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"F32.9"}]}],"participant":[{"role":[{"text":"Care coordinator"}],"member":{"display":"Sam Jones"}}]}`,
	})
	keepOutEntryNamed(t, db, p, fhir.SectionResults, "Pregnancy test")
	keepOutEntryNamed(t, db, p, fhir.SectionConditions, "Back pain")
	keepOutKind(t, db, p, store.CategoryMentalHealth)
	sections := []string{fhir.SectionResults, fhir.SectionProcedures, fhir.SectionEncounters, fhir.SectionConditions, fhir.SectionCarePlans, fhir.SectionCareTeam}
	check := func(when string) {
		t.Helper()
		keptOutOfEach(t, db, p, when, sections...)
		for _, never := range []string{"Pregnancy", "Depressive"} {
			if leaks := carerDownloadHolds(t, db, p, never); len(leaks) != 0 {
				t.Errorf("%s, a carer's download names %q in %q", when, never, leaks)
			}
		}
	}
	check("as stored")
	// As it was before 0055: a reference counted only to a Condition, by its
	// bare id; a care team's reasons not at all.
	db = rerunMigration(t, db, path, 55, `DELETE FROM record_item_reasons`, `UPDATE record_items SET reason_codes = ''`,
		`INSERT INTO record_item_reasons (item_id, system, code) SELECT id, 'ref', 'c1' FROM record_items WHERE resource_type = 'Encounter'`,
		`UPDATE record_items SET reason_codes = 'ref|c1'||char(31) WHERE resource_type = 'Encounter'`)
	check("after the migration, before the re-read")
	if _, err := db.FinishStalledBulkLoad(ctx, true); err != nil {
		t.Fatal(err)
	}
	check("after the re-read")
}

// keptOutOfEach fails unless a carer sees nothing in each section, and the
// person sees entries there, each labelled kept out.
func keptOutOfEach(t *testing.T, db *store.DB, p int64, when string, sections ...string) {
	t.Helper()
	ctx := context.Background()
	for _, sec := range sections {
		if got := shownIn(t, store.ForCarer(ctx, sec), db, p, sec); len(got) != 0 {
			t.Errorf("%s, a carer's %s: %q; want none", when, sec, got)
		}
		sp, err := db.RecordSection(ctx, p, sec, 1, 10)
		if err != nil || len(sp.Items) == 0 {
			t.Fatalf("%s, the person's %s: %v; want their entries", when, sec, err)
		}
		for _, it := range sp.Items {
			if !it.Withheld {
				t.Errorf("%s, the person's %s: %s is not labelled kept out", when, sec, it.Display)
			}
		}
	}
}

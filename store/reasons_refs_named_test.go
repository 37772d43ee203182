package store_test

// What names a kept-out entry where a carer reads it: each test failed
// when a review wrote it.

import (
	"context"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

const mentalHealthTeam = `{"resourceType":"CareTeam","id":"ct1","status":"active","name":"Community mental health team","subject":{"reference":"Patient/%[1]s"},` +
	`"reasonCode":[{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"F32.9","display":"Depressive episode, unspecified"}]}],` +
	`"participant":[{"member":{"reference":"Practitioner/cpn","display":"Sam Nurse (CPN)"}}]}`

// carerItems is every item a carer's section page lists, as the words the page shows.
func carerItems(t *testing.T, db *store.DB, p int64, sec string) []string {
	t.Helper()
	sp, err := db.RecordSection(store.ForCarer(context.Background(), sec), p, sec, 1, 50)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, it := range sp.Items {
		out = append(out, it.Display+" | "+it.Value+" | "+it.Detail+" | by "+it.Organisation)
	}
	return out
}

func anyHolds(list []string, w string) []string {
	var out []string
	for _, s := range list {
		if strings.Contains(strings.ToLower(s), strings.ToLower(w)) {
			out = append(out, s)
		}
	}
	return out
}

// A care team kept out (with mental health) named as who did or wrote an
// entry, or as a member of another team, keeps that entry out of a carer's
// pages and search: the pages said "by Community mental health team" (a
// review), as the download did.
func TestAKeptOutCareTeamIsNotNamedOnCarerPages(t *testing.T) {
	for _, tc := range []struct{ name, sec, raw string }{
		{"Observation.performer (results page)", fhir.SectionResults, `{"resourceType":"Observation","id":"o9","status":"final","subject":{"reference":"Patient/%[1]s"},"code":{"text":"Blood pressure"},` +
			`"effectiveDateTime":"2025-02-03","valueString":"120/80","performer":[{"reference":"CareTeam/ct1","display":"Community mental health team"}]}`},
		{"Procedure.performer.actor (procedures page)", fhir.SectionProcedures, `{"resourceType":"Procedure","id":"pr9","status":"completed","subject":{"reference":"Patient/%[1]s"},"code":{"text":"Medication review"},` +
			`"performedDateTime":"2025-02-03T10:00:00Z","performer":[{"actor":{"reference":"CareTeam/ct1","display":"Community mental health team"}}]}`},
		{"CarePlan.author (care plans page)", fhir.SectionCarePlans, `{"resourceType":"CarePlan","id":"cp9","status":"active","intent":"plan","title":"Crisis plan","subject":{"reference":"Patient/%[1]s"},` +
			`"period":{"start":"2025-02-01"},"author":{"reference":"CareTeam/ct1","display":"Community mental health team"}}`},
		{"CareTeam.participant.member (care team page)", fhir.SectionCareTeam, `{"resourceType":"CareTeam","id":"ct9","status":"active","name":"Neighbourhood team","subject":{"reference":"Patient/%[1]s"},` +
			`"participant":[{"member":{"reference":"CareTeam/ct1","display":"Community mental health team"}}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := mustOpenDB(t)
			p := importSources(t, db, []string{"gp", mentalHealthTeam, tc.raw})
			keepOutKind(t, db, p, store.CategoryMentalHealth)
			if leaks := carerDownloadHolds(t, db, p, "mental health"); len(leaks) != 0 {
				t.Fatalf("a carer's download names the kept-out mental health team in: %q", leaks)
			}
			if got := anyHolds(carerItems(t, db, p, tc.sec), "mental health"); len(got) != 0 {
				t.Errorf("the carer's %s page names the kept-out mental health team: %q", tc.sec, got)
			}
			res, err := db.SearchRecord(store.ForCarer(context.Background()), p, "mental health", store.SearchOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Total != 0 {
				var found []string
				for _, s := range res.Sections {
					for _, it := range s.Items {
						found = append(found, it.Display+" by "+it.Organisation)
					}
				}
				t.Errorf("a carer's search for \"mental health\" finds %d: %q", res.Total, found)
			}
		})
	}
}

// A report whose result is kept out is kept out with it: its conclusion
// (free text, as labs and GP systems write it) names the result (a review
// found it on a carer's results page and in their download while reports
// were only masked).
func TestAReportOfAKeptOutResultIsKeptOutWithItsConclusion(t *testing.T) {
	db := mustOpenDB(t)
	p := importSources(t, db, []string{"gp", refPregnancyTest,
		`{"resourceType":"DiagnosticReport","id":"r1","status":"final","subject":{"reference":"Patient/%[1]s"},"code":{"text":"Urine tests"},"effectiveDateTime":"2025-03-01",` +
			`"result":[{"reference":"Observation/o1","display":"Pregnancy test: Positive"}],"conclusion":"Pregnancy test positive. Refer to early pregnancy unit."}`})
	keepOutEntryNamed(t, db, p, fhir.SectionResults, "Pregnancy test")
	if got := anyHolds(carerItems(t, db, p, fhir.SectionResults), "pregnancy"); len(got) != 0 {
		t.Errorf("the carer's results page names the kept-out pregnancy test: %q", got)
	}
	if leaks := carerDownloadHolds(t, db, p, "Pregnancy"); len(leaks) != 0 {
		t.Errorf("the carer's download names the kept-out pregnancy test in: %q", leaks)
	}
	if res, err := db.SearchRecord(store.ForCarer(context.Background()), p, "pregnancy", store.SearchOptions{}); err != nil || res.Total != 0 {
		t.Errorf("a carer's search for \"pregnancy\" finds %d (%v); want none", res.Total, err)
	}
}

// A result taken at a kept-out visit stays a carer's, its reference to the
// visit masked and its narrative, which quotes the visit, dropped (as most
// FHIR servers generate one); its numbers come through as written; and the
// person's own download is not masked at all.
func TestANarrativeQuotingAKeptOutEntryIsDropped(t *testing.T) {
	db := mustOpenDB(t)
	p := importSources(t, db, []string{"gp",
		`{"resourceType":"Encounter","id":"e1","status":"finished","class":{"code":"AMB"},"type":[{"text":"Sexual health clinic visit"}],"subject":{"reference":"Patient/%[1]s"},"period":{"start":"2025-02-02T09:00:00Z"}}`,
		`{"resourceType":"Observation","id":"o9","status":"final","subject":{"reference":"Patient/%[1]s"},"code":{"text":"Body weight"},"effectiveDateTime":"2025-02-02",` +
			`"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">Weighed at the Sexual health clinic visit</div>"},` +
			`"valueQuantity":{"value":72.97763358096024000,"unit":"kg"},"encounter":{"reference":"Encounter/e1","display":"Sexual health clinic visit"}}`})
	keepOutEntryNamed(t, db, p, fhir.SectionEncounters, "Sexual health clinic visit")
	carerSees(t, db, p, fhir.SectionResults, 1, "Sexual health")
	if dl := carerDownload(t, db, p); !strings.Contains(dl, "72.97763358096024000") || !strings.Contains(dl, "data-absent-reason") {
		t.Errorf("a carer's download: %s; want the weight as written, its visit masked", dl)
	}
	var own strings.Builder
	if _, err := db.WriteBundle(context.Background(), p, &own); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(own.String(), "data-absent-reason") || !strings.Contains(own.String(), "Weighed at the Sexual health clinic visit") {
		t.Errorf("the person's own download is masked: %s", own.String())
	}
}

// A report whose result, held inside it ("#r1"), is of a kind kept out (an
// HIV test, sexual health) is kept out: its contained result counts by its
// code and value, as a contained reason does (a review found it whole in a
// carer's download).
func TestAContainedResultOfAKeptOutKind(t *testing.T) {
	db := mustOpenDB(t)
	p := importSources(t, db, []string{"gp",
		`{"resourceType":"DiagnosticReport","id":"d1","status":"final","subject":{"reference":"Patient/%[1]s"},"code":{"text":"Blood tests"},"effectiveDateTime":"2025-04-01",` +
			`"contained":[{"resourceType":"Observation","id":"r1","status":"final","code":{"text":"Screening result"},"valueCodeableConcept":` + hivReason + `}],` +
			`"result":[{"reference":"#r1"}]}`})
	withholdSexualHealth(t, db, p)
	if leaks := carerDownloadHolds(t, db, p, "immunodeficiency"); len(leaks) != 0 {
		t.Errorf("the carer's download holds the HIV result in: %q", leaks)
	}
}

// A care plan addressing a kept-out depression is kept out with mental
// health: in FHIR R4, addresses is what a plan is for, and its own words
// say so (a review found it shown while plans were only masked).
func TestACarePlanForAKeptOutDepressionIsKeptOut(t *testing.T) {
	db := mustOpenDB(t)
	p := importSources(t, db, []string{"gp", refDepression,
		`{"resourceType":"CarePlan","id":"cp1","status":"active","intent":"plan","title":"Crisis plan","subject":{"reference":"Patient/%[1]s"},"period":{"start":"2025-02-01"},` +
			`"description":"If Jane feels hopeless or talks of ending her life, call the crisis line","addresses":[{"reference":"Condition/c1","display":"Depressive episode"}],` +
			`"activity":[{"detail":{"status":"in-progress","code":{"text":"Weekly talking therapy"}}},{"detail":{"status":"in-progress","code":{"text":"Sertraline review"}}}]}`})
	keepOutKind(t, db, p, store.CategoryMentalHealth)
	if got := carerItems(t, db, p, fhir.SectionCarePlans); len(got) != 0 {
		t.Errorf("a carer's care plans, mental health kept out: %q; want none (the plan addresses the depression)", got)
	}
}

// Two servers numbering their resources alike (1, 2, 3…) is common:
// keeping out the hospital's Observation/1 does not mask the GP's report's
// reference to the GP's own Observation/1, which the carer sees (a review
// found it masked).
func TestAnotherSourcesSameIDIsNotMasked(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	for _, s := range []store.Source{{Name: "gp", BaseURL: "https://gp.example.org/fhir"}, {Name: "hospital", BaseURL: "https://hospital.example.org/fhir"}} {
		if _, err := db.AddSource(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	p := importSources(t, db,
		[]string{"gp", `{"resourceType":"Observation","id":"1","status":"final","subject":{"reference":"Patient/%[1]s"},"code":{"text":"Haemoglobin"},"effectiveDateTime":"2025-03-09","valueQuantity":{"value":131,"unit":"g/L"}}`,
			`{"resourceType":"DiagnosticReport","id":"5","status":"final","subject":{"reference":"Patient/%[1]s"},"code":{"text":"Full blood count"},"effectiveDateTime":"2025-03-09","result":[{"reference":"Observation/1","display":"Haemoglobin"}]}`},
		[]string{"hospital", `{"resourceType":"Observation","id":"1","status":"final","subject":{"reference":"Patient/%[1]s"},"code":{"text":"Chlamydia test"},"effectiveDateTime":"2025-01-09","valueString":"Detected"}`})
	keepOutEntryNamed(t, db, p, fhir.SectionResults, "Chlamydia test")
	dl := carerDownload(t, db, p)
	if !strings.Contains(dl, `"Haemoglobin"`) {
		t.Fatalf("the GP's haemoglobin is not in the download")
	}
	i := strings.Index(dl, `"Full blood count"`)
	report, _, _ := strings.Cut(dl[i:], `"fullUrl"`)
	if !strings.Contains(report, `"reference":"Observation/1"`) {
		t.Errorf("the GP's report's reference to its own, shared, Observation/1 is masked: %.420s", dl[max(0, i):])
	}
}

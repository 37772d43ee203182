package store_test

// What one keep-out takes with it, as a review found it should: each test
// failed when the review wrote it.

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// A clinic letter (DocumentReference) or note (a DiagnosticReport with text
// and no results) written for a visit the person kept out one by one is
// kept out with it: the whole letter is that visit's, and its text says what
// happened there. Synthea writes one such note per visit. It stayed on the
// carer's documents page and in their download, only its reference masked.
func TestALetterForAKeptOutVisitIsKeptOut(t *testing.T) {
	const letter = "Seen today at the sexual health clinic. Chlamydia test taken; doxycycline started."
	for _, tc := range []struct{ name, raw string }{
		{"DocumentReference.context.encounter", `{"resourceType":"DocumentReference","id":"d1","status":"current","subject":{"reference":"Patient/%[1]s"},` +
			`"type":{"coding":[{"system":"http://loinc.org","code":"34117-2","display":"History and physical note"}]},"date":"2025-02-02T10:00:00Z",` +
			`"content":[{"attachment":{"contentType":"text/plain","data":"` + b64(letter) + `"}}],` +
			`"context":{"encounter":[{"reference":"Encounter/e1"}],"period":{"start":"2025-02-02T09:00:00Z"}}}`},
		{"DiagnosticReport.encounter (a note with presentedForm)", `{"resourceType":"DiagnosticReport","id":"n1","status":"final","subject":{"reference":"Patient/%[1]s"},` +
			`"code":{"coding":[{"system":"http://loinc.org","code":"34117-2","display":"History and physical note"}]},"effectiveDateTime":"2025-02-02T10:00:00Z",` +
			`"encounter":{"reference":"Encounter/e1"},"presentedForm":[{"contentType":"text/plain","data":"` + b64(letter) + `"}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := mustOpenDB(t)
			p := importSources(t, db, []string{"gp",
				`{"resourceType":"Encounter","id":"e1","status":"finished","class":{"code":"AMB"},"type":[{"text":"Sexual health clinic visit"}],"subject":{"reference":"Patient/%[1]s"},"period":{"start":"2025-02-02T09:00:00Z"}}`,
				tc.raw})
			keepOutEntryNamed(t, db, p, fhir.SectionEncounters, "Sexual health clinic visit")
			sp, err := db.RecordSection(store.ForCarer(context.Background(), fhir.SectionDocuments), p, fhir.SectionDocuments, 1, 50)
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range sp.Items {
				if _, data, err := db.AttachmentData(store.ForCarer(context.Background(), fhir.SectionDocuments), p, it.ID, 0); err == nil && strings.Contains(string(data), "sexual health") {
					t.Errorf("a carer reads the note of the kept-out visit (%s): %q", it.Display, data)
				}
			}
			if strings.Contains(carerDownload(t, db, p), b64(letter)) {
				t.Errorf("a carer's download holds the note of the kept-out visit")
			}
		})
	}
}

// The person keeps one member of a care team out of sharing (a community
// psychiatric nurse in their GP's primary care team): nothing the team did
// is kept out with it, only with the whole team. Every entry naming the team
// as performer or author was kept out: the insulin the team gives, the HbA1c
// it took, the diabetes plan it wrote.
func TestOneCareTeamMemberKeptOutHidesNothingTheTeamDid(t *testing.T) {
	db := mustOpenDB(t)
	p := importSources(t, db, []string{"gp",
		`{"resourceType":"CareTeam","id":"ct1","status":"active","name":"Primary care team","subject":{"reference":"Patient/%[1]s"},` +
			`"participant":[{"role":[{"text":"GP"}],"member":{"reference":"Practitioner/gp1","display":"Dr Ann Jones"}},` +
			`{"role":[{"text":"Community psychiatric nurse"}],"member":{"reference":"Practitioner/cpn1","display":"Jo Bloggs"}}]}`,
		`{"resourceType":"MedicationRequest","id":"m1","status":"active","intent":"order","subject":{"reference":"Patient/%[1]s"},` +
			`"medicationCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"325238001","display":"Insulin glargine 100units/ml"}]},` +
			`"authoredOn":"2025-01-10","dosageInstruction":[{"text":"20 units at night"}],"performer":{"reference":"CareTeam/ct1","display":"Primary care team"}}`,
		`{"resourceType":"Observation","id":"o1","status":"final","subject":{"reference":"Patient/%[1]s"},"code":{"coding":[{"system":"http://loinc.org","code":"4548-4","display":"HbA1c"}]},` +
			`"effectiveDateTime":"2025-01-09","valueQuantity":{"value":61,"unit":"mmol/mol"},"performer":[{"reference":"CareTeam/ct1","display":"Primary care team"}]}`,
		`{"resourceType":"CarePlan","id":"cp1","status":"active","intent":"plan","title":"Diabetes care plan","subject":{"reference":"Patient/%[1]s"},` +
			`"period":{"start":"2025-01-10"},"author":{"reference":"CareTeam/ct1","display":"Primary care team"}}`,
	})
	keepOutEntryNamed(t, db, p, fhir.SectionCareTeam, "Jo Bloggs")
	for _, c := range []struct{ sec, want string }{
		{fhir.SectionCareTeam, "Dr Ann Jones"},
		{fhir.SectionMedicines, "Insulin glargine"},
		{fhir.SectionResults, "HbA1c"},
		{fhir.SectionCarePlans, "Diabetes care plan"},
	} {
		if got := carerItems(t, db, p, c.sec); len(anyHolds(got, c.want)) == 0 {
			t.Errorf("one care team member kept out, the carer's %s lacks %q: %q", c.sec, c.want, got)
		}
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// A hospital's file (no address) whose report gives the GP's result, by
// its absolute address at the GP's server, among its results: keeping out
// the hospital's own Observation/o1 (a haemoglobin) keeps out no report that
// never named it (a review found the importer reading the address as the
// hospital's, and the download as the GP's). A reference to another
// source's entry as a reason is not followed (see the README).
func TestAnAbsoluteReferenceFromAFileIsAnotherSourcesWhenUnderItsAddress(t *testing.T) {
	db := mustOpenDB(t)
	if _, err := db.AddSource(context.Background(), store.Source{Name: "gp", BaseURL: "https://gp.example.org/fhir"}); err != nil {
		t.Fatal(err)
	}
	p := importSources(t, db,
		[]string{"gp", `{"resourceType":"Observation","id":"o1","status":"final","subject":{"reference":"Patient/%[1]s"},"code":{"text":"Chlamydia test"},"effectiveDateTime":"2025-01-09","valueString":"Detected"}`},
		[]string{"hospital", `{"resourceType":"Observation","id":"o1","status":"final","subject":{"reference":"Patient/%[1]s"},"code":{"text":"Haemoglobin"},"effectiveDateTime":"2025-03-09","valueQuantity":{"value":131,"unit":"g/L"}}`,
			`{"resourceType":"DiagnosticReport","id":"r1","status":"final","subject":{"reference":"Patient/%[1]s"},"code":{"text":"Pre-operative review"},"effectiveDateTime":"2025-03-09",` +
				`"result":[{"reference":"https://gp.example.org/fhir/Observation/o1","display":"Chlamydia test: Detected"}]}`})
	keepOutEntryNamed(t, db, p, fhir.SectionResults, "Haemoglobin")
	if got := anyHolds(carerItems(t, db, p, fhir.SectionResults), "Pre-operative review"); len(got) != 1 {
		t.Errorf("the hospital's report, which never named the haemoglobin, is kept out with it: carer sees %q", carerItems(t, db, p, fhir.SectionResults))
	}
}

package store_test

// References to a kept-out entry in fields a list of fields missed (a
// review): each names the kept-out entry, with a display saying what it is,
// and the carer's download held it. EntryRefs now reads every reference.

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

func TestEveryFieldNamingAKeptOutEntry(t *testing.T) {
	const (
		hivTest = `{"resourceType":"Observation","id":"o1","status":"final","subject":{"reference":"Patient/%[1]s"},"code":{"text":"HIV antibody test"},` +
			`"effectiveDateTime":"2025-03-01","valueString":"Reactive"}`
		hivReport = `{"resourceType":"DiagnosticReport","id":"r1","status":"final","subject":{"reference":"Patient/%[1]s"},"code":{"text":"HIV screen report"},` +
			`"effectiveDateTime":"2025-03-01","conclusion":"Reactive"}`
		gumLetter = `{"resourceType":"DocumentReference","id":"d1","status":"current","subject":{"reference":"Patient/%[1]s"},"type":{"text":"GUM clinic letter"},` +
			`"date":"2025-03-02T10:00:00Z","content":[{"attachment":{"contentType":"text/plain","title":"GUM clinic letter"}}]}`
		gumAppt = `{"resourceType":"Appointment","id":"a1","status":"fulfilled","serviceType":[{"text":"GUM clinic"}],"start":"2026-06-01T09:00:00Z","participant":[{"actor":{"reference":"Patient/%[1]s"}}]}`
		prep    = `{"resourceType":"MedicationRequest","id":"m1","status":"completed","intent":"order","subject":{"reference":"Patient/%[1]s"},` +
			`"medicationCodeableConcept":{"text":"Truvada PrEP tablets"},"authoredOn":"2025-01-02"}`
	)
	for _, tc := range []struct {
		name, raw, sec, keptOut, never string
	}{
		{"DocumentReference.relatesTo.target (an addendum to a kept-out letter)",
			`{"resourceType":"DocumentReference","id":"d9","status":"current","subject":{"reference":"Patient/%[1]s"},"type":{"text":"Addendum"},` +
				`"date":"2025-03-03T10:00:00Z","content":[{"attachment":{"contentType":"text/plain","title":"Addendum"}}],` +
				`"relatesTo":[{"code":"appends","target":{"reference":"DocumentReference/d1","display":"GUM clinic letter"}}]}`,
			fhir.SectionDocuments, "GUM clinic letter", "GUM"},
		{"Procedure.report (the kept-out report of the test taken)",
			`{"resourceType":"Procedure","id":"pr9","status":"completed","subject":{"reference":"Patient/%[1]s"},"code":{"text":"Blood sample taken"},"performedDateTime":"2025-03-01T09:30:00Z",` +
				`"report":[{"reference":"DiagnosticReport/r1","display":"HIV screen report"}]}`,
			fhir.SectionResults, "HIV screen report", "HIV"},
		{"Immunization.reaction.detail (a kept-out result)",
			`{"resourceType":"Immunization","id":"i9","status":"completed","patient":{"reference":"Patient/%[1]s"},"vaccineCode":{"text":"Flu vaccine"},"occurrenceDateTime":"2025-03-05",` +
				`"reaction":[{"date":"2025-03-06","detail":{"reference":"Observation/o1","display":"HIV antibody test"}}]}`,
			fhir.SectionResults, "HIV antibody test", "HIV"},
		{"MedicationRequest.priorPrescription (a kept-out prescription)",
			`{"resourceType":"MedicationRequest","id":"m9","status":"active","intent":"order","subject":{"reference":"Patient/%[1]s"},"medicationCodeableConcept":{"text":"Repeat tablets"},"authoredOn":"2025-03-02",` +
				`"priorPrescription":{"reference":"MedicationRequest/m1","display":"Truvada PrEP tablets"}}`,
			fhir.SectionMedicines, "Truvada PrEP tablets", "PrEP"},
		{"CarePlan.supportingInfo (a kept-out result)",
			`{"resourceType":"CarePlan","id":"cp9","status":"active","intent":"plan","title":"Support plan","subject":{"reference":"Patient/%[1]s"},"period":{"start":"2025-03-01"},` +
				`"supportingInfo":[{"reference":"Observation/o1","display":"HIV antibody test: Reactive"}]}`,
			fhir.SectionResults, "HIV antibody test", "HIV"},
		{"CarePlan.activity.outcomeReference (a kept-out result)",
			`{"resourceType":"CarePlan","id":"cp9","status":"active","intent":"plan","title":"Screening plan","subject":{"reference":"Patient/%[1]s"},"period":{"start":"2025-03-01"},` +
				`"activity":[{"outcomeReference":[{"reference":"Observation/o1","display":"HIV antibody test: Reactive"}],"detail":{"status":"completed","code":{"text":"Screening"}}}]}`,
			fhir.SectionResults, "HIV antibody test", "HIV"},
		{"Appointment.supportingInformation (a kept-out result)",
			`{"resourceType":"Appointment","id":"a9","status":"booked","serviceType":[{"text":"Clinic"}],"start":"2026-06-01T09:00:00Z","participant":[{"actor":{"reference":"Patient/%[1]s"}}],` +
				`"supportingInformation":[{"reference":"Observation/o1","display":"HIV antibody test: Reactive"}]}`,
			fhir.SectionResults, "HIV antibody test", "HIV"},
		{"Encounter.appointment (the visit for a kept-out appointment)",
			`{"resourceType":"Encounter","id":"e9","status":"finished","class":{"code":"AMB"},"type":[{"text":"Clinic visit"}],"subject":{"reference":"Patient/%[1]s"},"period":{"start":"2026-06-01T09:00:00Z"},` +
				`"appointment":[{"reference":"Appointment/a1","display":"GUM clinic appointment"}]}`,
			fhir.SectionEncounters, "GUM clinic", "GUM"},
		{"Condition.stage.assessment (a kept-out result)",
			`{"resourceType":"Condition","id":"c9","subject":{"reference":"Patient/%[1]s"},"clinicalStatus":{"coding":[{"code":"active"}]},"code":{"text":"Infection"},"recordedDate":"2025-03-05",` +
				`"stage":[{"assessment":[{"reference":"Observation/o1","display":"HIV antibody test: Reactive"}]}]}`,
			fhir.SectionResults, "HIV antibody test", "HIV"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := mustOpenDB(t)
			base := map[string]string{"GUM clinic": gumAppt, "GUM clinic letter": gumLetter, "HIV screen report": hivReport, "HIV antibody test": hivTest, "Truvada PrEP tablets": prep}[tc.keptOut]
			p := importSources(t, db, []string{"gp", base, tc.raw})
			keepOutEntryNamed(t, db, p, tc.sec, tc.keptOut)
			if leaks := carerDownloadHolds(t, db, p, tc.never); len(leaks) != 0 {
				t.Errorf("a carer's download names %q, the entry kept out, in: %q", tc.never, leaks)
			}
		})
	}
}

// A reason given by a contained resource ("#id"): the MedicationRequest's
// own reason is a Condition inside it, F32.9, and mental health is kept out:
// the prescription is kept out with it (a review found it in the download).
func TestAContainedReasonOfAKeptOutKind(t *testing.T) {
	db := mustOpenDB(t)
	p := importSources(t, db, []string{"gp",
		`{"resourceType":"MedicationRequest","id":"m9","status":"active","intent":"order","subject":{"reference":"Patient/%[1]s"},"medicationCodeableConcept":{"text":"Sertraline 50mg tablets"},"authoredOn":"2025-03-02",` +
			`"contained":[{"resourceType":"Condition","id":"why","subject":{"reference":"Patient/%[1]s"},"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"F32.9","display":"Depressive episode, unspecified"}]}}],` +
			`"reasonReference":[{"reference":"#why","display":"Depressive episode"}]}`})
	keepOutKind(t, db, p, store.CategoryMentalHealth)
	if leaks := carerDownloadHolds(t, db, p, "Depressive"); len(leaks) != 0 {
		t.Errorf("a carer's download names the depression, mental health kept out, in: %q", leaks)
	}
}

// A report at the GP naming another server's result by its absolute address
// is not kept from a carer because the GP has a result of its own with the
// same id kept out (numeric server ids make this common; a review found it).
func TestAnotherServersAbsoluteReferenceHidesNothing(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	for _, s := range []store.Source{{Name: "gp", BaseURL: "https://gp.example.org/fhir"}, {Name: "hospital", BaseURL: "https://hospital.example.org/fhir"}} {
		if _, err := db.AddSource(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	p := importSources(t, db, []string{"gp",
		`{"resourceType":"Observation","id":"1234","status":"final","subject":{"reference":"Patient/%[1]s"},"code":{"text":"Pregnancy test"},"effectiveDateTime":"2025-03-01","valueCodeableConcept":{"text":"Positive"}}`,
		`{"resourceType":"DiagnosticReport","id":"r1","status":"final","subject":{"reference":"Patient/%[1]s"},"code":{"text":"Diabetes review"},"effectiveDateTime":"2025-05-01",` +
			`"result":[{"reference":"https://hospital.example.org/fhir/Observation/1234","display":"HbA1c 48 mmol/mol"}]}`},
		[]string{"hospital",
			`{"resourceType":"Observation","id":"1234","status":"final","subject":{"reference":"Patient/%[1]s"},"code":{"text":"HbA1c"},"effectiveDateTime":"2025-04-28","valueString":"48 mmol/mol"}`})
	keepOutEntryNamed(t, db, p, fhir.SectionResults, "Pregnancy test")
	got := shownIn(t, store.ForCarer(context.Background(), fhir.SectionResults), db, p, fhir.SectionResults)
	if !slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, "2025-05-01") }) {
		t.Errorf("a carer's results: %q; want the GP's diabetes review of 2025-05-01 (it names the hospital's HbA1c, not the GP's kept-out test)", got)
	}
}

// A procedure kept out for its reason, a kept-out result, is labelled so on
// the person's pages, not as one they chose to keep out: "Share it again"
// there asked about it alone, and changed nothing (a review). The result
// itself is their choice alone.
func TestAnEntryKeptOutWithAnotherIsLabelledSo(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	p := importSources(t, db, []string{"gp", refPregnancyTest,
		`{"resourceType":"Procedure","id":"pr1","status":"completed","subject":{"reference":"Patient/%[1]s"},"code":{"text":"Ultrasound scan"},"performedDateTime":"2025-03-02T09:30:00Z",` +
			`"reasonReference":[{"reference":"Observation/o1","display":"Pregnancy test: Positive"}]}`})
	keepOutEntryNamed(t, db, p, fhir.SectionResults, "Pregnancy test")
	got := map[string]string{}
	for _, sec := range []string{fhir.SectionResults, fhir.SectionProcedures} {
		sp, err := db.RecordSection(ctx, p, sec, 1, 50)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range sp.Items {
			got[it.Display] = fmt.Sprintf("withheld %v, with another %v", it.Withheld, it.WithheldWithOther)
		}
	}
	want := map[string]string{"Ultrasound scan": "withheld true, with another true", "Pregnancy test": "withheld true, with another false"}
	if !maps.Equal(got, want) {
		t.Errorf("labels %v; want %v", got, want)
	}
}

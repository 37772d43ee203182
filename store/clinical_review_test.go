package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// The cases of a review of the clinical-safety rules (the summary's, the
// standing report's, the flags'), each a failing test when found.

// importSources imports, for each source named first in its list, a Patient
// with Jane's NHS number and the resources after it (%s standing for the
// Patient's id), and returns Jane's person id.
func importSources(t *testing.T, db *store.DB, srcs ...[]string) int64 {
	t.Helper()
	ctx := context.Background()
	for i, s := range srcs {
		pt := fmt.Sprintf("p%d", i)
		raws := []string{fmt.Sprintf(`{"resourceType":"Patient","id":%q,"identifier":[{"system":%q,"value":"9434765919"}]}`, pt, fhir.NHSNumberSystem)}
		for _, r := range s[1:] {
			raws = append(raws, fmt.Sprintf(r, pt))
		}
		if _, err := db.ImportResources(ctx, store.ImportOptions{Source: s[0]}, "test", parsed(t, raws...)); err != nil {
			t.Fatal(err)
		}
	}
	p, err := db.PersonByNHSNumber(ctx, "9434765919")
	if err != nil {
		t.Fatal(err)
	}
	return p.ID
}

func warfarinRequest(id, status, intent, when string) string {
	return `{"resourceType":"MedicationRequest","id":"` + id + `","status":"` + status + `","intent":"` + intent + `","subject":{"reference":"Patient/%s"},` +
		`"medicationCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"319733000","display":"Warfarin 1mg tablets"}]},` +
		`"authoredOn":"` + when + `","dosageInstruction":[{"text":"As directed"}]}`
}

func currentMedicines(t *testing.T, db *store.DB, p int64) []string {
	t.Helper()
	sum, err := db.RecordSummary(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range sum.Medicines {
		out = append(out, m.Source.Name+" "+m.Display+" "+m.Status)
	}
	return out
}

// GP Connect and UK Core record a repeat's authorisation as a request whose
// intent is "plan", active while current, and each issue as an "order": the
// plan is the current medicine.
func TestAPlanIsAPrescription(t *testing.T) {
	db := mustOpenDB(t)
	p := importSources(t, db, []string{"gp",
		warfarinRequest("issue1", "completed", "order", "2024-01-01"),
		warfarinRequest("auth", "active", "plan", "2025-06-01"),
	})
	if got := currentMedicines(t, db, p); len(got) != 1 || got[0] != "gp Warfarin 1mg tablets active" {
		t.Errorf("current medicines %v; want the repeat's active authorisation", got)
	}
}

// A proposal that is over (cancelled, stopped, completed) is no prescription
// either: it never hides the one prescribed, at another source or the same.
func TestAProposalOverHidesNoPrescription(t *testing.T) {
	for _, st := range []string{"cancelled", "stopped", "completed"} {
		for _, at := range []string{"pharmacy", "gp"} {
			t.Run(st+" at "+at, func(t *testing.T) {
				db := mustOpenDB(t)
				srcs := [][]string{{"gp", warfarinRequest("rx", "active", "order", "2024-01-01")}}
				if at == "gp" {
					srcs[0] = append(srcs[0], warfarinRequest("prop", st, "proposal", "2025-01-01"))
				} else {
					srcs = append(srcs, []string{at, warfarinRequest("prop", st, "proposal", "2025-01-01")})
				}
				p := importSources(t, db, srcs...)
				if got := currentMedicines(t, db, p); len(got) != 1 || got[0] != "gp Warfarin 1mg tablets active" {
					t.Errorf("current medicines %v; want the GP's active warfarin", got)
				}
				sp, err := db.RecordSection(context.Background(), p, fhir.SectionMedicines, 1, 10)
				if err != nil {
					t.Fatal(err)
				}
				for _, it := range sp.Items {
					if it.ResourceID == "rx" && it.PrescribedSince {
						t.Error("the prescription is said to be prescribed again since, by a proposal")
					}
					if it.ResourceID == "prop" && it.Status != "proposal-"+st {
						t.Errorf("the proposal's status %q, want proposal-%s", it.Status, st)
					}
				}
			})
		}
	}
}

// A statement that a medicine is intended, to be taken some time, is no
// current medicine, and does not hide one that is.
func TestAnIntendedMedicineIsNotCurrent(t *testing.T) {
	db := mustOpenDB(t)
	p := importSources(t, db, []string{"gp",
		warfarinRequest("rx", "completed", "order", "2023-01-01"),
		`{"resourceType":"MedicationStatement","id":"ms","status":"intended","subject":{"reference":"Patient/%s"},` +
			`"medicationCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"319733000","display":"Warfarin 1mg tablets"}]},` +
			`"effectiveDateTime":"2025-01-01","dosage":[{"text":"As directed"}]}`,
	})
	if got := currentMedicines(t, db, p); len(got) != 0 {
		t.Errorf("current medicines %v; want none", got)
	}
}

// A social care service's current allergy stands over a health service's
// older "resolved": the person's summary lists it.
func TestASocialCareCurrentAllergyStands(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	allergy := func(id, clinical, when string) string {
		return `{"resourceType":"AllergyIntolerance","id":"` + id + `","patient":{"reference":"Patient/%s"},"clinicalStatus":{"coding":[{"code":"` + clinical + `"}]},` +
			`"code":{"coding":[{"system":"http://snomed.info/sct","code":"91936005","display":"Allergy to penicillin"}]},"recordedDate":"` + when + `"}`
	}
	p := importSources(t, db, []string{"gp", allergy("a1", "resolved", "2010-01-01")}, []string{"carehome", allergy("a2", "active", "2024-01-01")})
	if err := db.SetSourceSocialCare(ctx, "carehome", true); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FinishStalledBulkLoad(ctx, true); err != nil {
		t.Fatal(err)
	}
	sum, err := db.RecordSummary(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Allergies) != 1 || sum.Allergies[0].Source.Name != "carehome" || sum.Allergies[0].Status != "active" {
		t.Errorf("allergies on the summary: %+v; want the care home's current penicillin allergy", sum.Allergies)
	}
}

// Of several normal ranges for different groups, a value compared with each
// the same way is flagged so: haemoglobin 95 is below both the men's and the
// women's range, 140 within both, 125 only within the women's.
func TestFlagAgainstSeveralRanges(t *testing.T) {
	hb := func(id, when string, v int) string {
		return `{"resourceType":"Observation","id":"` + id + `","status":"final","subject":{"reference":"Patient/%s"},` +
			`"code":{"coding":[{"system":"http://loinc.org","code":"718-7","display":"Haemoglobin"}]},"effectiveDateTime":"` + when + `",` +
			`"valueQuantity":{"value":` + fmt.Sprint(v) + `,"unit":"g/L","system":"http://unitsofmeasure.org","code":"g/L"},"referenceRange":[` +
			`{"low":{"value":130,"unit":"g/L"},"high":{"value":170,"unit":"g/L"},"appliesTo":[{"text":"Male"}]},` +
			`{"low":{"value":115,"unit":"g/L"},"high":{"value":155,"unit":"g/L"},"appliesTo":[{"text":"Female"}]}]}`
	}
	db := mustOpenDB(t)
	p := importSources(t, db, []string{"lab", hb("h1", "2025-01-01", 95), hb("h2", "2025-02-01", 140), hb("h3", "2025-03-01", 125)})
	tr, err := db.ResultTrend(context.Background(), p, "loinc-718-7", 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range tr.Results {
		got = append(got, r.Measures[0].Number+" "+r.Measures[0].Flag)
	}
	if want := "125 |140 Normal|95 Low"; fmt.Sprint(len(got)) != "3" || got[0]+"|"+got[1]+"|"+got[2] != want {
		t.Errorf("flags %q, want %q", got, want)
	}
}

// A lower limit below 0 is a limit: a base excess of "<-5" against -2 to 2
// is Low.
func TestFlagOfALimitBelowANegativeRange(t *testing.T) {
	r := store.Range{HasLow: true, Low: -2, HasHigh: true, High: 2}
	if f := store.Flag(nil, -5, "<", r); f != "Low" {
		t.Errorf(`"<-5" against -2 to 2 flagged %q, want Low`, f)
	}
}

// Two sources' reports of one vaccination on one day, one saying it was not
// given, are two entries, the same whichever source came first.
func TestAVaccinationNotGivenIsNotOneWithOneGiven(t *testing.T) {
	imm := func(id, st string) string {
		return `{"resourceType":"Immunization","id":"` + id + `","status":"` + st + `","vaccineCode":{"coding":[{"system":"http://snomed.info/sct","code":"1324681000000101","display":"COVID-19 vaccine"}]},"patient":{"reference":"Patient/%s"},"occurrenceDateTime":"2025-01-10"}`
	}
	var shown []string
	for _, gpFirst := range []bool{true, false} {
		db := mustOpenDB(t)
		srcs := [][]string{{"gp", imm("g1", "not-done")}, {"pharmacy", imm("x1", "completed")}}
		if !gpFirst {
			srcs[0], srcs[1] = srcs[1], srcs[0]
		}
		p := importSources(t, db, srcs...)
		sp, err := db.RecordSection(context.Background(), p, fhir.SectionImmunisations, 1, 50)
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, it := range sp.Items {
			s = append(s, it.Status+" from "+it.SourceLabels())
		}
		slices.Sort(s)
		shown = append(shown, strings.Join(s, "; "))
	}
	if want := "completed from pharmacy; not-done from gp"; shown[0] != want || shown[1] != want {
		t.Errorf("entries %q then %q; want %q both times", shown[0], shown[1], want)
	}
}

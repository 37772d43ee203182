package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// A result whose coded value is of a kind kept out is kept out (migration
// 0051): so too one whose component's coded value is, which the results
// page shows as the result's value.
func TestAPartsCodedValueOfAKindKeptOut(t *testing.T) {
	db := mustOpenDB(t)
	p := importSources(t, db, []string{"gp",
		`{"resourceType":"Observation","id":"o1","status":"final","subject":{"reference":"Patient/%[1]s"},"code":{"text":"Screening panel"},"effectiveDateTime":"2025-04-01",` +
			`"component":[{"code":{"text":"Finding"},"valueCodeableConcept":` + hivReason + `}]}`,
	})
	withholdSexualHealth(t, db, p)
	for _, got := range shownIn(t, store.ForCarer(context.Background(), fhir.SectionResults), db, p, fhir.SectionResults) {
		t.Logf("carer sees: %s", got)
	}
	sp, err := db.RecordSection(store.ForCarer(context.Background(), fhir.SectionResults), p, fhir.SectionResults, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range sp.Items {
		if strings.Contains(it.Value, "immunodeficiency") {
			t.Errorf("a carer's results page shows %q: %s", it.Display, it.Value)
		}
	}
	if got := carerDownload(t, db, p); strings.Contains(got, "86406008") {
		t.Error("a carer's download holds the kept-out finding")
	}
}

// A care team of two members each given only by a reference to a
// practitioner: keeping one of them out of sharing keeps out that one alone.
func TestKeepOutOneCareTeamMemberByReference(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	p := importSources(t, db, []string{"gp",
		`{"resourceType":"CareTeam","id":"ct1","status":"active","name":"Community mental health team","subject":{"reference":"Patient/%[1]s"},"participant":[` +
			`{"role":[{"text":"Psychiatrist"}],"member":{"reference":"Practitioner/dr1"}},` +
			`{"role":[{"text":"District nurse"}],"member":{"reference":"Practitioner/dr2"}}]}`,
	})
	importAs(t, db, "gp",
		`{"resourceType":"Practitioner","id":"dr1","name":[{"given":["Ana"],"family":"Psych"}]}`,
		`{"resourceType":"Practitioner","id":"dr2","name":[{"given":["Ben"],"family":"Nurse"}]}`)
	sp, err := db.RecordSection(ctx, p, fhir.SectionCareTeam, 1, 10)
	if err != nil || len(sp.Items) != 2 {
		t.Fatalf("the person's care team: %d members (%v), want 2", len(sp.Items), err)
	}
	first := sp.Items[0]
	t.Logf("keeping out %q (key %s); the other is %q (key %s)", first.Display, store.ItemKey(first), sp.Items[1].Display, store.ItemKey(sp.Items[1]))
	keepOutItem(t, db, p, first)
	carer, err := db.RecordSection(store.ForCarer(context.Background(), fhir.SectionCareTeam), p, fhir.SectionCareTeam, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(carer.Items) != 1 {
		t.Errorf("a carer sees %d care team members, want 1 (the one not kept out)", len(carer.Items))
	}
	mine, err := db.RecordSection(context.Background(), p, fhir.SectionCareTeam, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range mine.Items {
		if it.Withheld != (it.ID == first.ID) {
			t.Errorf("the person's page labels %q kept out: %v", it.Display, it.Withheld)
		}
	}
}

// An entry kept out one by one, coded two ways, keeps out a visit at the
// same source whose reason names it by its second coding: a diagnosis coded
// in SNOMED CT and ICD-10, a procedure in OPCS-4 and SNOMED CT (reviews).
func TestAKeptOutEntryByItsOtherCoding(t *testing.T) {
	for _, tc := range []struct {
		name, section, entry, reason, words string
	}{
		{"a diagnosis", fhir.SectionConditions,
			`{"resourceType":"Condition","id":"c1","subject":{"reference":"Patient/%[1]s"},"clinicalStatus":{"coding":[{"code":"active"}]},` +
				`"code":{"coding":[{"system":"http://snomed.info/sct","code":"191736004","display":"Obsessive-compulsive disorder"},{"system":"http://hl7.org/fhir/sid/icd-10","code":"F42.9"}]},"recordedDate":"2025-01-01"}`,
			`{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"F42.9"}],"text":"Obsessive-compulsive disorder"}`, "Obsessive"},
		{"a procedure", fhir.SectionProcedures,
			`{"resourceType":"Procedure","id":"pr1","status":"completed","subject":{"reference":"Patient/%[1]s"},"performedDateTime":"2025-01-10",` +
				`"code":{"coding":[{"system":"http://fhir.nhs.uk/Id/opcs-4","code":"Q11.1"},{"system":"http://snomed.info/sct","code":"386639001","display":"Termination of pregnancy"}]}}`,
			`{"coding":[{"system":"http://snomed.info/sct","code":"386639001"}],"text":"Termination of pregnancy follow-up"}`, "Termination"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			db := mustOpenDB(t)
			p := importSources(t, db, []string{"gp", tc.entry,
				`{"resourceType":"Encounter","id":"e1","status":"finished","class":{"code":"AMB"},"type":[{"text":"Clinic visit"}],"subject":{"reference":"Patient/%[1]s"},` +
					`"period":{"start":"2025-02-01T09:00:00Z"},"reasonCode":[` + tc.reason + `]}`,
			})
			sp, err := db.RecordSection(ctx, p, tc.section, 1, 10)
			if err != nil || len(sp.Items) != 1 {
				t.Fatalf("%d entries (%v)", len(sp.Items), err)
			}
			keepOutItem(t, db, p, sp.Items[0])
			visits := shownIn(t, store.ForCarer(context.Background(), fhir.SectionEncounters), db, p, fhir.SectionEncounters)
			if len(visits) != 0 {
				t.Errorf("a carer reads the kept-out entry on the visit: %q", visits)
			}
		})
	}
}

// Jane keeps one diagnosis out of sharing, a rash seen at a clinic. Her
// penicillin allergy, whose reaction is a rash, is not that entry and says
// nothing of it: her carer, who gives her medicines, must still see it.
func TestAKeptOutRashLeavesTheAllergyItCaused(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	p := importSources(t, db, []string{"gp", rashCondition, penicillinRash})
	sp, err := db.RecordSection(ctx, p, fhir.SectionConditions, 1, 10)
	if err != nil || len(sp.Items) != 1 {
		t.Fatalf("%d conditions (%v)", len(sp.Items), err)
	}
	keepOutItem(t, db, p, sp.Items[0])
	if got := shownIn(t, store.ForCarer(context.Background(), fhir.SectionAllergies), db, p, fhir.SectionAllergies); len(got) != 1 {
		t.Errorf("a carer's allergies: %q; want the penicillin allergy", got)
	}
}

// rash is a rash, coded; rashCondition a resolved rash the GP recorded, and
// penicillinRash a penicillin allergy whose reaction is a rash.
const (
	rash           = `{"coding":[{"system":"http://snomed.info/sct","code":"271807003","display":"Eruption of skin"}],"text":"Rash"}`
	rashCondition  = `{"resourceType":"Condition","id":"c1","subject":{"reference":"Patient/%[1]s"},"clinicalStatus":{"coding":[{"code":"resolved"}]},"code":` + rash + `,"recordedDate":"2025-01-01"}`
	penicillinRash = `{"resourceType":"AllergyIntolerance","id":"a1","patient":{"reference":"Patient/%[1]s"},"code":{"coding":[{"system":"http://snomed.info/sct","code":"764146007","display":"Penicillin"}]},"recordedDate":"2010-05-01","reaction":[{"manifestation":[` + rash + `]}]}`
)

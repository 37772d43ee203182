package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// carerDetails is what a carer's page of a section says of each entry.
func carerDetails(t *testing.T, db *store.DB, p int64, sec string) []string {
	t.Helper()
	sp, err := db.RecordSection(store.ForCarer(context.Background()), p, sec, 1, 50)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, it := range sp.Items {
		out = append(out, it.Display+" | "+it.Detail+" | "+it.Value)
	}
	return out
}

// TestDosageCodesOfAKeptOutKind: a prescription "when needed for anxiety
// disorder", or with an additional instruction coded so, is kept out with
// mental health: before, a carer read the diagnosis on the medicines page,
// found it by search and had its code in the download (a review).
func TestDosageCodesOfAKeptOutKind(t *testing.T) {
	for name, dosage := range map[string]string{
		"asNeededCodeableConcept": `{"doseAndRate":[{"doseQuantity":{"value":1,"unit":"tablet"}}],"asNeededCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"197480006","display":"Anxiety disorder"}]}}`,
		"additionalInstruction":   `{"doseAndRate":[{"doseQuantity":{"value":1,"unit":"tablet"}}],"additionalInstruction":[{"coding":[{"system":"http://snomed.info/sct","code":"197480006","display":"Anxiety disorder"}]}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			db := mustOpenDB(t)
			p := importSources(t, db, []string{"gp", `{"resourceType":"MedicationRequest","id":"m1","status":"active","intent":"order","subject":{"reference":"Patient/%[1]s"},` +
				`"medicationCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"321180003","display":"Lorazepam 1mg tablets"}]},"authoredOn":"2025-02-01","dosageInstruction":[` + dosage + `]}`})
			keepOutKind(t, db, p, store.CategoryMentalHealth)
			if got := strings.Join(carerDetails(t, db, p, fhir.SectionMedicines), "\n"); strings.Contains(got, "nxiety") {
				t.Errorf("a carer's medicines page names the anxiety kept out: %q", got)
			}
			res, err := db.SearchRecord(store.ForCarer(context.Background()), p, "anxiety", store.SearchOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Total != 0 {
				t.Errorf("a carer's search for \"anxiety\" finds %d entries", res.Total)
			}
			if leaks := carerDownloadHolds(t, db, p, "197480006"); len(leaks) != 0 {
				t.Errorf("a carer's download holds the anxiety code in: %q", leaks)
			}
		})
	}
}

// TestNormalRangeForAKeptOutKind: a CD4 count whose normal range is the one
// for people with HIV is kept out with sexual health (a review: "Normal
// range (Human immunodeficiency virus infection)" on a carer's results page).
func TestNormalRangeForAKeptOutKind(t *testing.T) {
	db := mustOpenDB(t)
	p := importSources(t, db, []string{"gp", `{"resourceType":"Observation","id":"o1","status":"final","subject":{"reference":"Patient/%[1]s"},"code":{"text":"CD4 count"},` +
		`"effectiveDateTime":"2025-02-03","valueQuantity":{"value":500,"unit":"cells/uL"},"referenceRange":[{"low":{"value":350,"unit":"cells/uL"},` +
		`"appliesTo":[{"coding":[{"system":"http://snomed.info/sct","code":"86406008","display":"Human immunodeficiency virus infection"}]}]}]}`})
	withholdSexualHealth(t, db, p)
	if got := strings.Join(carerDetails(t, db, p, fhir.SectionResults), "\n"); strings.Contains(got, "immunodeficiency") {
		t.Errorf("a carer's results page names HIV: %q", got)
	}
	if leaks := carerDownloadHolds(t, db, p, "86406008"); len(leaks) != 0 {
		t.Errorf("a carer's download holds the HIV code in: %q", leaks)
	}
}

// TestContainedMedicationWithADisplay: a prescription naming the Medication
// held inside it, with a display beside the reference, is kept out for that
// Medication's codes with every other source's report of it (a review: the
// hospital's report of the same Fluoxetine reached the carer).
func TestContainedMedicationWithADisplay(t *testing.T) {
	db := mustOpenDB(t)
	p := importSources(t, db,
		[]string{"gp", `{"resourceType":"MedicationRequest","id":"m1","status":"active","intent":"order","subject":{"reference":"Patient/%[1]s"},` +
			`"contained":[{"resourceType":"Medication","id":"med1","code":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"406022","display":"Fluoxetine 25 MG"}]}}],` +
			`"medicationReference":{"reference":"#med1","display":"Fluoxetine 20mg capsules"},"authoredOn":"2025-02-01","dosageInstruction":[{"text":"One daily"}]}`},
		[]string{"hospital", `{"resourceType":"MedicationStatement","id":"s1","status":"active","subject":{"reference":"Patient/%[1]s"},` +
			`"medicationCodeableConcept":{"text":"Fluoxetine 20mg capsules"},"effectiveDateTime":"2025-02-03","dosage":[{"text":"One daily"}]}`})
	keepOutKind(t, db, p, store.CategoryMentalHealth)
	carerSees(t, db, p, fhir.SectionMedicines, 0, "Fluoxetine")
}

// TestCodedFieldsNoPageShows: codes of a kept-out kind in fields no page
// shows, in a resource held inside another, or in one the pages do show,
// keep their entry out, so the carer's download never holds them (a review
// found each of these in it).
func TestCodedFieldsNoPageShows(t *testing.T) {
	contained := `"contained":[{"resourceType":"Condition","id":"c1","subject":{"reference":"Patient/%[1]s"},"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"F32.9","display":"Depressive episode"}]}}]`
	for _, tc := range []struct{ name, cat, raw, never string }{
		{"DocumentReference.context.related, held inside", store.CategoryMentalHealth, `{"resourceType":"DocumentReference","id":"d1","status":"current","subject":{"reference":"Patient/%[1]s"},"type":{"text":"Clinic letter"},` +
			`"date":"2025-02-06T10:00:00Z","content":[{"attachment":{"contentType":"text/plain","title":"Letter"}}],` + contained + `,"context":{"related":[{"reference":"#c1"}]}}`, "Depressive"},
		{"Observation.focus, held inside", store.CategoryMentalHealth, `{"resourceType":"Observation","id":"o1","status":"final","subject":{"reference":"Patient/%[1]s"},"code":{"text":"Sleep quality"},` +
			`"effectiveDateTime":"2025-02-03","valueString":"Poor",` + contained + `,"focus":[{"reference":"#c1"}]}`, "Depressive"},
		{"Condition.evidence.detail, held inside", store.CategoryMentalHealth, `{"resourceType":"Condition","id":"c9","subject":{"reference":"Patient/%[1]s"},"clinicalStatus":{"coding":[{"code":"active"}]},` +
			`"code":{"text":"Insomnia"},"recordedDate":"2025-02-05",` + contained + `,"evidence":[{"detail":[{"reference":"#c1"}]}]}`, "Depressive"},
		{"DocumentReference.context.event", store.CategorySexualHealth, `{"resourceType":"DocumentReference","id":"d1","status":"current","subject":{"reference":"Patient/%[1]s"},"type":{"text":"Clinic letter"},` +
			`"date":"2025-02-06T10:00:00Z","content":[{"attachment":{"contentType":"text/plain","title":"Letter"}}],` +
			`"context":{"event":[{"coding":[{"system":"http://snomed.info/sct","code":"714812005","display":"Induced termination of pregnancy"}]}]}}`, "714812005"},
		{"Procedure.usedCode", store.CategorySexualHealth, `{"resourceType":"Procedure","id":"pr1","status":"completed","subject":{"reference":"Patient/%[1]s"},"code":{"text":"Minor procedure"},` +
			`"performedDateTime":"2025-02-02","usedCode":[{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"389221","display":"Etonogestrel 68 MG drug implant"}]}]}`, "389221"},
		{"Procedure.outcome", store.CategoryMentalHealth, `{"resourceType":"Procedure","id":"pr1","status":"completed","subject":{"reference":"Patient/%[1]s"},"code":{"text":"Assessment"},` +
			`"performedDateTime":"2025-02-02","outcome":{"coding":[{"system":"http://snomed.info/sct","code":"35489007","display":"Depressive disorder"}]}}`, "35489007"},
		{"Condition.evidence.code", store.CategoryMentalHealth, `{"resourceType":"Condition","id":"c9","subject":{"reference":"Patient/%[1]s"},"clinicalStatus":{"coding":[{"code":"active"}]},` +
			`"code":{"text":"Insomnia"},"recordedDate":"2025-02-05","evidence":[{"code":[{"coding":[{"system":"http://snomed.info/sct","code":"35489007","display":"Depressive disorder"}]}]}]}`, "35489007"},
		{"Encounter.serviceType", store.CategoryMentalHealth, `{"resourceType":"Encounter","id":"e1","status":"finished","class":{"code":"AMB"},"type":[{"text":"Clinic visit"}],` +
			`"serviceType":{"coding":[{"system":"http://snomed.info/sct","code":"79094001","display":"Initial psychiatric interview with mental status evaluation"}]},` +
			`"subject":{"reference":"Patient/%[1]s"},"period":{"start":"2025-02-01T09:00:00Z"}}`, "79094001"},
		{"Encounter.hospitalization.reAdmission", store.CategoryMentalHealth, `{"resourceType":"Encounter","id":"e1","status":"finished","class":{"code":"IMP"},"type":[{"text":"Admission"}],` +
			`"hospitalization":{"reAdmission":{"coding":[{"system":"http://snomed.info/sct","code":"55680006","display":"Drug overdose"}]}},"subject":{"reference":"Patient/%[1]s"},"period":{"start":"2025-02-01T09:00:00Z"}}`, "55680006"},
		{"CarePlan.activity.detail.productCodeableConcept", store.CategoryMentalHealth, `{"resourceType":"CarePlan","id":"cp1","status":"active","intent":"plan","title":"Medicines plan",` +
			`"subject":{"reference":"Patient/%[1]s"},"period":{"start":"2025-02-01"},"activity":[{"detail":{"status":"in-progress","description":"Daily capsule",` +
			`"productCodeableConcept":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"406022","display":"Fluoxetine 25 MG"}]}}}]}`, "406022"},
		{"Immunization.protocolApplied.targetDisease", store.CategorySexualHealth, `{"resourceType":"Immunization","id":"i1","status":"completed","vaccineCode":{"text":"Vaccine"},` +
			`"patient":{"reference":"Patient/%[1]s"},"occurrenceDateTime":"2025-02-01","protocolApplied":[{"doseNumberPositiveInt":1,` +
			`"targetDisease":[{"coding":[{"system":"http://snomed.info/sct","code":"86406008","display":"Human immunodeficiency virus infection"}]}]}]}`, "86406008"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := mustOpenDB(t)
			p := importSources(t, db, []string{"gp", tc.raw})
			keepOutKind(t, db, p, tc.cat)
			if leaks := carerDownloadHolds(t, db, p, tc.never); len(leaks) != 0 {
				t.Errorf("a carer's download holds %s, of a kind kept out, in: %q", tc.never, leaks)
			}
		})
	}
}

// TestAnUpgradeKeepsOutStoredEntriesByEveryCoding: an entry stored before
// 0067, whose only code of a kept-out kind is in a field the importer did
// not read then (a dosage's "when needed for"), is kept out once upgraded:
// 0067 fills those codes at once, not only when the re-read reaches it.
func TestAnUpgradeKeepsOutStoredEntriesByEveryCoding(t *testing.T) {
	ctx := context.Background()
	med := `{"resourceType":"MedicationRequest","id":"m1","status":"active","intent":"order","subject":{"reference":"Patient/%[1]s"},` +
		`"medicationCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"321180003","display":"Lorazepam 1mg tablets"}]},"authoredOn":"2025-02-01",` +
		`"dosageInstruction":[{"asNeededCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"197480006","display":"Anxiety disorder"}]}}]}`
	db, path := mustOpenDBFile(t)
	p := importSources(t, db, []string{"gp", med})
	keepOutKind(t, db, p, store.CategoryMentalHealth)
	if got := shownIn(t, store.ForCarer(ctx, fhir.SectionMedicines), db, p, fhir.SectionMedicines); len(got) != 0 {
		t.Fatalf("imported now, a carer's medicines: %q; want none", got)
	}
	// As the importer before 0067 stored it: no code of the dosage among its own.
	db = rerunMigration(t, db, path, 67, `DELETE FROM record_item_reasons WHERE system = 'any:http://snomed.info/sct' AND code = '197480006'`)
	if got := shownIn(t, store.ForCarer(ctx, fhir.SectionMedicines), db, p, fhir.SectionMedicines); len(got) != 0 {
		t.Errorf("stored before and upgraded (0067), mental health kept out; a carer's medicines: %q; want none", got)
	}
}

// TestACarePlansMedicationOfAKeptOutKindStaysOut: a Medication a kept-out
// medicine names is not added to a carer's download because a shared care
// plan names it too, as what it uses (a review: "Fluoxetine 25 MG" was).
func TestACarePlansMedicationOfAKeptOutKindStaysOut(t *testing.T) {
	db := mustOpenDB(t)
	p := importSources(t, db, []string{"gp",
		`{"resourceType":"Medication","id":"med1","meta":{"tag":[{"code":"%[1]s"}]},"code":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"406022","display":"Fluoxetine 25 MG"}]}}`,
		`{"resourceType":"MedicationRequest","id":"m1","status":"active","intent":"order","subject":{"reference":"Patient/%[1]s"},"medicationReference":{"reference":"Medication/med1"},"authoredOn":"2025-02-01","dosageInstruction":[{"text":"One daily"}]}`,
		`{"resourceType":"CarePlan","id":"cp1","status":"active","intent":"plan","title":"Medicines review plan","subject":{"reference":"Patient/%[1]s"},"period":{"start":"2025-02-01"},` +
			`"activity":[{"detail":{"status":"in-progress","description":"Review at 6 weeks","productReference":{"reference":"Medication/med1"}}}]}`})
	keepOutKind(t, db, p, store.CategoryMentalHealth)
	carerSees(t, db, p, fhir.SectionMedicines, 0, "Fluoxetine")
	if got := carerDetails(t, db, p, fhir.SectionCarePlans); len(got) != 1 {
		t.Errorf("a carer's care plans: %q; want the review plan, which names no kind kept out", got)
	}
}

// TestOneEntryKeptOutAsAnotherSourceCodesIt: keeping the GP's pregnancy out
// keeps out the hospital's report of it, which codes it in ICD-10 first and
// gives the GP's SNOMED CT code second, and so is not one entry with it (a
// review: the carer read "Pregnant state"). Not a result of the same test.
func TestOneEntryKeptOutAsAnotherSourceCodesIt(t *testing.T) {
	db := mustOpenDB(t)
	p := importSources(t, db,
		[]string{"gp", `{"resourceType":"Condition","id":"c1","subject":{"reference":"Patient/%[1]s"},"clinicalStatus":{"coding":[{"code":"active"}]},` +
			`"code":{"coding":[{"system":"http://snomed.info/sct","code":"77386006","display":"Pregnancy"}]},"recordedDate":"2025-02-01"}`,
			`{"resourceType":"Observation","id":"o1","status":"final","subject":{"reference":"Patient/%[1]s"},"code":{"coding":[{"system":"http://loinc.org","code":"4548-4","display":"HbA1c"}]},"effectiveDateTime":"2025-02-01","valueQuantity":{"value":48,"unit":"mmol/mol"}}`},
		[]string{"hospital", `{"resourceType":"Condition","id":"h1","subject":{"reference":"Patient/%[1]s"},"clinicalStatus":{"coding":[{"code":"active"}]},` +
			`"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"Z33","display":"Pregnant state"},{"system":"http://snomed.info/sct","code":"77386006","display":"Pregnancy"}]},"recordedDate":"2025-02-03"}`,
			`{"resourceType":"Observation","id":"o2","status":"final","subject":{"reference":"Patient/%[1]s"},"code":{"coding":[{"system":"http://loinc.org","code":"4548-4","display":"HbA1c"}]},"effectiveDateTime":"2025-05-01","valueQuantity":{"value":52,"unit":"mmol/mol"}}`})
	keepOutEntryNamed(t, db, p, fhir.SectionConditions, "Pregnancy")
	carerSees(t, db, p, fhir.SectionConditions, 0, "regnan")
	keepOutEntryNamed(t, db, p, fhir.SectionResults, "HbA1c")
	if got := carerDetails(t, db, p, fhir.SectionResults); len(got) != 1 {
		t.Errorf("one HbA1c result kept out; a carer's results: %q; want the other", got)
	}
}

// TestATestWhoseNewestResultsAreKeptOutIsStillListed: a carer's list of
// tests reads further back when every result it read is kept out, so a test
// whose 8 newest results are of a kind kept out still shows, with the newest
// shared one (a review: it vanished from the list).
func TestATestWhoseNewestResultsAreKeptOutIsStillListed(t *testing.T) {
	ctx := context.Background()
	res := []string{"gp"}
	for i := 1; i <= 10; i++ {
		method := ""
		if i > 1 {
			method = `,"method":{"coding":[{"system":"http://snomed.info/sct","code":"197480006","display":"Anxiety disorder"}]}`
		}
		res = append(res, fmt.Sprintf(`{"resourceType":"Observation","id":"o%d","status":"final","subject":{"reference":"Patient/%%[1]s"},`+
			`"code":{"coding":[{"system":"http://loinc.org","code":"4548-4","display":"HbA1c"}]},"effectiveDateTime":"2025-%02d-01","valueQuantity":{"value":%d,"unit":"mmol/mol"}%s}`, i, i, 40+i, method))
	}
	db := mustOpenDB(t)
	p := importSources(t, db, res)
	keepOutKind(t, db, p, store.CategoryMentalHealth)
	tests, err := db.ResultTests(store.ForCarer(ctx, fhir.SectionResults), p)
	if err != nil {
		t.Fatal(err)
	}
	if len(tests) != 1 || tests[0].Latest.Item.Value != "41 mmol/mol" {
		t.Fatalf("a carer's tests: %+v; want HbA1c, its newest shared result 41 mmol/mol", tests)
	}
}

// TestACarePlansOrdinaryMedicationStaysInTheCarersDownload: a Medication a
// shared care plan names, that no kept-out medicine names, stays in a
// carer's download, so the plan's reference points at it (a review: the
// fix above left out every Medication a medicine did not name).
func TestACarePlansOrdinaryMedicationStaysInTheCarersDownload(t *testing.T) {
	db := mustOpenDB(t)
	p := importSources(t, db, []string{"gp",
		`{"resourceType":"Medication","id":"met1","meta":{"tag":[{"code":"%[1]s"}]},"code":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"860975","display":"Metformin 500 MG"}]}}`,
		`{"resourceType":"CarePlan","id":"cp1","status":"active","intent":"plan","title":"Diabetes plan","subject":{"reference":"Patient/%[1]s"},"period":{"start":"2025-02-01"},` +
			`"activity":[{"detail":{"status":"in-progress","description":"Take with food","productReference":{"reference":"Medication/met1"}}}]}`})
	keepOutKind(t, db, p, store.CategoryMentalHealth) // of another kind: nothing here is of it
	dl := carerDownload(t, db, p)
	if !strings.Contains(dl, `"Medication/met1"`) {
		t.Fatalf("the plan is not in the carer's download: %.400s", dl)
	}
	if !strings.Contains(dl, `"resourceType":"Medication"`) {
		t.Errorf("the carer's download holds the care plan naming Medication/met1 (Metformin), but not the Medication: a reference to nothing")
	}
}

// TestOneEntryKeptOutKeepsNoOtherThatOnlySharesADetail: keeping one
// condition out keeps out no other that only shares a severity, a body site
// or an extension's code with it, at the same source or another (a review
// of the rule above: every other condition coded Severe went).
func TestOneEntryKeptOutKeepsNoOtherThatOnlySharesADetail(t *testing.T) {
	cond := func(id, detail, code, display, date string) string {
		return `{"resourceType":"Condition","id":"` + id + `",` + detail + `,"subject":{"reference":"Patient/%[1]s"},"clinicalStatus":{"coding":[{"code":"active"}]},` +
			`"code":{"coding":[{"system":"http://snomed.info/sct","code":"` + code + `","display":"` + display + `"}]},"recordedDate":"` + date + `"}`
	}
	for name, detail := range map[string]string{
		"severity":  `"severity":{"coding":[{"system":"http://snomed.info/sct","code":"24484000","display":"Severe"}]}`,
		"body site": `"bodySite":[{"coding":[{"system":"http://snomed.info/sct","code":"368208006","display":"Left upper arm structure"}]}]`,
		"extension": `"extension":[{"url":"https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-ConditionEpisode","valueCodeableConcept":{"coding":[{"system":"https://fhir.hl7.org.uk/CodeSystem/UKCore-ConditionEpisodicity","code":"first","display":"First"}]}}]`,
	} {
		t.Run(name, func(t *testing.T) {
			db := mustOpenDB(t)
			p := importSources(t, db,
				[]string{"gp", cond("c1", detail, "35489007", "Depressive disorder", "2025-02-01"), cond("c2", detail, "195967001", "Asthma", "2025-02-02")},
				[]string{"hospital", cond("h1", detail, "65966004", "Fracture of forearm", "2025-02-03")})
			keepOutEntryNamed(t, db, p, fhir.SectionConditions, "Depressive disorder")
			if got := carerDetails(t, db, p, fhir.SectionConditions); len(got) != 2 {
				t.Errorf("Depressive disorder kept out; a carer's conditions: %q; want Asthma and the fracture, which only share a %s", got, name)
			}
		})
	}
}

// TestASharedMedicinesMedicationStaysWhenAnotherNamingItIsKeptOut: an old
// prescription kept out leaves its Medication in a carer's download while a
// shared one names it too, as that one's name (a review).
func TestASharedMedicinesMedicationStaysWhenAnotherNamingItIsKeptOut(t *testing.T) {
	db := mustOpenDB(t)
	p := importSources(t, db, []string{"gp",
		`{"resourceType":"Medication","id":"met1","meta":{"tag":[{"code":"%[1]s"}]},"code":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"860975","display":"Metformin 500 MG"}]}}`,
		`{"resourceType":"MedicationRequest","id":"m1","status":"stopped","intent":"order","subject":{"reference":"Patient/%[1]s"},"medicationReference":{"reference":"Medication/met1"},"authoredOn":"2020-02-01","dosageInstruction":[{"text":"Three a day"}]}`,
		`{"resourceType":"MedicationRequest","id":"m2","status":"active","intent":"order","subject":{"reference":"Patient/%[1]s"},"medicationReference":{"reference":"Medication/met1"},"authoredOn":"2025-02-01","dosageInstruction":[{"text":"One daily"}]}`})
	sp, err := db.RecordSection(context.Background(), p, fhir.SectionMedicines, 1, 50)
	if err != nil {
		t.Fatal(err)
	}
	var old store.RecordItem
	for _, it := range sp.Items {
		if it.ResourceID == "m1" {
			old = it
		}
	}
	if old.ID == 0 {
		t.Fatalf("no m1 among %+v", sp.Items)
	}
	if _, err := db.ChangeConsent(context.Background(), p, janeHerself, store.ConsentChange{Question: store.WithholdItemQuestion(store.ItemKey(old)), Answer: "yes"}, store.ChoiceLogged(1)); err != nil {
		t.Fatal(err)
	}
	dl := carerDownload(t, db, p)
	if !strings.Contains(dl, `"id":"m2"`) || strings.Contains(dl, `"id":"m1"`) {
		t.Fatalf("the carer's download should hold m2 and not m1: %.600s", dl)
	}
	if !strings.Contains(dl, `"Medication/met1"`) || !strings.Contains(dl, `"resourceType":"Medication"`) {
		t.Errorf("the shared prescription m2 names Medication/met1, but the carer's download masks the reference or leaves out the Medication:\n%s", dl)
	}
}

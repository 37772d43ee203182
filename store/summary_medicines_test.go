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

// TestSummaryOneLinePerMedicine: a source that sent two prescriptions of the
// same medicine (a repeat) lists it once among current medicines, the newest.
func TestSummaryOneLinePerMedicine(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	res := []fhir.Resource{
		searchPatient("p", "9434765870", "Sam"),
		searchMedicine("m1", "p", "109081006", "Metformin 500mg tablets", "2025-01-10", "Dr Alison Hughes"),
		searchMedicine("m2", "p", "109081006", "Metformin 500mg tablets", "2025-03-10", "Dr Zed Other"),
		searchMedicine("m3", "p", "318135008", "Ramipril 5mg capsules", "2024-03-01", "Dr Alison Hughes"),
	}
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "gp", OrgName: "Meanwood Group Practice"}, "test", res); err != nil {
		t.Fatal(err)
	}
	p, err := db.PersonByNHSNumber(ctx, "9434765870")
	if err != nil {
		t.Fatal(err)
	}
	sum, err := db.RecordSummary(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range sum.Medicines {
		got = append(got, it.Display+" "+it.Date[:10])
	}
	want := []string{"Metformin 500mg tablets 2025-03-10", "Ramipril 5mg capsules 2024-03-01"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("current medicines: got %q, want %q", got, want)
	}
	// The medicines page lists both prescriptions, and says the earlier
	// Metformin was prescribed again since, though upstream calls both active.
	page, err := db.RecordSection(ctx, p.ID, fhir.SectionMedicines, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	got = got[:0]
	for _, it := range page.Items {
		got = append(got, it.ResourceID+" "+it.Status+" "+map[bool]string{true: "prescribed again since", false: "latest"}[it.PrescribedSince])
	}
	if want := "m2 active latest|m1 active prescribed again since|m3 active latest"; strings.Join(got, "|") != want {
		t.Errorf("medicines page: got %q, want %q", strings.Join(got, "|"), want)
	}
	// Search and the entry's page say so too.
	found, err := db.SearchRecord(ctx, p.ID, "metformin", store.SearchOptions{})
	if err != nil || len(found.Sections) != 1 || len(found.Sections[0].Items) != 2 {
		t.Fatalf("search: %+v, %v", found, err)
	}
	for _, it := range found.Sections[0].Items {
		if it.PrescribedSince != (it.ResourceID == "m1") {
			t.Errorf("search: %s prescribed again since = %v", it.ResourceID, it.PrescribedSince)
		}
		e, err := db.RecordEntry(ctx, p.ID, it.ID)
		if err != nil || e.Item.PrescribedSince != (it.ResourceID == "m1") {
			t.Errorf("entry %s: prescribed again since = %v (%v)", it.ResourceID, e.Item.PrescribedSince, err)
		}
	}
	// A later report by another source of a fact this one reports more often
	// stands aside for it, and is not listed: the listed entries do not say
	// "prescribed again since" of it.
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "lth", OrgName: "Leeds Teaching Hospitals"}, "test", []fhir.Resource{
		searchPatient("p", "9434765870", "Sam"),
		searchMedicine("h1", "p", "318135008", "Ramipril 5mg capsules", "2025-06-01", "Dr Hospital"),
	}); err != nil {
		t.Fatal(err)
	}
	page, err = db.RecordSection(ctx, p.ID, fhir.SectionMedicines, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range page.Items {
		if it.ResourceID == "m3" && it.PrescribedSince {
			t.Error("the GP's Ramipril says it was prescribed again since, by a hospital report that is not listed")
		}
		// An entry names each organisation once, though the GP's repeat prescriptions are several reports.
		e, err := db.RecordEntry(ctx, p.ID, it.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int{"m1": 1, "m2": 1, "m3": 2}[it.ResourceID]
		if len(e.Item.Sources) != want {
			t.Errorf("entry %s names %d organisations (%d reports), want %d", it.ResourceID, len(e.Item.Sources), len(e.Reports), want)
		}
	}
}

// TestSummaryShowsOnlyWhatHoldsNow: the summary lists no allergy recorded in
// error, ruled out or over, though it lists one suspected (the page tags it);
// no condition that is not a confirmed current one;
// no medicine stopped since its last active prescription; and no result
// recorded in error or cancelled, which no test's latest result or trend
// shows either.
func TestSummaryShowsOnlyWhatHoldsNow(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	parse := func(raw string) fhir.Resource { return parsed(t, raw)[0] }
	allergy := func(id, name, clinical, verification string) fhir.Resource {
		return parse(`{"resourceType":"AllergyIntolerance","id":"` + id + `","patient":{"reference":"Patient/p"},"code":{"text":"` + name + `"},` +
			`"clinicalStatus":{"coding":[{"code":"` + clinical + `"}]},"verificationStatus":{"coding":[{"code":"` + verification + `"}]},"recordedDate":"2024-01-01"}`)
	}
	condition := func(id, name, clinical, verification string) fhir.Resource {
		return parse(`{"resourceType":"Condition","id":"` + id + `","subject":{"reference":"Patient/p"},"code":{"text":"` + name + `"},` +
			`"clinicalStatus":{"coding":[{"code":"` + clinical + `"}]},"verificationStatus":{"coding":[{"code":"` + verification + `"}]},"recordedDate":"2024-01-01"}`)
	}
	medicine := func(id, name, status, when string) fhir.Resource {
		return parse(`{"resourceType":"MedicationRequest","id":"` + id + `","status":"` + status + `","intent":"order","subject":{"reference":"Patient/p"},` +
			`"medicationCodeableConcept":{"text":"` + name + `"},"authoredOn":"` + when + `"}`)
	}
	result := func(id, status, when, value string) fhir.Resource {
		return parse(`{"resourceType":"Observation","id":"` + id + `","status":"` + status + `","category":[{"coding":[{"code":"laboratory"}]}],` +
			`"code":{"coding":[{"system":"http://loinc.org","code":"2339-0","display":"Glucose"}]},"subject":{"reference":"Patient/p"},` +
			`"effectiveDateTime":"` + when + `","valueQuantity":{"value":` + value + `,"unit":"mmol/L"}}`)
	}
	res := []fhir.Resource{
		searchPatient("p", "9434765870", "Sam"),
		allergy("a1", "Penicillin", "active", "confirmed"), allergy("a2", "Latex", "active", "refuted"),
		allergy("a3", "Aspirin", "active", "entered-in-error"), allergy("a4", "Peanut", "resolved", "confirmed"),
		allergy("a5", "Ibuprofen", "active", "unconfirmed"),
		condition("c1", "Asthma", "active", "confirmed"), condition("c2", "Lung cancer", "active", "differential"),
		condition("c3", "Epilepsy", "active", "refuted"),
		medicine("w1", "Warfarin", "active", "2023-01-01"), medicine("w2", "Warfarin", "stopped", "2025-01-01"),
		medicine("m1", "Metformin", "active", "2025-02-01"), medicine("m2", "Metformin", "entered-in-error", "2025-03-01"),
		result("r1", "final", "2025-03-01T09:00:00Z", "4.1"), result("r2", "cancelled", "2025-03-05T09:00:00Z", "6.5"),
		result("r3", "entered-in-error", "2025-03-10T09:00:00Z", "7.9"),
	}
	p, sum := summaryOf(t, db, res)
	names := func(items []store.RecordItem) string {
		var out []string
		for _, it := range items {
			out = append(out, it.Display+" "+it.Value)
		}
		return strings.Join(out, "; ")
	}
	for _, tt := range []struct {
		what  string
		items []store.RecordItem
		want  string
	}{
		{"allergies", sum.Allergies, "Ibuprofen ; Penicillin "},
		{"conditions", sum.Conditions, "Asthma "},
		{"medicines", sum.Medicines, "Metformin "},
		{"recent results", sum.RecentResults, "Glucose 4.1 mmol/L"},
	} {
		if got := names(tt.items); got != tt.want {
			t.Errorf("summary %s: %q, want %q", tt.what, got, tt.want)
		}
	}
	tests, err := db.ResultTests(ctx, p.ID)
	if err != nil || len(tests) != 1 || tests[0].Latest.Item.Value != "4.1 mmol/L" || tests[0].Trend {
		t.Fatalf("result tests: %+v, %v; want glucose, latest 4.1 and no trend", tests, err)
	}
	trend, err := db.ResultTrend(ctx, p.ID, tests[0].Key, 1, 10)
	if err != nil || trend.Total != 1 || len(trend.Results) != 1 {
		t.Errorf("trend: %d results %+v, %v; want the one real result", trend.Total, trend.Results, err)
	}
	// The conditions page says which is not confirmed and which was ruled out.
	sec, err := db.RecordSection(ctx, p.ID, fhir.SectionConditions, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	statuses := map[string]string{}
	for _, it := range sec.Items {
		statuses[it.Display] = it.Status
	}
	if statuses["Lung cancer"] != "unconfirmed" || statuses["Epilepsy"] != "refuted" || statuses["Asthma"] != "active" {
		t.Errorf("condition statuses %v", statuses)
	}
}

// TestMigrationReadsVerificationAgain: entries stored before migration 0017
// are read again by it as the importer now reads them.
func TestMigrationReadsVerificationAgain(t *testing.T) {
	ctx := context.Background()
	db, path := mustOpenDBFile(t)
	res := parsed(t,
		`{"resourceType":"Patient","id":"p","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765870"}]}`,
		`{"resourceType":"Condition","id":"c2","subject":{"reference":"Patient/p"},"code":{"text":"Lung cancer"},"clinicalStatus":{"coding":[{"code":"active"}]},"verificationStatus":{"coding":[{"code":"differential"}]}}`,
		`{"resourceType":"Condition","id":"c3","subject":{"reference":"Patient/p"},"code":{"text":"Epilepsy"},"clinicalStatus":{"coding":[{"code":"active"}]},"verificationStatus":{"coding":[{"code":"refuted"}]}}`,
		`{"resourceType":"AllergyIntolerance","id":"a1","patient":{"reference":"Patient/p"},"code":{"text":"Penicillin"},"clinicalStatus":{"coding":[{"code":"active"}]},"verificationStatus":{"coding":[{"code":"confirmed"}]}}`,
	)
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "gp"}, "test", res); err != nil {
		t.Fatal(err)
	}
	// As the importer stored them before 0017: the clinical status alone.
	db = rerunMigration(t, db, path, 17, `UPDATE record_items SET status = 'active' WHERE section IN ('allergies', 'conditions')`)
	p, err := db.PersonByNHSNumber(ctx, "9434765870")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, sec := range []string{fhir.SectionConditions, fhir.SectionAllergies} {
		sp, err := db.RecordSection(ctx, p.ID, sec, 1, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range sp.Items {
			got[it.Display] = it.Status
		}
	}
	if got["Lung cancer"] != "unconfirmed" || got["Epilepsy"] != "refuted" || got["Penicillin"] != "active" {
		t.Errorf("after the migration: %v", got)
	}
}

// TestCarerNotShownAnOlderPrescription: when the person keeps a medicine's
// newest prescription (stopped) out of sharing, their carer is not shown an
// older, active one as current instead.
func TestCarerNotShownAnOlderPrescription(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	res := parsed(t,
		`{"resourceType":"Patient","id":"p","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765870"}]}`,
		`{"resourceType":"MedicationRequest","id":"s1","status":"active","intent":"order","subject":{"reference":"Patient/p"},"authoredOn":"2023-01-01",`+
			`"medicationCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"321949006","display":"Sertraline 50mg tablets"}]},"dosageInstruction":[{"text":"One a day"}]}`,
		`{"resourceType":"MedicationRequest","id":"s2","status":"stopped","intent":"order","subject":{"reference":"Patient/p"},"authoredOn":"2025-01-01",`+
			`"medicationCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"321949006","display":"Sertraline 50mg tablets"}]},"dosageInstruction":[{"text":"Two a day"}]}`,
	)
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "gp"}, "test", res); err != nil {
		t.Fatal(err)
	}
	p, err := db.PersonByNHSNumber(ctx, "9434765870")
	if err != nil {
		t.Fatal(err)
	}
	sec, err := db.RecordSection(ctx, p.ID, fhir.SectionMedicines, 1, 10)
	if err != nil || len(sec.Items) != 2 {
		t.Fatalf("medicines: %+v, %v", sec.Items, err)
	}
	for _, it := range sec.Items {
		if it.ResourceID == "s2" {
			if _, err := db.ChangeConsent(ctx, p.ID, store.Performer{AccountID: 1, Name: "Sam"}, store.ConsentChange{Question: store.WithholdItemQuestion(store.ItemKey(it)), Answer: "yes"}, store.ChoiceLogged(1)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, who := range []struct {
		name string
		ctx  context.Context
	}{{"the person", ctx}, {"their carer", store.ForCarer(ctx)}} {
		sum, err := db.RecordSummary(who.ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(sum.Medicines) != 0 {
			t.Errorf("%s is shown as current: %+v", who.name, sum.Medicines)
		}
	}
}

// TestTitresAreNoTrend: two different titres, or dates, are results in words:
// no chart is offered for them.
func TestTitresAreNoTrend(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	res := []fhir.Resource{searchPatient("p", "9434765870", "Sam")}
	for i, ratio := range []string{"160", "320"} {
		r, err := fhir.ParseResource([]byte(`{"resourceType":"Observation","id":"t` + ratio + `","status":"final","category":[{"coding":[{"code":"laboratory"}]}],` +
			`"code":{"coding":[{"system":"http://loinc.org","code":"5370-2","display":"Antibody titre"}]},"subject":{"reference":"Patient/p"},` +
			`"effectiveDateTime":"2025-0` + string(rune('1'+i)) + `-01","valueRatio":{"numerator":{"value":1},"denominator":{"value":` + ratio + `}}}`))
		if err != nil {
			t.Fatal(err)
		}
		res = append(res, r)
	}
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "gp"}, "test", res); err != nil {
		t.Fatal(err)
	}
	p, err := db.PersonByNHSNumber(ctx, "9434765870")
	if err != nil {
		t.Fatal(err)
	}
	tests, err := db.ResultTests(ctx, p.ID)
	if err != nil || len(tests) != 1 || tests[0].Trend || tests[0].Latest.Item.Value != "1:320" {
		t.Fatalf("result tests: %+v, %v; want the titre, latest 1:320, and no trend", tests, err)
	}
}

// "Where your record comes from" says when each source last brought this
// person's record up to date: its last good sync for them, else the newest
// thing it sent about them; never when it last sent anything for anyone.
func TestSummarySaysWhenEachSourceUpdatedThisPerson(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	gp := store.ImportOptions{Source: "gp", OrgName: "Meanwood Group Practice"}
	if _, err := db.ImportResources(ctx, gp, "test", []fhir.Resource{searchPatient("p", "9434765870", "Sam")}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ImportResources(ctx, gp, "test", []fhir.Resource{searchPatient("q", "9434765889", "Ola")}); err != nil {
		t.Fatal(err)
	}
	sam, err := db.PersonByNHSNumber(ctx, "9434765870")
	if err != nil {
		t.Fatal(err)
	}
	sum, err := db.RecordSummary(ctx, sam.ID)
	if err != nil || len(sum.Sources) != 1 {
		t.Fatalf("sources %+v, %v", sum.Sources, err)
	}
	src := sum.Sources[0]
	updated := sum.Updated[src.ID]
	if updated == "" || updated >= src.LastImportAt {
		t.Errorf("Sam's record updated %q, want when his Patient came, before the source's last import %q (Ola's)", updated, src.LastImportAt)
	}
}

// TestSummaryMedicinesNotNamed: medicines with neither a name nor a code
// are each a line of their own among current medicines: nothing says two
// such are one medicine, and a line for one would hide the other.
func TestSummaryMedicinesNotNamed(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	unnamed := func(id, day string) fhir.Resource {
		raw := `{"resourceType":"MedicationRequest","id":"` + id + `","status":"active","subject":{"reference":"Patient/p"},"authoredOn":"` + day + `","dosageInstruction":[{"text":"One tablet daily"}]}`
		r, err := fhir.ParseResource([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	res := []fhir.Resource{searchPatient("p", "9434765870", "Sam"), unnamed("m1", "2025-01-10"), unnamed("m2", "2025-03-10")}
	p, sum := summaryOf(t, db, res)
	if len(sum.Medicines) != 2 {
		t.Errorf("current medicines: %d lines, want 2, one for each medicine not named", len(sum.Medicines))
	}
	page, err := db.RecordSection(ctx, p.ID, fhir.SectionMedicines, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range page.Items {
		if it.PrescribedSince {
			t.Errorf("%s %s is said to be prescribed again since", it.ResourceID, it.Display)
		}
	}
}

// summaryOf imports res from the GP and returns the summary of Sam, whose
// NHS number is 9434765870.
func summaryOf(t *testing.T, db *store.DB, res []fhir.Resource) (store.Person, store.Summary) {
	t.Helper()
	ctx := context.Background()
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "gp"}, "test", res); err != nil {
		t.Fatal(err)
	}
	p, err := db.PersonByNHSNumber(ctx, "9434765870")
	if err != nil {
		t.Fatal(err)
	}
	sum, err := db.RecordSummary(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	return p, sum
}

// A medicine only proposed (the request's intent) is no current medicine:
// it is listed as such, and a later proposal neither hides the prescription
// nor makes it "prescribed again since" (found by a clinical-safety review:
// a proposed amoxicillin showed as current). A plan is a prescription.
func TestProposedMedicineIsNotCurrent(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	request := func(id, code, name, intent, date string) fhir.Resource {
		return parsed(t, `{"resourceType":"MedicationRequest","id":"`+id+`","status":"active","intent":"`+intent+`","subject":{"reference":"Patient/p"},`+
			`"medicationCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"`+code+`","display":"`+name+`"}]},`+
			`"authoredOn":"`+date+`","dosageInstruction":[{"text":"One tablet daily"}]}`)[0]
	}
	res := []fhir.Resource{
		searchPatient("p", "9434765870", "Sam"),
		request("m1", "109081006", "Metformin 500mg tablets", "order", "2025-01-10"),
		request("m2", "109081006", "Metformin 500mg tablets", "proposal", "2025-06-10"),
		request("a1", "27658006", "Amoxicillin 500mg capsules", "proposal", "2025-06-10"),
		request("r1", "318135008", "Ramipril 5mg capsules", "plan", "2025-06-10"),
	}
	p, sum := summaryOf(t, db, res)
	if len(sum.Medicines) != 2 || sum.Medicines[0].ResourceID != "r1" || sum.Medicines[1].ResourceID != "m1" {
		t.Errorf("current medicines: %+v; want the ramipril planned (a repeat's authorisation) and the metformin prescribed", sum.Medicines)
	}
	page, err := db.RecordSection(ctx, p.ID, fhir.SectionMedicines, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range page.Items {
		got = append(got, it.ResourceID+" "+it.Status+map[bool]string{true: " prescribed again since"}[it.PrescribedSince])
	}
	slices.Sort(got)
	if want := "a1 proposed|m1 active|m2 proposed|r1 active"; strings.Join(got, "|") != want {
		t.Errorf("medicines page: %q, want %q", strings.Join(got, "|"), want)
	}
}

// Items stored before migration 0043 are read again by it: a proposal stored
// as an active prescription leaves the current medicines once the re-read it
// queues is finished.
func TestMigrationReadsProposalsAgain(t *testing.T) {
	ctx := context.Background()
	db, path := mustOpenDBFile(t)
	res := []fhir.Resource{
		searchPatient("p", "9434765870", "Sam"),
		parsed(t, `{"resourceType":"MedicationRequest","id":"a1","status":"active","intent":"proposal","subject":{"reference":"Patient/p"},`+
			`"medicationCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"27658006","display":"Amoxicillin 500mg capsules"}]},"authoredOn":"2025-06-10"}`)[0],
	}
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "gp"}, "test", res); err != nil {
		t.Fatal(err)
	}
	// As it was stored before: the request's status, whatever its intent.
	db = rerunMigration(t, db, path, 43, `UPDATE record_items SET status = 'active', dedup_key = substr(dedup_key, 1, length(dedup_key) - length('|proposal')) WHERE resource_id = 'a1'`)
	if done, err := db.FinishStalledBulkLoad(ctx, true); err != nil || !done {
		t.Fatalf("finishing the re-read the migration queued: %v, %v", done, err)
	}
	p, err := db.PersonByNHSNumber(ctx, "9434765870")
	if err != nil {
		t.Fatal(err)
	}
	sum, err := db.RecordSummary(ctx, p.ID)
	if err != nil || len(sum.Medicines) != 0 {
		t.Errorf("current medicines after the migration: %+v, %v; want none", sum.Medicines, err)
	}
}

// The summary lists the 10 most recent current medicines and says when more
// are current (found by a clinical-safety review: a list of 10 read as all).
func TestSummarySaysWhenMoreAreCurrent(t *testing.T) {
	for _, n := range []int{10, 12} {
		res := []fhir.Resource{searchPatient("p", "9434765870", "Sam")}
		for i := range n {
			res = append(res, searchMedicine(fmt.Sprintf("m%d", i), "p", fmt.Sprintf("1000%02d", i), fmt.Sprintf("Medicine %d", i), fmt.Sprintf("2025-01-%02d", i+1), "Dr Alison Hughes"))
		}
		_, sum := summaryOf(t, mustOpenDB(t), res)
		if len(sum.Medicines) != 10 || sum.More[fhir.SectionMedicines] != (n > 10) || sum.More[fhir.SectionAllergies] {
			t.Errorf("%d current: %d shown, more %v", n, len(sum.Medicines), sum.More)
		}
	}
}

package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// TestSexualHealthKeepsOutLaboratoryTests: keeping sexual health out keeps
// out an HIV antibody test and viral load, a chlamydia test and a syphilis
// test as laboratories code them, in LOINC, as the question says it does (a
// product review: a child's HIV tests stayed on her parent's pages).
func TestSexualHealthKeepsOutLaboratoryTests(t *testing.T) {
	ctx := context.Background()
	f := newConsentFixture(t)
	obs := func(id, code, display, value string) fhir.Resource {
		return res("Observation", id, `"status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],`+
			`"code":{"coding":[{"system":"http://loinc.org","code":"`+code+`","display":"`+display+`"}]},"subject":{"reference":"Patient/jane"},`+
			`"effectiveDateTime":"2025-06-0`+id[len(id)-1:]+`",`+value)
	}
	if _, err := f.db.ImportResources(ctx, store.ImportOptions{Source: "gp"}, "test", []fhir.Resource{
		obs("o1", "7918-6", "HIV 1+2 Ab [Presence] in Serum", `"valueCodeableConcept":{"text":"Positive"}`),
		obs("o2", "20447-9", "HIV 1 RNA [#/volume] (viral load) in Serum or Plasma by NAA with probe detection", `"valueQuantity":{"value":48,"unit":"copies/mL"}`),
		obs("o3", "21613-5", "Chlamydia trachomatis DNA [Presence] in Specimen by NAA with probe detection", `"valueCodeableConcept":{"text":"Not detected"}`),
		obs("o4", "20507-0", "Reagin Ab [Presence] in Serum by RPR", `"valueCodeableConcept":{"text":"Non-reactive"}`),
		obs("o5", "4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", `"valueQuantity":{"value":6.1,"unit":"%"}`),
	}); err != nil {
		t.Fatal(err)
	}
	carerSees := func() []string {
		t.Helper()
		sec, err := f.db.RecordSection(store.ForCarer(ctx), f.jane.ID, fhir.SectionResults, 1, 100)
		if err != nil {
			t.Fatal(err)
		}
		return displays(sec.Items)
	}
	if before := carerSees(); len(before) != 5 {
		t.Fatalf("before anything is kept out a carer sees %d results, want 5: %v", len(before), before)
	}
	if _, err := f.db.ChangeConsent(ctx, f.jane.ID, janeHerself, store.ConsentChange{Question: store.WithholdQuestion(store.CategorySexualHealth), Answer: "yes"}, store.ChoiceLogged(1)); err != nil {
		t.Fatal(err)
	}
	if got := carerSees(); len(got) != 1 || !strings.Contains(strings.ToLower(got[0]), "a1c") {
		t.Errorf("with sexual health kept out a carer sees %v; want the HbA1c alone", got)
	}
}

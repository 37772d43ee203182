package fhir_test

import (
	"testing"

	"github.com/mycarerecord/portal/store/fhir"
)

// TestVaccinesByCVXCodeHaveNHSNames: a vaccine a US system names by CVX code
// is named as the NHS names it, the record's words kept in its detail, so
// the pages and search have both ("flu vaccine" found nothing in a
// Synthea record: a review); one whose CVX code is not known keeps its own.
func TestVaccinesByCVXCodeHaveNHSNames(t *testing.T) {
	tests := []struct{ code, display, wantName, wantDetail string }{
		{"140", "Influenza, seasonal, injectable, preservative free", "Flu vaccine", "Recorded as Influenza, seasonal, injectable, preservative free"},
		{"121", "zoster", "Shingles vaccine", "Recorded as zoster"},
		{"999", "Some vaccine", "Some vaccine", ""},
	}
	for _, tt := range tests {
		raw := `{"resourceType":"Immunization","id":"i1","status":"completed","patient":{"reference":"Patient/p1"},"occurrenceDateTime":"2024-10-01",` +
			`"vaccineCode":{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"` + tt.code + `","display":"` + tt.display + `"}],"text":"` + tt.display + `"}}`
		items, err := fhir.Project(fhir.Resource{Type: "Immunization", ID: "i1", Raw: []byte(raw)})
		if err != nil || len(items) != 1 {
			t.Fatalf("CVX %s: %v, %d items", tt.code, err, len(items))
		}
		if items[0].Display != tt.wantName || items[0].Detail != tt.wantDetail {
			t.Errorf("CVX %s: named %q, detail %q; want %q, %q", tt.code, items[0].Display, items[0].Detail, tt.wantName, tt.wantDetail)
		}
	}
}

// TestVaccineByCodeAloneIsNotSaidRecordedAsTheFallback: a vaccine the
// record gives a CVX code and no words is not said to be "Recorded as" the
// name the portal falls back to (a review of fixes).
func TestVaccineByCodeAloneIsNotSaidRecordedAsTheFallback(t *testing.T) {
	raw := `{"resourceType":"Immunization","id":"i1","status":"completed","patient":{"reference":"Patient/p1"},"occurrenceDateTime":"2024-10-01",` +
		`"vaccineCode":{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"140"}]}}`
	items, err := fhir.Project(fhir.Resource{Type: "Immunization", ID: "i1", Raw: []byte(raw)})
	if err != nil || len(items) != 1 {
		t.Fatalf("%v, %d items", err, len(items))
	}
	t.Logf("named %q, detail %q", items[0].Display, items[0].Detail)
	if items[0].Detail == "Recorded as Vaccination (not named)" {
		t.Errorf("detail %q: the record named it nothing", items[0].Detail)
	}
}

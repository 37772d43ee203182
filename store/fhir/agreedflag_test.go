package fhir_test

import (
	"encoding/json"
	"testing"

	"github.com/mycarerecord/portal/store/fhir"
)

// Ranges in mg/dL are no ranges for a value in mmol/L, with no UCUM codes
// given (found by a review).
func TestAgreedFlagAcrossUnitsWithoutCodes(t *testing.T) {
	var rr []fhir.ReferenceRange
	if err := json.Unmarshal([]byte(`[{"low":{"value":70,"unit":"mg/dL"},"high":{"value":99,"unit":"mg/dL"},"appliesTo":[{"text":"Female"}]},
{"low":{"value":70,"unit":"mg/dL"},"high":{"value":105,"unit":"mg/dL"},"appliesTo":[{"text":"Male"}]}]`), &rr); err != nil {
		t.Fatal(err)
	}
	if f := fhir.AgreedFlag(fhir.Quantity{Value: "5.4", Unit: "mmol/L"}, rr); f != nil {
		t.Errorf("glucose 5.4 mmol/L flagged %+v against mg/dL ranges", f)
	}
}

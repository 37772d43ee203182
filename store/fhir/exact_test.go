package fhir_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/mycarerecord/portal/store/fhir"
)

// TestExactMeasures proves a result's numbers survive being kept in
// Item.Exact: what ExactMeasures reads back is what the resource says.
func TestExactMeasures(t *testing.T) {
	q := func(v, unit, code string) *fhir.Quantity {
		return &fhir.Quantity{Value: json.Number(v), Unit: unit, System: "http://unitsofmeasure.org", Code: code}
	}
	tests := []struct {
		name string
		raw  string
		want []fhir.ExactMeasure
		kept bool
	}{
		{"value with range and flag", `{"resourceType":"Observation","id":"a","status":"final","code":{"text":"HbA1c"},
"valueQuantity":{"value":48,"comparator":"<","unit":"mmol/mol","system":"http://unitsofmeasure.org","code":"mmol/mol"},
"referenceRange":[{"low":{"value":20,"unit":"mmol/mol"},"high":{"value":41,"unit":"mmol/mol","code":"mmol/mol"},"text":"20 to 41"},{"text":"ignored"}],
"interpretation":[{"coding":[{"code":"H"},{"code":"A"}],"text":"High"},{"text":" odd "}]}`,
			[]fhir.ExactMeasure{{Quantity: fhir.Quantity{Value: "48", Comparator: "<", Unit: "mmol/mol", System: "http://unitsofmeasure.org", Code: "mmol/mol"},
				Range:          &fhir.ExactRange{Low: &fhir.Quantity{Value: "20", Unit: "mmol/mol"}, High: &fhir.Quantity{Value: "41", Unit: "mmol/mol", Code: "mmol/mol"}, Text: "20 to 41"},
				Interpretation: []fhir.CodeableConcept{{Coding: []fhir.Coding{{Code: "H"}, {Code: "A"}}, Text: "High"}, {Text: "odd"}}}}, true},
		{"components", `{"resourceType":"Observation","id":"b","status":"final","code":{"text":"Blood pressure"},"component":[
{"code":{"text":"Systolic"},"valueQuantity":{"value":128,"unit":"mmHg","system":"http://unitsofmeasure.org","code":"mm[Hg]"},"referenceRange":[{"high":{"value":140,"unit":"mmHg"}}]},
{"code":{"coding":[{"code":"x"}]},"valueQuantity":{"value":82,"unit":"mmHg","system":"http://unitsofmeasure.org","code":"mm[Hg]"},"interpretation":[{"coding":[{"code":"N"}]}]},
{"code":{"text":"No number"},"valueString":"fine"}]}`,
			[]fhir.ExactMeasure{
				{Name: "Systolic", Quantity: *q("128", "mmHg", "mm[Hg]"), Range: &fhir.ExactRange{High: &fhir.Quantity{Value: "140", Unit: "mmHg"}}},
				{Name: "Part", Quantity: *q("82", "mmHg", "mm[Hg]"), Interpretation: []fhir.CodeableConcept{{Coding: []fhir.Coding{{Code: "N"}}}}},
			}, true},
		{"no number", `{"resourceType":"Observation","id":"c","status":"final","code":{"text":"Note"},"valueString":"Positive"}`, nil, true},
		{"separator in a field", "{\"resourceType\":\"Observation\",\"id\":\"d\",\"status\":\"final\",\"code\":{\"text\":\"X\"},\"valueQuantity\":{\"value\":1,\"unit\":\"a\\u001fb\"}}", nil, false},
		{"malformed component range", `{"resourceType":"Observation","id":"e","status":"final","code":{"text":"X"},"component":[{"code":{"text":"P"},"valueQuantity":{"value":1},"referenceRange":"oops"}]}`, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := fhir.ParseResource([]byte(tt.raw))
			if err != nil {
				t.Fatal(err)
			}
			items, err := fhir.Project(r)
			if err != nil {
				t.Fatal(err)
			}
			exact := items[0].Exact
			if got := exact != ""; got != tt.kept {
				t.Fatalf("kept %v (%q), want %v", got, exact, tt.kept)
			}
			if !tt.kept {
				return
			}
			got, ok := fhir.ExactMeasures(exact)
			if !ok {
				t.Fatalf("ExactMeasures(%q) cannot read it", exact)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
	if _, ok := fhir.ExactMeasures(`[null,null,null,null]`); ok {
		t.Error("ExactMeasures read JSON as its own form")
	}
}

package fhir_test

import (
	"testing"

	"github.com/mycarerecord/portal/store/fhir"
)

func TestValidNHSNumber(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"9434765919", true},
		{"9434765918", false},
		{"abc", false},
		{"", false},
		{"943476591", false},
		{"94347659190", false},
		{"943476591a", false},
		{"9434765960", false}, // check digit would be 10: never issued
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := fhir.ValidNHSNumber(tt.in); got != tt.want {
				t.Errorf("ValidNHSNumber(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

// A Patient's NHS number is read however it is spaced or dashed, and one
// that is not an NHS number sets the Patient aside: people are linked by it
// (a review: two Patients numbered "UNKNOWN" were made one person).
func TestPatientNHSNumber(t *testing.T) {
	for _, tt := range []struct {
		value, want string
		bad         bool
	}{
		{"9434765919", "9434765919", false},
		{"943 476 5919", "9434765919", false},
		{"943-476-5919", "9434765919", false},
		{"943\u00a0476\u2013 5919", "9434765919", false},
		{"UNKNOWN", "", true},
		{"1234567890", "", true}, // a wrong check digit
		{"", "", false},          // not known: no number, as an identifier with its value absent says
	} {
		t.Run(tt.value, func(t *testing.T) {
			raw := `{"resourceType":"Patient","id":"p","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"` + tt.value + `"}]}`
			got, err := fhir.ParsePatient([]byte(raw))
			if (err != nil) != tt.bad || got.NHSNumber != tt.want {
				t.Errorf("NHS number %q, error %v; want %q, an error %v", got.NHSNumber, err, tt.want, tt.bad)
			}
		})
	}
	if n, ok := fhir.NHSNumberFrom("943476591"); !ok || n != "9434765919" {
		t.Errorf("NHSNumberFrom(943476591) = %q, %v; want 9434765919", n, ok)
	}
	if _, ok := fhir.NHSNumberFrom("943476596"); ok {
		t.Error("NHSNumberFrom(943476596) made a number whose check digit is 10")
	}
}

// TestAnNHSNumberNotKnownIsNoWrongNumber: a Patient whose NHS-number
// identifier says the number is not known (no value, a data-absent-reason
// on _value, as FHIR allows) holds no number to link by; it is not one
// whose number is wrong, to be set aside with all the person's record from
// that source (a review).
func TestAnNHSNumberNotKnownIsNoWrongNumber(t *testing.T) {
	raw := []byte(`{"resourceType":"Patient","id":"a1","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","_value":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/data-absent-reason","valueCode":"unknown"}]}},{"system":"https://trust.example.nhs.uk/mrn","value":"RX1234"}],"name":[{"family":"Smith","given":["Ann"]}],"birthDate":"1950-01-01"}`)
	info, err := fhir.ParsePatient(raw)
	if err != nil || info.NHSNumber != "" {
		t.Errorf("a Patient whose NHS number is not known: %+v, %v; want it read, with no NHS number", info, err)
	}
}

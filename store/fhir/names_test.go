package fhir_test

import (
	"testing"

	"github.com/mycarerecord/portal/store/fhir"
)

func TestNamedRef(t *testing.T) {
	for ref, want := range map[string]string{
		"Organization/o1":                               "Organization/o1",
		"https://fhir.example/R4/Practitioner/7":        "Practitioner/7",
		"Location/l-1.2":                                "Location/l-1.2",
		"Medication/m1":                                 "Medication/m1",
		"Patient/p1":                                    "",
		"Organization/o1/_history/2":                    "",
		"Organization?identifier=https://x|1":           "",
		"urn:uuid:2b1f9c6e-0000-4000-8000-000000000001": "",
		"": "",
	} {
		if got := fhir.NamedRef(ref); got != want {
			t.Errorf("NamedRef(%q) = %q, want %q", ref, got, want)
		}
	}
}

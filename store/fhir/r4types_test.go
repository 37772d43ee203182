package fhir

import (
	"testing"

	"github.com/fastenhealth/gofhir-models/fhir401"
)

// The portal's list of R4 resource types is the pinned R4 models' list, less
// the abstract Resource and DomainResource.
func TestR4TypesMatchTheModels(t *testing.T) {
	n := 0
	for rt := fhir401.ResourceTypeAccount; rt.Code() != "<unknown>"; rt++ {
		code := rt.Code()
		if abstract := code == "Resource" || code == "DomainResource"; IsR4Type(code) == abstract {
			t.Errorf("IsR4Type(%q) = %v", code, !abstract)
		}
		if code != "Resource" && code != "DomainResource" {
			n++
		}
	}
	for _, typ := range []string{"Frobnication", "patient", ""} {
		if IsR4Type(typ) {
			t.Errorf("IsR4Type(%q) = true", typ)
		}
	}
	if n < 140 || n != len(r4Types) {
		t.Errorf("the models list %d types, the portal %d; want R4's, the same", n, len(r4Types))
	}
}

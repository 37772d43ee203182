package fhir_test

import (
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store/fhir"
)

// MaskRefs masks every reference to what is kept out wherever it is (in a
// list, in another reference's extension, under a key written in escapes),
// drops the narrative of a resource with one masked, keeps the rest as it
// was, numbers too, and gives back the very bytes when there is nothing to
// mask.
func TestMaskRefs(t *testing.T) {
	kept := map[string]bool{"Observation/o1": true, "urn:uuid:abc": true}
	// As a carer's download asks (store maskedRefs.has), simply: by the last
	// "Type/id", a version aside.
	masked := func(ref string) bool {
		if i := strings.Index(ref, "/_history/"); i > 0 {
			ref = ref[:i]
		}
		if kept[ref] {
			return true
		}
		parts := strings.Split(ref, "/")
		return len(parts) >= 2 && kept[parts[len(parts)-2]+"/"+parts[len(parts)-1]]
	}
	for _, tc := range []struct{ name, in, gone, stays string }{
		{"relative", `{"result":[{"reference":"Observation/o1","display":"Pregnancy test"}]}`, "Pregnancy", ""},
		{"versioned", `{"result":[{"reference":"Observation/o1/_history/3","display":"Pregnancy test"}]}`, "Pregnancy", ""},
		{"absolute", `{"focus":[{"reference":"https://gp.example/fhir/Observation/o1","display":"Pregnancy test"}]}`, "Pregnancy", ""},
		{"a bundle's address", `{"hasMember":[{"reference":"urn:uuid:abc","display":"Pregnancy test"}]}`, "Pregnancy", ""},
		{"single, under a key", `{"encounter":{"reference":"Observation/o1","display":"Pregnancy test"}}`, "Pregnancy", ""},
		{"in a reference's extension", `{"subject":{"reference":"Patient/p","extension":[{"url":"x","valueReference":{"reference":"Observation/o1","display":"Pregnancy test"}}]}}`, "Pregnancy", "Patient/p"},
		{"a key in escapes", `{"result":[{"refer\u0065nce":"Observation/o1","display":"Pregnancy test"}]}`, "Pregnancy", ""},
		{"its narrative dropped, which may quote it", `{"text":{"status":"generated","div":"<div>Pregnancy test: Positive</div>"},"result":[{"reference":"Observation/o1"}]}`, "Pregnancy", ""},
		{"a reference with spaces", `{"result":[{"reference":" Observation/o1 ","display":"Pregnancy test"}]}`, "Pregnancy", ""},
		{"the rest kept, numbers as written", `{"valueQuantity":{"value":72.97763358096024},"result":[{"reference":"Observation/o1","display":"Pregnancy test"},{"reference":"Observation/o2","display":"Glucose"}]}`, "Pregnancy", "72.97763358096024"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := fhir.MaskRefs([]byte(tc.in), masked)
			if err != nil {
				t.Fatal(err)
			}
			if s := string(out); strings.Contains(s, tc.gone) || !strings.Contains(s, "data-absent-reason") || !strings.Contains(s, tc.stays) {
				t.Errorf("%s; want %q masked (data-absent-reason) and %q kept", s, tc.gone, tc.stays)
			}
			// Labelled as altered, so it is not taken for the source's version (a review).
			if s := string(out); !strings.Contains(s, `"security":[{"code":"REDACTED"`) {
				t.Errorf("%s; want the REDACTED security label", s)
			}
		})
	}
	same := []byte(`{"result": [{"reference": "Observation/o2", "display": "Glucose"}]}`)
	if out, err := fhir.MaskRefs(same, masked); err != nil || string(out) != string(same) {
		t.Errorf("nothing to mask: %s, %v; want the very bytes", out, err)
	}
}

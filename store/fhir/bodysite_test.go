package fhir_test

import (
	"testing"

	"github.com/mycarerecord/portal/store/fhir"
)

// TestProcedureBodySiteInPlainWords: where on the body a procedure was done
// is said as a person says it, not as SNOMED CT names a body structure (a
// plain-English review: "Where: Left eye structure"); words a clinician
// typed are kept as typed.
func TestProcedureBodySiteInPlainWords(t *testing.T) {
	for _, tc := range []struct{ site, want string }{
		{`{"coding":[{"system":"http://snomed.info/sct","code":"8966001","display":"Left eye structure"}]}`, "Where: Left eye"},
		{`{"coding":[{"system":"http://snomed.info/sct","code":"6757004","display":"Structure of right knee"}]}`, "Where: Right knee"},
		{`{"coding":[{"system":"http://snomed.info/sct","code":"302509004","display":"Entire heart"}]}`, "Where: Heart"},
		{`{"coding":[{"system":"http://snomed.info/sct","code":"39607008","display":"Lung structure"}]},{"text":"Left kidney"}`, "Where: Lung, Left kidney"},
		{`{"text":"Bone structure of femur"}`, "Where: Bone structure of femur"},
		{`{"text":"structure"}`, "Where: Structure"},
		{`{"coding":[{"system":"http://snomed.info/sct","code":"51185008","display":"Thoracic structure"}]}`, "Where: Chest"},
		{`{"coding":[{"system":"http://snomed.info/sct","code":"71854001","display":"Cervical structure"}]}`, "Where: Cervical"},
	} {
		raw := `{"resourceType":"Procedure","id":"p1","status":"completed","subject":{"reference":"Patient/p"},` +
			`"code":{"text":"Cataract surgery"},"performedDateTime":"2025-09-15","bodySite":[` + tc.site + `]}`
		items, err := fhir.Project(fhir.Resource{Type: "Procedure", ID: "p1", Raw: []byte(raw)})
		if err != nil || len(items) != 1 || items[0].Detail != tc.want {
			t.Errorf("body site %s: %+v %v; want detail %q", tc.site, items, err, tc.want)
		}
	}
}

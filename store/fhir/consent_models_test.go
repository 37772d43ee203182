package fhir_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/fastenhealth/gofhir-models/fhir401"

	"github.com/mycarerecord/portal/store/fhir"
)

// Every Consent the portal writes also decodes, field for field, into the
// generated R4 Consent model (fastenhealth/gofhir-models, pinned in STACK.md):
// an element name R4 does not have, or a value of the wrong shape, fails here,
// independently of the hand-written check in TestConsentValidatesAsR4.
func TestConsentDecodesIntoR4Model(t *testing.T) {
	for name, in := range sampleInputs() {
		t.Run(name, func(t *testing.T) {
			raw, err := fhir.BuildConsent(in)
			if err != nil {
				t.Fatal(err)
			}
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			var c struct {
				ResourceType string `json:"resourceType"`
				fhir401.Consent
			}
			if err := dec.Decode(&c); err != nil {
				t.Fatalf("not an R4 Consent: %v\n%s", err, raw)
			}
			if c.ResourceType != "Consent" || c.Status != fhir401.ConsentStateActive || len(c.Category) == 0 || c.Patient == nil || c.DateTime == nil {
				t.Errorf("resourceType %q, status %v, %d categories, patient %v, dateTime %v", c.ResourceType, c.Status, len(c.Category), c.Patient, c.DateTime)
			}
			if c.Provision == nil || c.Provision.Type == nil {
				t.Errorf("no provision with a type")
			}
			for _, r := range c.Contained {
				var rp struct {
					ResourceType string `json:"resourceType"`
					fhir401.RelatedPerson
				}
				d := json.NewDecoder(bytes.NewReader(r))
				d.DisallowUnknownFields()
				if err := d.Decode(&rp); err != nil || rp.ResourceType != "RelatedPerson" {
					t.Errorf("contained resource is not an R4 RelatedPerson (%v): %s", err, r)
				}
			}
		})
	}
}

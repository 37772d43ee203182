package fhir_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store/fhir"
)

// TestCarerConsentSaysActionsAsActions: what a carer may do besides reading
// the parts given (manage choices, download) is a provision's action, each
// in a permit of its own, not provision.code, which another system reads as
// a test on the data that nothing meets (a review: the grant read as
// covering nothing).
func TestCarerConsentSaysActionsAsActions(t *testing.T) {
	entries, err := fhir.BuildCarerAccess(fhir.CarerAccess{ID: "carer-1", NHSNumber: "9000000009", PatientName: "Mrs Jane Example",
		CarerName: "John Smith", Relationship: "son", Scopes: []string{fhir.SectionMedicines, fhir.SectionConditions, "choices", "download"},
		Start: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	type provision struct {
		Type      string
		Class     []json.RawMessage
		Code      []json.RawMessage
		Action    []json.RawMessage
		Actor     []json.RawMessage
		Provision []provision
	}
	var c struct {
		ResourceType string
		Provision    provision
	}
	if err := json.Unmarshal(entries[1].Raw, &c); err != nil || c.ResourceType != "Consent" {
		t.Fatalf("second entry %s: %v", entries[1].Raw, err)
	}
	if len(c.Provision.Code) > 0 || c.Provision.Type != "deny" {
		t.Errorf("the base provision: %+v; want a deny, with no code", c.Provision)
	}
	got := map[string]int{} // action code: how many classes it is narrowed to
	for _, p := range c.Provision.Provision {
		if p.Type != "permit" || len(p.Code) > 0 || len(p.Actor) != 1 || len(p.Action) != 1 {
			t.Errorf("a nested provision: %+v; want a permit naming the carer and one action, with no code", p)
			continue
		}
		for _, code := range []string{`"access"`, `"choices"`, `"download"`} {
			if strings.Contains(string(p.Action[0]), code) {
				got[code] = len(p.Class)
			}
		}
	}
	if got[`"access"`] == 0 || len(got) != 3 {
		t.Errorf("actions and the classes each is narrowed to: %v; want access to the parts given, choices and download to none\n%s", got, entries[1].Raw)
	}
	if got[`"choices"`] != 0 || got[`"download"`] != 0 {
		t.Errorf("choices or download narrowed to resource types: %v", got)
	}
	// Read back, as a source's Consent is, it is no statement of the
	// person's choices (a review: it read as opting out of everything).
	if got, ok := fhir.ReadConsent(entries[1].Raw); ok {
		t.Errorf("ReadConsent of a carer's grant: %+v; want it not taken for the person's choices", got)
	}
}

// TestBuiltResourcesHoldNoEmptyString: a person or carer with no name on
// record is written without a display, never "", which FHIR JSON does not
// allow (a review).
func TestBuiltResourcesHoldNoEmptyString(t *testing.T) {
	var empty func(path string, v any) []string
	empty = func(path string, v any) []string {
		var out []string
		switch x := v.(type) {
		case string:
			if x == "" {
				out = append(out, path)
			}
		case []any:
			if len(x) == 0 {
				out = append(out, path+"[]")
			}
			for _, el := range x {
				out = append(out, empty(path, el)...)
			}
		case map[string]any:
			if len(x) == 0 {
				out = append(out, path+"{}")
			}
			for k, el := range x {
				out = append(out, empty(path+"."+k, el)...)
			}
		}
		return out
	}
	check := func(name string, raw []byte) {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatal(err)
		}
		if e := empty(name, v); len(e) > 0 {
			t.Errorf("%s has empty values at %v: %s", name, e, raw)
		}
	}
	entries, err := fhir.BuildCarerAccess(fhir.CarerAccess{ID: "carer-1", NHSNumber: "9000000009", CarerName: "John Smith", Relationship: "son",
		Scopes: []string{fhir.SectionMedicines}, Start: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	check("RelatedPerson", entries[0].Raw)
	check("carer Consent", entries[1].Raw)
	// A person known by neither name nor NHS number (a hospital's number alone).
	entries, err = fhir.BuildCarerAccess(fhir.CarerAccess{ID: "carer-2", CarerName: "John Smith", Relationship: "son",
		Scopes: []string{fhir.SectionMedicines}, Start: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	check("RelatedPerson of a person with no name", entries[0].Raw)
	check("carer Consent of a person with no name", entries[1].Raw)
	for _, carer := range []bool{false, true} {
		raw, err := fhir.BuildConsent(fhir.ConsentInput{Identifier: "urn:uuid:0b7a3c2e-1f4d-4e5a-9c6b-7d8e9f0a1b2c", PatientRef: "Patient/pt1",
			NHSNumber: "9000000009", PerformerCarer: carer, DateTime: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC), DirectCare: true})
		if err != nil {
			t.Fatal(err)
		}
		check("choices Consent", raw)
	}
}

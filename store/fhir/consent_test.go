package fhir_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store/fhir"
)

// element is one element of a FHIR R4 structure as the specification defines
// it: its cardinality, its type, and for codes the values allowed.
type element struct {
	min, max int // max -1 is *
	typ      string
	children map[string]element // for backbone elements and complex types
	codes    map[string]bool    // for code: the value set's codes
}

const many = -1

// The R4 datatypes the Consent uses (only the elements it may carry).
var (
	codingT = map[string]element{
		"system": {0, 1, "uri", nil, nil}, "version": {0, 1, "string", nil, nil}, "code": {0, 1, "code", nil, nil},
		"display": {0, 1, "string", nil, nil}, "userSelected": {0, 1, "boolean", nil, nil},
	}
	conceptT = map[string]element{"coding": {0, many, "Coding", codingT, nil}, "text": {0, 1, "string", nil, nil}}
	identT   = map[string]element{"system": {0, 1, "uri", nil, nil}, "value": {0, 1, "string", nil, nil}, "use": {0, 1, "code", nil, map[string]bool{"usual": true, "official": true, "temp": true, "secondary": true, "old": true}}}
	refT     = map[string]element{"reference": {0, 1, "string", nil, nil}, "type": {0, 1, "uri", nil, nil}, "identifier": {0, 1, "Identifier", identT, nil}, "display": {0, 1, "string", nil, nil}}
	periodT  = map[string]element{"start": {0, 1, "dateTime", nil, nil}, "end": {0, 1, "dateTime", nil, nil}}
	nameT    = map[string]element{"text": {0, 1, "string", nil, nil}, "family": {0, 1, "string", nil, nil}, "given": {0, many, "string", nil, nil}}
)

// provisionT is Consent.provision, which nests itself.
func provisionT() map[string]element {
	p := map[string]element{
		"type":          {0, 1, "code", nil, map[string]bool{"deny": true, "permit": true}},
		"period":        {0, 1, "Period", periodT, nil},
		"actor":         {0, many, "BackboneElement", map[string]element{"role": {1, 1, "CodeableConcept", conceptT, nil}, "reference": {1, 1, "Reference", refT, nil}}, nil},
		"action":        {0, many, "CodeableConcept", conceptT, nil},
		"securityLabel": {0, many, "Coding", codingT, nil},
		"purpose":       {0, many, "Coding", codingT, nil},
		"class":         {0, many, "Coding", codingT, nil},
		"code":          {0, many, "CodeableConcept", conceptT, nil},
		"dataPeriod":    {0, 1, "Period", periodT, nil},
		"data": {0, many, "BackboneElement", map[string]element{
			"meaning":   {1, 1, "code", nil, map[string]bool{"instance": true, "related": true, "dependents": true, "authoredby": true}},
			"reference": {1, 1, "Reference", refT, nil},
		}, nil},
	}
	return p
}

var relatedPersonT = map[string]element{
	"resourceType": {1, 1, "string", nil, nil}, "id": {0, 1, "id", nil, nil},
	"active": {0, 1, "boolean", nil, nil}, "patient": {1, 1, "Reference", refT, nil},
	"relationship": {0, many, "CodeableConcept", conceptT, nil}, "name": {0, many, "HumanName", nameT, nil},
}

var consentT = map[string]element{
	"resourceType": {1, 1, "string", nil, nil},
	"id":           {0, 1, "id", nil, nil},
	"contained":    {0, many, "Resource", relatedPersonT, nil},
	"identifier":   {0, many, "Identifier", identT, nil},
	"status":       {1, 1, "code", nil, map[string]bool{"draft": true, "proposed": true, "active": true, "rejected": true, "inactive": true, "entered-in-error": true}},
	"scope":        {1, 1, "CodeableConcept", conceptT, nil},
	"category":     {1, many, "CodeableConcept", conceptT, nil},
	"patient":      {0, 1, "Reference", refT, nil},
	"dateTime":     {0, 1, "dateTime", nil, nil},
	"performer":    {0, many, "Reference", refT, nil},
	"organization": {0, many, "Reference", refT, nil},
	"policy":       {0, many, "BackboneElement", map[string]element{"authority": {0, 1, "uri", nil, nil}, "uri": {0, 1, "uri", nil, nil}}, nil},
	"policyRule":   {0, 1, "CodeableConcept", conceptT, nil},
	"provision":    {0, 1, "BackboneElement", nil, nil}, // checked with provisionT
}

// valueSets are, for each coded element path, the code systems and codes the Consent may use there.
var valueSets = map[string]map[string][]string{
	"scope":                   {fhir.SystemConsentScope: {"adr", "research", "patient-privacy", "treatment"}},
	"category":                {fhir.SystemLOINC: {"59284-0", "57016-8", "57017-6", "64292-6"}},
	"provision.purpose":       {fhir.SystemActReason: {"TREAT", "HRESCH", "HOPERAT", "ETREAT", "HPAYMT", "PUBHLTH", "PATRQT"}},
	"provision.securityLabel": {fhir.SystemActCode: {"PSY", "STD", "SOC", "HIV", "ETH", "SDV"}},
	"provision.class":         {fhir.SystemResourceTypes: {"AllergyIntolerance", "Condition", "MedicationRequest", "MedicationStatement", "Observation", "DiagnosticReport", "Encounter", "Procedure", "Immunization", "DocumentReference", "CarePlan", "CareTeam", "Appointment"}},
	"contained.relationship":  {fhir.SystemRoleCode: {"MTH", "FTH", "PRN", "DAUC", "SONC", "CHILD", "WIFE", "HUSB", "SPS", "DOMPART", "SIS", "BRO", "FRND", "NBOR", "GRMTH", "GRFTH", "GRNDDAU", "GRNDSON"}},
}

// validate checks v against the element definitions and returns every problem found.
func validate(path string, v any, defs map[string]element) []string {
	obj, ok := v.(map[string]any)
	if !ok {
		return []string{path + ": not an object"}
	}
	var probs []string
	for name, def := range defs {
		val, present := obj[name]
		n := 0
		if present {
			if arr, isArr := val.([]any); isArr {
				if def.max == 1 {
					probs = append(probs, fmt.Sprintf("%s.%s: an array where one value is allowed", path, name))
				}
				n = len(arr)
			} else {
				if def.max != 1 {
					probs = append(probs, fmt.Sprintf("%s.%s: repeats, so must be an array", path, name))
				}
				n = 1
			}
		}
		if n < def.min {
			probs = append(probs, fmt.Sprintf("%s.%s: required (min %d), found %d", path, name, def.min, n))
		}
		if def.max > 0 && n > def.max {
			probs = append(probs, fmt.Sprintf("%s.%s: at most %d, found %d", path, name, def.max, n))
		}
	}
	for name, val := range obj {
		def, ok := defs[name]
		if !ok {
			probs = append(probs, fmt.Sprintf("%s.%s: not an element of this type", path, name))
			continue
		}
		vals := []any{val}
		if arr, isArr := val.([]any); isArr {
			vals = arr
		}
		for i, x := range vals {
			p := fmt.Sprintf("%s.%s[%d]", path, name, i)
			switch def.typ {
			case "string", "uri", "id", "code", "dateTime":
				s, ok := x.(string)
				if !ok || s == "" || strings.TrimSpace(s) != s {
					probs = append(probs, p+": must be a non-empty string without surrounding spaces")
					continue
				}
				if def.typ == "dateTime" {
					if _, err := time.Parse(time.RFC3339, s); err != nil {
						probs = append(probs, p+": not a dateTime with a time zone")
					}
				}
				if def.codes != nil && !def.codes[s] {
					probs = append(probs, fmt.Sprintf("%s: %q is not in the required value set", p, s))
				}
			case "boolean":
				if _, ok := x.(bool); !ok {
					probs = append(probs, p+": not a boolean")
				}
			default:
				if name == "provision" {
					probs = append(probs, validate(p, x, provisionWithNesting())...)
					continue
				}
				probs = append(probs, validate(p, x, def.children)...)
			}
		}
	}
	return probs
}

func provisionWithNesting() map[string]element {
	p := provisionT()
	p["provision"] = element{0, many, "BackboneElement", nil, nil}
	return p
}

// codings collects every Coding under v with its element path (array indexes dropped).
func codings(path string, v any, out map[string][]map[string]any) {
	switch x := v.(type) {
	case map[string]any:
		if _, ok := x["code"].(string); ok && x["system"] != nil {
			out[path] = append(out[path], x)
		}
		for k, c := range x {
			p := k
			if path != "" {
				p = path + "." + k
			}
			if k == "coding" {
				p = path
			}
			codings(p, c, out)
		}
	case []any:
		for _, c := range x {
			codings(path, c, out)
		}
	}
}

func sampleInputs() map[string]fhir.ConsentInput {
	at := time.Date(2026, 11, 25, 10, 42, 0, 0, time.UTC)
	base := fhir.ConsentInput{Identifier: "urn:uuid:6f1c1c9e-4b8e-4a44-9b59-1d6f1f2f8a10", PatientRef: "Patient/123", NHSNumber: "9434765919",
		PatientName: "Jane Example", DateTime: at, EffectiveFrom: at, PerformerName: "Jane Example", DirectCare: true, Research: true, Planning: true}
	optedOut := base
	optedOut.Research, optedOut.Planning = false, false
	withheld := base
	withheld.WithheldCategories = []string{"social-care", "mental-health", "sexual-health"}
	withheld.WithheldItems = []fhir.ConsentItem{
		{Resources: []fhir.ResourceRef{{Type: "Condition", ID: "c-42"}}, System: "http://snomed.info/sct", Code: "370143000", Display: "Major depression disorder"},
		{System: "http://snomed.info/sct", Code: "44054006", Display: "Diabetes"}, // held by another source only
		{Display: "A letter"},
		{Resources: []fhir.ResourceRef{{Type: "MedicationRequest", ID: "m-1"}, {Type: "MedicationRequest", ID: "m-2"}, {Type: "MedicationStatement", ID: "s-1"}},
			System: "http://snomed.info/sct", Code: "322236009", Display: "Paracetamol 500mg tablets"}, // a repeat prescription
	}
	carer := withheld
	carer.PerformerName, carer.PerformerCarer, carer.PerformerRelationship = "Mary Smith", true, "daughter"
	unknownRel := carer
	unknownRel.PerformerRelationship = "next-door helper"
	noRef := base
	noRef.PatientRef = ""
	noShare := base
	noShare.DirectCare = false
	return map[string]fhir.ConsentInput{"default": base, "opted out": optedOut, "withheld": withheld, "by a carer": carer,
		"carer with a relationship in words": unknownRel, "patient by NHS number only": noRef, "no sharing for care": noShare}
}

// TestConsentValidatesAsR4 checks each Consent the portal writes against the
// R4 Consent structure: required elements and cardinalities, element names,
// required value sets, the invariants ppc-1 and ppc-2, that every code comes
// from the value set used for it, and that references to contained resources resolve.
func TestConsentValidatesAsR4(t *testing.T) {
	for name, in := range sampleInputs() {
		t.Run(name, func(t *testing.T) {
			raw, err := fhir.BuildConsent(in)
			if err != nil {
				t.Fatal(err)
			}
			var v map[string]any
			if err := json.Unmarshal(raw, &v); err != nil {
				t.Fatal(err)
			}
			probs := validate("Consent", v, consentT)
			if v["resourceType"] != "Consent" {
				probs = append(probs, "resourceType is not Consent")
			}
			if v["policy"] == nil && v["policyRule"] == nil {
				probs = append(probs, "ppc-1/ppc-2: a privacy consent needs policy or policyRule")
			}
			contained, _ := v["contained"].([]any)
			for _, c := range contained {
				cm := c.(map[string]any)
				if cm["resourceType"] != "RelatedPerson" {
					probs = append(probs, "contained: not a RelatedPerson")
				}
			}
			if in.PerformerCarer {
				perf := v["performer"].([]any)[0].(map[string]any)
				cont := v["contained"].([]any)[0].(map[string]any)
				if perf["reference"] != "#"+cont["id"].(string) {
					probs = append(probs, "dom-3: the contained RelatedPerson is not the performer")
				}
			}
			found := map[string][]map[string]any{}
			codings("", v, found)
			for path, cs := range found {
				path = strings.ReplaceAll(path, "provision.provision", "provision")
				vs, ok := valueSets[path]
				if !ok {
					if strings.HasSuffix(path, "provision.code") {
						continue // the entry's own code, from its source
					}
					probs = append(probs, "a coding at "+path+" has no value set in this test")
					continue
				}
				for _, c := range cs {
					sys, _ := c["system"].(string)
					code, _ := c["code"].(string)
					ok := false
					for _, allowed := range vs[sys] {
						if allowed == code {
							ok = true
						}
					}
					if !ok {
						probs = append(probs, fmt.Sprintf("%s: %s|%s is not in the value set used", path, sys, code))
					}
				}
			}
			sort.Strings(probs)
			for _, p := range probs {
				t.Error(p)
			}
			if t.Failed() {
				t.Logf("%s", raw)
			}
		})
	}
}

// TestConsentReadsBack reads each Consent the portal writes back into choices.
func TestConsentReadsBack(t *testing.T) {
	for name, in := range sampleInputs() {
		t.Run(name, func(t *testing.T) {
			raw, err := fhir.BuildConsent(in)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := fhir.ReadConsent(raw)
			if !ok {
				t.Fatal("not read as an active privacy consent")
			}
			cats := append([]string(nil), in.WithheldCategories...)
			sort.Strings(cats)
			want := fhir.ConsentChoices{Identifier: in.Identifier, Status: "active", DateTime: in.DateTime.Format(time.RFC3339),
				DirectCare: in.DirectCare, Research: in.Research, Planning: in.Planning, WithheldCategories: cats}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("read back %+v, want %+v", got, want)
			}
		})
	}
}

func TestReadConsentIgnoresOtherConsents(t *testing.T) {
	for name, raw := range map[string]string{
		"treatment":     `{"resourceType":"Consent","status":"active","scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"treatment"}]}}`,
		"inactive":      `{"resourceType":"Consent","status":"inactive","scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]}}`,
		"not a consent": `{"resourceType":"Condition","status":"active"}`,
		"not even JSON": `{`,
	} {
		if _, ok := fhir.ReadConsent([]byte(raw)); ok {
			t.Errorf("%s: read as a privacy consent", name)
		}
	}
	// A deny-all consent with a narrower permit for one organisation keeps the broad choices at deny.
	raw := `{"resourceType":"Consent","status":"active","scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},
"provision":{"type":"deny","provision":[{"type":"permit","actor":[{"reference":{"reference":"Organization/1"}}],"purpose":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ActReason","code":"TREAT"}]}]}}`
	got, ok := fhir.ReadConsent([]byte(raw))
	if !ok || got.DirectCare || got.Research || got.Planning {
		t.Fatalf("got %+v %v", got, ok)
	}
}

// TestConsentValidatorCatchesMistakes makes sure the checks above can fail.
func TestConsentValidatorCatchesMistakes(t *testing.T) {
	raw, err := fhir.BuildConsent(sampleInputs()["by a carer"])
	if err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(map[string]any){
		"no status":         func(v map[string]any) { delete(v, "status") },
		"status not in set": func(v map[string]any) { v["status"] = "agreed" },
		"scope repeated":    func(v map[string]any) { v["scope"] = []any{v["scope"], v["scope"]} },
		"no category":       func(v map[string]any) { delete(v, "category") },
		"unknown element":   func(v map[string]any) { v["decision"] = "yes" },
		"provision type":    func(v map[string]any) { v["provision"].(map[string]any)["type"] = "allow" },
		"nested data meaning": func(v map[string]any) {
			p := v["provision"].(map[string]any)["provision"].([]any)
			last := p[len(p)-1].(map[string]any)
			last["data"] = []any{map[string]any{"meaning": "everything", "reference": map[string]any{"reference": "Condition/1"}}}
		},
	} {
		var v map[string]any
		json.Unmarshal(raw, &v)
		mutate(v)
		if probs := validate("Consent", v, consentT); len(probs) == 0 {
			t.Errorf("%s: no problem found", name)
		}
	}
}

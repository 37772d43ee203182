package fhir

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Code systems and codes a Consent is written with (FHIR R4 and its terminology).
const (
	SystemConsentScope  = "http://terminology.hl7.org/CodeSystem/consentscope"
	SystemLOINC         = "http://loinc.org"
	SystemActReason     = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
	SystemActCode       = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
	SystemRoleCode      = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
	SystemResourceTypes = "http://hl7.org/fhir/resource-types"
	SystemURI           = "urn:ietf:rfc:3986"
	// SystemConsentDecision is the system of the identifier each Consent
	// the portal sends carries (a decision's urn:uuid): the portal's own,
	// so that its search for the portal's Consent at a source finds no
	// other system's (a review: urn:ietf:rfc:3986, which any system uses
	// for a URI, had another app's Consent taken for the portal's and
	// written over). Consents sent before carry SystemURI.
	SystemConsentDecision  = "https://mycarerecord.nhs.uk/fhir/Id/consent-decision"
	SystemNHSNumber        = "https://fhir.nhs.uk/Id/nhs-number"
	ConsentPolicyURI       = "https://www.nhs.uk/your-nhs-data-matters/"
	ConsentPolicyAuthority = "https://www.england.nhs.uk"

	PurposeDirectCare = "TREAT"   // treatment: professionals caring for the person
	PurposeResearch   = "HRESCH"  // healthcare research
	PurposePlanning   = "HOPERAT" // healthcare operations: planning and improving services
)

// PurposeDisplay names each v3-ActReason purpose a Consent uses, as the code system does.
var PurposeDisplay = map[string]string{
	PurposeDirectCare: "treatment",
	PurposeResearch:   "healthcare research",
	PurposePlanning:   "healthcare operations",
}

// SensitivityLabel is the v3-ActCode information sensitivity code for each
// category a person may keep out of sharing, and its display.
var SensitivityLabel = map[string][2]string{
	"mental-health": {"PSY", "psychiatry disorder information sensitivity"},
	"sexual-health": {"STD", "sexually transmitted disease information sensitivity"},
	"social-care":   {"SOC", "social services sensitivity"},
}

// relationshipCodes maps the words people use to v3-RoleCode personal relationships.
var relationshipCodes = map[string][2]string{
	"mother": {"MTH", "mother"}, "father": {"FTH", "father"}, "parent": {"PRN", "parent"},
	"daughter": {"DAUC", "daughter"}, "son": {"SONC", "son"}, "child": {"CHILD", "child"},
	"wife": {"WIFE", "wife"}, "husband": {"HUSB", "husband"}, "spouse": {"SPS", "spouse"},
	"partner": {"DOMPART", "domestic partner"}, "sister": {"SIS", "sister"}, "brother": {"BRO", "brother"},
	"friend": {"FRND", "unrelated friend"}, "neighbour": {"NBOR", "neighbor"}, "neighbor": {"NBOR", "neighbor"},
	"grandmother": {"GRMTH", "grandmother"}, "grandfather": {"GRFTH", "grandfather"},
	"granddaughter": {"GRNDDAU", "granddaughter"}, "grandson": {"GRNDSON", "grandson"},
}

// RelationshipCode returns the v3-RoleCode code and display for a relationship
// such as "daughter", or ok false when the words are not one it knows.
func RelationshipCode(words string) (code, display string, ok bool) {
	c, ok := relationshipCodes[strings.ToLower(strings.TrimSpace(words))]
	return c[0], c[1], ok
}

// ConsentItem is one entry a person keeps out of sharing: its resources at
// the source the Consent goes to (if any) and its code, so other holders of
// the same fact can honour it.
type ConsentItem struct {
	Resources    []ResourceRef // every report of it at this source (a repeat prescription is several); none when the source holds none
	System, Code string
	Display      string
}

// ResourceRef names one resource at a source.
type ResourceRef struct{ Type, ID string }

// ConsentInput is everything a Consent records about one decision.
type ConsentInput struct {
	Identifier    string // urn:uuid:…
	PatientRef    string // e.g. "Patient/123" at the source it goes to; "" names the patient by NHS number only
	NHSNumber     string
	PatientName   string
	DateTime      time.Time
	EffectiveFrom time.Time

	PerformerName         string
	PerformerCarer        bool
	PerformerRelationship string

	DirectCare, Research, Planning bool
	WithheldCategories             []string // mental-health, sexual-health, social-care
	WithheldItems                  []ConsentItem
}

// BuildConsent writes a FHIR R4 Consent (scope patient-privacy) recording the
// person's choices as they stand after one decision. It has no id: servers assign one.
func BuildConsent(in ConsentInput) ([]byte, error) {
	if in.Identifier == "" {
		return nil, fmt.Errorf("build consent: no identifier")
	}
	patient := map[string]any{}
	if in.PatientRef != "" {
		patient["reference"] = in.PatientRef
	}
	if in.NHSNumber != "" {
		patient["identifier"] = map[string]any{"system": SystemNHSNumber, "value": in.NHSNumber}
	}
	if in.PatientName != "" {
		patient["display"] = in.PatientName
	}
	if len(patient) == 0 {
		return nil, fmt.Errorf("build consent: no patient")
	}
	c := map[string]any{
		"resourceType": "Consent",
		"identifier":   []any{map[string]any{"system": SystemConsentDecision, "value": in.Identifier}},
		"status":       "active",
		"scope":        concept(SystemConsentScope, "patient-privacy", "Privacy Consent", ""),
		"category":     []any{concept(SystemLOINC, "59284-0", "Patient Consent", "")},
		"patient":      patient,
		"dateTime":     in.DateTime.UTC().Format(time.RFC3339),
		"policy":       []any{map[string]any{"authority": ConsentPolicyAuthority, "uri": ConsentPolicyURI}},
	}
	if in.PerformerCarer {
		rp := map[string]any{
			"resourceType": "RelatedPerson",
			"id":           "carer",
			"active":       true,
			"patient":      patient,
		}
		if in.PerformerName != "" {
			rp["name"] = []any{map[string]any{"text": in.PerformerName}}
		}
		if in.PerformerRelationship != "" {
			rel := map[string]any{"text": in.PerformerRelationship}
			if code, display, ok := RelationshipCode(in.PerformerRelationship); ok {
				rel["coding"] = []any{map[string]any{"system": SystemRoleCode, "code": code, "display": display}}
			}
			rp["relationship"] = []any{rel}
		}
		c["contained"] = []any{rp}
		perf := map[string]any{"reference": "#carer"}
		if in.PerformerName != "" {
			perf["display"] = in.PerformerName
		}
		c["performer"] = []any{perf}
	} else {
		perf := map[string]any{}
		if in.PerformerName != "" {
			perf["display"] = in.PerformerName // never "": FHIR JSON has no empty strings (a review)
		}
		if in.PatientRef != "" {
			perf["reference"] = in.PatientRef
		} else if in.NHSNumber != "" {
			perf["identifier"] = map[string]any{"system": SystemNHSNumber, "value": in.NHSNumber}
		}
		perf["type"] = "Patient"
		c["performer"] = []any{perf}
	}

	var nested []any
	for _, p := range []struct {
		code   string
		permit bool
	}{{PurposeDirectCare, in.DirectCare}, {PurposeResearch, in.Research}, {PurposePlanning, in.Planning}} {
		nested = append(nested, map[string]any{
			"type":    permitDeny(p.permit),
			"purpose": []any{coding(SystemActReason, p.code, PurposeDisplay[p.code])},
		})
	}
	allPurposes := []any{
		coding(SystemActReason, PurposeDirectCare, PurposeDisplay[PurposeDirectCare]),
		coding(SystemActReason, PurposeResearch, PurposeDisplay[PurposeResearch]),
		coding(SystemActReason, PurposePlanning, PurposeDisplay[PurposePlanning]),
	}
	cats := append([]string(nil), in.WithheldCategories...)
	sort.Strings(cats)
	for _, cat := range cats {
		label, ok := SensitivityLabel[cat]
		if !ok {
			return nil, fmt.Errorf("build consent: %q is not a category that can be kept out of sharing", cat)
		}
		nested = append(nested, map[string]any{
			"type":          "deny",
			"purpose":       allPurposes,
			"securityLabel": []any{coding(SystemActCode, label[0], label[1])},
		})
	}
	for _, it := range in.WithheldItems {
		p := map[string]any{"type": "deny", "purpose": allPurposes}
		// A provision's criteria all apply at once, and each lists what it
		// matches: the entry's every resource here, and their types.
		var classes, data []any
		seen := map[string]bool{}
		for _, r := range it.Resources {
			if !seen[r.Type] {
				seen[r.Type] = true
				classes = append(classes, coding(SystemResourceTypes, r.Type, ""))
			}
			ref := map[string]any{"reference": r.Type + "/" + r.ID}
			if it.Display != "" {
				ref["display"] = it.Display
			}
			data = append(data, map[string]any{"meaning": "instance", "reference": ref})
		}
		if len(classes) > 0 {
			p["class"] = classes
		}
		if it.Code != "" && it.System != "" {
			p["code"] = []any{concept(it.System, it.Code, "", it.Display)}
		} else if it.Display != "" {
			p["code"] = []any{map[string]any{"text": it.Display}}
		}
		if len(data) > 0 {
			p["data"] = data
		}
		nested = append(nested, p)
	}
	from := in.EffectiveFrom
	if from.IsZero() {
		from = in.DateTime
	}
	c["provision"] = map[string]any{
		"type":      "permit",
		"period":    map[string]any{"start": from.UTC().Format(time.RFC3339)},
		"provision": nested,
	}
	return json.Marshal(c)
}

func permitDeny(permit bool) string {
	if permit {
		return "permit"
	}
	return "deny"
}

func coding(system, code, display string) map[string]any {
	c := map[string]any{"system": system, "code": code}
	if display != "" {
		c["display"] = display
	}
	return c
}

func concept(system, code, display, text string) map[string]any {
	c := map[string]any{"coding": []any{coding(system, code, display)}}
	if text != "" {
		c["text"] = text
	}
	return c
}

// ConsentChoices is what a patient-privacy Consent says about the choices the portal offers.
type ConsentChoices struct {
	Identifier                     string
	Status                         string
	DateTime                       string
	DirectCare, Research, Planning bool
	WithheldCategories             []string
}

// ReadConsent reads the choices a Consent records: its top provision's type
// stands for every purpose unless a nested provision with that purpose (and no
// narrower rule) says otherwise; nested deny provisions with a PSY, STD or SOC
// security label keep that category out. ok is false when the resource is not
// an active patient-privacy Consent.
func ReadConsent(raw []byte) (ConsentChoices, bool) {
	type codingT struct{ System, Code string }
	type provisionT struct {
		Type          string
		Purpose       []codingT
		SecurityLabel []codingT
		Class         []codingT
		Code          []struct{ Coding []codingT }
		Data          []json.RawMessage
		Actor         []json.RawMessage
		Provision     []provisionT
	}
	var c struct {
		ResourceType string
		Status       string
		DateTime     string
		Identifier   []struct{ System, Value string }
		Scope        struct{ Coding []codingT }
		Provision    provisionT
	}
	if json.Unmarshal(raw, &c) != nil || c.ResourceType != "Consent" || c.Status != "active" {
		return ConsentChoices{}, false
	}
	privacy := false
	for _, cd := range c.Scope.Coding {
		if cd.System == SystemConsentScope && cd.Code == "patient-privacy" {
			privacy = true
		}
	}
	// One whose base rule names who it is for (a carer's grant, as
	// BuildCarerAccess writes it) says what that one may do, not the
	// person's choices for everyone (a review: read so, a carer's grant
	// turned every choice to "no").
	if !privacy || len(c.Provision.Actor) > 0 {
		return ConsentChoices{}, false
	}
	out := ConsentChoices{Status: c.Status, DateTime: c.DateTime}
	for _, id := range c.Identifier {
		if id.Value != "" {
			out.Identifier = id.Value
			break
		}
	}
	// With no provision at all, a privacy consent permits.
	base := c.Provision.Type != "deny"
	out.DirectCare, out.Research, out.Planning = base, base, base
	seen := map[string]bool{}
	for _, p := range c.Provision.Provision {
		narrow := len(p.Class) > 0 || len(p.Code) > 0 || len(p.Data) > 0 || len(p.Actor) > 0
		if len(p.SecurityLabel) > 0 && p.Type == "deny" {
			for _, l := range p.SecurityLabel {
				for cat, lab := range SensitivityLabel {
					if l.System == SystemActCode && l.Code == lab[0] && !seen[cat] {
						seen[cat] = true
						out.WithheldCategories = append(out.WithheldCategories, cat)
					}
				}
			}
			continue
		}
		if narrow || len(p.SecurityLabel) > 0 {
			continue // about particular data or people: not one of the broad choices
		}
		permit := p.Type != "deny"
		for _, pu := range p.Purpose {
			if pu.System != SystemActReason {
				continue
			}
			switch pu.Code {
			case PurposeDirectCare:
				out.DirectCare = permit
			case PurposeResearch:
				out.Research = permit
			case PurposePlanning:
				out.Planning = permit
			}
		}
	}
	sort.Strings(out.WithheldCategories)
	return out, true
}

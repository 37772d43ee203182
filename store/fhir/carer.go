package fhir

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"time"
)

// Code systems a carer's access is written with.
const (
	SystemConsentAction     = "http://terminology.hl7.org/CodeSystem/consentaction"
	SystemParticipationType = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
	// SystemCarerAction names what a carer may do beyond reading: a portal code system.
	SystemCarerAction = "https://mycarerecord.nhs.uk/fhir/CodeSystem/carer-action"
)

// sectionTypes are the FHIR resource types each record section shows.
var sectionTypes = map[string][]string{
	SectionAllergies:     {"AllergyIntolerance"},
	SectionMedicines:     {"MedicationRequest", "MedicationStatement"},
	SectionConditions:    {"Condition"},
	SectionImmunisations: {"Immunization"},
	SectionResults:       {"Observation", "DiagnosticReport"},
	SectionEncounters:    {"Encounter", "Appointment"},
	SectionProcedures:    {"Procedure"},
	SectionDocuments:     {"DocumentReference"},
	SectionCarePlans:     {"CarePlan"},
	SectionCareTeam:      {"CareTeam"},
}

// CarerAccess is a carer's active access to a person's record, as the proxy
// design of the NHS national proxy service records it: the carer as a
// RelatedPerson, and the person's permission as a Consent naming them.
type CarerAccess struct {
	ID           string // stable local id, e.g. "carer-12"
	PatientRef   string // the fullUrl of the person's Patient in the same Bundle, or ""
	NHSNumber    string
	PatientName  string
	CarerName    string
	Relationship string    // the person's own words, e.g. "son"
	Scopes       []string  // section slugs, "choices", "download"
	Start        time.Time // when the carer accepted
	End          time.Time // zero: until the person cancels
	Parental     bool
}

// BundleEntry is a resource for a Bundle with the fullUrl other entries refer to it by.
type BundleEntry struct {
	FullURL string
	Raw     []byte
}

// stableUUID is a name-based UUID (version 5 layout, SHA-256 truncated) for a
// local id, so the same grant has the same fullUrl in every download.
func stableUUID(name string) string {
	h := sha256.Sum256([]byte("mycarerecord:" + name))
	h[6] = (h[6] & 0x0f) | 0x50
	h[8] = (h[8] & 0x3f) | 0x80
	return fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// BuildCarerAccess writes the carer's access as a FHIR R4 RelatedPerson and a
// Consent whose provision names it, as two Bundle entries.
func BuildCarerAccess(a CarerAccess) ([]BundleEntry, error) {
	if a.ID == "" {
		return nil, fmt.Errorf("build carer access: no id")
	}
	rpURL, consentURL := stableUUID(a.ID), stableUUID(a.ID+"-consent")
	patient := map[string]any{}
	if a.PatientRef != "" {
		patient["reference"] = a.PatientRef
	}
	if a.PatientName != "" {
		patient["display"] = a.PatientName // never "": FHIR JSON has no empty strings (a review)
	}
	if a.NHSNumber != "" {
		patient["identifier"] = map[string]any{"system": SystemNHSNumber, "value": a.NHSNumber}
	}
	if len(patient) == 0 {
		// A person known by a hospital's number alone, with no name, whose
		// Patient had no address in the download: never {} (ele-1).
		patient["display"] = "The person whose record this is"
	}
	period := map[string]any{"start": a.Start.UTC().Format(time.RFC3339)}
	if !a.End.IsZero() {
		period["end"] = a.End.UTC().Format(time.RFC3339)
	}
	rel := map[string]any{"text": a.Relationship}
	if code, display, ok := RelationshipCode(a.Relationship); ok {
		rel["coding"] = []any{coding(SystemRoleCode, code, display)}
	}
	relationships := []any{rel}
	if a.Parental {
		// v3-RoleCode has no "parental responsibility": GUARD (guardian) is the nearest.
		relationships = append(relationships, map[string]any{"coding": []any{coding(SystemRoleCode, "GUARD", "guardian")}, "text": "parental responsibility"})
	}
	rp := map[string]any{
		"resourceType": "RelatedPerson",
		"id":           a.ID,
		"active":       true,
		"patient":      patient,
		"relationship": relationships,
		"name":         []any{map[string]any{"text": a.CarerName}},
		"period":       period,
	}
	// One permit for each thing the carer may do, each naming the carer and
	// the time: reading the parts of the record given (consentaction
	// "access", with their resource types), and the portal's own actions
	// (carer-action), as actions: as provision.code, as they were, another
	// system reads them as a test on the data, which nothing meets, so the
	// grant read as covering nothing (a review).
	actor := []any{map[string]any{
		"role":      concept(SystemParticipationType, "IRCP", "information recipient", ""),
		"reference": map[string]any{"reference": rpURL, "display": a.CarerName},
	}}
	permit := func(action map[string]any) map[string]any {
		return map[string]any{"type": "permit", "period": period, "actor": actor, "action": []any{action}}
	}
	var classes, nested []any
	for _, s := range a.Scopes {
		if types, ok := sectionTypes[s]; ok {
			for _, t := range types {
				classes = append(classes, map[string]any{"system": SystemResourceTypes, "code": t})
			}
		}
	}
	if len(classes) > 0 {
		access := permit(concept(SystemConsentAction, "access", "Access", ""))
		access["class"] = classes
		nested = append(nested, access)
	}
	for _, s := range a.Scopes {
		switch s {
		case "choices":
			nested = append(nested, permit(map[string]any{"coding": []any{coding(SystemCarerAction, "choices", "Manage the person's sharing choices")}}))
		case "download":
			nested = append(nested, permit(map[string]any{"coding": []any{coding(SystemCarerAction, "download", "Download or print the whole record")}}))
		}
	}
	// Nothing else: the policy is opt-in, so what no permit names is not given.
	provision := map[string]any{"type": "deny", "period": period, "actor": actor}
	if len(nested) > 0 {
		provision["provision"] = nested
	}
	c := map[string]any{
		"resourceType": "Consent",
		"id":           a.ID + "-consent",
		"status":       "active",
		"scope":        concept(SystemConsentScope, "patient-privacy", "Privacy Consent", ""),
		"category":     []any{concept(SystemLOINC, "59284-0", "Patient Consent", "")},
		"patient":      patient,
		"dateTime":     a.Start.UTC().Format(time.RFC3339),
		"performer":    []any{patient},
		"policyRule":   concept(SystemActCode, "OPTIN", "opt-in", ""),
		"provision":    provision,
	}
	rpRaw, err := json.Marshal(rp)
	if err != nil {
		return nil, err
	}
	cRaw, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	return []BundleEntry{{FullURL: rpURL, Raw: rpRaw}, {FullURL: consentURL, Raw: cRaw}}, nil
}

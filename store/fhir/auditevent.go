package fhir

import (
	"encoding/json"
	"fmt"
	"strings"
)

// AuditEventInfo is what a person reads of an upstream AuditEvent: who
// (a professional, and the organisation they work for), did what, when, to which part of the record.
type AuditEventInfo struct {
	Recorded     string // as written, an instant
	Who          string // the person who acted, e.g. "Dr A Jones"; "" when only an organisation is named
	Organisation string // e.g. "Leeds Teaching Hospitals"
	Action       string // in words: "Viewed", "Changed", …
	What         string // what they used, in words, e.g. "a document"; "" for the record as a whole
	Failed       bool   // the attempt did not succeed
}

type auditEvent struct {
	ResourceType string     `json:"resourceType"`
	Action       string     `json:"action"`
	Recorded     string     `json:"recorded"`
	Outcome      string     `json:"outcome"`
	Subtype      []Coding   `json:"subtype"`
	Agent        []auditAgt `json:"agent"`
	Source       struct {
		Site     string    `json:"site"`
		Observer Reference `json:"observer"`
	} `json:"source"`
	Entity []struct {
		What        Reference `json:"what"`
		Name        string    `json:"name"`
		Description string    `json:"description"`
		Type        Coding    `json:"type"`
	} `json:"entity"`
}

type auditAgt struct {
	Who       Reference         `json:"who"`
	Name      string            `json:"name"`
	Requestor bool              `json:"requestor"`
	Role      []CodeableConcept `json:"role"`
}

// refType is the resource type a reference names ("Practitioner/1" → "Practitioner").
func refType(ref string) string {
	ref = strings.TrimSuffix(ref, "/")
	parts := strings.Split(ref, "/")
	for i := len(parts) - 2; i >= 0; i-- {
		if parts[i] != "" && parts[i][0] >= 'A' && parts[i][0] <= 'Z' && parts[i] != "_history" {
			return parts[i]
		}
	}
	return ""
}

// AuditEventPatientRef is the reference to the patient an AuditEvent is about:
// an entity that is a Patient (what the record was used), else an agent that is one.
// AuditEvents have no subject or patient field, so PatientRef asks here.
func AuditEventPatientRef(raw []byte) string {
	var ev auditEvent
	if json.Unmarshal(raw, &ev) != nil {
		return ""
	}
	for _, e := range ev.Entity {
		if refType(e.What.Reference) == "Patient" {
			return e.What.Reference
		}
	}
	for _, a := range ev.Agent {
		if refType(a.Who.Reference) == "Patient" {
			return a.Who.Reference
		}
	}
	return ""
}

// ParseAuditEvent reads an AuditEvent for the person whose record it is about.
func ParseAuditEvent(raw []byte) (AuditEventInfo, error) {
	var ev auditEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return AuditEventInfo{}, jsonError(raw, err)
	}
	if ev.ResourceType != "AuditEvent" {
		return AuditEventInfo{}, fmt.Errorf("not an AuditEvent but %q", ev.ResourceType)
	}
	out := AuditEventInfo{Recorded: ev.Recorded, Action: auditAction(ev), Failed: ev.Outcome != "" && ev.Outcome != "0"}
	// The agent who asked is the one to name; devices and the patient themselves are not professionals.
	var who *auditAgt
	for i, a := range ev.Agent {
		switch refType(a.Who.Reference) {
		case "Organization":
			if out.Organisation == "" {
				out.Organisation = firstNonEmpty(a.Who.Display, a.Name)
			}
			continue
		case "Device":
			continue
		}
		if who == nil || (a.Requestor && !who.Requestor) {
			who = &ev.Agent[i]
		}
	}
	if who != nil {
		out.Who = firstNonEmpty(who.Name, who.Who.Display)
		if refType(who.Who.Reference) == "Patient" {
			out.Who = "" // the patient using their own record elsewhere: named by the organisation
		}
	}
	if out.Organisation == "" && refType(ev.Source.Observer.Reference) == "Organization" {
		out.Organisation = ev.Source.Observer.Display
	}
	if out.Organisation == "" {
		out.Organisation = ev.Source.Site
	}
	var whats []string
	for _, e := range ev.Entity {
		if refType(e.What.Reference) == "Patient" {
			continue
		}
		w := firstNonEmpty(e.Name, e.Description, e.What.Display, entityWords(refType(e.What.Reference)))
		if w != "" {
			whats = append(whats, w)
		}
	}
	out.What = strings.Join(whats, ", ")
	return out, nil
}

// auditAction is the event's action in words, from its subtype where that is more exact.
func auditAction(ev auditEvent) string {
	for _, s := range ev.Subtype {
		switch s.Code {
		case "read", "vread":
			return "Viewed"
		case "search-type", "search-system", "search", "history-instance", "history-type":
			return "Searched"
		case "create":
			return "Added to"
		case "update", "patch":
			return "Changed"
		case "delete":
			return "Removed from"
		}
	}
	switch ev.Action {
	case "C":
		return "Added to"
	case "R":
		return "Viewed"
	case "U":
		return "Changed"
	case "D":
		return "Removed from"
	case "E":
		return "Used"
	}
	return "Used"
}

// entityWords names a kind of record entry the way people say it.
func entityWords(typ string) string {
	switch typ {
	case "":
		return ""
	case "AllergyIntolerance":
		return "an allergy"
	case "MedicationRequest", "MedicationStatement", "MedicationAdministration", "MedicationDispense":
		return "a medicine"
	case "Condition":
		return "a condition"
	case "Immunization":
		return "a vaccination"
	case "Observation", "DiagnosticReport":
		return "a test result"
	case "Encounter":
		return "a visit"
	case "Appointment":
		return "an appointment"
	case "Procedure":
		return "a procedure"
	case "DocumentReference", "Binary", "Composition":
		return "a document"
	case "CarePlan":
		return "a care plan"
	case "CareTeam":
		return "a care team"
	case "Consent":
		return "your choices"
	}
	return "part of the record"
}

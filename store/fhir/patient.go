package fhir

import (
	"encoding/json"
	"fmt"
	"strings"
)

// PatientInfo is what the portal needs from a Patient to know who it is about.
type PatientInfo struct {
	ID          string
	Prefix      string
	Given       string
	Family      string
	BirthDate   string // YYYY-MM-DD, or a partial date as given
	NHSNumber   string // ten digits, or ""
	Identifiers []Identifier
	// ReplacedBy is the id of the Patient at the same server this one says
	// replaced it (Patient.link of type replaced-by, a merge), "" for none.
	ReplacedBy string
}

// ParsePatient reads a Patient resource.
func ParsePatient(raw []byte) (PatientInfo, error) {
	var p struct {
		ID         string       `json:"id"`
		Identifier []Identifier `json:"identifier"`
		Name       []HumanName  `json:"name"`
		BirthDate  string       `json:"birthDate"`
		Link       []struct {
			Type  string `json:"type"`
			Other struct {
				Reference string `json:"reference"`
			} `json:"other"`
		} `json:"link"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return PatientInfo{}, fmt.Errorf("Patient: %w", jsonError(raw, err))
	}
	if p.BirthDate != "" && !IsDate(p.BirthDate) {
		// Stored, it would replace a good date of birth, which enrolment checks.
		return PatientInfo{}, fmt.Errorf("birthDate should be a date such as 1957-03-14, not %q", p.BirthDate)
	}
	info := PatientInfo{ID: p.ID, BirthDate: p.BirthDate, Identifiers: p.Identifier}
	for _, l := range p.Link {
		if id, ok := strings.CutPrefix(strings.TrimSpace(l.Other.Reference), "Patient/"); ok && l.Type == "replaced-by" && !strings.Contains(id, "/") {
			info.ReplacedBy = id
		}
	}
	if n, ok := officialName(p.Name); ok {
		info.Prefix = cleanName(strings.Join(n.Prefix, " "))
		info.Given = cleanName(strings.Join(n.Given, " "))
		info.Family = cleanName(n.Family)
		if info.Given == "" && info.Family == "" {
			info.Family = cleanName(n.Text)
		}
	}
	for _, id := range p.Identifier {
		if id.System != NHSNumberSystem {
			continue
		}
		n := NormaliseNHSNumber(id.Value)
		if n == "" {
			continue // not known (a value absent, with its reason): no number, as before (a review)
		}
		if !ValidNHSNumber(n) {
			// People are linked by it: "UNKNOWN" or a wrong check digit
			// given to two Patients made them one person (a review).
			return PatientInfo{}, fmt.Errorf("identifier: %q is not an NHS number (10 digits, the last a check digit that fits the others), and records are linked by it", id.Value)
		}
		if info.NHSNumber == "" {
			info.NHSNumber = n
		}
	}
	return info, nil
}

// StatedNHSNumber is the NHS number a stored Patient gives, however wrong
// (ParsePatient refuses one that is no NHS number), spaces and dashes
// dropped; "" when it gives none. A Patient stored before that check, as
// "UNKNOWN", still gives it: accepting another source's new number must not
// take it for one giving none (a review).
func StatedNHSNumber(raw []byte) string {
	var p struct {
		Identifier []Identifier `json:"identifier"`
	}
	if json.Unmarshal(raw, &p) != nil {
		return ""
	}
	for _, id := range p.Identifier {
		if n := NormaliseNHSNumber(id.Value); id.System == NHSNumberSystem && n != "" {
			return n
		}
	}
	return ""
}

// officialName picks the name in use: official, then usual, then the first.
func officialName(names []HumanName) (HumanName, bool) {
	for _, use := range []string{"official", "usual"} {
		for _, n := range names {
			if n.Use == use {
				return n, true
			}
		}
	}
	if len(names) > 0 {
		return names[0], true
	}
	return HumanName{}, false
}

// PlainTitles writes the titles in s without a full stop, in NHS style:
// "Mrs." is "Mrs", "Dr." "Dr". Other words are left as they are.
func PlainTitles(s string) string {
	words := strings.Fields(s)
	for i, w := range words {
		if t, ok := strings.CutSuffix(w, "."); ok && plainTitles[strings.ToLower(t)] {
			words[i] = t
		}
	}
	return strings.Join(words, " ")
}

var plainTitles = map[string]bool{"mr": true, "mrs": true, "ms": true, "miss": true, "mx": true, "dr": true, "prof": true, "rev": true}

// clinicianName is a clinician's name as a reference's display gives it,
// as a Practitioner's own is read (ParseName): without Synthea's digits, and
// titles without a full stop ("Dr. Ivey393 Friesen796" is "Dr Ivey
// Friesen"; a review of real records).
func clinicianName(s string) string { return PlainTitles(cleanName(s)) }

// cleanName removes the digits Synthea appends to made-up names ("Lawerence6" → "Lawerence").
func cleanName(s string) string {
	words := strings.Fields(s)
	for i, w := range words {
		if t := strings.TrimRight(w, "0123456789"); t != "" {
			words[i] = t
		}
	}
	return strings.Join(words, " ")
}

// PatientRef returns the reference to the patient a resource is about
// (its subject or patient), or "" when it is not about a patient.
// A Patient refers to itself as "Patient/{id}".
func PatientRef(r Resource) string {
	if r.Type == "Patient" {
		return "Patient/" + r.ID
	}
	if r.Type == "AuditEvent" {
		return AuditEventPatientRef(r.Raw) // names the patient among its entities
	}
	if r.Type == "Provenance" {
		// Names the patient among its targets, by type or, in a bundle, by
		// the Patient entry's address: the importer looks (store patientRef).
		return ""
	}
	var v patientRefs
	if json.Unmarshal(r.Raw, &v) != nil {
		return ""
	}
	return v.ref(r.Type)
}

// patientRefs are the places a resource of a type the portal does not read
// may name its patient.
type patientRefs struct {
	Subject     *Reference `json:"subject"`
	Patient     *Reference `json:"patient"`
	Beneficiary *Reference `json:"beneficiary"`
	Participant []struct {
		Actor *Reference `json:"actor"`
	} `json:"participant"`
}

func (v patientRefs) ref(resourceType string) string {
	switch {
	case v.Subject != nil && v.Subject.Reference != "":
		return v.Subject.Reference
	case v.Patient != nil && v.Patient.Reference != "":
		return v.Patient.Reference
	case v.Beneficiary != nil && v.Beneficiary.Reference != "":
		return v.Beneficiary.Reference
	}
	if resourceType == "Appointment" {
		for _, p := range v.Participant {
			if p.Actor != nil && strings.Contains(p.Actor.Reference, "Patient") {
				return p.Actor.Reference
			}
		}
	}
	return ""
}

// ProvenanceTargets are the references a Provenance's targets give, in order
// (a Synthea bundle's name every resource it holds, its Patient among them,
// by "urn:uuid:…"; a review found such Provenance cached about nobody, and
// so in no export).
func ProvenanceTargets(raw []byte) []string {
	var v struct {
		Target []Reference `json:"target"`
	}
	if json.Unmarshal(raw, &v) != nil {
		return nil
	}
	out := make([]string, 0, len(v.Target))
	for _, t := range v.Target {
		if ref := strings.TrimSpace(t.Reference); ref != "" {
			out = append(out, ref)
		}
	}
	return out
}

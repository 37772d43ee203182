package fhir

import (
	"encoding/json"
	"reflect"
	"strings"
)

// Coding is a code from a code system, with the words it stands for.
type Coding struct {
	System  string `json:"system"`
	Code    string `json:"code"`
	Display string `json:"display"`
}

// CodeableConcept is a concept given as text and/or codings.
type CodeableConcept struct {
	Coding []Coding `json:"coding"`
	Text   string   `json:"text"`
}

// Words is what the concept means in plain words: its text, else the first
// coding's display. It is "" when only bare codes are given.
func (c CodeableConcept) Words() string {
	if t := strings.TrimSpace(c.Text); t != "" {
		return t
	}
	for _, cd := range c.Coding {
		if d := strings.TrimSpace(cd.Display); d != "" {
			return d
		}
	}
	return ""
}

// First is the first coding that has a code.
func (c CodeableConcept) First() Coding {
	for _, cd := range c.Coding {
		if cd.Code != "" {
			return cd
		}
	}
	return Coding{}
}

// Code returns the code of the first coding, the usual way status is given.
func (c CodeableConcept) Code() string { return c.First().Code }

// Reference points at another resource, often with its display name.
type Reference struct {
	Reference string `json:"reference"`
	Display   string `json:"display"`
}

// Period is a time span; either end may be missing.
type Period struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// Quantity is a measured amount.
type Quantity struct {
	Value      json.Number `json:"value"`
	Comparator string      `json:"comparator"`
	Unit       string      `json:"unit"`
	System     string      `json:"system"`
	Code       string      `json:"code"`
}

// UnmarshalJSON reads a quantity, refusing a value that is not a JSON
// number: json.Number would take "12" written as text, and fail on "abc"
// without saying which field it was.
func (q *Quantity) UnmarshalJSON(b []byte) error {
	var v struct { // not embedding Quantity, whose Go name would show in an error's field path
		Value      json.RawMessage `json:"value"`
		Comparator string          `json:"comparator"`
		Unit       string          `json:"unit"`
		System     string          `json:"system"`
		Code       string          `json:"code"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*q = Quantity{Comparator: v.Comparator, Unit: v.Unit, System: v.System, Code: v.Code}
	switch raw := v.Value; {
	case len(raw) == 0 || string(raw) == "null":
	case raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9':
		q.Value = json.Number(raw)
	default:
		kind := map[byte]string{'"': "string", '{': "object", '[': "array", 't': "bool", 'f': "bool"}[raw[0]]
		return &json.UnmarshalTypeError{Value: kind, Type: reflect.TypeFor[json.Number](), Field: "value"}
	}
	return nil
}

// String writes the quantity as people read it, e.g. "48 mmol/mol".
func (q Quantity) String() string {
	if q.Value == "" {
		return ""
	}
	unit := q.Unit
	if unit == "" {
		unit = q.Code
	}
	return strings.TrimSpace(q.Comparator + string(q.Value) + " " + unit)
}

// Identifier is a business identifier such as an NHS number.
type Identifier struct {
	System string `json:"system"`
	Value  string `json:"value"`
}

// HumanName is a person's name.
type HumanName struct {
	Use    string   `json:"use"`
	Text   string   `json:"text"`
	Family string   `json:"family"`
	Given  []string `json:"given"`
	Prefix []string `json:"prefix"`
}

// Attachment is document content, inline or by URL.
type Attachment struct {
	ContentType string `json:"contentType"`
	URL         string `json:"url"`
	Title       string `json:"title"`
	Size        int64  `json:"size"`
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// actor is a performer or participant slot naming who took part.
type actor struct {
	Actor Reference `json:"actor"`
}

func actorRefs(as []actor) []Reference {
	refs := make([]Reference, len(as))
	for i, a := range as {
		refs[i] = a.Actor
	}
	return refs
}

// firstDisplay is the first name given among refs, or "".
func firstDisplay(refs ...Reference) string {
	for _, r := range refs {
		if d := strings.TrimSpace(r.Display); d != "" {
			if strings.HasPrefix(strings.TrimSpace(r.Reference), "Practitioner") {
				return clinicianName(d) // as the Practitioner's own name is read
			}
			return d
		}
	}
	return ""
}

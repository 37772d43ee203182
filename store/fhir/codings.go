package fhir

import (
	"encoding/json"
	"slices"
	"strings"
)

// withEveryCoding adds to each item, as "any:" and the system, "|" and the
// code, every other Coding its resource holds anywhere (in a
// dosage's "when needed for", a normal range's population, a procedure's
// outcome, a visit's service type, a resource held inside it, an extension)
// that the item does not hold already: keeping a kind of information out
// of sharing keeps out an entry any of whose codes is of that kind
// (store/consent.go). Before, only the fields the projectors read counted,
// and reviews kept finding others that named a kept-out condition on a
// carer's page or in their download ("1 tablet, when needed for anxiety
// disorder"). Codes of HL7's own systems are left out (ownCode), as are a
// quantity's unit, the codes another item of the resource is named by
// (the other parts of a panel), and the fields walkSkip names for the type.
// Not "own:": those say what the entry is (store/consent.go sameHeldFact
// matches two sources' reports of one fact by them), where these may be a
// severity or a body site many entries share (a review: keeping one
// condition out hid every other coded Severe).
func withEveryCoding(r Resource, items []Item) {
	var found []string
	var inside map[string]bool // found in a resource held inside it
	codingsIn(r.Raw, walkSkip[r.Type], func(contained bool, system, code string) {
		if !ownCode(Coding{System: system, Code: code}) || notAKind[system] ||
			slices.ContainsFunc(items, func(it Item) bool { return it.CodeSystem == system && it.Code == code }) {
			return
		}
		k := system + "|" + code
		if slices.Contains(found, k) {
			return
		}
		found = append(found, k)
		if contained {
			if inside == nil {
				inside = map[string]bool{}
			}
			inside[k] = true
		}
	})
	if len(found) == 0 {
		return
	}
	for i := range items {
		// Codes it holds already, as its own or as reasons: a reason keeps
		// out only its entry, an own code every other source's report of the
		// same fact too (a hospital's report of a visit that names no
		// reason stays shared). But a code of a resource held inside it is
		// its own, even where it is read as a reason too: a Medication held
		// inside a prescription is what the prescription is (a review: the
		// hospital's report of the same Fluoxetine stayed shared).
		held := make(map[string]bool)
		for _, r := range strings.Split(items[i].Reasons, "\x1f") {
			if sys, code, ok := strings.Cut(r, ":"); ok && (sys == "own" || sys == "med" || sys == "any") {
				held[code] = true
			} else if !inside[r] {
				held[r] = true
			}
		}
		var b strings.Builder
		for _, k := range found {
			if !held[k] && k != items[i].CodeSystem+"|"+items[i].Code {
				b.WriteString("any:" + k + "\x1f")
			}
		}
		items[i].Reasons += b.String()
	}
}

// walkSkip names, for a type, the top-level fields withEveryCoding does not
// read: what only says who and what the record is (meta, the narrative, the
// patient), an allergy's reactions (an allergy is never hidden for what it
// caused: a review found a rash kept out taking a penicillin allergy from
// the carer who gives medicines), and a care team's members, each an item
// of its own with its own roles (one member kept out keeps out no other).
var walkSkip = func() map[string]map[string]bool {
	common := []string{"meta", "text", "id", "subject", "patient", "identifier"}
	out := make(map[string]map[string]bool)
	for t := range entryTypes {
		m := make(map[string]bool)
		for _, f := range common {
			m[f] = true
		}
		out[t] = m
	}
	out["AllergyIntolerance"]["reaction"] = true
	out["CareTeam"]["participant"] = true
	return out
}()

// notAKind are code systems whose codes never say what a person has: units
// of measure, languages and currencies.
var notAKind = map[string]bool{"http://unitsofmeasure.org": true, "urn:ietf:bcp:47": true, "urn:iso:std:iso:4217": true}

// codingsIn calls f with whether it is in a resource held inside (the
// top-level field "contained"), and the system and code, of each Coding
// anywhere in the JSON object raw, but in the top-level fields skip names: each object
// holding a "system" and a "code" string, but not a quantity (one with a
// "value" or "unit" beside them). raw has been read as JSON already; should
// it not scan, the walk ends there. One pass over the bytes, with no
// decoding but of keys and of the strings it gives f: every resource stored
// goes through it.
func codingsIn(raw []byte, skip map[string]bool, f func(contained bool, system, code string)) {
	s := codingScanner{b: raw, f: f}
	s.space()
	if s.i < len(s.b) && s.b[s.i] == '{' {
		s.object(true, skip)
	}
}

type codingScanner struct {
	b         []byte
	i         int
	quiet     int  // inside a field skipped: no codings given
	contained bool // reading the top-level field "contained"
	f         func(contained bool, system, code string)
}

func (s *codingScanner) space() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\n' || s.b[s.i] == '\r') {
		s.i++
	}
}

// value scans one JSON value at s.i, reporting whether it scanned.
func (s *codingScanner) value() bool {
	s.space()
	if s.i >= len(s.b) {
		return false
	}
	switch s.b[s.i] {
	case '{':
		return s.object(false, nil)
	case '[':
		s.i++
		s.space()
		if s.i < len(s.b) && s.b[s.i] == ']' {
			s.i++
			return true
		}
		for {
			if !s.value() {
				return false
			}
			if more, ok := s.after(']'); !more {
				return ok
			}
		}
	case '"':
		_, _, ok := s.str()
		return ok
	default: // a number, true, false or null
		start := s.i
		for s.i < len(s.b) && !strings.ContainsRune(",]} \t\n\r", rune(s.b[s.i])) {
			s.i++
		}
		return s.i > start
	}
}

// after reads what follows a member of an object or an array that ends
// with end: a comma (more to come), or end (the last), reporting whether it
// scanned.
func (s *codingScanner) after(end byte) (more, ok bool) {
	s.space()
	if s.i >= len(s.b) {
		return false, false
	}
	c := s.b[s.i]
	s.i++
	return c == ',', c == ',' || c == end
}

// str scans the string at s.i and returns its bytes as written, and
// whether it holds an escape.
func (s *codingScanner) str() (raw []byte, escaped, ok bool) {
	start := s.i + 1
	for j := start; j < len(s.b); j++ {
		switch s.b[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			s.i = j + 1
			return s.b[start:j], escaped, true
		}
	}
	return nil, false, false
}

// text is the string at s.i, decoded.
func (s *codingScanner) text() (string, bool) {
	raw, escaped, ok := s.str()
	if !ok || !escaped {
		return string(raw), ok
	}
	var v string
	if json.Unmarshal(s.b[s.i-len(raw)-2:s.i], &v) != nil {
		return "", false
	}
	return v, true
}

// object scans the object at s.i, giving f its system and code if it is a
// Coding, after the codings inside it; skip names fields not to read, of
// the resource itself (top).
func (s *codingScanner) object(top bool, skip map[string]bool) bool {
	s.i++
	var system, code string
	var hasSystem, hasCode, quantity bool
	s.space()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return true
	}
	for {
		s.space()
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return false
		}
		raw, escaped, ok := s.str()
		if !ok {
			return false
		}
		key := raw // compared and looked up as it is, with no copy made
		if escaped {
			var k string
			if json.Unmarshal(s.b[s.i-len(raw)-2:s.i], &k) != nil {
				return false
			}
			key = []byte(k)
		}
		s.space()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return false
		}
		s.i++
		s.space()
		if s.i >= len(s.b) {
			return false
		}
		if top {
			s.contained = string(key) == "contained"
		}
		switch {
		case skip[string(key)]:
			s.quiet++
			ok = s.value()
			s.quiet--
		case (string(key) == "system" || string(key) == "code") && s.b[s.i] == '"':
			var v string
			v, ok = s.text()
			if string(key) == "system" {
				system, hasSystem = v, true
			} else {
				code, hasCode = v, true
			}
		default:
			quantity = quantity || string(key) == "value" || string(key) == "unit"
			ok = s.value()
		}
		if !ok {
			return false
		}
		more, ok := s.after('}')
		if !ok {
			return false
		}
		if !more {
			break
		}
	}
	if hasSystem && hasCode && !quantity && s.quiet == 0 && !top {
		s.f(s.contained, system, code)
	}
	return true
}

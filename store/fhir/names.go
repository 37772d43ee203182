package fhir

import (
	"bytes"
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Record items name who took part, and medicines name themselves, from the
// display text beside a reference. A source that gives only the reference
// ("Organization/123", "Medication/5") leaves the item without a name until
// the store holds the resource it points at: the item keeps the reference
// (Item.OrganisationRef, Item.DisplayRef) and the store notes that
// resource's name (NameOf). Pages read who took part through the reference
// as they show the item, so renaming a practice rewrites no item; a
// medicine's name and code are written into its item (Item.Named), since
// sharing choices and search read them there.

// namedTypes are the resources items take names from.
var namedTypes = map[string]bool{"Organization": true, "Practitioner": true, "Location": true, "Medication": true}

// NamesItems reports whether items may take their names from resources of this type.
func NamesItems(typ string) bool { return namedTypes[typ] }

var literalRef = regexp.MustCompile(`^(?:.*/)?([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})$`)

// NamedRef is "Type/id" when ref is a literal reference, relative or absolute,
// to an Organization, Practitioner, Location or Medication; else "". A
// versioned reference names the resource as it was, not as the cache holds it,
// so it is left alone. An absolute reference may be to another server's
// resource: a sync drops those (Prepared.AtServer), a file import cannot tell.
func NamedRef(ref string) string {
	m := literalRef.FindStringSubmatch(strings.TrimSpace(ref))
	if m == nil || !namedTypes[m[1]] || strings.Contains(ref, "/_history/") {
		return ""
	}
	return m[1] + "/" + m[2]
}

var typeAndID = regexp.MustCompile(`^([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})$`)

// LocalRef is "Type/id" when ref is a literal reference to a resource at the
// server whose base URL is base: a relative one ("Organization/1"), or an
// absolute one under base ("https://server/fhir/Organization/1", the server
// named as SameServer allows). Any other absolute reference points at
// another server, whose Organization/1 is not this server's, so it is "", as
// is a reference that is not to one resource by type and id (versioned, by
// identifier, urn:uuid). With base "" (not known) only a relative reference
// counts.
func LocalRef(ref, base string) string {
	ref = strings.TrimSpace(ref)
	if m := absoluteRef.FindStringSubmatch(ref); m != nil {
		if base == "" || !SameServer(m[1], base) {
			return ""
		}
		ref = m[2]
	}
	m := typeAndID.FindStringSubmatch(ref)
	if m == nil {
		return ""
	}
	return m[1] + "/" + m[2]
}

var absoluteRef = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*://.*?)/+([A-Z][A-Za-z]+/[^/]+)$`)

// SameServer reports whether two base URLs name one FHIR server: the same
// host, port and path, whatever the case of the host, a default port written
// out or left off, http or https, and slashes at the end.
func SameServer(a, b string) bool {
	return serverKey(a) == serverKey(b)
}

// serverKey is a base URL without what SameServer disregards.
func serverKey(base string) string {
	u, err := url.Parse(strings.TrimSpace(base))
	if err != nil || u.Host == "" {
		return strings.TrimRight(base, "/")
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if port == "443" && u.Scheme == "https" || port == "80" && u.Scheme == "http" {
		port = ""
	}
	return host + ":" + port + strings.TrimRight(u.EscapedPath(), "/")
}

// AtServer is p as read from the server whose base URL is base: no item takes
// its name from another server's resource. Items are read without knowing
// where they came from, so NamedRef cuts any absolute reference down to
// Type/id, and another trust's Organization/1 would show the name of this
// server's Organization/1. Here an item's reference (Item.OrganisationRef,
// Item.DisplayRef) stands only when the resource refers to it relatively or
// under base (LocalRef); otherwise the item is as for a reference the store
// cannot resolve: it shows the words the resource gives, if any. (When the
// resource names several, none in words, and the first is another server's,
// the item shows none rather than the next: rare, and never wrong.) The
// items of p are copied, not changed.
func (p Prepared) AtServer(base string) Prepared {
	var local map[string]bool
	var items []Item
	for i, it := range p.Items {
		if it.OrganisationRef == "" && it.DisplayRef == "" {
			continue
		}
		if local == nil {
			local = map[string]bool{}
			for _, r := range LocalRefs(p.Raw, base) {
				local[r] = true
			}
		}
		out := it
		if out.OrganisationRef != "" && !local[out.OrganisationRef] {
			out.OrganisationRef = ""
		}
		if out.DisplayRef != "" && !local[out.DisplayRef] {
			out.DisplayRef = ""
			// Unnamed, so no key: read as "medicine (name not recorded)", it
			// would merge with every other medicine unnamed so (Item.DedupKey).
			out.DedupKey = ""
		}
		if out == it {
			continue
		}
		if items == nil {
			items = slices.Clone(p.Items)
		}
		items[i] = out
	}
	if items != nil {
		p.Items = items
	}
	return p
}

var anyReference = regexp.MustCompile(`"reference"\s*:\s*"([^"]*)"`)

// LocalRefs is every reference in raw to a resource at the server whose
// base URL is base, as Type/id (LocalRef), in the order raw gives them.
func LocalRefs(raw []byte, base string) []string {
	var out []string
	for _, m := range anyReference.FindAllSubmatch(raw, -1) {
		ref := string(m[1])
		if bytes.IndexByte(m[1], '\\') >= 0 {
			// Written with JSON's escapes ("Medication\/5", as PHP writes
			// a slash): the reference is the string they stand for (a review).
			if json.Unmarshal([]byte(`"`+ref+`"`), &ref) != nil {
				continue
			}
		}
		if r := LocalRef(ref, base); r != "" {
			out = append(out, r)
		}
	}
	return out
}

// UUIDRefs are the ids of what raw points at by a bundle's "urn:uuid:"
// address ("urn:uuid:1b7c…" is 1b7c…), each once.
func UUIDRefs(raw []byte) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range anyReference.FindAllSubmatch(raw, -1) {
		if id, ok := bytes.CutPrefix(m[1], []byte("urn:uuid:")); ok && len(id) > 0 && !seen[string(id)] {
			seen[string(id)] = true
			out = append(out, string(id))
		}
	}
	return out
}

// who is the first name given among refs and, when none gives one, the first
// of them that points at an Organization, Practitioner or Location, for the
// store to name later (Item.OrganisationRef).
func who(refs ...Reference) (name, ref string) {
	if d := firstDisplay(refs...); d != "" {
		return d, ""
	}
	for _, r := range refs {
		if n := NamedRef(r.Reference); n != "" && !strings.HasPrefix(n, "Medication/") {
			return "", n
		}
	}
	// Else a bundle's address for a resource in it: named as "urn:uuid:" and
	// its id, or the address its bundle gave it (store names.go named).
	// Every visit and prescription of a set of Synthea bundles named its
	// hospital so, and showed none (a review). Which type each is cannot be
	// told here: all are kept, space apart, and the item's own patient's
	// left out as it is prepared (withoutPatient), not taken for who took
	// part (a review: a condition the patient recorded hid its clinician).
	var urns []string
	for _, r := range refs {
		if u := strings.TrimSpace(r.Reference); strings.HasPrefix(u, "urn:uuid:") && len(u) > len("urn:uuid:") &&
			!strings.ContainsAny(u, " \t") && !slices.Contains(urns, u) {
			urns = append(urns, u)
		}
	}
	return "", strings.Join(urns, " ")
}

// withoutPatient is an item's OrganisationRef of bundle addresses (who)
// without patient's, the first of the rest.
func withoutPatient(ref, patient string) string {
	if !strings.HasPrefix(ref, "urn:uuid:") {
		return ref
	}
	for u := range strings.FieldsSeq(ref) {
		if u != patient {
			return u
		}
	}
	return ""
}

// Named is what a resource items point at says it is: a name in plain words
// and, for a Medication, its code.
type Named struct {
	Display    string
	CodeSystem string
	Code       string
	// Others are a Medication's other codes, as Item.Reasons holds an
	// entry's own (ownCodes): a medicine named by it is kept out for any of
	// them, as one giving them itself is (a review: a Fluoxetine named
	// through a Medication reached a carer with mental health kept out).
	Others string
}

// Codes are a Medication's codes, its first and Others, as Item.Reasons
// holds them of a medicine naming it ("medref"): "med:" and the system, "|"
// and the code, each ended by 0x1F. Apart from the medicine's own ("own:"),
// as they change when the Medication does (store names.go medicinesTakeCodes).
func (n Named) Codes() string {
	var b strings.Builder
	if ownCode(Coding{System: n.CodeSystem, Code: n.Code}) {
		b.WriteString("med:" + n.CodeSystem + "|" + n.Code + "\x1f")
	}
	for r := range strings.SplitSeq(n.Others, "\x1f") {
		if rest, ok := strings.CutPrefix(r, "own:"); ok {
			b.WriteString("med:" + rest + "\x1f")
		}
	}
	return b.String()
}

// NameOf reads what an Organization, Practitioner, Location or Medication is
// called; nil for another type, or one that gives no name (or cannot be read:
// the resource itself is kept or refused as its type's rules say).
func NameOf(typ string, raw []byte) *Named {
	switch typ {
	case "Organization", "Practitioner", "Location":
		name, err := ParseName(raw)
		if err != nil || strings.TrimSpace(name) == "" {
			return nil
		}
		return &Named{Display: strings.TrimSpace(name)}
	case "Medication":
		var v struct {
			Code CodeableConcept `json:"code"`
		}
		if json.Unmarshal(raw, &v) != nil {
			return nil
		}
		c := v.Code.First()
		if v.Code.Words() == "" && c.Code == "" {
			return nil
		}
		// A code alone still names it for sharing choices, though not in words.
		return &Named{Display: v.Code.Words(), CodeSystem: c.System, Code: c.Code, Others: ownCodes(v.Code)}
	}
	return nil
}

// Named is the item of a medicine known only as a reference to a Medication,
// with that Medication's name and code as n gives them (or of a care team
// member known only as a reference, with the name). Its key stays as it
// was stored (DedupKey says why), so a choice to keep it out of sharing,
// held by that key, still holds. changed is false when n changes nothing.
func (it Item) Named(n Named) (out Item, changed bool) {
	out = it
	if it.DisplayRef == "" || (n.Display == "" && n.Code == "") {
		return out, false
	}
	if n.Display != "" {
		out.Display = n.Display
	}
	if it.Section == SectionMedicines { // a practitioner's name leaves a team member's role as it is
		out.CodeSystem, out.Code = n.CodeSystem, n.Code // and its codes come as "med:" (store nameItem)
	}
	return out, out != it
}

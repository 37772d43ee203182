package fhir

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Item is one entry of a record section, projected from a resource.
type Item struct {
	Section      string
	CodeSystem   string
	Code         string
	Display      string // plain words; never a bare code
	Date         string // ISO 8601 date or date-time, or ""
	Status       string // the FHIR status code, e.g. "active"; pages put it in words
	Value        string // e.g. "48 mmol/mol"
	Organisation string // an organisation or person named in the resource, or ""
	Detail       string // a line more, e.g. dosage or reaction
	// DedupKey: the same fact from two sources has the same key. A medicine
	// known only by DisplayRef has none, even once named: a choice to keep
	// one entry out of sharing is held by its key, which naming must not
	// change, so such a medicine never merges with another source's.
	DedupKey string
	// OrganisationRef is, when the resource names who took part only by a
	// reference ("Organization/123", "Practitioner/7", "Location/4"), that
	// reference: pages show the name of the resource it points at once the
	// store holds it.
	OrganisationRef string
	// Part is what the item is within its resource when the resource gives
	// several: a care team member's reference ("Practitioner/7"), or "". A
	// resource changed upstream has each item rewritten in place of the
	// stored one with the same part, so it keeps its id.
	Part string
	// DisplayRef is, for a medicine given only as a reference to a Medication
	// with no name or code beside it, that reference ("Medication/5"): the
	// store takes the item's name and code from that Medication (Named). So
	// too a care team member given only as a reference ("Practitioner/7"),
	// who takes the name alone, and whose key is made of the reference.
	DisplayRef string
	// Reasons are the codes of why it happened (a visit's, procedure's,
	// appointment's, prescription's or vaccination's reasonCode, a report's
	// conclusionCode; reasonedTypes), each as system|code and a unit separator
	// (0x1F), so that keeping a kind of information out of sharing keeps out
	// a visit whose reason is of that kind too, as its words show the reason
	// ("Reason: HIV infection"; found by a review). "" when it gives none.
	Reasons string
	// Exact is, for an Observation, the parts of it a result's numbers come
	// from, kept so that a trend page need not read thousands of resources
	// (see ExactMeasures for the form). "" for other resources, and for an
	// Observation whose parts could not be kept: readers then go to the resource.
	Exact string
}

// projector reads one resource type.
type projector func(raw []byte) ([]Item, about, error)

// about is a resource's header and where it names the patient it is about;
// each projector's struct embeds it, so one decode gives the items, the
// patient and (for ReadResource) the header.
type about struct {
	header
	Subject *Reference `json:"subject"`
	Patient *Reference `json:"patient"`
}

func (a about) ref() string {
	if a.Subject != nil && a.Subject.Reference != "" {
		return a.Subject.Reference
	}
	if a.Patient != nil {
		return a.Patient.Reference
	}
	return ""
}

// projectors lists the resource types the portal understands. Patient,
// Organization and Practitioner are read for who and where, not shown as items.
var projectors = map[string]projector{
	"AllergyIntolerance":  projectAllergy,
	"MedicationRequest":   projectMedicationRequest,
	"MedicationStatement": projectMedicationStatement,
	"Condition":           projectCondition,
	"Immunization":        projectImmunization,
	"Observation":         projectObservation,
	"DiagnosticReport":    projectDiagnosticReport,
	"Encounter":           projectEncounter,
	"Appointment":         projectAppointment,
	"Procedure":           projectProcedure,
	"DocumentReference":   projectDocument,
	"CarePlan":            projectCarePlan,
	"Goal":                projectGoal,
	"CareTeam":            projectCareTeam,
	"Patient":             checkPatient,
	"Organization":        checkNamed,
	"Practitioner":        checkNamed,
}

// Known reports whether the portal reads this resource type. Other types are
// stored raw and counted, never refused.
func Known(resourceType string) bool {
	_, ok := projectors[resourceType]
	return ok
}

// Project turns a resource into the items its record section shows. Unknown
// types give no items and no error; a known type whose fields have the wrong
// JSON shape gives an error saying which.
func Project(r Resource) ([]Item, error) {
	p := Prepare(r)
	return p.Items, p.Err
}

// Prepared is a resource read for storing: its items, the patient it is about,
// and any error reading it. Preparing is pure, so callers may do it in parallel
// and leave the database writer only SQL to run.
type Prepared struct {
	Resource
	PatientRef string // as written in the resource, e.g. "Patient/123" or "urn:uuid:…"; see PatientRef
	Items      []Item
	// Named is what an Organization, Practitioner, Location or Medication says
	// it is, for the items that point at it (NameOf); nil for other types.
	Named *Named
	Err   error
}

// Prepare reads a resource once for its items and its patient.
func Prepare(r Resource) Prepared {
	if r.Damaged != "" {
		return Prepared{Resource: r, Err: fmt.Errorf("%s/%s: %s", r.Type, r.ID, r.Damaged)}
	}
	p, ok := projectors[r.Type]
	if !ok {
		return Prepared{Resource: r, PatientRef: PatientRef(r), Named: NameOf(r.Type, r.Raw)}
	}
	items, ab, err := p(r.Raw)
	return prepared(r, items, ab, err)
}

// withReasons gives the items of a resource of reasonedTypes its reasons,
// and those of one of refTypes the entries it names (entryRefs).
func withReasons(r Resource, items []Item) {
	if len(items) == 0 {
		return
	}
	var reasons string
	if reasonedTypes[r.Type] {
		reasons = reasonCodes(reasonConcepts(r.Raw))
	}
	// Every entry is kept out with one it names so, but an allergy, which is
	// never hidden for what it caused.
	if entryTypes[r.Type] && r.Type != "AllergyIntolerance" {
		reasons += entryRefs(r.Raw)
	}
	for i := range items {
		items[i].Reasons += reasons
	}
	withEveryCoding(r, items)
}

// reasonConcepts are the coded reasons a resource of reasonedTypes gives.
func reasonConcepts(raw []byte) []CodeableConcept {
	var why struct {
		ReasonCode     []CodeableConcept `json:"reasonCode"`
		ConclusionCode []CodeableConcept `json:"conclusionCode"`
		// Why it was not done or stopped: one concept, or a list for a
		// MedicationStatement. Pages say only HL7's words for it, but the
		// carer's download holds the resource (a review: a vaccination not
		// given for HIV infection).
		StatusReason json.RawMessage `json:"statusReason"`
		// A procedure's complications and follow-up, said in words.
		Complication []CodeableConcept `json:"complication"`
		FollowUp     []CodeableConcept `json:"followUp"`
		// What a care plan's activities are for, read apart: one written
		// wrongly loses no other reason.
		Activity json.RawMessage `json:"activity"`
		// Resources held inside it, such as a Condition given as its reason
		// by "#id" (a review: a prescription's contained depression reached
		// a carer): what each is, read apart.
		Contained []json.RawMessage `json:"contained"`
	}
	if json.Unmarshal(raw, &why) != nil {
		return nil
	}
	coded := append(append(append(why.ReasonCode, why.ConclusionCode...), why.Complication...), why.FollowUp...)
	for _, c := range why.Contained {
		var held struct {
			Code  json.RawMessage `json:"code"`
			Value json.RawMessage `json:"valueCodeableConcept"` // a result held inside a report (a review)
		}
		if json.Unmarshal(c, &held) != nil {
			continue
		}
		for _, f := range []json.RawMessage{held.Code, held.Value} {
			var cc CodeableConcept
			if json.Unmarshal(f, &cc) == nil {
				coded = append(coded, cc)
			}
		}
	}
	var activities []json.RawMessage
	if json.Unmarshal(why.Activity, &activities) == nil {
		for _, a := range activities {
			var act struct {
				Detail struct {
					ReasonCode []json.RawMessage `json:"reasonCode"`
				} `json:"detail"`
			}
			if json.Unmarshal(a, &act) != nil {
				continue
			}
			for _, rc := range act.Detail.ReasonCode {
				var cc CodeableConcept
				if json.Unmarshal(rc, &cc) == nil {
					coded = append(coded, cc)
				}
			}
		}
	}
	return append(coded, lenientConcepts(why.StatusReason)...)
}

// entryRefs is Item.Reasons of the entries a resource gives as its reasons
// by reference (EntryRefs): "ref|" and each reference.
func entryRefs(raw []byte) string {
	var b strings.Builder
	for _, r := range EntryRefs(raw) {
		b.WriteString("ref|" + r + "\x1f")
	}
	return b.String()
}

// EntryRefs are the entries a resource names, by reference, as what it is
// for or about, or as the team that did or wrote it (reasonPaths). Keeping
// an entry out of sharing keeps out those naming it so at the same source,
// and keeping a kind of information out, those naming an entry of that kind
// (store/consent.go): a visit, prescription or procedure for a kept-out
// diagnosis says it. Every other reference to a kept-out entry (what a plan
// includes or a prescription is based on, a result's visit, what a visit is
// part of, a problem's related content) keeps nothing out: a carer's
// download masks it (MaskRefs), as reviews found one kept-out prescription
// hiding every other in its care plan, and one weight reading a diabetes. Each as reasonRef gives it,
// sorted, once; each list and element read alone, so one written wrongly
// loses no other. Migration 0055 reads stored resources through it (the SQL
// function mcr_entry_refs).
func EntryRefs(raw []byte) []string {
	if !slices.ContainsFunc(reasonPaths, func(p []string) bool { return bytes.Contains(raw, []byte(`"`+p[0]+`"`)) }) &&
		!(bytes.Contains(raw, []byte(`"encounter"`)) && (bytes.Contains(raw, []byte("DocumentReference")) || bytes.Contains(raw, []byte("DiagnosticReport")))) {
		return nil // most results: read no further
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil {
		return nil
	}
	var out []string
	for _, p := range reasonPaths {
		collectRefs(fields[p[0]], p[1:], &out)
	}
	// A note is about its visit: a letter, or a report that is a note (its
	// text and no results), of a visit kept out is kept out with it (a review
	// found a carer reading the note of a sexual health clinic visit).
	var typ string
	json.Unmarshal(fields["resourceType"], &typ)
	switch {
	case typ == "DocumentReference":
		collectRefs(fields["context"], []string{"encounter"}, &out)
	case typ == "DiagnosticReport" && fields["presentedForm"] != nil && noResults(fields["result"]):
		collectRefs(fields["encounter"], nil, &out)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// collectRefs adds to out the references at path under v, going into every
// element of each list on the way.
func collectRefs(v json.RawMessage, path []string, out *[]string) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return
	}
	if v[0] == '[' {
		var list []json.RawMessage
		if json.Unmarshal(v, &list) == nil {
			for _, el := range list {
				collectRefs(el, path, out)
			}
		}
		return
	}
	if len(path) == 0 {
		var ref Reference
		if json.Unmarshal(v, &ref) == nil {
			if r := reasonRef(ref.Reference); r != "" && refToEntry(r) {
				*out = append(*out, r)
			}
		}
		return
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(v, &obj) == nil {
		collectRefs(obj[path[0]], path[1:], out)
	}
}

// noResults reports whether a report's "result" lists none: left out, null,
// or an empty list, as projectDiagnosticReport files a report as a note
// when it has none (a review: "result": [] lost the note its visit).
func noResults(raw json.RawMessage) bool {
	var results []json.RawMessage
	return len(raw) == 0 || json.Unmarshal(raw, &results) == nil && len(results) == 0
}

// entryTypes are the types whose resources are entries of the record.
var entryTypes = map[string]bool{"AllergyIntolerance": true, "MedicationRequest": true, "MedicationStatement": true,
	"Condition": true, "Immunization": true, "Observation": true, "DiagnosticReport": true, "Encounter": true,
	"Appointment": true, "Procedure": true, "DocumentReference": true, "CarePlan": true, "CareTeam": true, "Goal": true}

// refToEntry reports whether a reference as reasonRef gives it may be to an
// entry: one of entryTypes (a performer who is a Practitioner is none), or
// a bundle's address.
func refToEntry(r string) bool {
	if strings.HasPrefix(r, "urn:uuid:") {
		return true
	}
	typ, _, _ := strings.Cut(LastTypeID(r), "/")
	return entryTypes[typ]
}

// LastTypeID is the "Type/id" an address ends in ("https://host/fhir/Observation/1"
// gives "Observation/1"), or "" when it ends in none.
func LastTypeID(ref string) string {
	parts := strings.Split(ref, "/")
	if len(parts) < 2 || !typeAndID.MatchString(parts[len(parts)-2]+"/"+parts[len(parts)-1]) {
		return ""
	}
	return parts[len(parts)-2] + "/" + parts[len(parts)-1]
}

// reasonPaths are where a resource gives, by reference, what it is for or
// about, or the team that did or wrote it: its reasons and diagnoses, a
// report's results (its conclusion, narrative and attached report speak of
// them), a plan's addresses (what it is for), a result's focus, a
// document's related entries (its letter speaks of them), a vaccination's
// reactions (its page names them), and a care team as performer, author or
// member (pages name it: "by Community mental health team"). Reviews found
// each of those naming a kept-out entry where a carer could read it.
var reasonPaths = [][]string{
	{"reasonReference"}, {"diagnosis", "condition"}, {"activity", "detail", "reasonReference"}, {"reaction", "detail"},
	{"result"}, {"addresses"}, {"focus"}, {"context", "related"},
	{"performer"}, {"performer", "actor"}, {"author"}, {"contributor"}, {"participant", "member"},
}

// MaskRefs is a resource with every reference that masked says is to an
// entry kept from the reader (masked is asked each reference as written)
// replaced by the data-absent-reason "masked", FHIR's way of saying
// something is there and withheld: its display names what it points at
// (reviews found a kept-out visit named by the results taken at it, in a
// carer's download). A resource with one masked loses its narrative too,
// which may quote it (a review). raw comes back as it was when nothing is
// masked; most resources are told so from their bytes alone.
func MaskRefs(raw []byte, masked func(ref string) bool) ([]byte, error) {
	if !mayMask(raw, masked) {
		return raw, nil
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber() // numbers as written
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if !maskRefs(v, masked) {
		return raw, nil
	}
	if res, ok := v.(map[string]any); ok {
		delete(res, "text")
		// Said in the resource, so no system takes this copy for the
		// source's version of it (a review): v3 ObservationValue REDACTED.
		meta, _ := res["meta"].(map[string]any)
		if meta == nil {
			meta = map[string]any{}
		}
		labels, _ := meta["security"].([]any)
		meta["security"] = append(labels, map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "REDACTED", "display": "redacted"})
		res["meta"] = meta
	}
	return json.Marshal(v)
}

// mayMask reports whether raw may hold a reference masked says is kept out:
// each "reference" string in it, read from the bytes, is asked; one written
// with escapes, or anything it cannot read so, says it may.
func mayMask(raw []byte, masked func(string) bool) bool {
	if bytes.Contains(raw, []byte(`\u`)) {
		return true // a key or a reference written in escapes
	}
	const key = `"reference"`
	for rest := raw; ; {
		i := bytes.Index(rest, []byte(key))
		if i < 0 {
			return false
		}
		rest = bytes.TrimLeft(rest[i+len(key):], " \t\r\n")
		if len(rest) == 0 || rest[0] != ':' {
			continue // a string's words, not a key
		}
		rest = bytes.TrimLeft(rest[1:], " \t\r\n")
		if len(rest) == 0 || rest[0] != '"' {
			continue // not a string: not a reference, and nothing to mask
		}
		end := bytes.IndexByte(rest[1:], '"')
		if end < 0 {
			return true
		}
		s := rest[1 : 1+end]
		if bytes.IndexByte(s, '\\') >= 0 || masked(strings.TrimSpace(string(s))) {
			return true
		}
		rest = rest[1+end:]
	}
}

// maskRefs masks the references under v (a Reference anywhere, however deep:
// in a list, in another's extension), reporting whether it masked any.
func maskRefs(v any, masked func(string) bool) bool {
	did := false
	switch x := v.(type) {
	case []any:
		for i, el := range x {
			if isMaskedRef(el, masked) {
				x[i], did = maskedRef(), true
				continue
			}
			did = maskRefs(el, masked) || did
		}
	case map[string]any:
		for k, el := range x {
			if isMaskedRef(el, masked) {
				x[k], did = maskedRef(), true
				continue
			}
			did = maskRefs(el, masked) || did
		}
	}
	return did
}

// isMaskedRef reports whether v is a Reference masked says is kept out.
func isMaskedRef(v any, masked func(string) bool) bool {
	obj, ok := v.(map[string]any)
	if !ok {
		return false
	}
	ref, ok := obj["reference"].(string)
	return ok && masked(strings.TrimSpace(ref))
}

// maskedRef is a Reference that says only that it is withheld.
func maskedRef() map[string]any {
	return map[string]any{"extension": []any{map[string]any{"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "masked"}}}
}

// reasonRef is a reference as a reason reads it: "Type/id" from a relative
// one or one to a version ("Type/id/_history/2"), an absolute one whole but
// for its version (LocalReason tells whose it is), "urn:uuid:…" for a
// bundle's; "" for any other.
func reasonRef(ref string) string {
	ref = strings.TrimSpace(ref)
	if id, ok := strings.CutPrefix(ref, "urn:uuid:"); ok {
		if id == "" || strings.ContainsAny(id, "|\x1f") {
			return ""
		}
		return ref
	}
	if i := strings.Index(ref, "/_history/"); i > 0 {
		ref = ref[:i]
	}
	if strings.Contains(ref, "://") {
		if strings.ContainsAny(ref, "|\x1f") {
			return ""
		}
		return ref
	}
	if typeAndID.MatchString(ref) {
		return ref
	}
	return ""
}

// LocalReason is a reason's reference as stored at the source whose address
// is base, others the addresses of the other sources: an absolute one under
// base as "Type/id" (however the address is written: SameServer); one under
// another source's, or any other server's, whole, which names no entry of
// this source (a review found another server's Observation/1234 taken for
// the source's own); one from a source of files, with no address, under no
// other source's, by its last "Type/id". Any other as it is.
func LocalReason(ref, base string, others []string) string {
	if !strings.Contains(ref, "://") || strings.HasPrefix(ref, "urn:uuid:") {
		return ref
	}
	if base != "" {
		if local := LocalRef(ref, base); local != "" {
			return local
		}
		return ref
	}
	for _, o := range others {
		if LocalRef(ref, o) != "" {
			return ref
		}
	}
	if last := LastTypeID(ref); last != "" {
		return last
	}
	return ref
}

// reasonedTypes are the resource types whose reasons (reasonCode, or a
// report's conclusionCode) name what the entry was for, and so are kept in
// Item.Reasons: keeping a kind of information out of sharing keeps out an
// entry whose reason is of that kind (found by reviews). So do other coded
// words it holds of what the person has: why it was not done (statusReason),
// a procedure's complications and follow-up; a result's coded values are
// kept by its projector. An allergy's reactions are not: an allergy is never
// hidden for what it caused (a review: a rash kept out took a penicillin
// allergy from the carer who gives medicines). Migrations 0045 and 0051
// read the same fields of those stored before.
var reasonedTypes = map[string]bool{"Encounter": true, "Procedure": true, "Appointment": true,
	"MedicationRequest": true, "MedicationStatement": true, "Immunization": true, "DiagnosticReport": true,
	"CareTeam": true, "CarePlan": true}

// prepared puts together what a projector read from r.
func prepared(r Resource, items []Item, ab about, err error) Prepared {
	if err == nil {
		withReasons(r, items)
	}
	out := Prepared{Resource: r}
	if err != nil {
		// No line and column: the JSON kept is compacted onto one line.
		out.Err = fmt.Errorf("%s/%s: %s", r.Type, r.ID, jsonReason(err))
		return out
	}
	for _, it := range items {
		if it.Date != "" && !IsDateTime(it.Date) {
			out.Err = fmt.Errorf("%s/%s: its date should be a FHIR date or date-time such as 2020-02-28 or 2020-02-28T09:30:00Z, not %q", r.Type, r.ID, it.Date)
			return out
		}
	}
	out.Items = items
	out.Named = NameOf(r.Type, r.Raw)
	switch r.Type {
	case "Patient":
		out.PatientRef = "Patient/" + r.ID
	case "Appointment":
		out.PatientRef = PatientRef(r) // named among its participants
	default:
		out.PatientRef = ab.ref()
	}
	for i := range out.Items {
		out.Items[i].OrganisationRef = withoutPatient(out.Items[i].OrganisationRef, out.PatientRef)
	}
	return out
}

// ReadResource is ParseResource then Prepare, decoding the JSON once where it
// can: when the resource names its type first, as servers and bulk exports
// write it, and its projector reads the header too (about embeds it), the
// projection's one decode gives everything. Anything else, and anything that
// goes wrong, takes the two-step way, so the result and every error are
// theirs. A bulk import reads each line this way.
func ReadResource(line []byte) (Prepared, error) {
	if p, ok := readOnce(line); ok {
		return p, nil
	}
	r, err := ParseResource(line)
	if err != nil {
		return Prepared{}, err
	}
	return Prepare(r), nil
}

// readOnce is ReadResource's one-decode way; false when it does not apply.
func readOnce(line []byte) (Prepared, bool) {
	typ := leadingType(line)
	if typ == "" || typ == "Patient" || typ == "AuditEvent" {
		return Prepared{}, false // a Patient's projector reads no header; an AuditEvent names its patient elsewhere
	}
	raw, ok := compacted(line)
	if !ok {
		return Prepared{}, false
	}
	var h header
	var items []Item
	var ab about
	var refs patientRefs
	if !IsR4Type(typ) {
		return Prepared{}, false // set aside by ParseResource
	}
	project, known := projectors[typ]
	if known {
		var err error
		if items, ab, err = project(raw); err != nil {
			return Prepared{}, false
		}
		h = ab.header
	} else {
		// Stored raw, with the patient it names, as Prepare does.
		var v struct {
			header
			patientRefs
		}
		if json.Unmarshal(raw, &v) != nil {
			return Prepared{}, false
		}
		h, refs = v.header, v.patientRefs
	}
	// A header the projector did not read (Organization and Practitioner), or
	// a last "resourceType" that differs from the first, leaves h.ResourceType different.
	if h.ResourceType != typ || !validID(h.ID) {
		return Prepared{}, false
	}
	r := Resource{Type: typ, ID: h.ID, VersionID: h.Meta.VersionID, LastUpdated: h.Meta.LastUpdated, Raw: raw}
	if !known {
		return Prepared{Resource: r, PatientRef: refs.ref(typ), Named: NameOf(typ, raw)}, true
	}
	return prepared(r, items, ab, nil), true
}

// leadingType is the resource type when the JSON begins {"resourceType":"X",
// else "".
func leadingType(line []byte) string {
	const lead = `{"resourceType":"`
	if !bytes.HasPrefix(line, []byte(lead)) {
		return ""
	}
	rest := line[len(lead):]
	end := bytes.IndexByte(rest, '"')
	if end <= 0 || end > 64 {
		return ""
	}
	return string(rest[:end])
}

// compacted is the JSON without insignificant white space, as json.Compact
// gives it, in a new slice. A line that has none is only copied: most bulk
// files have none, and looking is cheaper than compacting. false when the
// JSON is not valid (only noticed where there was white space to remove).
func compacted(line []byte) ([]byte, bool) {
	inString, escaped := false, false
	for _, c := range line {
		switch {
		case escaped:
			escaped = false
		case inString:
			switch c {
			case '\\':
				escaped = true
			case '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			var buf bytes.Buffer
			buf.Grow(len(line))
			if json.Compact(&buf, line) != nil {
				return nil, false
			}
			return buf.Bytes(), true
		}
	}
	return bytes.Clone(line), true
}

// item fills the parts every item shares from a concept.
func item(section string, code CodeableConcept, fallback, date, status string) Item {
	c := code.First()
	display := code.Words()
	unnamed := display == "" && c.Code == ""
	if display == "" {
		display = fallback
	}
	it := Item{Section: section, CodeSystem: c.System, Code: c.Code, Display: display, Date: date, Status: status, Reasons: ownCodes(code)}
	if !unnamed {
		// One with neither words nor code has no key: keyed by its fallback
		// ("Condition (not named)"), every such fact would merge with every
		// other source's, though nothing says they are one.
		it.DedupKey = dedupKey(it)
	}
	return it
}

// ownCodes is Item.Reasons of the codes an entry gives for what it is
// besides its first, the one its item keeps: "own:" and each's system, "|"
// and its code. Keeping a kind of information out of sharing keeps out an
// entry any of whose codes is of that kind (store/consent.go): a diagnosis
// a hospital coded in SNOMED CT, then in ICD-10 as F42.9, reached a carer
// once mental health was kept out (a review). Apart from its reasons, as
// keeping out one entry keeps out those giving its code as their reason,
// never those that are the same thing.
func ownCodes(code CodeableConcept) string {
	first := code.First()
	var b strings.Builder
	for _, cd := range code.Coding {
		if cd != first && ownCode(cd) {
			b.WriteString("own:" + cd.System + "|" + cd.Code + "\x1f")
		}
	}
	return b.String()
}

// ownCode says whether an entry keeps cd among its own codes: one with a
// system and a code, but none of HL7's own code systems, which name kinds
// of record (a vital sign, a laboratory test, a clinical note), never a
// kind of information a person keeps out, and would add a row to every
// result of a bulk load.
func ownCode(cd Coding) bool {
	return cd.System != "" && cd.Code != "" && !strings.HasPrefix(cd.System, "http://terminology.hl7.org/") &&
		!strings.ContainsAny(cd.System+cd.Code, "|\x1f")
}

// otherCodes is Item.Reasons, as ownCodes gives them, of the codes of a
// resource's other concepts that say what it is, as the one its item is
// named from does: a visit's other types, an appointment's service types
// and type, a plan's, document's, report's or team's categories, a team
// member's other roles (a review: a visit's second type, a psychiatric
// interview, and a plan's mental health category reached a carer with
// mental health kept out). The item's own code is left out.
func otherCodes(it Item, concepts ...CodeableConcept) string {
	var b strings.Builder
	for _, c := range concepts {
		for _, cd := range c.Coding {
			if ownCode(cd) && (cd.System != it.CodeSystem || cd.Code != it.Code) {
				b.WriteString("own:" + cd.System + "|" + cd.Code + "\x1f")
			}
		}
	}
	return b.String()
}

// lenientConcepts reads a concept or a list of them, as written; a field
// written otherwise gives none rather than refusing the resource, as it is
// read only for what it keeps out (otherCodes).
func lenientConcepts(raw json.RawMessage) []CodeableConcept {
	var many []CodeableConcept
	if json.Unmarshal(raw, &many) == nil {
		return many
	}
	var one CodeableConcept
	if json.Unmarshal(raw, &one) == nil {
		return []CodeableConcept{one}
	}
	return nil
}

// OwnCodes are the codes, as ownCodes and otherCodes store them, of the
// item of r whose part is part, and the Medication a medicine names
// ("medref"): what migration 0063 stores of an entry stored before.
func OwnCodes(r Resource, part string) []string {
	items, err := Project(r)
	if err != nil {
		return nil
	}
	for _, it := range items {
		if it.Part == part {
			var out []string
			for r := range strings.SplitSeq(it.Reasons, "\x1f") {
				if strings.HasPrefix(r, "own:") || strings.HasPrefix(r, "any:") || strings.HasPrefix(r, "medref|") {
					out = append(out, r)
				}
			}
			return out
		}
	}
	return nil
}

// dedupKey names a fact independently of its source, so the same fact from two
// sources shows once. What counts as the same fact depends on the section:
//   - allergies and conditions: the same coded thing, whenever recorded;
//   - medicines: the same coded medicine with the same dosage, whenever prescribed;
//   - results, vaccinations, procedures and the rest: the same coded thing on the
//     same day with the same value (so two different results never merge).
//
// Items without a code are keyed by their words.
func dedupKey(it Item) string {
	if it.DisplayRef != "" {
		return "" // see Item.DedupKey
	}
	what := it.CodeSystem + "|" + it.Code
	if it.Code == "" {
		what = "text|" + strings.ToLower(it.Display)
	}
	switch it.Section {
	case SectionAllergies, SectionConditions:
		return it.Section + "|" + what
	case SectionMedicines:
		return it.Section + "|" + what + "|" + keyWords(it.Detail)
	}
	day := dayOf(it.Date) // the UK day: 23:30 UTC and 00:30 BST are one day
	if it.Section == SectionEncounters {
		// A visit or appointment at a time is one with another source's at
		// that moment, not at another time that day: a hospital's 9:30
		// clinic cancelled hid a community 15:00 booking of the same kind
		// (a clinical-safety review).
		day = momentOf(it.Date)
	}
	key := strings.Join([]string{it.Section, what, day, sameNumbers(it.Value)}, "|")
	if it.Status == "not-done" {
		// What was not done is another fact than what was: a dose one source
		// says was not given and another says was are two entries, never one
		// whose word depends on which source came first (found by a
		// clinical-safety review). An appointment one source says was
		// cancelled is the same appointment, whose cancellation stands
		// (store/dedup.go standsAside).
		key += "|" + it.Status
	}
	return key
}

// sameNumbers writes each number in a value one way, so that two sources'
// "5.0 mmol/L" and "5 mmol/L" are one result (found by a clinical-safety
// review: the same potassium showed twice).
func sameNumbers(v string) string {
	words := strings.Split(v, " ")
	for i, w := range words {
		if strings.ContainsAny(w, "eE") {
			continue // "1e3" is no way a value is written
		}
		if f, err := strconv.ParseFloat(w, 64); err == nil {
			words[i] = strconv.FormatFloat(f, 'f', -1, 64)
		}
	}
	return strings.Join(words, " ")
}

// verifiedStatus is an allergy's or condition's status as the record shows it:
// its clinical status, unless its verification says it was recorded in
// error, ruled out, or not yet confirmed (then a current one is shown as "not
// confirmed", never as a known current fact).
func verifiedStatus(clinical, verification string) string {
	switch verification {
	case "entered-in-error", "refuted":
		return verification
	case "unconfirmed", "provisional", "differential":
		if clinical == "" || clinical == "active" || clinical == "recurrence" || clinical == "relapse" {
			return "unconfirmed"
		}
	}
	return clinical
}

func projectAllergy(raw []byte) ([]Item, about, error) {
	var v struct {
		about
		ClinicalStatus     CodeableConcept `json:"clinicalStatus"`
		VerificationStatus CodeableConcept `json:"verificationStatus"`
		Criticality        string          `json:"criticality"`
		Code               CodeableConcept `json:"code"`
		OnsetDateTime      string          `json:"onsetDateTime"`
		RecordedDate       string          `json:"recordedDate"`
		Recorder           Reference       `json:"recorder"`
		Reaction           []struct {
			Manifestation []CodeableConcept `json:"manifestation"`
			Severity      string            `json:"severity"`
		} `json:"reaction"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, about{}, err
	}
	status := verifiedStatus(v.ClinicalStatus.Code(), v.VerificationStatus.Code())
	it := item(SectionAllergies, v.Code, "Allergy or reaction (not named)", firstNonEmpty(v.OnsetDateTime, v.RecordedDate), status)
	var reactions []string
	for _, r := range v.Reaction {
		for _, m := range r.Manifestation {
			if w := m.Words(); w != "" {
				reactions = append(reactions, w)
			}
		}
	}
	if len(reactions) > 0 {
		it.Detail = "Reaction: " + strings.Join(reactions, ", ")
	}
	if v.Criticality == "high" {
		it.Detail = strings.TrimSpace("High risk. " + it.Detail)
	}
	it.Organisation, it.OrganisationRef = who(v.Recorder)
	return []Item{it}, v.about, nil
}

// medicine is the medicine named by a concept, or by a reference's display
// when the concept has no words. When neither gives a name or a code, it is
// the reference to the Medication too, for the store to name the item from
// (Item.DisplayRef).
func medicine(cc CodeableConcept, ref Reference) (CodeableConcept, string) {
	if cc.Words() != "" {
		return cc, ""
	}
	if d := strings.TrimSpace(ref.Display); d != "" {
		cc.Text = d
		return cc, ""
	}
	if cc.First().Code != "" {
		return cc, ""
	}
	if r := NamedRef(ref.Reference); strings.HasPrefix(r, "Medication/") {
		return cc, r
	}
	if r := medicationRef(ref); strings.HasPrefix(r, "urn:uuid:") {
		return cc, r // a bundle's address for its Medication, named as it is noted (store names.go named)
	}
	return cc, ""
}

// medicationRef is "Medication/id" when ref points at a Medication by type
// and id, of any version, the whole address when absolute, or a bundle's
// "urn:uuid:" address, which may be one; else "".
func medicationRef(ref Reference) string {
	r := strings.TrimSpace(ref.Reference)
	if i := strings.Index(r, "/_history/"); i > 0 {
		r = r[:i] // its codes count whichever version is named (a review)
	}
	if strings.ContainsAny(r, " |\x1f") {
		return ""
	}
	if strings.HasPrefix(r, "urn:uuid:") && len(r) > len("urn:uuid:") {
		return r // a bundle's address for it (a review: such a Fluoxetine reached a carer)
	}
	n := NamedRef(r)
	if !strings.HasPrefix(n, "Medication/") {
		return ""
	}
	if strings.Contains(r, "://") {
		// Whole: whose it is the store tells (LocalReason), as another
		// server's Medication/1 is not the source's own (a review: a trust's
		// insulin took the codes of its own Medication of the GP's id).
		return r
	}
	return n
}

// MedicationRefIn is medicationRef of a resource's medicationReference, as
// its medicine's item holds it: what migration 0063 reads of one stored before.
func MedicationRefIn(raw []byte) string {
	var v struct {
		MedicationReference Reference `json:"medicationReference"`
	}
	if json.Unmarshal(raw, &v) != nil {
		return ""
	}
	return medicationRef(v.MedicationReference)
}

// inline is the medicine cc names or, when it names none and ref points at a
// Medication contained in the resource ("#med1"), that one's code: the
// resource itself is all there is of it (a review: it read "Medicine (name
// not recorded)").
// Read leniently: contained resources were not read before, and one
// malformed must not cost the medicine.
func inline(cc CodeableConcept, ref Reference, contained json.RawMessage) CodeableConcept {
	id, ok := strings.CutPrefix(strings.TrimSpace(ref.Reference), "#")
	if !ok || cc.Words() != "" || cc.First().Code != "" || strings.TrimSpace(ref.Display) != "" {
		return cc
	}
	var all []json.RawMessage
	_ = json.Unmarshal(contained, &all)
	for _, raw := range all {
		var c struct {
			ResourceType string          `json:"resourceType"`
			ID           string          `json:"id"`
			Code         CodeableConcept `json:"code"`
		}
		if json.Unmarshal(raw, &c) == nil && c.ResourceType == "Medication" && c.ID == id {
			return c.Code
		}
	}
	return cc
}

// medicineItem is the item of a medicine prescribed or taken.
func medicineItem(cc CodeableConcept, ref Reference, date, status string, ds []dosage, by Reference) Item {
	med, named := medicine(cc, ref)
	it := item(SectionMedicines, med, "Medicine (name not recorded)", date, status)
	it.Detail = dosageText(ds)
	it.DisplayRef = named
	if m := medicationRef(ref); m != "" {
		// The Medication it names, whose codes keep it out as its own do,
		// whatever names it (store names.go; a review: a Fluoxetine whose
		// reference gave its name reached a carer with mental health kept out).
		it.Reasons += "medref|" + m + "\x1f"
	}
	if it.DedupKey != "" {
		it.DedupKey = dedupKey(it) // with the dosage; an unnamed medicine has none (item)
	}
	it.Organisation, it.OrganisationRef = who(by)
	return it
}

func projectMedicationRequest(raw []byte) ([]Item, about, error) {
	var v struct {
		about
		Status                    string          `json:"status"`
		Intent                    string          `json:"intent"`
		MedicationCodeableConcept CodeableConcept `json:"medicationCodeableConcept"`
		MedicationReference       Reference       `json:"medicationReference"`
		AuthoredOn                string          `json:"authoredOn"`
		Requester                 Reference       `json:"requester"`
		DosageInstruction         []dosage        `json:"dosageInstruction"`
		Contained                 json.RawMessage `json:"contained"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, about{}, err
	}
	status, proposed := requestStatus(v.Status, v.Intent)
	it := medicineItem(inline(v.MedicationCodeableConcept, v.MedicationReference, v.Contained), v.MedicationReference, v.AuthoredOn, status, v.DosageInstruction, v.Requester)
	if proposed && it.DedupKey != "" {
		it.DedupKey += "|proposal" // never one fact with a prescription of it
	}
	return []Item{it}, v.about, nil
}

// requestStatus is a medicine request's status as the record shows it: a
// request that only proposes the medicine (its intent a proposal or an
// option) is "proposed" while it stands, and "proposal-cancelled" and the
// like once over, never a prescription, current or past (found by a
// clinical-safety review: a proposed amoxicillin showed as current beside a
// penicillin allergy, and a cancelled proposal hid the prescription). A
// plan is a prescription: GP Connect and UK Core record a repeat's
// authorisation so. proposed says it is a proposal.
func requestStatus(status, intent string) (string, bool) {
	if intent != "proposal" && intent != "option" {
		return status, false
	}
	switch status {
	case "entered-in-error":
		return status, true
	case "cancelled", "completed", "stopped", "revoked":
		return "proposal-" + status, true
	}
	return "proposed", true
}

func projectMedicationStatement(raw []byte) ([]Item, about, error) {
	var v struct {
		about
		Status                    string          `json:"status"`
		MedicationCodeableConcept CodeableConcept `json:"medicationCodeableConcept"`
		MedicationReference       Reference       `json:"medicationReference"`
		EffectiveDateTime         string          `json:"effectiveDateTime"`
		EffectivePeriod           Period          `json:"effectivePeriod"`
		DateAsserted              string          `json:"dateAsserted"`
		InformationSource         Reference       `json:"informationSource"`
		Dosage                    []dosage        `json:"dosage"`
		Contained                 json.RawMessage `json:"contained"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, about{}, err
	}
	it := medicineItem(inline(v.MedicationCodeableConcept, v.MedicationReference, v.Contained), v.MedicationReference,
		firstNonEmpty(v.EffectiveDateTime, v.EffectivePeriod.Start, v.DateAsserted), v.Status, v.Dosage, v.InformationSource)
	return []Item{it}, v.about, nil
}

func projectCondition(raw []byte) ([]Item, about, error) {
	var v struct {
		about
		ClinicalStatus     CodeableConcept `json:"clinicalStatus"`
		VerificationStatus CodeableConcept `json:"verificationStatus"`
		Code               CodeableConcept `json:"code"`
		OnsetDateTime      string          `json:"onsetDateTime"`
		OnsetPeriod        Period          `json:"onsetPeriod"`
		AbatementDateTime  string          `json:"abatementDateTime"`
		RecordedDate       string          `json:"recordedDate"`
		Recorder           Reference       `json:"recorder"`
		Asserter           Reference       `json:"asserter"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, about{}, err
	}
	status := verifiedStatus(v.ClinicalStatus.Code(), v.VerificationStatus.Code())
	it := item(SectionConditions, v.Code, "Condition (not named)", firstNonEmpty(v.OnsetDateTime, v.OnsetPeriod.Start, v.RecordedDate), status)
	if v.AbatementDateTime != "" {
		it.Detail = "Ended " + dayOf(v.AbatementDateTime)
	}
	it.Organisation, it.OrganisationRef = who(v.Recorder, v.Asserter)
	return []Item{it}, v.about, nil
}

// ukVaccineNames are vaccines' names in the NHS's words, by CVX code: those
// records from US systems (Synthea) give (projectImmunization).
var ukVaccineNames = map[string]string{
	"140": "Flu vaccine", "141": "Flu vaccine", "150": "Flu vaccine", "158": "Flu vaccine", "161": "Flu vaccine",
	"10": "Polio vaccine (IPV)", "113": "Tetanus and diphtheria vaccine (Td)", "09": "Tetanus and diphtheria vaccine (Td)",
	"115": "Tetanus, diphtheria and whooping cough vaccine (Tdap)", "20": "Diphtheria, tetanus and whooping cough vaccine (DTaP)",
	"49": "Hib vaccine", "48": "Hib vaccine", "08": "Hepatitis B vaccine (child)", "43": "Hepatitis B vaccine (adult)",
	"83": "Hepatitis A vaccine (child)", "52": "Hepatitis A vaccine (adult)", "03": "MMR vaccine (measles, mumps and rubella)",
	"114": "MenACWY vaccine (meningitis)", "62": "HPV vaccine", "165": "HPV vaccine", "21": "Chickenpox vaccine (varicella)",
	"121": "Shingles vaccine", "187": "Shingles vaccine", "33": "Pneumococcal vaccine (PPV23)", "133": "Pneumococcal vaccine (PCV13)",
	"119": "Rotavirus vaccine", "116": "Rotavirus vaccine", "207": "COVID-19 vaccine", "208": "COVID-19 vaccine", "212": "COVID-19 vaccine",
	"213": "COVID-19 vaccine", "19": "BCG vaccine (tuberculosis)",
}

func projectImmunization(raw []byte) ([]Item, about, error) {
	var v struct {
		about
		Status             string          `json:"status"`
		StatusReason       CodeableConcept `json:"statusReason"`
		VaccineCode        CodeableConcept `json:"vaccineCode"`
		OccurrenceDateTime string          `json:"occurrenceDateTime"`
		OccurrenceString   string          `json:"occurrenceString"`
		Recorded           string          `json:"recorded"`
		IsSubpotent        bool            `json:"isSubpotent"`
		Performer          []actor         `json:"performer"`
		Location           Reference       `json:"location"`
		Reaction           []struct {
			Detail Reference `json:"detail"`
		} `json:"reaction"`
		ProtocolApplied []struct {
			DoseNumberPositiveInt int    `json:"doseNumberPositiveInt"`
			DoseNumberString      string `json:"doseNumberString"`
		} `json:"protocolApplied"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, about{}, err
	}
	// When it was given; a time given only in words ("about 1990") is no
	// date, and the day it was recorded is not when it was given (found by a
	// clinical-safety review: a dose from about 1990 read as given in 2025).
	date := v.OccurrenceDateTime
	if date == "" && v.OccurrenceString == "" {
		date = v.Recorded
	}
	it := item(SectionImmunisations, v.VaccineCode, "Vaccination (not named)", date, v.Status)
	var detail []string
	if uk, ok := ukVaccineNames[it.Code]; ok && it.CodeSystem == "http://hl7.org/fhir/sid/cvx" {
		// Named as the NHS names it, the record's words kept beside (a review
		// of real records: "Influenza, seasonal, injectable, preservative
		// free" for a flu vaccine); in the item, so search finds both. Not
		// the fallback, when the record gave it no words (a review).
		if v.VaccineCode.Words() != "" {
			detail = append(detail, "Recorded as "+it.Display)
		}
		it.Display = uk
	}
	it.Organisation, it.OrganisationRef = who(actorRefs(v.Performer)...)
	if it.Organisation == "" && it.OrganisationRef == "" {
		// Where it was given, when who gave it is not said (a review: every
		// Synthea vaccination named only its practice, as its location).
		it.Organisation, it.OrganisationRef = who(v.Location)
	}
	if v.OccurrenceString != "" {
		detail = append(detail, "Given "+strings.TrimSpace(v.OccurrenceString))
	}
	if len(v.ProtocolApplied) > 0 {
		switch pa := v.ProtocolApplied[0]; {
		case pa.DoseNumberPositiveInt > 0:
			detail = append(detail, fmt.Sprintf("Dose %d", pa.DoseNumberPositiveInt))
		case strings.TrimSpace(pa.DoseNumberString) != "":
			detail = append(detail, "Dose "+strings.TrimSpace(pa.DoseNumberString))
		}
	}
	if v.IsSubpotent {
		detail = append(detail, "Less than a full dose: it may need to be given again")
	}
	if len(v.Reaction) > 0 {
		// A reaction matters before the next dose (a clinical-safety review
		// found an anaphylaxis dropped).
		var refs []Reference
		for _, r := range v.Reaction {
			refs = append(refs, r.Detail)
		}
		if w := displaysOf(refs...); w != "" {
			detail = append(detail, "Reaction: "+w)
		} else {
			detail = append(detail, "A reaction to it was recorded")
		}
	}
	if w := notGivenWords[v.StatusReason.Code()]; w != "" && v.Status == "not-done" {
		detail = append(detail, "Why not: "+w)
	}
	it.Detail = strings.Join(detail, ". ")
	// A report of the dose with a reaction or part dose stands over one
	// without (store standsAside), so neither hides behind it, and the
	// national record's report and the GP's are still one dose.
	if date == "" && v.OccurrenceString != "" && it.DedupKey != "" {
		// A dose known only in words is its own fact: another source's dose
		// of the vaccine, at another time in words, is another dose (found by
		// a review: a booster hid behind a dose "about 1990").
		it.DedupKey += "|" + keyWords(v.OccurrenceString)
	}
	return []Item{it}, v.about, nil
}

type observationValue struct {
	ValueQuantity        *Quantity        `json:"valueQuantity"`
	ValueCodeableConcept *CodeableConcept `json:"valueCodeableConcept"`
	ValueString          string           `json:"valueString"`
	ValueBoolean         *bool            `json:"valueBoolean"`
	ValueInteger         *json.Number     `json:"valueInteger"`
	ValueRatio           *struct {
		Numerator   Quantity `json:"numerator"`
		Denominator Quantity `json:"denominator"`
	} `json:"valueRatio"`
	ValueRange *struct {
		Low  Quantity `json:"low"`
		High Quantity `json:"high"`
	} `json:"valueRange"`
	ValueDateTime string  `json:"valueDateTime"`
	ValueTime     string  `json:"valueTime"`
	ValuePeriod   *Period `json:"valuePeriod"`
}

// String is the value as people read it. Only a quantity (or a ratio with
// units) starts with its number, so that only those are charted as numbers:
// a titre reads "1:160", a range "Between 2 and 5 mmol/L".
func (o observationValue) String() string {
	switch {
	case o.ValueQuantity != nil:
		return o.ValueQuantity.String()
	case o.ValueRatio != nil && o.ValueRatio.Numerator.Value != "" && o.ValueRatio.Denominator.Value != "":
		n, d := o.ValueRatio.Numerator, o.ValueRatio.Denominator
		if n.Unit == "" && n.Code == "" && d.Unit == "" && d.Code == "" {
			return string(n.Value) + ":" + string(d.Value)
		}
		return n.String() + " per " + d.String()
	case o.ValueRange != nil && (o.ValueRange.Low.Value != "" || o.ValueRange.High.Value != ""):
		low, high := o.ValueRange.Low, o.ValueRange.High
		switch {
		case low.Value == "":
			return "Up to " + high.String()
		case high.Value == "":
			return "At least " + low.String()
		}
		return "Between " + string(low.Value) + " and " + high.String()
	case o.ValueDateTime != "":
		return o.ValueDateTime
	case o.ValueTime != "":
		return o.ValueTime
	case o.ValuePeriod != nil && (o.ValuePeriod.Start != "" || o.ValuePeriod.End != ""):
		return strings.TrimSpace(o.ValuePeriod.Start + " to " + o.ValuePeriod.End)
	case o.ValueCodeableConcept != nil:
		return o.ValueCodeableConcept.Words()
	case o.ValueBoolean != nil:
		if *o.ValueBoolean {
			return "Yes"
		}
		return "No"
	case o.ValueInteger != nil:
		return string(*o.ValueInteger)
	}
	return o.ValueString
}

// KindAnswer marks, among an entry's reasons, a result that is an answer
// to a questionnaire or about how someone lives (an Observation of HL7's
// category survey or social-history), not a test: the summary's recent
// test results leave it out (a review: "PCP prophylaxis plan – Start
// drugs" and "Tobacco smoking status" were listed as tests).
const KindAnswer = "kind|answer"

// answerNotTest says whether an Observation's categories make it an answer
// rather than a test (KindAnswer).
func answerNotTest(categories []CodeableConcept) bool {
	for _, c := range categories {
		for _, cd := range c.Coding {
			if cd.System == "http://terminology.hl7.org/CodeSystem/observation-category" && (cd.Code == "survey" || cd.Code == "social-history") {
				return true
			}
		}
	}
	return false
}

// observationComponent is one part of an Observation, such as a blood
// pressure's systolic.
type observationComponent struct {
	observationValue
	Code CodeableConcept `json:"code"`
	// Read only for Item.Exact, so a malformed one never refuses the resource.
	ReferenceRange json.RawMessage `json:"referenceRange"`
	Interpretation json.RawMessage `json:"interpretation"`
}

// pressureRank puts a systolic blood pressure (LOINC 8480-6) before a
// diastolic one (8462-4), and anything else after both, in its own order.
func pressureRank(c CodeableConcept) int {
	for _, cd := range c.Coding {
		if cd.System == SystemLOINC {
			switch cd.Code {
			case "8480-6":
				return 0
			case "8462-4":
				return 1
			}
		}
	}
	return 2
}

func projectObservation(raw []byte) ([]Item, about, error) {
	var v struct {
		about
		observationValue
		Status            string                 `json:"status"`
		Code              CodeableConcept        `json:"code"`
		EffectiveDateTime string                 `json:"effectiveDateTime"`
		EffectivePeriod   Period                 `json:"effectivePeriod"`
		Issued            string                 `json:"issued"`
		Performer         []Reference            `json:"performer"`
		ReferenceRange    []ReferenceRange       `json:"referenceRange"`
		Interpretation    []CodeableConcept      `json:"interpretation"`
		Category          json.RawMessage        `json:"category"`
		Component         []observationComponent `json:"component"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, about{}, err
	}
	// Blood pressure's top number first, however the source lists them:
	// Synthea lists diastolic first, and 107/74 read as 74/107 (a review).
	slices.SortStableFunc(v.Component, func(a, b observationComponent) int {
		return pressureRank(a.Code) - pressureRank(b.Code)
	})
	it := item(SectionResults, v.Code, "Test result (not named)", firstNonEmpty(v.EffectiveDateTime, v.EffectivePeriod.Start, v.Issued), v.Status)
	it.Value = v.observationValue.String()
	// What was found may be of a kind kept out (reasonedTypes), as the
	// value or a part's (a review: a panel's part read "Finding: HIV infection").
	var found []CodeableConcept
	if v.ValueCodeableConcept != nil {
		found = append(found, *v.ValueCodeableConcept)
	}
	for _, c := range v.Component {
		if c.ValueCodeableConcept != nil {
			found = append(found, *c.ValueCodeableConcept)
		}
	}
	it.Reasons += reasonCodes(found)
	// And what it and its parts are: a screening whose part is a PHQ-9
	// score reached a carer with mental health kept out (a review).
	parts := lenientConcepts(v.Category)
	for _, c := range v.Component {
		parts = append(parts, c.Code)
	}
	it.Reasons += otherCodes(it, parts...)
	if answerNotTest(parts[:len(parts)-len(v.Component)]) {
		it.Reasons += KindAnswer + "\x1f"
	}
	if it.Value == "" && len(v.Component) > 0 {
		var parts []string
		for _, c := range v.Component {
			if val := c.observationValue.String(); val != "" {
				parts = append(parts, firstNonEmpty(c.Code.Words(), "Part")+": "+val)
			}
		}
		it.Value = strings.Join(parts, "; ")
	}
	var detail []string
	for _, rr := range v.ReferenceRange {
		head := "Normal range"
		if l := rr.label(); l != "" {
			head += " (" + l + ")"
		}
		switch {
		case rr.Text != "":
			detail = append(detail, head+": "+rr.Text)
		case rr.Low != nil && rr.High != nil:
			detail = append(detail, head+": "+string(rr.Low.Value)+" to "+rr.High.String())
		case rr.High != nil:
			detail = append(detail, head+": up to "+rr.High.String())
		case rr.Low != nil:
			detail = append(detail, head+": at least "+rr.Low.String())
		}
	}
	for _, in := range v.Interpretation {
		if w := in.Words(); w != "" {
			detail = append(detail, w)
		}
	}
	it.Detail = strings.Join(detail, ". ")
	it.Organisation, it.OrganisationRef = who(v.Performer...)
	if it.DedupKey != "" {
		it.DedupKey = dedupKey(it) // with the value; an unnamed result has none (item)
	}
	// The numbers, as ExactMeasures describes.
	var b strings.Builder
	b.WriteString(exactVersion)
	ok := true
	if v.ValueQuantity != nil {
		ok = writeExact(&b, "", *v.ValueQuantity, v.ReferenceRange, v.Interpretation)
	} else {
		for _, c := range v.Component {
			if c.ValueQuantity == nil {
				continue
			}
			var rr []ReferenceRange
			var in []CodeableConcept
			if len(c.ReferenceRange) > 0 && json.Unmarshal(c.ReferenceRange, &rr) != nil ||
				len(c.Interpretation) > 0 && json.Unmarshal(c.Interpretation, &in) != nil {
				ok = false
				break
			}
			name := c.Code.Words()
			if name == "" {
				name = "Part"
			}
			if !writeExact(&b, name, *c.ValueQuantity, rr, in) {
				ok = false
				break
			}
		}
	}
	if ok {
		it.Exact = b.String()
	}
	return []Item{it}, v.about, nil
}

// ReferenceRange is an Observation's normal (reference) range.
type ReferenceRange struct {
	Low       *Quantity         `json:"low"`
	High      *Quantity         `json:"high"`
	Text      string            `json:"text"`
	Type      CodeableConcept   `json:"type"`
	AppliesTo []CodeableConcept `json:"appliesTo"`
	Age       *struct {
		Low  *Quantity `json:"low"`
		High *Quantity `json:"high"`
	} `json:"age"`
}

// label is whom, or what kind of range, the range is for, in words, when
// the source says: "Female", "Age 0 to 16", "Therapeutic"; else "".
func (r ReferenceRange) label() string {
	var words []string
	if t := r.Type.Words(); t != "" && r.Type.Code() != "normal" {
		words = append(words, t)
	}
	for _, a := range r.AppliesTo {
		if w := a.Words(); w != "" {
			words = append(words, w)
		}
	}
	if r.Age != nil && (r.Age.Low != nil || r.Age.High != nil) {
		switch {
		case r.Age.Low != nil && r.Age.High != nil:
			words = append(words, "age "+string(r.Age.Low.Value)+" to "+r.Age.High.String())
		case r.Age.Low != nil:
			words = append(words, "age "+r.Age.Low.String()+" and over")
		default:
			words = append(words, "age up to "+r.Age.High.String())
		}
	}
	return strings.Join(words, ", ")
}

// reasonCodes is Item.Reasons of a resource's reasons: every coding of each,
// a code with a separator of its own left out.
func reasonCodes(reasons []CodeableConcept) string {
	var b strings.Builder
	for _, r := range reasons {
		for _, c := range r.Coding {
			if c.System == "" || c.Code == "" || strings.ContainsAny(c.System+c.Code, "|\x1f") {
				continue
			}
			b.WriteString(c.System + "|" + c.Code + "\x1f")
		}
	}
	return b.String()
}

// notGivenWords are HL7's reasons a vaccination was not given, in words. A
// reason in other words or codes is left out: it may name a condition the
// person keeps out of sharing, which a carer shown vaccinations must not
// read (found by a review).
var notGivenWords = map[string]string{
	"IMMUNE":  "already immune",
	"MEDPREC": "a medical reason",
	"OSTOCK":  "the vaccine was out of stock",
	"PATOBJ":  "the person chose not to have it",
}

// AgreedFlag is how a value compares with several normal ranges (for women
// and for men, for ages) when it compares with every one the same way: below
// them all is low, above them all high, within them all normal, as an HL7
// interpretation code; nil when they disagree, or when there are not several,
// or when a range's unit is not the value's (found by a review: a
// haemoglobin below both the men's and the women's range went unflagged).
func AgreedFlag(q Quantity, ranges []ReferenceRange) []CodeableConcept {
	if _, ok := ComparedRange(ranges); ok || q.Comparator != "" {
		return nil
	}
	v, err := strconv.ParseFloat(string(q.Value), 64)
	if err != nil {
		return nil
	}
	flag, n := "", 0
	for _, r := range ranges {
		if r.Low == nil && r.High == nil || r.Type.Code() != "" && r.Type.Code() != "normal" {
			continue
		}
		this := "N"
		for _, lim := range []struct {
			q    *Quantity
			past func(v, l float64) bool
			code string
		}{{r.Low, func(v, l float64) bool { return v < l }, "L"}, {r.High, func(v, l float64) bool { return v > l }, "H"}} {
			if lim.q == nil {
				continue
			}
			if !sameUnit(*lim.q, q) {
				return nil // another unit, or one not given: not compared here
			}
			l, err := strconv.ParseFloat(string(lim.q.Value), 64)
			if err != nil {
				return nil
			}
			if lim.past(v, l) {
				this = lim.code
			}
		}
		if n > 0 && this != flag {
			return nil
		}
		flag, n = this, n+1
	}
	if n < 2 {
		return nil
	}
	return []CodeableConcept{{Coding: []Coding{{System: "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", Code: flag}}}}
}

// sameUnit says whether a limit is in the value's unit: by UCUM code when
// both have one, else by the unit as written, in any case; a limit with a
// unit the value lacks, or the other way round, is not (found by a review:
// glucose in mmol/L was flagged against ranges in mg/dL).
func sameUnit(limit, value Quantity) bool {
	if limit.Code != "" && value.Code != "" {
		return limit.Code == value.Code
	}
	return strings.EqualFold(strings.TrimSpace(limit.Unit), strings.TrimSpace(value.Unit))
}

// ComparedRange is the one normal range a value is compared with: the only
// one with limits that is of no other kind than normal, or a source's only
// range when it has no limits (its words alone). When a source gives several
// (for women and for men, for children and adults), which is the person's is
// not known here, so none is (found by a clinical-safety review: a man's
// haemoglobin was flagged against the women's range).
func ComparedRange(ranges []ReferenceRange) (ReferenceRange, bool) {
	var found []ReferenceRange
	for _, r := range ranges {
		if (r.Low != nil || r.High != nil) && (r.Type.Code() == "" || r.Type.Code() == "normal") {
			found = append(found, r)
		}
	}
	switch {
	case len(found) == 1:
		return found[0], true
	case len(ranges) == 1 && ranges[0].Low == nil && ranges[0].High == nil:
		return ranges[0], true
	}
	return ReferenceRange{}, false
}

// exactVersion starts Item.Exact in the form ExactMeasures reads.
const exactVersion = "m1"

// ExactMeasures reads Item.Exact: for each measure (the result's own
// valueQuantity, or each component's) its name ("" for the result's own
// value), quantity, first normal range and interpretations, as the resource
// gave them. ok is false when exact is not in this form.
//
// The form is exactVersion, then per measure a record separator (0x1E) and
// fields separated by unit separators (0x1F): name, value, comparator, unit,
// system, code, "1" when there is a range, range text, low value, unit and
// code, high value, unit and code, then the interpretations separated by
// group separators (0x1D), each its words and then its codes, separated by
// file separators (0x1C). A resource whose text holds those characters is
// not kept in this form.
func ExactMeasures(exact string) (ms []ExactMeasure, ok bool) {
	rest, ok := strings.CutPrefix(exact, exactVersion)
	if !ok {
		return nil, false
	}
	if rest == "" {
		return nil, true
	}
	for rec := range strings.SplitSeq(rest[1:], "\x1e") {
		var f [15]string
		n := 0
		for field := range strings.SplitSeq(rec, "\x1f") {
			if n == len(f) {
				return nil, false
			}
			f[n] = field
			n++
		}
		if n != len(f) {
			return nil, false
		}
		m := ExactMeasure{Name: f[0], Quantity: Quantity{Value: json.Number(f[1]), Comparator: f[2], Unit: f[3], System: f[4], Code: f[5]}}
		if f[6] == "1" {
			m.Range = &ExactRange{Text: f[7]}
			if f[8] != "" {
				m.Range.Low = &Quantity{Value: json.Number(f[8]), Unit: f[9], Code: f[10]}
			}
			if f[11] != "" {
				m.Range.High = &Quantity{Value: json.Number(f[11]), Unit: f[12], Code: f[13]}
			}
		}
		if f[14] != "" {
			for concept := range strings.SplitSeq(f[14], "\x1d") {
				words, codes, _ := strings.Cut(concept, "\x1c")
				cc := CodeableConcept{Text: words}
				if codes != "" {
					for code := range strings.SplitSeq(codes, "\x1c") {
						cc.Coding = append(cc.Coding, Coding{Code: code})
					}
				}
				m.Interpretation = append(m.Interpretation, cc)
			}
		}
		ms = append(ms, m)
	}
	return ms, true
}

// ExactMeasure is one measure of a result as Item.Exact keeps it.
type ExactMeasure struct {
	Name           string // "" for the result's own value
	Quantity       Quantity
	Range          *ExactRange // the first normal range, when there is one
	Interpretation []CodeableConcept
}

// ExactRange is a normal range as Item.Exact keeps it.
type ExactRange struct {
	Low, High *Quantity
	Text      string
}

// writeExact adds one measure to an Item.Exact; false when a field holds a
// separator.
func writeExact(b *strings.Builder, name string, q Quantity, ranges []ReferenceRange, interp []CodeableConcept) bool {
	if len(interp) == 0 {
		interp = AgreedFlag(q, ranges)
	}
	f := make([]string, 0, 15)
	f = append(f, name, string(q.Value), q.Comparator, q.Unit, q.System, q.Code)
	if r, ok := ComparedRange(ranges); ok {
		f = append(f, "1", r.Text)
		for _, q := range []*Quantity{r.Low, r.High} {
			if q == nil || q.Value == "" {
				f = append(f, "", "", "")
			} else {
				f = append(f, string(q.Value), q.Unit, q.Code)
			}
		}
	} else {
		f = append(f, "", "", "", "", "", "", "", "")
	}
	var in []string
	for _, c := range interp {
		parts := []string{c.Words()}
		for _, cd := range c.Coding {
			parts = append(parts, cd.Code)
		}
		f = append(f, parts...) // to be checked below, then dropped
		in = append(in, strings.Join(parts, "\x1c"))
	}
	for _, s := range f {
		if strings.ContainsAny(s, "\x1c\x1d\x1e\x1f") {
			return false
		}
	}
	f = append(f[:14], strings.Join(in, "\x1d"))
	b.WriteString("\x1e")
	b.WriteString(strings.Join(f, "\x1f"))
	return true
}

func projectDiagnosticReport(raw []byte) ([]Item, about, error) {
	var v struct {
		about
		Status            string          `json:"status"`
		Category          json.RawMessage `json:"category"`
		Code              CodeableConcept `json:"code"`
		EffectiveDateTime string          `json:"effectiveDateTime"`
		EffectivePeriod   Period          `json:"effectivePeriod"`
		Issued            string          `json:"issued"`
		Performer         []Reference     `json:"performer"`
		Result            []Reference     `json:"result"`
		Conclusion        string          `json:"conclusion"`
		PresentedForm     []struct {
			Attachment
			Hash string `json:"hash"`
			Data string `json:"data"`
		} `json:"presentedForm"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, about{}, err
	}
	section := SectionResults
	if len(v.Result) == 0 && len(v.PresentedForm) > 0 {
		section = SectionDocuments // a written report, such as a clinic note
	}
	it := item(section, v.Code, "Report (not named)", firstNonEmpty(v.EffectiveDateTime, v.EffectivePeriod.Start, v.Issued), v.Status)
	it.Reasons += otherCodes(it, lenientConcepts(v.Category)...)
	switch {
	case v.Conclusion != "":
		it.Detail = v.Conclusion
	case len(v.Result) == 1:
		it.Detail = "1 result"
	case len(v.Result) > 1:
		it.Detail = fmt.Sprintf("%d results", len(v.Result))
	}
	it.Organisation, it.OrganisationRef = who(v.Performer...)
	if section == SectionDocuments && it.DedupKey != "" {
		// A note is one with a document only when it holds the same content,
		// as two documents are (projectDocument): Synthea sends each note as
		// a report and as a document, and each showed twice (a review; the
		// document stands aside for the report: store/dedup.go standsAside).
		// Only a link: each its own, as a document is (a review: two sources' letters were one).
		it.DedupKey = withContent(it.DedupKey, v.PresentedForm[0].Hash, v.PresentedForm[0].Data, len(v.PresentedForm))
	}
	return []Item{it}, v.about, nil
}

// withContent is a note's or document's key with what it holds: its first
// part's hash, else its data's, and how many parts there are when more than
// one, so that one of more parts is never one with a note of the first alone,
// whose page would not offer the others (a review: a signed PDF beside the
// note was lost). "" with neither hash nor data: each its own (store: keyed
// by the resource).
func withContent(key, hash, data string, parts int) string {
	switch {
	case hash != "":
		key += "|hash:" + hash
	case data != "":
		sum := sha256.Sum256([]byte(data))
		key += "|data:" + hex.EncodeToString(sum[:16])
	default:
		return ""
	}
	if parts > 1 {
		key += fmt.Sprintf("|parts:%d", parts)
	}
	return key
}

func projectEncounter(raw []byte) ([]Item, about, error) {
	var v struct {
		about
		Status          string            `json:"status"`
		Class           Coding            `json:"class"`
		Type            []CodeableConcept `json:"type"`
		Period          Period            `json:"period"`
		ServiceProvider Reference         `json:"serviceProvider"`
		ReasonCode      []CodeableConcept `json:"reasonCode"`
		Location        []struct {
			Location Reference `json:"location"`
		} `json:"location"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, about{}, err
	}
	var typ CodeableConcept
	if len(v.Type) > 0 {
		typ = v.Type[0]
	}
	fallback := encounterClass[v.Class.Code]
	if fallback == "" {
		fallback = firstNonEmpty(v.Class.Display, "Visit")
	}
	it := item(SectionEncounters, typ, fallback, v.Period.Start, v.Status)
	it.Reasons += otherCodes(it, v.Type...)
	var said []string
	if start, end := dayOf(v.Period.Start), dayOf(v.Period.End); start != "" && len(end) >= len(start) && end[:len(start)] > start {
		// A stay over days says when it ended (a review: a three-night
		// hospital stay read as one day), in words on the page.
		said = append(said, "Until "+end)
	}
	if w := wordsOf(v.ReasonCode); w != "" {
		said = append(said, "Reason: "+w)
	}
	it.Detail = strings.Join(said, ". ")
	where := []Reference{v.ServiceProvider}
	for _, l := range v.Location {
		where = append(where, l.Location)
	}
	it.Organisation, it.OrganisationRef = who(where...)
	return []Item{it}, v.about, nil
}

// encounterClass names the v3 ActCode encounter classes in plain words.
var encounterClass = map[string]string{
	"AMB": "Outpatient or clinic visit", "EMER": "Emergency visit", "IMP": "Hospital stay", "ACUTE": "Hospital stay",
	"HH": "Home visit", "VR": "Video or phone appointment", "OBSENC": "Observation stay", "SS": "Day case",
}

func projectAppointment(raw []byte) ([]Item, about, error) {
	var v struct {
		about
		Status             string            `json:"status"`
		ServiceType        []CodeableConcept `json:"serviceType"`
		AppointmentType    CodeableConcept   `json:"appointmentType"`
		Description        string            `json:"description"`
		Start              string            `json:"start"`
		Participant        []actor           `json:"participant"`
		PatientInstruction string            `json:"patientInstruction"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, about{}, err
	}
	what := v.AppointmentType
	if len(v.ServiceType) > 0 && v.ServiceType[0].Words() != "" {
		what = v.ServiceType[0]
	}
	if what.Words() == "" && v.Description != "" {
		what.Text = v.Description
	}
	it := item(SectionEncounters, what, "Appointment", v.Start, v.Status)
	it.Reasons += otherCodes(it, append(slices.Clone(v.ServiceType), v.AppointmentType)...)
	var others []Reference
	for _, p := range v.Participant {
		if !strings.HasPrefix(p.Actor.Reference, "Patient") {
			others = append(others, p.Actor)
		}
	}
	it.Organisation, it.OrganisationRef = who(others...)
	var said []string
	if d := strings.TrimRight(strings.TrimSpace(v.Description), "."); d != "" && v.Description != it.Display {
		said = append(said, d)
	}
	if w := strings.TrimRight(strings.TrimSpace(v.PatientInstruction), "."); w != "" {
		// What to do before it: not eating, stopping a medicine, someone to
		// drive home (a clinical-safety review found it dropped).
		said = append(said, "Before your appointment: "+lowerFirst(w))
	}
	it.Detail = strings.Join(said, ". ")
	return []Item{it}, v.about, nil
}

func projectProcedure(raw []byte) ([]Item, about, error) {
	var v struct {
		about
		Status            string            `json:"status"`
		Category          json.RawMessage   `json:"category"`
		Code              CodeableConcept   `json:"code"`
		PerformedDateTime string            `json:"performedDateTime"`
		PerformedPeriod   Period            `json:"performedPeriod"`
		PerformedString   string            `json:"performedString"`
		Performer         []actor           `json:"performer"`
		Location          Reference         `json:"location"`
		ReasonCode        []CodeableConcept `json:"reasonCode"`
		BodySite          []CodeableConcept `json:"bodySite"`
		Complication      []CodeableConcept `json:"complication"`
		FollowUp          []CodeableConcept `json:"followUp"`
		FocalDevice       []struct {
			Manipulated Reference `json:"manipulated"`
		} `json:"focalDevice"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, about{}, err
	}
	it := item(SectionProcedures, v.Code, "Procedure (not named)", firstNonEmpty(v.PerformedDateTime, v.PerformedPeriod.Start), v.Status)
	it.Reasons += otherCodes(it, lenientConcepts(v.Category)...) // a social service procedure, say (a review)
	it.Organisation, it.OrganisationRef = who(append(actorRefs(v.Performer), v.Location)...)
	// Where on the body, what went wrong, what was left in and what comes
	// next are what the next clinician asks (a clinical-safety review found
	// a left nephrectomy's side, bleeding and stent dropped).
	var detail []string
	if it.Date == "" && strings.TrimSpace(v.PerformedString) != "" {
		detail = append(detail, "Done "+lowerFirst(strings.TrimSpace(v.PerformedString))) // a time in words, as a vaccination's
	}
	if w := bodySiteWords(v.BodySite); w != "" {
		detail = append(detail, "Where: "+w)
	}
	if len(v.ReasonCode) > 0 && v.ReasonCode[0].Words() != "" {
		detail = append(detail, "Reason: "+v.ReasonCode[0].Words())
	}
	if w := wordsOf(v.Complication); w != "" {
		detail = append(detail, "Complications: "+w)
	}
	var devices []Reference
	for _, d := range v.FocalDevice {
		devices = append(devices, d.Manipulated)
	}
	if w := displaysOf(devices...); w != "" {
		detail = append(detail, "Device: "+w)
	}
	if w := wordsOf(v.FollowUp); w != "" {
		detail = append(detail, "Follow-up: "+w)
	}
	it.Detail = strings.Join(detail, ". ")
	if it.DedupKey != "" && it.Date == "" && strings.TrimSpace(v.PerformedString) != "" {
		// A procedure known only in words is its own, as a vaccination so
		// known is. The body site is not in the key: one source's report with
		// a site and another's without, or worded otherwise ("Left knee",
		// "Structure of left knee joint"), are one procedure, and the entry's
		// page lists each report's words.
		it.DedupKey += "|" + keyWords(v.PerformedString)
	}
	return []Item{it}, v.about, nil
}

func projectDocument(raw []byte) ([]Item, about, error) {
	var v struct {
		about
		Status      string            `json:"status"`
		DocStatus   string            `json:"docStatus"`
		Type        CodeableConcept   `json:"type"`
		Category    []CodeableConcept `json:"category"`
		Date        string            `json:"date"`
		Description string            `json:"description"`
		Author      []Reference       `json:"author"`
		Custodian   Reference         `json:"custodian"`
		Master      Identifier        `json:"masterIdentifier"`
		Content     []struct {
			Attachment struct {
				Attachment
				Hash string `json:"hash"`
				Data string `json:"data"`
			} `json:"attachment"`
		} `json:"content"`
		Context struct {
			Period Period `json:"period"`
		} `json:"context"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, about{}, err
	}
	what := v.Type
	if what.Words() == "" && v.Description != "" {
		what.Text = v.Description
	}
	if what.Words() == "" && len(v.Content) > 0 {
		what.Text = v.Content[0].Attachment.Title
	}
	status := v.Status
	if v.Status == "current" {
		// What the document itself is: a draft, or one recorded in error, is
		// not the current word (found by a clinical-safety review: a draft
		// discharge summary read as current).
		switch v.DocStatus {
		case "preliminary":
			status = "draft"
		case "entered-in-error":
			status = v.DocStatus
		}
	}
	it := item(SectionDocuments, what, "Document", firstNonEmpty(v.Date, v.Context.Period.Start), status)
	it.Reasons += otherCodes(it, v.Category...)
	it.Organisation, it.OrganisationRef = who(append([]Reference{v.Custodian}, v.Author...)...)
	if v.Description != "" && v.Description != it.Display {
		it.Detail = v.Description
	}
	if it.DedupKey != "" && len(v.Content) > 0 {
		// Two sources' documents of one type on one day are one letter only
		// when they say they are (the same master identifier) or hold the
		// same content; else each is its own, never hiding the other (a
		// clinical-safety review: a hospital's "Start rivaroxaban" letter was
		// reachable only from the GP's "Stop taking aspirin" one).
		if a := v.Content[0].Attachment; v.Master.Value != "" {
			it.DedupKey += "|id:" + v.Master.System + "|" + v.Master.Value
		} else {
			it.DedupKey = withContent(it.DedupKey, a.Hash, a.Data, len(v.Content))
		}
	}
	return []Item{it}, v.about, nil
}

// projectGoal is a health goal, with the care plans: "Goal: Maintain blood
// pressure below 140/90 mmHg", in progress or achieved. A plan's page links
// the goals it names (store related). Before, no page showed goals (a
// review of real records: a diabetes plan's five).
func projectGoal(raw []byte) ([]Item, about, error) {
	var v struct {
		about
		LifecycleStatus   string          `json:"lifecycleStatus"`
		AchievementStatus CodeableConcept `json:"achievementStatus"`
		Description       CodeableConcept `json:"description"`
		StartDate         string          `json:"startDate"`
		StatusDate        string          `json:"statusDate"`
		ExpressedBy       Reference       `json:"expressedBy"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, about{}, err
	}
	status := v.LifecycleStatus
	if a := v.AchievementStatus.First().Code; a != "" && (status == "active" || status == "accepted" || status == "completed") {
		status = a // in-progress, achieved, not-achieved…: what a person asks of a goal
	}
	it := item(SectionCarePlans, v.Description, "Health goal (not described)", firstNonEmpty(v.StartDate, v.StatusDate), status)
	it.Display = "Goal: " + it.Display
	// A goal is its plan's, not a fact two reports of are one: its words
	// come again in a later plan, achieved in one and not yet in the other,
	// and keeping one out must not keep out the other (a review).
	it.DedupKey = ""
	it.Organisation, it.OrganisationRef = who(v.ExpressedBy)
	return []Item{it}, v.about, nil
}

func projectCarePlan(raw []byte) ([]Item, about, error) {
	var v struct {
		about
		Status      string            `json:"status"`
		Intent      string            `json:"intent"`
		Title       string            `json:"title"`
		Description string            `json:"description"`
		Category    []CodeableConcept `json:"category"`
		Period      Period            `json:"period"`
		Created     string            `json:"created"`
		Author      Reference         `json:"author"`
		Activity    []struct {
			Detail struct {
				Code         CodeableConcept `json:"code"`
				Status       string          `json:"status"`
				DoNotPerform bool            `json:"doNotPerform"`
				Description  string          `json:"description"`
			} `json:"detail"`
		} `json:"activity"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, about{}, err
	}
	// Synthea's first category is a generic "care plan" code; the specific one is last.
	var what CodeableConcept
	for _, c := range v.Category {
		if c.Words() != "" {
			what = c
		}
	}
	if v.Title != "" {
		what = CodeableConcept{Coding: what.Coding, Text: v.Title}
	}
	// A plan only proposed is "Proposed", never Active (requestStatus).
	status, _ := requestStatus(v.Status, v.Intent)
	it := item(SectionCarePlans, what, "Care plan", firstNonEmpty(v.Period.Start, v.Created), status)
	// Its categories, and what its activities are, which its detail names
	// ("Includes: …"; a review: a plan of a psychiatric interview reached a carer).
	kinds := slices.Clone(v.Category)
	for _, a := range v.Activity {
		kinds = append(kinds, a.Detail.Code)
	}
	it.Reasons += otherCodes(it, kinds...)
	if it.DedupKey != "" && v.Title != "" {
		// Two sources' plans of one category on one day are one plan only
		// when their titles agree: an asthma action plan and an epilepsy
		// rescue plan, both coded "Care plan", are two (a clinical-safety review).
		it.DedupKey += "|" + keyWords(v.Title)
	}
	// What the plan includes, and apart from it what it says not to do: a
	// step marked doNotPerform ("Bending the hip past 90 degrees") listed as
	// included reads as one to take (a clinical-safety review). A step
	// cancelled, stopped or recorded in error is no longer in the plan.
	var does, avoids []string
	seen := map[string]bool{}
	for _, a := range v.Activity {
		d := a.Detail
		w := firstNonEmpty(d.Code.Words(), d.Description)
		if w == "" || seen[w] || d.Status == "cancelled" || d.Status == "stopped" || d.Status == "entered-in-error" {
			continue
		}
		seen[w] = true
		if d.DoNotPerform {
			avoids = append(avoids, w)
		} else {
			does = append(does, w)
		}
	}
	var said []string
	if d := strings.TrimRight(strings.TrimSpace(v.Description), "."); d != "" {
		said = append(said, d) // the plan's own words, say what to do in an emergency, always
	}
	switch {
	case v.Period.End != "" && (v.Status == "active" || v.Status == "on-hold"):
		// In words on the page, which says when it has ended (views itemStatus).
		said = append(said, "Until "+dayOf(v.Period.End))
	case v.Period.End != "" && v.Status == "completed":
		// When it ended, as a condition's page says (a review: a respiratory
		// therapy plan gave only when it began).
		said = append(said, "Ended "+dayOf(v.Period.End))
	}
	if len(does) > 0 {
		said = append(said, "Includes: "+strings.Join(does, ", "))
	}
	if len(avoids) > 0 {
		said = append(said, "Avoid: "+strings.Join(avoids, ", "))
	}
	it.Detail = strings.Join(said, ". ")
	it.Organisation, it.OrganisationRef = who(v.Author)
	return []Item{it}, v.about, nil
}

func projectCareTeam(raw []byte) ([]Item, about, error) {
	var v struct {
		about
		Status      string          `json:"status"`
		Name        string          `json:"name"`
		Period      Period          `json:"period"`
		Category    json.RawMessage `json:"category"`
		Participant []struct {
			Role   []CodeableConcept `json:"role"`
			Member Reference         `json:"member"`
			Period Period            `json:"period"`
		} `json:"participant"`
		ManagingOrganization []Reference `json:"managingOrganization"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, about{}, err
	}
	org, orgRef := who(v.ManagingOrganization...)
	var items []Item
	for _, p := range v.Participant {
		// A member named only by a reference to a practitioner or an
		// organisation takes its name from it (Item.DisplayRef); the patient,
		// a relative or another team is no member to list.
		display, named := strings.TrimSpace(p.Member.Display), ""
		if display == "" {
			if named = NamedRef(p.Member.Reference); named == "" || strings.HasPrefix(named, "Medication/") {
				continue
			}
			display = "Care team member (name not recorded)"
		} else if strings.HasPrefix(p.Member.Reference, "Patient") {
			continue
		}
		var role CodeableConcept
		if len(p.Role) > 0 {
			role = p.Role[0]
		}
		end := firstNonEmpty(p.Period.End, v.Period.End)
		it := item(SectionCareTeam, role, "", firstNonEmpty(p.Period.Start, v.Period.Start), v.Status)
		it.Reasons += otherCodes(it, append(slices.Clone(p.Role), lenientConcepts(v.Category)...)...)
		it.Display = display
		it.DisplayRef = named
		// The member, as Type/id however the reference is written (a review:
		// written in full, a member kept out was shared again).
		it.Part = firstNonEmpty(NamedRef(p.Member.Reference), p.Member.Reference)
		var detail []string
		if r := role.Words(); r != "" {
			detail = append(detail, r)
		}
		if v.Name != "" {
			detail = append(detail, v.Name)
		}
		if end != "" {
			detail = append(detail, "Until "+dayOf(end)) // in words on the page, which says when it has ended (views itemStatus)
		}
		it.Detail = strings.Join(detail, " · ")
		it.Organisation, it.OrganisationRef = org, orgRef
		// One member of one team: the same name and role in another team
		// (a stroke team ended, district nursing now) is another entry, whose
		// status is its own (a clinical-safety review).
		it.DedupKey = strings.Join([]string{SectionCareTeam, strings.ToLower(it.Display), it.Code, keyWords(v.Name)}, "|")
		if named != "" {
			// Known by the reference, not by a name that may come later, and
			// by the role, code or words: a choice to keep one out holds by
			// its key whatever the order the roles come in (reviews: kept by
			// the member's place in the list, it moved to another role).
			// Another server's Practitioner/1 is another person: a reference
			// stands only at its own server (Prepared.AtServer), so two
			// sources share this key only with that too, the team's name and
			// the role.
			it.DedupKey = strings.Join([]string{SectionCareTeam, "ref " + strings.ToLower(named), firstNonEmpty(it.Code, keyWords(role.Words())), keyWords(v.Name)}, "|")
		}
		items = append(items, it)
	}
	if len(items) == 0 {
		it := item(SectionCareTeam, CodeableConcept{Text: v.Name}, "Care team", v.Period.Start, v.Status)
		it.Reasons += otherCodes(it, lenientConcepts(v.Category)...)
		if v.Period.End != "" {
			it.Detail = "Until " + dayOf(v.Period.End)
		}
		it.Organisation, it.OrganisationRef = org, orgRef
		items = append(items, it)
	}
	return items, v.about, nil
}

// checkPatient and checkNamed read the resource to catch a malformed one; they give no items.
func checkPatient(raw []byte) ([]Item, about, error) {
	_, err := ParsePatient(raw)
	return nil, about{}, err
}

func checkNamed(raw []byte) ([]Item, about, error) {
	_, err := ParseName(raw)
	return nil, about{}, err
}

// ParseName reads the name of an Organization or Practitioner, in plain words.
func ParseName(raw []byte) (string, error) {
	var v struct {
		Name json.RawMessage `json:"name"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", err
	}
	if len(v.Name) == 0 {
		return "", nil
	}
	var s string
	if json.Unmarshal(v.Name, &s) == nil {
		return s, nil // Organization.name
	}
	var names []HumanName
	if err := json.Unmarshal(v.Name, &names); err != nil {
		return "", fmt.Errorf("name should be text or a list of names: %w", err)
	}
	n, _ := officialName(names)
	if n.Text != "" {
		return clinicianName(n.Text), nil
	}
	return clinicianName(strings.Join(append(append(append([]string{}, n.Prefix...), n.Given...), n.Family), " ")), nil
}

// dayOf is the day a FHIR date or date-time falls on, as the pages name
// days (views formatDate): a time in UTC on its UK day, so a condition that
// ended at 23:30 UTC on a summer night ended the next day, as its start
// would say (found by a clinical-safety review); a time with another offset
// on the day as written.
func dayOf(s string) string {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00"} { // with seconds or without
		if t, err := time.Parse(layout, s); err == nil {
			if _, offset := t.Zone(); offset == 0 {
				t = t.In(UKZone())
			}
			return t.Format("2006-01-02")
		}
	}
	return s[:min(10, len(s))]
}

// keyWords is words as a key holds them: in lower case, one space between
// each, so "Falls  Prevention" and "falls prevention" are one.
func keyWords(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}

// wordsOf is the words of each concept that has some, joined by commas.
func wordsOf(ccs []CodeableConcept) string {
	var w []string
	for _, c := range ccs {
		if s := c.Words(); s != "" {
			w = append(w, s)
		}
	}
	return strings.Join(w, ", ")
}

// bodySiteWords is wordsOf for parts of the body, in the words a person
// uses: SNOMED CT names each as a body structure ("Left eye structure",
// "Structure of right knee", "Entire heart"), which a patient reads as
// jargon (a plain-English review: "Where: Left eye structure").
func bodySiteWords(ccs []CodeableConcept) string {
	var w []string
	for _, c := range ccs {
		s := c.Words()
		if rest, ok := cutPrefixFold(s, "structure of "); ok {
			s = rest
		} else if rest, ok := cutPrefixFold(s, "entire "); ok {
			s = rest
		} else if len(s) > len(" structure") && strings.EqualFold(s[len(s)-len(" structure"):], " structure") {
			s = s[:len(s)-len(" structure")]
		}
		s = strings.TrimSpace(s)
		if plain, ok := bodyNouns[strings.ToLower(s)]; ok {
			s = plain // "Thoracic structure" is the chest (a product review: "Where: Thoracic")
		}
		if s = upperFirst(s); s != "" {
			w = append(w, s)
		}
	}
	return strings.Join(w, ", ")
}

// bodyNouns are the parts of the body SNOMED CT names by an adjective or a
// Latin word, in the words a person uses; only those that can mean nothing
// else ("Cervical" is the neck or the cervix, so it stays).
var bodyNouns = map[string]string{
	"thoracic": "Chest", "thorax": "Chest", "abdominal": "Abdomen", "cardiac": "Heart",
	"pulmonary": "Lung", "renal": "Kidney", "hepatic": "Liver", "gastric": "Stomach",
}

// cutPrefixFold is strings.CutPrefix, ignoring case.
func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) > len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// displaysOf is the display text of each reference that has some, joined by
// commas.
func displaysOf(refs ...Reference) string {
	var w []string
	for _, r := range refs {
		if s := strings.TrimSpace(r.Display); s != "" {
			w = append(w, s)
		}
	}
	return strings.Join(w, ", ")
}

// momentOf is the moment a FHIR date-time names, to the minute in UTC, so
// 09:30+01:00 and 08:30Z are one; a date, or a date-time at midnight UK time
// (a day, as views.itemDate shows it), is its day (dayOf).
func momentOf(s string) string {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00", "2006-01-02T15:04:05", "2006-01-02T15:04"} {
		// A time without an offset, which FHIR does not allow, is UK time, as
		// the pages show it (views itemDate).
		if t, err := time.ParseInLocation(layout, s, UKZone()); err == nil {
			if uk := t.In(UKZone()); uk.Hour() == 0 && uk.Minute() == 0 {
				return dayOf(s)
			}
			return t.UTC().Format("2006-01-02T15:04Z")
		}
	}
	return dayOf(s)
}

// UKZone is UK time (Europe/London), in which people name days: the date a
// carer's access ends begins at midnight there, not at midnight UTC, an hour
// earlier in summer. The binary carries the zone data (time/tzdata in
// cmd/portal), so it does not depend on the machine's. store.UKZone is it.
var UKZone = sync.OnceValue(func() *time.Location {
	if l, err := time.LoadLocation("Europe/London"); err == nil {
		return l
	}
	return time.UTC
})

// Package fhir reads the FHIR R4 JSON the portal caches and projects each
// resource into the record items its pages show.
//
// It deliberately decodes only the fields the pages use into small structs
// and keeps every resource's raw JSON, so nothing a source sent is lost and
// export can give it back unchanged.
package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// NHSNumberSystem is the identifier system of the NHS number.
const NHSNumberSystem = "https://fhir.nhs.uk/Id/nhs-number"

// Resource is one FHIR resource as received: its type, id and version, and its raw JSON.
type Resource struct {
	Type        string
	ID          string
	VersionID   string
	LastUpdated string
	FullURL     string // the bundle entry's fullUrl, e.g. "urn:uuid:…", used to resolve references within a file
	Place       string // where it is in its file, e.g. "entry 3" or "line 7"; "" when not read from a file
	Raw         json.RawMessage
	// Damaged says why the resource cannot be kept as it is, e.g. text that
	// is not UTF-8, which would make every export of it invalid JSON;
	// Prepare sets such a resource aside with this reason. "" when whole.
	Damaged string
}

// header is what every resource has.
type header struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
	Meta         struct {
		VersionID   string `json:"versionId"`
		LastUpdated string `json:"lastUpdated"`
	} `json:"meta"`
}

// bundleTypes are the kinds of Bundle that carry resources to load.
var bundleTypes = map[string]bool{"collection": true, "transaction": true, "batch": true, "searchset": true, "history": true, "document": true, "message": true, "transaction-response": true, "batch-response": true}

// ParseBundle reads a FHIR R4 Bundle and returns the resources in its
// entries, as ReadBundle does, without saying which entries it left out.
func ParseBundle(data []byte) ([]Resource, error) {
	res, _, err := ReadBundle(data)
	return res, err
}

// Skipped is a Bundle entry ReadBundle left out, and why, e.g. entry 4,
// "it holds no resource, so there was nothing to import".
type Skipped struct {
	Entry int // 1-based
	Why   string
}

func (s Skipped) String() string { return fmt.Sprintf("entry %d: %s", s.Entry, s.Why) }

// bundleEntry is what ReadBundle reads of an entry.
type bundleEntry struct {
	FullURL  string          `json:"fullUrl"`
	Resource json.RawMessage `json:"resource"`
	Request  struct {
		Method string `json:"method"`
		URL    string `json:"url"`
	} `json:"request"`
	Response struct {
		Status       string `json:"status"`
		LastModified string `json:"lastModified"`
	} `json:"response"`
}

// ReadBundle reads a FHIR R4 Bundle and returns the resources in its entries
// and the entries it left out, each with why: one with no resource (or a
// null one), a request to delete, a copy of an earlier entry, or, in a
// history, a version older than another of the same resource. A Bundle that
// holds one resource twice with different contents is refused, since which
// to keep cannot be told; a history holds versions, and the newest is kept.
// Errors say where in data: the line and column, or the entry number when
// the fault is the entry's as a whole.
func ReadBundle(data []byte) ([]Resource, []Skipped, error) {
	data, err := UTF8(data)
	if err != nil {
		return nil, nil, err
	}
	var b struct {
		ResourceType string        `json:"resourceType"`
		Type         string        `json:"type"`
		Entry        []bundleEntry `json:"entry"`
	}
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, nil, jsonError(data, err)
	}
	if b.ResourceType != "Bundle" {
		if b.ResourceType == "" {
			return nil, nil, errors.New("not a FHIR resource: there is no resourceType")
		}
		return nil, nil, fmt.Errorf("resourceType is %q, expected \"Bundle\"", b.ResourceType)
	}
	if !bundleTypes[b.Type] {
		return nil, nil, fmt.Errorf("bundle type %q is not one the portal loads (collection, transaction, batch, searchset …)", b.Type)
	}
	file := &lines{data: data, line: 1}
	var starts []int64 // where each entry's resource begins; looked for only to place a fault
	var skipped []Skipped
	vs := versions{history: b.Type == "history", at: map[string]int{}}
	for i, e := range b.Entry {
		n := i + 1
		method := strings.ToUpper(e.Request.Method)
		if method == "DELETE" {
			// A file is loaded into the cache: what it says was deleted stays
			// until the source's own sync says so.
			why := fmt.Sprintf("it asks to delete %s, and portal import never deletes what is stored, so it was not applied", e.Request.URL)
			if vs.history {
				if typ, id, ok := resourceNamed(e.Request.URL); ok {
					vs.add(n, typ+"/"+id, nil, e.Response.LastModified, why)
					continue
				}
			}
			skipped = append(skipped, Skipped{n, why})
			continue
		}
		if len(e.Resource) == 0 || string(e.Resource) == "null" {
			skipped = append(skipped, Skipped{n, emptyEntry(e)})
			continue
		}
		in := func() span {
			if starts == nil {
				starts = resourceStarts(data, len(b.Entry))
			}
			at := starts[i]
			if at < 0 || !bytes.HasPrefix(data[at:], e.Resource) {
				at = -1
			}
			return span{file, at}
		}
		r, err := parseResource(e.Resource, in)
		if err != nil {
			if !placed(err) {
				err = fmt.Errorf("entry %d: %w", n, err)
			}
			return nil, nil, err
		}
		r.FullURL = e.FullURL
		if r.Place == "" {
			r.Place = fmt.Sprintf("entry %d", n)
		}
		if r.ID == "" {
			// Transaction bundles may leave the id to the server; the fullUrl names the resource within the file.
			r.ID = strings.TrimPrefix(e.FullURL, "urn:uuid:")
			if r.ID == "" || strings.Contains(r.ID, "/") {
				return nil, nil, fmt.Errorf("entry %d: the %s has no id and no urn:uuid fullUrl to name it", n, r.Type)
			}
		}
		if err := vs.add(n, r.Type+"/"+r.ID, &r, r.LastUpdated, ""); err != nil {
			return nil, nil, err
		}
	}
	out, left := vs.result()
	skipped = append(skipped, left...)
	slices.SortFunc(skipped, func(a, b Skipped) int { return a.Entry - b.Entry })
	return out, skipped, nil
}

// emptyEntry says why an entry with no resource was left out.
func emptyEntry(e bundleEntry) string {
	switch {
	case e.Request.Method != "":
		return fmt.Sprintf("it is a %s request for %s with no resource, so there was nothing to import", strings.ToUpper(e.Request.Method), e.Request.URL)
	case e.Response.Status != "":
		return fmt.Sprintf("it is a response (%s) with no resource, so there was nothing to import", e.Response.Status)
	case e.Resource != nil:
		return "its resource is null, so there was nothing to import"
	}
	return "it holds no resource, so there was nothing to import"
}

// resourceNamed reads the type and id a request's url names:
// "Observation/1", "https://host/fhir/Observation/1/_history/2".
func resourceNamed(url string) (typ, id string, ok bool) {
	url, _, _ = strings.Cut(url, "?")
	segs := strings.Split(strings.Trim(url, "/"), "/")
	if len(segs) >= 4 && segs[len(segs)-2] == "_history" {
		segs = segs[:len(segs)-2]
	}
	if len(segs) < 2 || !IsR4Type(segs[len(segs)-2]) || !validID(segs[len(segs)-1]) || segs[len(segs)-1] == "" {
		return "", "", false
	}
	return segs[len(segs)-2], segs[len(segs)-1], true
}

// versions gathers a Bundle's resources by type and id: a second entry for
// one is a copy, left out, or, with different contents, a fault; in a
// history it is another version, and the newest is kept.
type versions struct {
	history bool
	at      map[string]int // "Type/id" → its entry in list
	list    []version
}

// version is one entry's resource, or (res nil) a history's deletion of one.
type version struct {
	entry   int
	name    string
	res     *Resource
	when    string // lastUpdated, or a deletion's lastModified; "" when not given
	deleted string // why a deletion was not applied
	older   []Skipped
}

func (vs *versions) add(entry int, name string, r *Resource, when, deleted string) error {
	v := version{entry: entry, name: name, res: r, when: when, deleted: deleted}
	j, ok := vs.at[name]
	if !ok {
		vs.at[name] = len(vs.list)
		vs.list = append(vs.list, v)
		return nil
	}
	prev := &vs.list[j]
	switch {
	case !vs.history && bytes.Equal(prev.res.Raw, r.Raw):
		prev.older = append(prev.older, Skipped{entry, fmt.Sprintf("%s is the same as in entry %d, so it was imported once", name, prev.entry)})
	case !vs.history:
		return fmt.Errorf("entries %d and %d both hold %s, with different contents: a Bundle holds each resource once, so which to keep cannot be told", prev.entry, entry, name)
	case newer(v.when, prev.when):
		v.older = append(prev.older, olderVersion(*prev, v))
		*prev = v
	default:
		prev.older = append(prev.older, olderVersion(v, *prev))
	}
	return nil
}

// newer reports whether a version last changed at a is newer than one at b
// listed before it: a history lists the newest first, so only a later time
// says otherwise.
func newer(a, b string) bool {
	ta, errA := time.Parse(time.RFC3339Nano, a)
	tb, errB := time.Parse(time.RFC3339Nano, b)
	return errA == nil && errB == nil && ta.After(tb)
}

// olderVersion says why version old of a history was left out for newest.
func olderVersion(old, newest version) Skipped {
	if old.res == nil {
		return Skipped{old.entry, old.deleted}
	}
	what := old.name
	if old.res.VersionID != "" {
		what += " version " + old.res.VersionID
	}
	if newest.res == nil {
		return Skipped{old.entry, fmt.Sprintf("%s was deleted later in this history (entry %d), so it was not imported", what, newest.entry)}
	}
	return Skipped{old.entry, fmt.Sprintf("%s is older than the version in entry %d, which was imported instead", what, newest.entry)}
}

// result is the resources to import, in the order of their entries, and the
// entries left out.
func (vs *versions) result() ([]Resource, []Skipped) {
	out := make([]Resource, 0, len(vs.list))
	var skipped []Skipped
	slices.SortFunc(vs.list, func(a, b version) int { return a.entry - b.entry })
	for _, v := range vs.list {
		skipped = append(skipped, v.older...)
		if v.res == nil {
			skipped = append(skipped, Skipped{v.entry, v.deleted})
			continue
		}
		out = append(out, *v.res)
	}
	return out, skipped
}

// ParseNDJSON reads newline-delimited FHIR resources (bulk data export format), one per line.
// Blank lines are skipped; errors name the line, and the column where there is one.
// A line that does not read as a resource fails the whole (ReadNDJSON does not).
func ParseNDJSON(data []byte) ([]Resource, error) {
	res, bad := ReadNDJSON(data)
	if len(bad) > 0 {
		return nil, bad[0].Err
	}
	return res, nil
}

// BadLine is a line of NDJSON that does not read as a resource.
type BadLine struct {
	Line int
	Raw  []byte // the line, without the space around it
	Err  error  // names the line, and the column where there is one
}

// ReadNDJSON reads newline-delimited FHIR resources, one per line, as
// ParseNDJSON does, and gives the lines that do not read as a resource
// (not JSON, no resourceType, no id) apart, each with why, rather than fail
// on the first: each line is a resource of its own.
func ReadNDJSON(data []byte) ([]Resource, []BadLine) {
	data, err := UTF8(data)
	if err != nil {
		return nil, []BadLine{{Line: 1, Err: err}}
	}
	var out []Resource
	var bad []BadLine
	var start int64 // of the line, in data
	for n, line := range bytes.Split(data, []byte("\n")) {
		lineStart := start
		start += int64(len(line)) + 1
		trimmed := bytes.TrimLeftFunc(line, unicode.IsSpace)
		first := lineStart + int64(len(line)-len(trimmed))
		line = bytes.TrimRightFunc(trimmed, unicode.IsSpace)
		if len(line) == 0 {
			continue
		}
		r, err := parseResource(line, func() span {
			return span{&lines{data: data, off: lineStart, line: n + 1, start: lineStart}, first}
		})
		switch {
		case err != nil && !placed(err):
			err = fmt.Errorf("line %d: %w", n+1, err)
		case err == nil && r.Type == "Bundle" && BundleOnALine(r.Raw) != nil:
			err = fmt.Errorf("line %d: %w", n+1, BundleOnALine(r.Raw))
		case err == nil && r.ID == "":
			err = fmt.Errorf("line %d: the %s has no id", n+1, r.Type)
		}
		if err != nil {
			bad = append(bad, BadLine{Line: n + 1, Raw: line, Err: err})
			continue
		}
		if r.Place == "" {
			r.Place = fmt.Sprintf("line %d", n+1)
		}
		out = append(out, r)
	}
	return out, bad
}

// BundleOnALine refuses a Bundle on an NDJSON line that holds resources to
// import (a patient's Bundle written on one line, as jq -c writes it): it was
// stored whole, as a resource no page shows, and the import said it had
// added one resource (a review). A document or a message, which is a
// resource in its own right, is kept as one.
func BundleOnALine(raw []byte) error {
	var b struct {
		Type  string            `json:"type"`
		Entry []json.RawMessage `json:"entry"`
	}
	if json.Unmarshal(raw, &b) != nil || b.Type == "document" || b.Type == "message" {
		return nil
	}
	kind := b.Type
	if kind == "" {
		kind = "of no type"
	}
	entries := fmt.Sprintf("%d entries", len(b.Entry))
	if len(b.Entry) == 1 {
		entries = "1 entry"
	}
	return fmt.Errorf("a Bundle (%s) of %s: an NDJSON line holds one resource; to import what a Bundle holds, save it as a .json file", kind, entries)
}

// UTF8 is data without the byte order mark a UTF-8 file may begin with, or
// an error saying that the text is UTF-16 or UTF-32: JSON read as UTF-8 from
// either fails on its first byte with a reason that names a stray character.
func UTF8(data []byte) ([]byte, error) {
	const saveAs = "FHIR JSON must be UTF-8: save it again as UTF-8 (for example with iconv -f %s -t UTF-8)"
	switch {
	case bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}):
		return data[3:], nil
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE, 0, 0}), bytes.HasPrefix(data, []byte{0, 0, 0xFE, 0xFF}):
		return nil, fmt.Errorf("the file is UTF-32 text, and "+saveAs, "UTF-32")
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}), bytes.HasPrefix(data, []byte{0xFE, 0xFF}),
		// No mark: JSON begins with a character of ASCII, which UTF-16 writes as two bytes, one of them 0.
		len(data) >= 2 && (data[0] == 0) != (data[1] == 0):
		return nil, fmt.Errorf("the file is UTF-16 text, and "+saveAs, "UTF-16")
	}
	return data, nil
}

// ParseResource reads one resource's header and keeps its JSON, compacted.
// Its errors give places in raw.
func ParseResource(raw []byte) (Resource, error) {
	return parseResource(raw, nil)
}

// span is where a resource's text lies in the file it was read from: its
// errors then name the file's line and column, not the resource's.
type span struct {
	file  *lines
	start int64 // of the resource's first byte in the file; -1 when not known
}

// parseResource is ParseResource for a resource read from a file when in is
// not nil: in says where, and is only asked when there is a fault to place.
// A fault placed in the file is worded with its place and, for text that is
// not UTF-8, given as the resource's Place.
func parseResource(raw []byte, in func() span) (Resource, error) {
	var h header
	if err := json.Unmarshal(raw, &h); err != nil {
		return Resource{}, jsonErrorIn(raw, err, in)
	}
	if h.ResourceType == "" {
		return Resource{}, errors.New("not a FHIR resource: there is no resourceType")
	}
	if !validID(h.ID) {
		return Resource{}, fmt.Errorf("the %s id %q is not a valid FHIR id (letters, digits, '-' and '.', at most 64)", h.ResourceType, h.ID)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return Resource{}, jsonErrorIn(raw, err, in)
	}
	r := Resource{Type: h.ResourceType, ID: h.ID, VersionID: h.Meta.VersionID, LastUpdated: h.Meta.LastUpdated, Raw: buf.Bytes()}
	if !IsR4Type(r.Type) {
		r.Damaged = fmt.Sprintf("%q is not a FHIR R4 resource type", r.Type)
		return r, nil
	}
	// encoding/json reads bytes that are not UTF-8 as U+FFFD but Compact keeps
	// them: stored, they would make each export of the record invalid JSON.
	if at := invalidUTF8(raw); at >= 0 {
		if place, ok := placeIn(in, int64(at)); ok {
			r.Place = place
			r.Damaged = "not UTF-8 text (FHIR JSON must be UTF-8)"
		} else {
			r.Damaged = fmt.Sprintf("byte %d of the resource is not UTF-8 text (FHIR JSON must be UTF-8)", at)
		}
	}
	return r, nil
}

// placeIn names the file's line and column of the byte at offset in a
// resource the span in gives; false when in is nil or does not know.
func placeIn(in func() span, offset int64) (string, bool) {
	if in == nil {
		return "", false
	}
	sp := in()
	if sp.start < 0 {
		return "", false
	}
	line, col := sp.file.position(sp.start + offset)
	return fmt.Sprintf("line %d, column %d", line, col), true
}

// invalidUTF8 is the offset of the first byte of b that is not UTF-8, or -1.
func invalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		c, n := utf8.DecodeRune(b[i:])
		if c == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}

func validID(id string) bool {
	if len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// jsonError turns a decoding error into one that says where in the text it
// is, and what is wrong in plain words. It wraps err, so jsonReason can word
// it again without the place.
func jsonError(data []byte, err error) error {
	return jsonErrorIn(data, err, nil)
}

// jsonErrorIn is jsonError for data read from a file when in is not nil: the
// place is the file's line and column, and is left out (placed reports
// false) when in does not know where data is.
func jsonErrorIn(data []byte, err error, in func() span) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var offset int64
	var why string
	switch {
	case errors.As(err, &syn) && syn.Error() == "unexpected end of JSON input",
		err.Error() == "unexpected end of JSON input":
		offset, why = int64(len(data)), "invalid JSON: the text ends too soon"
	case errors.As(err, &syn):
		offset, why = syn.Offset-1, "invalid JSON: "+syn.Error() // Offset counts the offending byte
	case errors.As(err, &typ) && typ.Offset > 0:
		offset, why = typ.Offset, jsonReason(err)
	default:
		return &placedError{msg: jsonReason(err), err: err}
	}
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	if in == nil {
		line, col := position(data, offset)
		return &placedError{fmt.Sprintf("line %d, column %d: %s", line, col, why), err, true}
	}
	if place, ok := placeIn(in, offset); ok {
		return &placedError{place + ": " + why, err, true}
	}
	return &placedError{msg: why, err: err}
}

// placedError is a JSON error worded with its place, when it has one.
type placedError struct {
	msg    string
	err    error
	placed bool // msg begins with the line and column
}

func (e *placedError) Error() string { return e.msg }
func (e *placedError) Unwrap() error { return e.err }

// placed reports whether err already names its line and column.
func placed(err error) bool {
	var p *placedError
	return errors.As(err, &p) && p.placed
}

// embeddedFields are Go struct fields the projections embed; encoding/json
// names them in a field's path, but they are not in the resource.
var embeddedFields = map[string]bool{"header": true, "patientRefs": true, "about": true, "observationValue": true}

// jsonReason says in plain words why a resource's fields could not be read,
// naming the field and never a Go type.
func jsonReason(err error) string {
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		var path []string
		for _, f := range strings.Split(typ.Field, ".") {
			if f != "" && !embeddedFields[f] {
				path = append(path, f)
			}
		}
		field := strings.Join(path, ".")
		if field == "" {
			field = "the resource"
		}
		return fmt.Sprintf("%s should be %s, not %s", field, plainType(typ.Type), plainValue(typ.Value))
	}
	msg := err.Error()
	if literal, ok := strings.CutPrefix(msg, "json: invalid number literal, trying to unmarshal "); ok {
		return "a number is written as text: " + strings.TrimSuffix(literal, " into Number")
	}
	if rest, ok := strings.CutPrefix(msg, "json: "); ok {
		return "invalid JSON: " + rest
	}
	return msg
}

// plainType names what a Go type holds as a FHIR author would say it.
func plainType(t reflect.Type) string {
	if t == reflect.TypeFor[json.Number]() {
		return "a number"
	}
	switch t.Kind() {
	case reflect.String:
		return "text"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list [ … ]"
	case reflect.Pointer:
		return plainType(t.Elem())
	}
	return "an object { … }"
}

// plainValue names the kind of JSON value json.UnmarshalTypeError reports.
func plainValue(v string) string {
	switch {
	case v == "string":
		return "text"
	case v == "bool":
		return "true or false"
	case v == "array":
		return "a list"
	case v == "object":
		return "an object"
	case v == "number", strings.HasPrefix(v, "number "):
		return "a number"
	}
	return v
}

// position converts a byte offset to a 1-based line and column.
func position(data []byte, offset int64) (line, col int) {
	return (&lines{data: data, line: 1}).position(offset)
}

// lines converts byte offsets in a file's text to 1-based lines and columns
// (in bytes), counting on from the last offset it was asked about, since a
// file's faults are found in order: a file with many costs one pass.
type lines struct {
	data  []byte
	off   int64 // the last offset asked about
	line  int   // off's line
	start int64 // the offset where that line begins
}

func (l *lines) position(offset int64) (line, col int) {
	offset = min(max(offset, 0), int64(len(l.data)))
	if offset < l.off {
		l.off, l.line, l.start = 0, 1, 0
	}
	seg := l.data[l.off:offset]
	if n := bytes.Count(seg, []byte("\n")); n > 0 {
		l.line += n
		l.start = l.off + int64(bytes.LastIndexByte(seg, '\n')) + 1
	}
	l.off = offset
	return l.line, int(offset-l.start) + 1
}

// resourceStarts finds where each of a Bundle's entries' resource begins in
// its text, -1 where it cannot, reading the JSON as json.Unmarshal does: the
// last "entry" list, each entry's last "resource", keys in any case. It reads
// the whole text again, so it is only run to place a fault.
func resourceStarts(data []byte, entries int) []int64 {
	starts := make([]int64, entries)
	for i := range starts {
		starts[i] = -1
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return starts
	}
	var found []int64
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return starts
		}
		if k, _ := key.(string); !strings.EqualFold(k, "entry") {
			if skipValue(dec) != nil {
				return starts
			}
			continue
		}
		if found, err = entryStarts(dec, data); err != nil {
			return starts
		}
	}
	if len(found) == entries {
		copy(starts, found)
	}
	return starts
}

// entryStarts is resourceStarts for the entry list dec is at.
func entryStarts(dec *json.Decoder, data []byte) ([]int64, error) {
	t, err := dec.Token()
	if err != nil || t == nil {
		return nil, err // "entry": null holds none
	}
	if t != json.Delim('[') {
		return nil, errors.New("entry is not a list")
	}
	var starts []int64
	for dec.More() {
		at := int64(-1)
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		if t == json.Delim('{') {
			for dec.More() {
				key, err := dec.Token()
				if err != nil {
					return nil, err
				}
				if k, _ := key.(string); strings.EqualFold(k, "resource") {
					at = valueStart(data, dec.InputOffset())
				}
				if err := skipValue(dec); err != nil {
					return nil, err
				}
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
		} else if t != nil {
			return nil, errors.New("an entry is not an object")
		}
		starts = append(starts, at)
	}
	_, err = dec.Token()
	return starts, err
}

// skipValue reads past the value dec is at.
func skipValue(dec *json.Decoder) error {
	var v json.RawMessage
	return dec.Decode(&v)
}

// valueStart is where the value after an object's key begins, from the
// offset just past the key.
func valueStart(data []byte, offset int64) int64 {
	for offset < int64(len(data)) && strings.IndexByte(" \t\r\n:", data[offset]) >= 0 {
		offset++
	}
	return offset
}

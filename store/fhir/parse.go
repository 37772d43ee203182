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
	"strings"
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

// ParseBundle reads a FHIR R4 Bundle and returns the resources in its entries.
// Errors say where in data: the line and column, or the entry number when
// the fault is the entry's as a whole.
func ParseBundle(data []byte) ([]Resource, error) {
	var b struct {
		ResourceType string `json:"resourceType"`
		Type         string `json:"type"`
		Entry        []struct {
			FullURL  string          `json:"fullUrl"`
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, jsonError(data, err)
	}
	if b.ResourceType != "Bundle" {
		if b.ResourceType == "" {
			return nil, errors.New("not a FHIR resource: there is no resourceType")
		}
		return nil, fmt.Errorf("resourceType is %q, expected \"Bundle\"", b.ResourceType)
	}
	if !bundleTypes[b.Type] {
		return nil, fmt.Errorf("bundle type %q is not one the portal loads (collection, transaction, batch, searchset …)", b.Type)
	}
	file := &lines{data: data, line: 1}
	var starts []int64 // where each entry's resource begins; looked for only to place a fault
	out := make([]Resource, 0, len(b.Entry))
	for i, e := range b.Entry {
		if len(e.Resource) == 0 || string(e.Resource) == "null" {
			continue // e.g. a DELETE in a transaction, or a response entry without a body
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
				err = fmt.Errorf("entry %d: %w", i+1, err)
			}
			return nil, err
		}
		r.FullURL = e.FullURL
		if r.Place == "" {
			r.Place = fmt.Sprintf("entry %d", i+1)
		}
		if r.ID == "" {
			// Transaction bundles may leave the id to the server; the fullUrl names the resource within the file.
			r.ID = strings.TrimPrefix(e.FullURL, "urn:uuid:")
			if r.ID == "" || strings.Contains(r.ID, "/") {
				return nil, fmt.Errorf("entry %d: the %s has no id and no urn:uuid fullUrl to name it", i+1, r.Type)
			}
		}
		out = append(out, r)
	}
	return out, nil
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

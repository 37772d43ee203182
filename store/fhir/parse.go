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
// Errors say where: the line and column of a JSON syntax error, or the entry number.
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
	out := make([]Resource, 0, len(b.Entry))
	for i, e := range b.Entry {
		if len(e.Resource) == 0 || string(e.Resource) == "null" {
			continue // e.g. a DELETE in a transaction, or a response entry without a body
		}
		r, err := ParseResource(e.Resource)
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", i+1, err)
		}
		r.FullURL = e.FullURL
		r.Place = fmt.Sprintf("entry %d", i+1)
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
// Blank lines are skipped; errors name the line.
func ParseNDJSON(data []byte) ([]Resource, error) {
	var out []Resource
	for n, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		r, err := ParseResource(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n+1, err)
		}
		if r.ID == "" {
			return nil, fmt.Errorf("line %d: the %s has no id", n+1, r.Type)
		}
		r.Place = fmt.Sprintf("line %d", n+1)
		out = append(out, r)
	}
	return out, nil
}

// ParseResource reads one resource's header and keeps its JSON, compacted.
func ParseResource(raw []byte) (Resource, error) {
	var h header
	if err := json.Unmarshal(raw, &h); err != nil {
		return Resource{}, jsonError(raw, err)
	}
	if h.ResourceType == "" {
		return Resource{}, errors.New("not a FHIR resource: there is no resourceType")
	}
	if !validID(h.ID) {
		return Resource{}, fmt.Errorf("the %s id %q is not a valid FHIR id (letters, digits, '-' and '.', at most 64)", h.ResourceType, h.ID)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return Resource{}, jsonError(raw, err)
	}
	r := Resource{Type: h.ResourceType, ID: h.ID, VersionID: h.Meta.VersionID, LastUpdated: h.Meta.LastUpdated, Raw: buf.Bytes()}
	// encoding/json reads bytes that are not UTF-8 as U+FFFD but Compact keeps
	// them: stored, they would make each export of the record invalid JSON.
	if at := invalidUTF8(raw); at >= 0 {
		r.Damaged = fmt.Sprintf("byte %d of the resource is not UTF-8 text (FHIR JSON must be UTF-8)", at)
	}
	return r, nil
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
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var msg string
	switch {
	case errors.As(err, &syn) && syn.Error() == "unexpected end of JSON input",
		err.Error() == "unexpected end of JSON input":
		line, col := position(data, int64(len(data)))
		msg = fmt.Sprintf("line %d, column %d: invalid JSON: the text ends too soon", line, col)
	case errors.As(err, &syn):
		line, col := position(data, syn.Offset-1) // Offset counts the offending byte
		msg = fmt.Sprintf("line %d, column %d: invalid JSON: %s", line, col, syn.Error())
	case errors.As(err, &typ) && typ.Offset > 0:
		line, col := position(data, typ.Offset)
		msg = fmt.Sprintf("line %d, column %d: %s", line, col, jsonReason(err))
	default:
		msg = jsonReason(err)
	}
	return &placedError{msg, err}
}

// placedError is a JSON error worded with its place.
type placedError struct {
	msg string
	err error
}

func (e *placedError) Error() string { return e.msg }
func (e *placedError) Unwrap() error { return e.err }

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
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	before := data[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(offset) - bytes.LastIndexByte(before, '\n')
	return line, col
}

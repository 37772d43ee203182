package fhir

import (
	"encoding/json"
	"fmt"
)

// WithMetaSource returns the resource's JSON with meta.source set to source,
// keeping every other field as it was.
func WithMetaSource(raw []byte, source string) ([]byte, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, fmt.Errorf("resource: %w", jsonError(raw, err))
	}
	if fields == nil { // JSON null (found by FuzzProject)
		return nil, fmt.Errorf("resource: not a JSON object")
	}
	meta := map[string]json.RawMessage{}
	if m, ok := fields["meta"]; ok {
		if err := json.Unmarshal(m, &meta); err != nil {
			return nil, fmt.Errorf("meta: %w", jsonError(m, err))
		}
		if meta == nil { // "meta": null, which a source may send
			meta = map[string]json.RawMessage{}
		}
	}
	src, err := json.Marshal(source)
	if err != nil {
		return nil, err
	}
	meta["source"] = src
	if fields["meta"], err = json.Marshal(meta); err != nil {
		return nil, err
	}
	return json.Marshal(fields)
}

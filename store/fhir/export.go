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
	meta := map[string]json.RawMessage{}
	if m, ok := fields["meta"]; ok {
		if err := json.Unmarshal(m, &meta); err != nil {
			return nil, fmt.Errorf("meta: %w", jsonError(m, err))
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

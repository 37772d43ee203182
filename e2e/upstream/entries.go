package upstream

import (
	"encoding/json"
	"fmt"
	"os"
)

// FirstEntries reads a Bundle's type and its first n entries without reading
// the rest of the file.
func FirstEntries(path string, n int) (string, []json.RawMessage, error) {
	file, err := os.Open(path)
	if err != nil {
		return "", nil, err
	}
	defer file.Close()
	dec := json.NewDecoder(file)
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return "", nil, fmt.Errorf("not a JSON object: %v", err)
	}
	var typ string
	var entries []json.RawMessage
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return "", nil, err
		}
		switch key {
		case "type":
			if err := dec.Decode(&typ); err != nil {
				return "", nil, err
			}
		case "entry":
			if _, err := dec.Token(); err != nil {
				return "", nil, err
			}
			for dec.More() && len(entries) < n {
				var e json.RawMessage
				if err := dec.Decode(&e); err != nil {
					return "", nil, err
				}
				entries = append(entries, e)
			}
			return typ, entries, nil
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return "", nil, err
			}
		}
	}
	return typ, entries, nil
}

package store

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/mycarerecord/portal/store/fhir"
)

// URI is what an exported resource's meta.source says about where it
// came from: the FHIR server's address, or a URN naming a set of imported files.
func (s Source) URI() string {
	if s.BaseURL != "" {
		return s.BaseURL
	}
	return "urn:mycarerecord:source:" + s.Name
}

// WriteBundle streams every cached resource about the person as a FHIR R4
// Bundle of type collection, each resource's meta.source naming where it came
// from, and returns how many resources it wrote. `portal export` and the
// download page both write through it, so the two can never differ.
func (db *DB) WriteBundle(ctx context.Context, personID int64, w io.Writer) (int, error) {
	ts, _ := json.Marshal(time.Now().UTC().Format(time.RFC3339))
	if _, err := fmt.Fprintf(w, `{"resourceType":"Bundle","type":"collection","timestamp":%s,"entry":[`, ts); err != nil {
		return 0, err
	}
	n := 0
	err := db.PersonResources(ctx, personID, func(c CachedResource) error {
		raw, err := fhir.WithMetaSource(c.Raw, c.Source.URI())
		if err != nil {
			return fmt.Errorf("%s/%s: %w", c.Type, c.ID, err)
		}
		sep := ","
		if n == 0 {
			sep = ""
		}
		fullURL := ""
		if c.Source.BaseURL != "" {
			u, _ := json.Marshal(c.Source.BaseURL + "/" + c.Type + "/" + c.ID)
			fullURL = `"fullUrl":` + string(u) + `,`
		}
		if _, err := fmt.Fprintf(w, `%s{%s"resource":%s}`, sep, fullURL, raw); err != nil {
			return err
		}
		n++
		return nil
	})
	if err != nil {
		return n, err
	}
	_, err = io.WriteString(w, "]}\n")
	return n, err
}

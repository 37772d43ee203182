package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// A record imported from Synthea files, whose entries are named urn:uuid:<id>
// and refer to each other so, downloads with each entry's fullUrl as in the
// file, once: every urn:uuid reference in the download resolves within it,
// and no fullUrl names two entries.
func TestDownloadOfImportedFilesResolvesItsReferences(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	data, err := os.ReadFile(filepath.Join(syntheaDir, "Lawerence6_Baumbach677_ea8d2576-4a23-4906-c353-bfed5adb23bd.json"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := fhir.ParseBundle(data)
	if err != nil {
		t.Fatal(err)
	}
	// The same file imported for two sources, as an operator might: each urn:uuid is one entry's fullUrl only.
	for _, source := range []string{"synthea", "synthea-again"} {
		if _, err := db.ImportResources(ctx, store.ImportOptions{Source: source, LinkSystems: []string{"https://github.com/synthetichealth/synthea"}}, "file", res); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := db.WriteBundle(ctx, 1, &buf); err != nil {
		t.Fatal(err)
	}
	var b struct {
		Entry []struct {
			FullURL string `json:"fullUrl"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(buf.Bytes(), &b); err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, e := range b.Entry {
		if e.FullURL != "" && have[e.FullURL] {
			t.Errorf("fullUrl %s names two entries", e.FullURL)
		}
		have[e.FullURL] = true
	}
	refs := regexp.MustCompile(`"reference":"(urn:uuid:[^"]+)"`).FindAllStringSubmatch(buf.String(), -1)
	missing := 0
	for _, r := range refs {
		if !have[r[1]] {
			missing++
		}
	}
	if len(refs) == 0 || missing > 0 {
		t.Errorf("%d of %d urn:uuid references resolve to no entry of the download", missing, len(refs))
	}
}

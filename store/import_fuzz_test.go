package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/mycarerecord/portal/e2e/upstream"
	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
	"github.com/mycarerecord/portal/store/fhirsync"
)

// FuzzImport stores any bytes as a Bundle and as NDJSON in a fresh database,
// as `portal import` and a bulk export would. Nothing may panic; a failure must
// be one of the store's plain-words errors and leave nothing half-written; what
// is stored must pass SQLite's integrity check, and importing the same bundle
// again must change nothing.
func FuzzImport(f *testing.F) {
	for _, in := range importSeeds(f) {
		f.Add(in)
	}
	for _, in := range []string{
		``, `{"resourceType":"Bundle","type":"collection"}`,
		`{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:p","resource":{"resourceType":"Patient","name":[{"family":"A"}]}},` +
			`{"resource":{"resourceType":"Condition","id":"c","subject":{"reference":"urn:uuid:p"},"code":{"text":"Asthma"}}},` +
			`{"resource":{"resourceType":"Condition","id":"c","subject":{"reference":"Patient/p"},"code":{"text":"Asthma again"}}}]}`,
		"{\"resourceType\":\"Patient\",\"id\":\"p\",\"identifier\":[{\"system\":\"https://fhir.nhs.uk/Id/nhs-number\",\"value\":\"9434765919\"}]}\n" +
			"{\"resourceType\":\"Patient\",\"id\":\"q\",\"identifier\":[{\"system\":\"https://fhir.nhs.uk/Id/nhs-number\",\"value\":\"9434765919\"}]}\n" +
			"{\"resourceType\":\"Observation\",\"id\":\"o\",\"subject\":{\"reference\":\"Patient/q\"},\"valueQuantity\":\"x\"}\nnot json\n",
	} {
		f.Add([]byte(in))
	}
	// One migrated database, copied for each input, so every run starts from
	// the same empty store and a crasher replays exactly.
	template := filepath.Join(f.TempDir(), "template.db")
	db, err := store.Open(context.Background(), template)
	if err != nil {
		f.Fatal(err)
	}
	db.Close()
	empty, err := os.ReadFile(template)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx := context.Background()
		path := filepath.Join(t.TempDir(), "portal.db")
		if err := os.WriteFile(path, empty, 0o600); err != nil {
			t.Fatal(err)
		}
		db, err := store.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		opts := store.ImportOptions{Source: "fuzz", OrgName: "Fuzz practice", LinkSystems: []string{"https://github.com/synthetichealth/synthea"}}

		if res, err := fhir.ParseBundle(data); err == nil {
			before := rowCount(t, path)
			first, err := db.ImportResources(ctx, opts, "fuzz.json", res)
			switch {
			case err != nil && store.ErrorCode(err) == store.EINTERNAL:
				t.Fatalf("import failed with an internal error: %v", err)
			case err != nil:
				if after := rowCount(t, path); after != before {
					t.Fatalf("a refused import wrote %d rows", after-before)
				}
			case !duplicated(res):
				again, err := db.ImportResources(ctx, opts, "fuzz.json", res)
				if err != nil {
					t.Fatalf("the same bundle imported once (%+v) but not twice: %v", first, err)
				}
				if again.Added != 0 || again.Updated != 0 || again.NewPersons != 0 {
					t.Fatalf("importing the same bundle again changed it: %+v", again)
				}
			}
		}
		if _, err := fhirsync.ImportNDJSON(ctx, db, opts, "fuzz.ndjson", bytes.NewReader(data), 3); err != nil && store.ErrorCode(err) == store.EINTERNAL {
			t.Fatalf("NDJSON import failed with an internal error: %v", err)
		}
		checkIntegrity(t, path)
	})
}

// duplicated reports whether a resource appears twice: the later copy wins, so
// importing such a bundle again rightly updates.
func duplicated(res []fhir.Resource) bool {
	seen := map[string]bool{}
	for _, r := range res {
		k := r.Type + "/" + r.ID
		if seen[k] {
			return true
		}
		seen[k] = true
	}
	return false
}

func rowCount(t *testing.T, path string) int {
	t.Helper()
	raw, err := sql.Open("sqlite3", "file:"+store.URIPath(path)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var n int
	err = raw.QueryRow(`SELECT (SELECT count(*) FROM resources) + (SELECT count(*) FROM record_items) + (SELECT count(*) FROM persons) +
		(SELECT count(*) FROM source_patients) + (SELECT count(*) FROM rejected_resources)`).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func checkIntegrity(t *testing.T, path string) {
	t.Helper()
	raw, err := sql.Open("sqlite3", "file:"+store.URIPath(path)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var ok string
	if err := raw.QueryRow(`PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("integrity check: %q %v", ok, err)
	}
	var orphans int
	if err := raw.QueryRow(`SELECT count(*) FROM record_items i WHERE NOT EXISTS (SELECT 1 FROM resources r WHERE r.source_id = i.source_id AND r.type = i.resource_type AND r.id = i.resource_id)`).Scan(&orphans); err != nil || orphans != 0 {
		t.Fatalf("%d record items without their resource (%v)", orphans, err)
	}
}

// importSeeds cuts short Bundles and NDJSON from the shared Synthea data: the
// first few entries of each bundle, which hold the patient and what points at it.
func importSeeds(f *testing.F) [][]byte {
	names, err := filepath.Glob(filepath.Join(syntheaDir, "*.json"))
	if err != nil || len(names) == 0 {
		f.Fatalf("shared FHIR data missing beside the repository: %v", err)
	}
	var out [][]byte
	for _, name := range names {
		typ, entries, err := upstream.FirstEntries(name, 6)
		if err != nil {
			f.Fatalf("%s: %v", name, err)
		}
		bundle, err := json.Marshal(map[string]any{"resourceType": "Bundle", "type": typ, "entry": entries})
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, bundle)
		res, err := fhir.ParseBundle(bundle)
		if err != nil {
			f.Fatalf("%s: %v", name, err)
		}
		var nd bytes.Buffer
		for _, r := range res {
			nd.Write(r.Raw)
			nd.WriteByte('\n')
		}
		out = append(out, nd.Bytes())
	}
	return out
}

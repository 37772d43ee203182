package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/mycarerecord/portal/store"
)

// Migration 0056 runs over every stored Provenance with no patient.
// A Provenance whose target list holds something other than an object (a bare
// reference string, as some feeds write it; a null) must not stop the portal
// from starting, as 0055 takes care that no field written otherwise can.
func TestMigration0056OnOddProvenance(t *testing.T) {
	for name, target := range map[string]string{
		"a bare string target":  `["Patient/p0"]`,
		"a null target":         `[null, {"reference":"Patient/p0"}]`,
		"a number target":       `[7]`,
		"reference not text":    `[{"reference":{"x":1}}]`,
		"an object, not a list": `{"reference":"Patient/p0"}`,
		"invalid json":          `[{"reference":"Patient/p0"}`,
		"a string element then": `["x", {"reference":"urn:uuid:p0"}]`,
	} {
		t.Run(name, func(t *testing.T) {
			db, path := mustOpenDBFile(t)
			importSources(t, db, []string{"gp"})
			prov := fmt.Sprintf(`{"resourceType":"Provenance","id":"prov1","target":%s,"recorded":"2025-01-01T00:00:00Z"}`, target)
			db.Close()
			raw, err := sql.Open("sqlite3", "file:"+store.URIPath(path))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := raw.Exec(`INSERT INTO resources (source_id, type, id, patient_id, json, stored_at) SELECT id, 'Provenance', 'prov1', '', ?, '2025-01-01' FROM sources WHERE name = 'gp'`, []byte(prov)); err != nil {
				t.Fatal(err)
			}
			if _, err := raw.Exec(`DELETE FROM schema_migrations WHERE version = 56`); err != nil {
				t.Fatal(err)
			}
			raw.Close()
			db2, err := store.Open(context.Background(), path)
			if err != nil {
				t.Fatalf("the portal does not start: %v", err)
			}
			db2.Close()
		})
	}
	_ = filepath.Join
}

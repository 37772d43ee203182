package store_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhirsync"
)

// What the import stores of entries' own codes ("own:"), Medications
// ("medref") and their codes ("med:") for Synthea bundles of both sets is
// what migration 0063 stores of the same data from scratch (a review
// compared all 61 bundles: 6,782 rows, the same).
func TestImportAndMigration0063StoreTheSameCodes(t *testing.T) {
	ctx := context.Background()
	db, path := mustOpenDBFile(t)
	var names []string
	for _, n := range []string{"hospitalInformation1633536936158.json", "practitionerInformation1633536936158.json",
		"Lawerence6_Baumbach677_ea8d2576-4a23-4906-c353-bfed5adb23bd.json", "Wendell_Lesch_853767e6-14a5-400e-8b95-636f87701943.json",
		"Monserrate_Mayert_0883b933-72d2-4f78-b06e-1b8646c8183c.json"} {
		names = append(names, filepath.Join(syntheaDir, n))
	}
	// Organisations and practitioners first, as a real load would.
	var first, rest []string
	for _, n := range names {
		if strings.Contains(n, "Information") {
			first = append(first, n)
		} else {
			rest = append(rest, n)
		}
	}
	for _, n := range append(first, rest...) {
		f, err := fhirsync.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "gp"}, f.Path, f.Resources); err != nil {
			t.Fatal(err)
		}
	}
	const own = `system GLOB 'own:*' OR system GLOB 'med:*' OR system = 'medref'`
	db = reopenWith(t, db, path, `CREATE TABLE codes_imported AS SELECT item_id, system, code FROM record_item_reasons WHERE `+own)
	start := time.Now()
	db = rerunMigration(t, db, path, 63, `DELETE FROM record_item_reasons WHERE `+own, `ALTER TABLE reference_names DROP COLUMN other_codes`)
	t.Logf("migration 0063 (with reopen) took %s", time.Since(start))
	raw, err := sql.Open("sqlite3", "file:"+store.URIPath(path))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var total, onlyImport, onlyMigration int
	q := func(s string, v *int) {
		if err := raw.QueryRow(s).Scan(v); err != nil {
			t.Fatal(err)
		}
	}
	q(`SELECT COUNT(*) FROM codes_imported`, &total)
	q(`SELECT COUNT(*) FROM (SELECT item_id, system, code FROM codes_imported EXCEPT SELECT item_id, system, code FROM record_item_reasons WHERE `+own+`)`, &onlyImport)
	q(`SELECT COUNT(*) FROM (SELECT item_id, system, code FROM record_item_reasons WHERE `+own+` EXCEPT SELECT item_id, system, code FROM codes_imported)`, &onlyMigration)
	t.Logf("import stored %d own/medref rows", total)
	if onlyImport != 0 || onlyMigration != 0 {
		rows, _ := raw.Query(`SELECT 'import', ri.resource_type, s.system, s.code FROM (SELECT item_id, system, code FROM codes_imported EXCEPT SELECT item_id, system, code FROM record_item_reasons WHERE ` + own + `) s JOIN record_items ri ON ri.id = s.item_id
UNION ALL SELECT 'migration', ri.resource_type, s.system, s.code FROM (SELECT item_id, system, code FROM record_item_reasons WHERE ` + own + ` EXCEPT SELECT item_id, system, code FROM codes_imported) s JOIN record_items ri ON ri.id = s.item_id LIMIT 20`)
		for rows.Next() {
			var a, b, c, d string
			rows.Scan(&a, &b, &c, &d)
			t.Logf("only by %s: %s %s|%s", a, b, c, d)
		}
		rows.Close()
		t.Errorf("rows only the import stored: %d; only migration 0063: %d", onlyImport, onlyMigration)
	}
	if total == 0 {
		t.Error("the import stored no such codes: the test compares nothing")
	}
}

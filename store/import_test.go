package store_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/demo"
	"github.com/mycarerecord/portal/store/fhir"
	"github.com/mycarerecord/portal/store/fhirsync"
)

// syntheaDir is the shared, third-party Synthea data set (see ../shared/fhir/README.md).
const syntheaDir = "../../shared/fhir/synthea"

// importSynthea imports one Synthea bundle of syntheaDir from the source
// "gp" into db, which holds no other person, and returns its person.
func importSynthea(t *testing.T, db *store.DB, name string) int64 {
	t.Helper()
	ctx := context.Background()
	f, err := fhirsync.ReadFile(filepath.Join(syntheaDir, name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "gp"}, f.Path, f.Resources); err != nil {
		t.Fatal(err)
	}
	ps, err := db.Persons(ctx)
	if err != nil || len(ps) != 1 {
		t.Fatalf("persons: %d, %v", len(ps), err)
	}
	return ps[0].ID
}

// openDBAt opens a fresh database at a known path, so the test can also read the file directly.
func openDBAt(t *testing.T) (*store.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "portal.db")
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

// fingerprint hashes every stored row that an import may touch, so a test can
// tell whether anything at all changed.
func fingerprint(t *testing.T, path string) string {
	t.Helper()
	raw, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	h := sha256.New()
	for _, q := range []string{
		`SELECT source_id, type, id, version_id, last_updated, patient_id, json, stored_at FROM resources ORDER BY source_id, type, id`,
		`SELECT id, source_id, resource_type, resource_id, patient_id, section, code_system, code, display, date, status, value, organisation, detail,
dedup_key, dup, organisation_ref, display_ref FROM record_items ORDER BY id`,
		`SELECT source_id, ref, display, code_system, code FROM reference_names ORDER BY source_id, ref`,
		`SELECT id, prefix, given, family, birth_date, COALESCE(nhs_number, '') FROM persons ORDER BY id`,
		`SELECT source_id, patient_id, person_id FROM source_patients ORDER BY source_id, patient_id`,
		`SELECT person_id, system, value FROM person_identifiers ORDER BY system, value`,
		`SELECT id, origin, error FROM rejected_resources ORDER BY id`,
	} {
		rows, err := raw.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		vals := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				h.Write(v)
				h.Write([]byte{0})
			}
		}
		rows.Close()
	}
	return hex.EncodeToString(h.Sum(nil))
}

func importDir(t *testing.T, db *store.DB, dir string, opts store.ImportOptions) map[string]int {
	t.Helper()
	ctx := context.Background()
	names, err := fhirsync.ListFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	total := map[string]int{}
	for _, name := range names {
		f, err := fhirsync.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		res, err := db.ImportResources(ctx, opts, f.Path, f.Resources)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if res.Rejected != 0 {
			t.Errorf("%s: %d resources set aside", name, res.Rejected)
		}
		total["added"] += res.Added
		total["updated"] += res.Updated
		total["unchanged"] += res.Unchanged
		total["items"] += res.Items
		total["persons"] += res.NewPersons
	}
	return total
}

// TestImportSynthea loads every shared Synthea bundle and checks the exact
// per-type counts the data set's README gives, then that loading it all again
// changes nothing.
func TestImportSynthea(t *testing.T) {
	if _, err := os.Stat(syntheaDir); err != nil {
		t.Fatalf("shared FHIR data missing (it sits beside the repository as ../shared): %v", err)
	}
	ctx := context.Background()
	db, path := openDBAt(t)
	opts := store.ImportOptions{Source: "synthea", OrgName: "Synthea test data", LinkSystems: []string{"https://github.com/synthetichealth/synthea"}}
	first := importDir(t, db, syntheaDir, opts)

	got, err := db.ResourceCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{
		"Observation": 13127, "Claim": 3930, "Encounter": 3507, "ExplanationOfBenefit": 3507, "DiagnosticReport": 2406,
		"Procedure": 2414, "Immunization": 2220, "DocumentReference": 2008, "Practitioner": 1217, "Organization": 1198,
		"Location": 1191, "PractitionerRole": 1191, "MedicationRequest": 423, "Condition": 300, "CarePlan": 123,
		"Patient": 59, "Goal": 44, "Provenance": 39, "ImagingStudy": 19, "AllergyIntolerance": 7, "Device": 1,
	}
	for typ, n := range want {
		if got[typ] != n {
			t.Errorf("%s: got %d, want %d", typ, got[typ], n)
		}
	}
	for typ, n := range got {
		if _, ok := want[typ]; !ok {
			t.Errorf("unexpected type %s: %d", typ, n)
		}
	}
	if first["persons"] != 59 {
		t.Errorf("persons made: got %d, want 59 (one per Patient)", first["persons"])
	}
	persons, err := db.Persons(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range persons {
		if strings.ContainsAny(p.Given+p.Family, "0123456789") {
			t.Errorf("person %d name %q keeps Synthea's digits", p.ID, p.Name())
		}
	}

	// Every person's record has items, and none is shown as a bare code.
	for _, p := range persons[:5] {
		sum, err := db.RecordSummary(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Counts[fhir.SectionEncounters] == 0 {
			t.Errorf("%s: no encounters in the record", p.Name())
		}
	}

	// Re-importing one file changes nothing at all.
	largest := filepath.Join(syntheaDir, "Lawerence6_Baumbach677_ea8d2576-4a23-4906-c353-bfed5adb23bd.json")
	before := fingerprint(t, path)
	f, err := fhirsync.ReadFile(largest)
	if err != nil {
		t.Fatal(err)
	}
	res, err := db.ImportResources(ctx, opts, f.Path, f.Resources)
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != 0 || res.Updated != 0 || res.Unchanged != len(f.Resources) {
		t.Errorf("re-import of %s: %+v, want all %d unchanged", filepath.Base(largest), res, len(f.Resources))
	}
	if fingerprint(t, path) != before {
		t.Error("re-importing the same file changed stored rows")
	}

	// Reading everything stored again, as a migration may ask, changes nothing either.
	raw, err := sql.Open("sqlite3", "file:"+store.URIPath(path))
	if err != nil {
		t.Fatal(err)
	}
	_, err = raw.Exec(`INSERT INTO reread_backlog (after_rowid, upto_rowid) SELECT 0, MAX(rowid) FROM resources`)
	raw.Close()
	if err != nil {
		t.Fatal(err)
	}
	if done, err := db.FinishStalledBulkLoad(ctx, true); err != nil || !done {
		t.Fatalf("read everything again: %v, %v", done, err)
	}
	if fingerprint(t, path) != before {
		t.Error("reading what was stored again changed stored rows")
	}

	// Re-importing the whole set adds nothing. The two public data sets share a few
	// Organization ids with different content, so the last file read wins each time:
	// exactly those resources are rewritten, and the test works out how many from the files.
	state := map[string]string{}
	wantUpdates := 0
	names, err := fhirsync.ListFiles(syntheaDir)
	if err != nil {
		t.Fatal(err)
	}
	for pass := 0; pass < 2; pass++ {
		for _, name := range names {
			f, err := fhirsync.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range f.Resources {
				key := r.Type + "/" + r.ID
				if pass == 1 && state[key] != string(r.Raw) {
					wantUpdates++
				}
				state[key] = string(r.Raw)
			}
		}
	}
	again := importDir(t, db, syntheaDir, opts)
	if again["added"] != 0 || again["persons"] != 0 || again["updated"] != wantUpdates {
		t.Errorf("re-import of everything: %v, want 0 added, 0 persons, %d updated", again, wantUpdates)
	}
	after, err := db.ResourceCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for typ, n := range want {
		if after[typ] != n {
			t.Errorf("after re-import %s: got %d, want %d", typ, after[typ], n)
		}
	}
}

// TestImportMalformed checks that a bad file is refused with a reason that
// says where, and that nothing already stored is lost or half-written.
func TestImportMalformed(t *testing.T) {
	ctx := context.Background()
	db, path := openDBAt(t)
	opts := store.ImportOptions{Source: "meanwood-gp"}
	gp := demo.Generate()[0]
	res, err := fhir.ParseBundle(gp.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ImportResources(ctx, opts, "demo", res); err != nil {
		t.Fatal(err)
	}
	before := fingerprint(t, path)

	dir := t.TempDir()
	tests := []struct {
		name, file, content, wantErr string
	}{
		{"syntax error", "bad.json", "{\"resourceType\": \"Bundle\",\n \"type\": \"collection\",\n \"entry\": [ { \"resource\": {\"resourceType\": \"Patient\" \"id\": \"x\"} } ]\n}", "line 3, column"},
		{"truncated", "cut.json", `{"resourceType": "Bundle", "type": "collection", "entry": [`, "ends too soon"},
		{"not a bundle", "patient.json", `{"resourceType": "Patient", "id": "x"}`, `expected "Bundle"`},
		{"wrong bundle type", "odd.json", `{"resourceType": "Bundle", "type": "photo-album"}`, `bundle type "photo-album"`},
		{"entry without type", "notype.json", `{"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": "Patient", "id": "a"}}, {"resource": {"id": "b"}}]}`, "entry 2: not a FHIR resource"},
		{"bad id", "badid.json", `{"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": "Patient", "id": "a b/c"}}]}`, "entry 1: the Patient id"},
		{"wrong field type", "type.json", "{\"resourceType\": \"Bundle\", \"type\": \"collection\",\n \"entry\": {\"resource\": {}}}", "line 2, column"},
		// A bad line beside good ones is kept aside (TestImportSaysWhatWasSetAside); with none good, this is no NDJSON.
		{"ndjson with no line that reads", "bulk.ndjson", "\n\n{\"resourceType\":\"Condition\",\"id\":\"c\"\n", "line 3, column 37: invalid JSON: the text ends too soon"},
		{"empty file", "empty.json", "", "ends too soon"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, tt.file)
			if err := os.WriteFile(p, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := fhirsync.ReadFile(p)
			if err == nil {
				t.Fatal("malformed file was accepted")
			}
			if !strings.HasPrefix(err.Error(), p+": ") || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q: want it to start with the path and say %q", err, tt.wantErr)
			}
		})
	}

	// A resource whose fields have the wrong shape is set aside; the rest of the file still loads,
	// and the version stored before is kept.
	var cond fhir.Resource
	for _, r := range res {
		if r.Type == "Condition" {
			cond = r
			break
		}
	}
	if cond.ID == "" {
		t.Fatal("demo GP data has no Condition")
	}
	broken := cond
	broken.Raw = []byte(`{"resourceType":"Condition","id":"` + cond.ID + `","code":"not a concept"}`)
	added := fhir.Resource{Type: "Organization", ID: "new-org", Raw: []byte(`{"resourceType":"Organization","id":"new-org","name":"New Practice"}`)}
	r, err := db.ImportResources(ctx, opts, "mixed", []fhir.Resource{broken, added})
	if err != nil {
		t.Fatal(err)
	}
	if r.Rejected != 1 || r.Added != 1 {
		t.Errorf("mixed import: got %+v, want 1 set aside and 1 added", r)
	}
	raw, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var stored, reason string
	if err := raw.QueryRow(`SELECT json FROM resources WHERE type = 'Condition' AND id = ?`, cond.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != string(cond.Raw) {
		t.Error("the good stored Condition was replaced by a malformed one")
	}
	if err := raw.QueryRow(`SELECT error FROM rejected_resources WHERE resource_id = ?`, cond.ID).Scan(&reason); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(reason, "code") {
		t.Errorf("set-aside reason %q does not name the field", reason)
	}
	if fingerprint(t, path) == before {
		t.Error("the good resource in the mixed import was not stored")
	}
}

// TestImportLinksPersonsAcrossSources checks that a GP and a hospital record
// for the same NHS number make one person whose record has items from both.
func TestImportLinksPersonsAcrossSources(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	for _, src := range demo.Generate() {
		res, err := fhir.ParseBundle(src.Bundle)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ImportResources(ctx, store.ImportOptions{Source: src.Name, OrgName: src.OrgName}, "demo", res); err != nil {
			t.Fatal(err)
		}
	}
	persons, err := db.Persons(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(persons), len(demo.People()); got != want {
		t.Fatalf("persons: got %d, want %d (one per demo person, linked by NHS number)", got, want)
	}
	jane := demo.People()[0]
	p, err := db.PersonByNHSNumber(ctx, jane.NHSNumber)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := db.RecordSummary(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Sources) < 2 {
		t.Errorf("Jane's record comes from %d sources, want at least 2", len(sum.Sources))
	}
	orgs := map[string]bool{}
	for _, sec := range fhir.Sections() {
		sp, err := db.RecordSection(ctx, p.ID, sec.Slug, 1, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range sp.Items {
			orgs[it.Source.Label()] = true
			if it.Display == "" || it.Display == it.Code {
				t.Errorf("%s item %s/%s shows %q: want words, not a code", sec.Slug, it.ResourceType, it.ResourceID, it.Display)
			}
		}
	}
	if len(orgs) < 2 {
		t.Errorf("items come from %v, want both GP and hospital", orgs)
	}

	// Another person's NHS number never reaches Jane's record.
	other := demo.People()[1]
	q, err := db.PersonByNHSNumber(ctx, other.NHSNumber)
	if err != nil {
		t.Fatal(err)
	}
	if q.ID == p.ID {
		t.Fatal("two NHS numbers linked to one person")
	}
}

// BenchmarkImportLargestBundle measures the import rate (resources/s) for the
// largest shared Synthea bundle into a fresh database, against parsing the same
// file alone as the reference measured in the same run.
func BenchmarkImportLargestBundle(b *testing.B) {
	path := filepath.Join(syntheaDir, "Lawerence6_Baumbach677_ea8d2576-4a23-4906-c353-bfed5adb23bd.json")
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var parseNs, importNs float64
	var n int
	b.Run("parse", func(b *testing.B) {
		for b.Loop() {
			res, err := fhir.ParseBundle(data)
			if err != nil {
				b.Fatal(err)
			}
			n = len(res)
		}
		parseNs = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	b.Run("import", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			db := mustOpenDB(b)
			b.StartTimer()
			res, err := fhir.ParseBundle(data)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "synthea"}, path, res); err != nil {
				b.Fatal(err)
			}
		}
		importNs = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		b.ReportMetric(float64(n)/(importNs/1e9), "resources/s")
	})
	b.Logf("import of %d resources: %.0f resources/s, %.1fx the time of parsing alone (%.1f ms)", n, float64(n)/(importNs/1e9), importNs/parseNs, parseNs/1e6)
}

// TestImportLinksByConfiguredSystem checks linking without NHS numbers: the same
// Synthea patient from two sources is one person only when its identifier system
// is configured to link.
func TestImportLinksByConfiguredSystem(t *testing.T) {
	f, err := fhirsync.ReadFile(filepath.Join(syntheaDir, "Lawerence6_Baumbach677_ea8d2576-4a23-4906-c353-bfed5adb23bd.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		links       []string
		wantPersons int
	}{
		{"linked by the Synthea identifier", []string{"https://github.com/synthetichealth/synthea"}, 1},
		{"not linked without a configured system", nil, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			db := mustOpenDB(t)
			for _, src := range []string{"hospital", "community"} {
				if _, err := db.ImportResources(ctx, store.ImportOptions{Source: src, LinkSystems: tt.links}, f.Path, f.Resources); err != nil {
					t.Fatal(err)
				}
			}
			persons, err := db.Persons(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(persons) != tt.wantPersons {
				t.Fatalf("got %d persons, want %d", len(persons), tt.wantPersons)
			}
			sum, err := db.RecordSummary(ctx, persons[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(sum.Sources), 3-tt.wantPersons; got != want {
				t.Errorf("first person's record comes from %d sources, want %d", got, want)
			}
		})
	}
}

// A version older than the one stored (a bulk export taken before a sync
// stored a newer one) never replaces it; a newer one does.
func TestImportKeepsTheNewerVersion(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	pt, err := fhir.ParseResource([]byte(`{"resourceType":"Patient","id":"p1","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	obs := func(version, when, status string) fhir.Resource {
		r, err := fhir.ParseResource([]byte(`{"resourceType":"Observation","id":"o1","meta":{"versionId":"` + version + `","lastUpdated":"` + when + `"},` +
			`"status":"` + status + `","code":{"text":"Pulse"},"subject":{"reference":"Patient/p1"},"effectiveDateTime":"2026-03-01","valueQuantity":{"value":70,"unit":"/min"}}`))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	opts := store.ImportOptions{Source: "lth"}
	stored := func() string {
		p, err := db.PersonByNHSNumber(ctx, "9434765919")
		if err != nil {
			t.Fatal(err)
		}
		var status string
		err = db.PersonResources(ctx, p.ID, func(c store.CachedResource) error {
			if c.Type == "Observation" {
				status = string(c.Raw)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return status
	}
	if _, err := db.ImportResources(ctx, opts, "sync", []fhir.Resource{pt, obs("2", "2026-03-02T10:00:00+01:00", "amended")}); err != nil {
		t.Fatal(err)
	}
	// The export was taken at 08:30 UTC, before the amendment at 09:00 UTC.
	res, err := db.ImportBulk(ctx, opts, "export", store.PrepareAll([]fhir.Resource{obs("1", "2026-03-02T08:30:00Z", "final")}))
	if err != nil || res.Updated != 0 || res.Unchanged != 1 {
		t.Fatalf("older version: %+v, %v; want it left out", res, err)
	}
	if got := stored(); !strings.Contains(got, `"amended"`) {
		t.Errorf("the older version replaced the newer: %s", got)
	}
	res, err = db.ImportResources(ctx, opts, "sync", []fhir.Resource{obs("3", "2026-03-03T08:00:00Z", "corrected")})
	if err != nil || res.Updated != 1 || !strings.Contains(stored(), `"corrected"`) {
		t.Fatalf("newer version: %+v, %v; want it stored", res, err)
	}
}

// A resource changed upstream has its record items rewritten in place: they
// keep their ids, so the access log still names the entries viewed and a link
// to an entry still leads to it. Moved to another patient, its item moves
// with it. A member who joins a care team is added and one who leaves is
// removed, and the others keep their entries.
func TestUpdatedResourceKeepsItsItems(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	opts := store.ImportOptions{Source: "lth"}
	put := func(raws ...string) {
		t.Helper()
		if res, err := db.ImportResources(ctx, opts, "sync", parsed(t, raws...)); err != nil || res.Rejected != 0 {
			t.Fatalf("import: %+v, %v", res, err)
		}
	}
	obs := func(version, patient, value string) string {
		return `{"resourceType":"Observation","id":"o1","meta":{"versionId":"` + version + `"},"status":"final","code":{"text":"Pulse"},` +
			`"subject":{"reference":"Patient/` + patient + `"},"effectiveDateTime":"2026-03-01","valueQuantity":{"value":` + value + `,"unit":"/min"}}`
	}
	team := func(version string, members ...string) string {
		var parts []string
		for _, m := range members {
			parts = append(parts, `{"member":{"reference":"Practitioner/`+m+`","display":"Dr `+m+`"}}`)
		}
		return `{"resourceType":"CareTeam","id":"ct1","meta":{"versionId":"` + version + `"},"status":"active","subject":{"reference":"Patient/p1"},` +
			`"participant":[` + strings.Join(parts, ",") + `]}`
	}
	put(`{"resourceType":"Patient","id":"p1","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}]}`,
		`{"resourceType":"Patient","id":"p2","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9449306060"}]}`,
		obs("1", "p1", "70"), team("1", "a"))
	p1, err := db.PersonByNHSNumber(ctx, "9434765919")
	if err != nil {
		t.Fatal(err)
	}
	p2, err := db.PersonByNHSNumber(ctx, "9449306060")
	if err != nil {
		t.Fatal(err)
	}
	items := func(person int64, section string) []store.RecordItem {
		t.Helper()
		page, err := db.RecordSection(ctx, person, section, 1, 10)
		if err != nil {
			t.Fatal(err)
		}
		return page.Items
	}
	first := items(p1.ID, "results")
	if len(first) != 1 {
		t.Fatalf("results: %+v", first)
	}
	put(obs("2", "p1", "72"))
	after := items(p1.ID, "results")
	if len(after) != 1 || after[0].ID != first[0].ID || after[0].Value != "72 /min" {
		t.Errorf("after an update: %+v; want item %d with the new value", after, first[0].ID)
	}
	if named, err := db.ItemsByID(ctx, p1.ID, []int64{first[0].ID}); err != nil || named[first[0].ID].Display != "Pulse" {
		t.Errorf("the access log's look-up of the entry viewed: %+v, %v; want it found", named, err)
	}
	if res, err := db.SearchRecord(ctx, p1.ID, "pulse", store.SearchOptions{PerSection: 5}); err != nil || res.Total != 1 {
		t.Errorf("search after an update: %+v, %v; want the one entry", res, err)
	}
	put(obs("3", "p2", "72")) // filed against the wrong patient, and corrected upstream
	if got := items(p1.ID, "results"); len(got) != 0 {
		t.Errorf("the first patient's results after the move: %+v; want none", got)
	}
	if got := items(p2.ID, "results"); len(got) != 1 {
		t.Errorf("the second patient's results after the move: %+v; want the one moved", got)
	}
	if res, err := db.SearchRecord(ctx, p1.ID, "pulse", store.SearchOptions{PerSection: 5}); err != nil || res.Total != 0 {
		t.Errorf("the first patient's search after the move: %+v, %v; want nothing", res, err)
	}
	ids := func() map[string]int64 {
		t.Helper()
		out := map[string]int64{}
		for _, it := range items(p1.ID, "care-team") {
			out[it.Display] = it.ID
		}
		return out
	}
	was := ids()
	put(team("2", "b", "a"))
	joined := ids()
	if len(joined) != 2 || joined["Dr a"] != was["Dr a"] || joined["Dr b"] == 0 {
		t.Errorf("care team after a member joined: %v; want Dr a still item %d, and Dr b", joined, was["Dr a"])
	}
	put(team("3", "b"))
	if left := ids(); len(left) != 1 || left["Dr b"] != joined["Dr b"] {
		t.Errorf("care team after a member left: %v; want only Dr b, still item %d", left, joined["Dr b"])
	}
	if res, err := db.SearchRecord(ctx, p1.ID, "Dr a", store.SearchOptions{PerSection: 5}); err != nil || res.Total != 0 {
		t.Errorf("search after a member left: %+v, %v; want nothing for them", res, err)
	}
}

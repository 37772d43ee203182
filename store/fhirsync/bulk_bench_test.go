package fhirsync_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mycarerecord/portal/e2e/upstream"
	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
	"github.com/mycarerecord/portal/store/fhirsync"
)

// BenchmarkBulkImport imports generated NDJSON (Patients, then Observations,
// 100 per Patient) with ImportNDJSON into a fresh store, and in the same run
// inserts the same lines into a plain SQLite table with one prepared statement
// in one transaction, and reports both rates, their ratio and the peak heap.
// Comparing the peak heap of the two sizes shows whether memory grows with
// the file. It also measures what the cache's tables alone cost (copyRows):
// the rows the import stored, copied into a fresh cache with nothing read,
// worked out or looked up, so the ratio no importer of this schema can pass. The 1,000,000-resource size takes about two minutes and 630 MB of
// temporary files; make bench runs it.
func BenchmarkBulkImport(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("resources=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			patients, observations := filepath.Join(dir, "Patient.ndjson"), filepath.Join(dir, "Observation.ndjson")
			start := time.Now()
			size, err := writeNDJSON(patients, observations, n/100, 100)
			if err != nil {
				b.Fatal(err)
			}
			total := n/100 + n
			b.Logf("generated %d resources (%d MB) in %s", total, size>>20, time.Since(start).Round(time.Millisecond))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				runtime.GC()
				db, path := bulkDB(b)
				b.StartTimer()
				var res store.ImportResult
				var took time.Duration
				peak := peakHeap(func() {
					start := time.Now()
					res = importFiles(b, db, patients, observations)
					took = time.Since(start)
				})
				b.StopTimer()
				db.Close()
				if res.Added != total || res.Rejected != 0 {
					b.Fatalf("import: %+v, want %d added", res, total)
				}
				runtime.GC()
				var rawTook time.Duration
				rawPeak := peakHeap(func() { rawTook = rawInsertFiles(b, filepath.Join(b.TempDir(), "raw.db"), patients, observations) })
				runtime.GC()
				rowsTook, builtTook := copyRows(b, path, filepath.Join(b.TempDir(), "floor.db"))
				b.StartTimer()

				rate, rawRate := float64(total)/took.Seconds(), float64(total)/rawTook.Seconds()
				rowsRate, usableRate := float64(total)/rowsTook.Seconds(), float64(total)/(rowsTook+builtTook).Seconds()
				b.ReportMetric(rate, "import-res/s")
				b.ReportMetric(rawRate, "raw-res/s")
				b.ReportMetric(rate/rawRate, "ratio")
				b.ReportMetric(rowsRate/rawRate, "rows-only-ratio")
				b.ReportMetric(usableRate/rawRate, "rows+indexes-ratio")
				b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
				b.ReportMetric(float64(rawPeak)/(1<<20), "raw-peak-heap-MB")
				b.Logf("%d resources: ImportNDJSON %.0f/s (%s, %d record items), raw insert %.0f/s (%s): ratio %.2f (target ≥ 0.5); peak heap in use %.1f MB (raw %.1f MB)",
					total, rate, took.Round(time.Millisecond), res.Items, rawRate, rawTook.Round(time.Millisecond), rate/rawRate,
					float64(peak)/(1<<20), float64(rawPeak)/(1<<20))
				b.Logf("the rows the import stored, copied into a fresh cache's tables with nothing else done: %.0f/s (%s), ratio %.2f; "+
					"with the indexes the pages read and the search index built once at the end: %.0f/s (%s more), ratio %.2f",
					rowsRate, rowsTook.Round(time.Millisecond), rowsRate/rawRate, usableRate, builtTook.Round(time.Millisecond), usableRate/rawRate)
			}
		})
	}
}

// BenchmarkSyncLargestPatient syncs the largest Synthea patient from the real
// test FHIR server into a fresh store (FindPerson, then PullPerson: searches
// page by page, references, a full reconciliation), and inserts the same
// resources' JSON into a plain table for comparison.
func BenchmarkSyncLargestPatient(b *testing.B) {
	srv, patientID := upstream.StartWithPatient(b, bulkLargest)
	// The server's Date has whole seconds, so a resource stored in the same
	// second as a search's first page is served may have changed after it, and
	// the sync searches again to be sure (pull.go, changedSince). Data loaded
	// the moment before would have every sync measured do that: as in life,
	// it was stored before the second the sync starts in.
	time.Sleep(1100 * time.Millisecond)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		db, path := bulkDB(b)
		src, err := db.AddSource(ctx, store.Source{Name: "lth", BaseURL: srv.URL})
		if err != nil {
			b.Fatal(err)
		}
		puller := &fhirsync.Puller{DB: db, Client: fhirsync.NewClients(func(string) string { return "" }, fhirsync.ClientOptions{}).Get}
		b.StartTimer()
		start := time.Now()
		person, err := puller.FindPerson(ctx, src, "https://github.com/synthetichealth/synthea", patientID)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := puller.PullPerson(ctx, src, person.ID, nil); err != nil {
			b.Fatal(err)
		}
		took := time.Since(start)
		b.StopTimer()
		rows := storedJSON(b, path)
		rawTook := rawInsert(b, filepath.Join(b.TempDir(), "raw.db"), func(insert func([]byte) error) error {
			for _, r := range rows {
				if err := insert(r); err != nil {
					return err
				}
			}
			return nil
		})
		b.StartTimer()
		rate, rawRate := float64(len(rows))/took.Seconds(), float64(len(rows))/rawTook.Seconds()
		b.ReportMetric(rate, "sync-res/s")
		b.ReportMetric(rawRate, "raw-res/s")
		b.ReportMetric(rate/rawRate, "ratio")
		b.Logf("synced %d resources in %s: %.0f/s over HTTP; raw insert of the same rows %.0f/s (%s): ratio %.3f",
			len(rows), took.Round(time.Millisecond), rate, rawRate, rawTook.Round(time.Microsecond), rate/rawRate)
	}
}

// writeNDJSON writes patients Patients and perPatient Observations for each,
// deterministically, streaming to the two files. It returns the bytes written.
func writeNDJSON(patientsFile, observationsFile string, patients, perPatient int) (int64, error) {
	var size int64
	write := func(path string, gen func(w *bufio.Writer) error) error {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		w := bufio.NewWriterSize(f, 1<<20)
		err = gen(w)
		if ferr := w.Flush(); err == nil {
			err = ferr
		}
		if st, serr := f.Stat(); serr == nil {
			size += st.Size()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	}
	given := []string{"Ann", "Ben", "Cara", "Dev", "Eli", "Fay", "Gus", "Hana"}
	family := []string{"Smith", "Jones", "Patel", "Khan", "Brown", "Taylor", "Wilson", "Evans"}
	stem := 900000000
	err := write(patientsFile, func(w *bufio.Writer) error {
		for p := 0; p < patients; p++ {
			nhs, ok := fhir.NHSNumberFrom(fmt.Sprint(stem))
			for ; !ok; nhs, ok = fhir.NHSNumberFrom(fmt.Sprint(stem)) {
				stem++ // a check digit of 10: never issued
			}
			stem++
			_, err := fmt.Fprintf(w, `{"resourceType":"Patient","id":"pat-%06d","meta":{"versionId":"1","lastUpdated":"2024-03-01T09:00:00.000Z"},`+
				`"identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"%s"},{"system":"https://github.com/synthetichealth/synthea","value":"pat-%06d"}],`+
				`"name":[{"use":"official","family":"%s","given":["%s"],"prefix":["Mx"]}],"gender":"unknown","birthDate":"19%02d-%02d-%02d",`+
				`"address":[{"line":["%d High Street"],"city":"Leeds","postalCode":"LS1 %dAB","country":"GB"}]}`+"\n",
				p, nhs, p, family[p%len(family)], given[(p/len(family))%len(given)], 30+p%70, 1+p%12, 1+p%28, 1+p%200, p%10)
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return size, err
	}
	codes := []struct{ code, display, unit string }{
		{"29463-7", "Body Weight", "kg"}, {"8302-2", "Body Height", "cm"}, {"39156-5", "Body mass index (BMI) [Ratio]", "kg/m2"},
		{"8867-4", "Heart rate", "/min"}, {"9279-1", "Respiratory rate", "/min"}, {"2339-0", "Glucose", "mg/dL"},
	}
	err = write(observationsFile, func(w *bufio.Writer) error {
		n := 0
		for p := 0; p < patients; p++ {
			for k := 0; k < perPatient; k++ {
				c := codes[n%len(codes)]
				day := time.Date(2000, 1, 1, 9, 30, 0, 0, time.UTC).AddDate(0, 0, k*30+p%30).Format(time.RFC3339)
				_, err := fmt.Fprintf(w, `{"resourceType":"Observation","id":"obs-%08d","meta":{"versionId":"1","lastUpdated":"2024-03-01T09:00:00.000Z"},`+
					`"status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs","display":"vital signs"}]}],`+
					`"code":{"coding":[{"system":"http://loinc.org","code":"%s","display":"%s"}],"text":"%s"},"subject":{"reference":"Patient/pat-%06d"},`+
					`"encounter":{"reference":"Encounter/enc-%07d"},"effectiveDateTime":"%s","issued":"%s",`+
					`"valueQuantity":{"value":%d.%d,"unit":"%s","system":"http://unitsofmeasure.org","code":"%s"}}`+"\n",
					n, c.code, c.display, c.display, p, n/5, day, day, 40+n%80, n%10, c.unit, c.unit)
				if err != nil {
					return err
				}
				n++
			}
		}
		return nil
	})
	return size, err
}

// importFiles imports the files with ImportNDJSON, Patients first.
func importFiles(b *testing.B, db *store.DB, files ...string) store.ImportResult {
	var sum store.ImportResult
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			b.Fatal(err)
		}
		res, err := fhirsync.ImportNDJSON(context.Background(), db, store.ImportOptions{Source: "region"}, filepath.Base(name), f, 0)
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		sum.Added += res.Added
		sum.Rejected += res.Rejected
		sum.Items += res.Items
	}
	return sum
}

// rawInsertFiles inserts every line of the files into a plain table.
func rawInsertFiles(b *testing.B, path string, files ...string) time.Duration {
	return rawInsert(b, path, func(insert func([]byte) error) error {
		for _, name := range files {
			f, err := os.Open(name)
			if err != nil {
				return err
			}
			br := bufio.NewReaderSize(f, 256<<10)
			for {
				line, err := br.ReadSlice('\n')
				if line = bytes.TrimSpace(line); len(line) > 0 {
					if err := insert(line); err != nil {
						f.Close()
						return err
					}
				}
				if err == io.EOF {
					break
				}
				if err != nil {
					f.Close()
					return err
				}
			}
			f.Close()
		}
		return nil
	})
}

// rawInsert times inserting rows into a plain table of a fresh SQLite file
// (opened as the store opens its own) with one prepared statement in one transaction.
func rawInsert(b *testing.B, path string, rows func(insert func([]byte) error) error) time.Duration {
	ctx := context.Background()
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_synchronous=NORMAL&_txlock=immediate")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE raw (id INTEGER PRIMARY KEY, json BLOB NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO raw (json) VALUES (?)`)
	if err != nil {
		b.Fatal(err)
	}
	if err := rows(func(row []byte) error { _, err := stmt.ExecContext(ctx, row); return err }); err != nil {
		b.Fatal(err)
	}
	stmt.Close()
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

// copyRows copies the rows an import stored in the store at from (its
// persons, their links, resources and record items) into a fresh store at
// to, as the import leaves them but doing nothing an import must do besides
// storing: no JSON read, no item worked out, no look-up. The rows go in in one
// transaction, with prepared statements (the record items 32 to a statement,
// as the importer inserts them), read one by one from from's file, and the
// indexes only pages read are built afterwards, as a bulk load into an empty
// cache does; that, less the time reading the rows alone takes, is rowsTook. builtTook is building those indexes and the
// search index once at the end (the import's search index costs the same
// INSERT ... SELECT). The duplicate marks, which the import also works out,
// are left out: the figures are what the tables cost at the least.
func copyRows(b *testing.B, from, to string) (rowsTook, builtTook time.Duration) {
	ctx := context.Background()
	fresh, err := store.Open(ctx, to) // the schema, migrated
	if err != nil {
		b.Fatal(err)
	}
	fresh.Close()
	src, err := sql.Open("sqlite3", "file:"+from+"?mode=ro")
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	// As the store opens its writer.
	dst, err := sql.Open("sqlite3", "file:"+to+"?_journal_mode=WAL&_foreign_keys=on&_synchronous=FULL&_txlock=immediate")
	if err != nil {
		b.Fatal(err)
	}
	defer dst.Close()
	dst.SetMaxOpenConns(1)
	var deferred []string // the indexes a bulk load into an empty cache builds at its end (store/bulkindex.go)
	rows, err := dst.QueryContext(ctx, `SELECT sql FROM sqlite_master WHERE type = 'index' AND name IN
('record_items_person', 'record_items_results', 'record_items_person_key', 'record_items_shown_key', 'resources_updated')`)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var def string
		if err := rows.Scan(&def); err != nil {
			b.Fatal(err)
		}
		deferred = append(deferred, def)
	}
	rows.Close()
	if len(deferred) != 5 {
		b.Fatalf("found %d of the 5 deferred indexes", len(deferred))
	}
	exec := func(tx *sql.Tx, q string) {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
	}
	// copy inserts every row of query at src with insert, perStmt rows to a
	// statement; with no tx, it only reads them.
	copyTable := func(tx *sql.Tx, query, insert string, cols, perStmt int) {
		row := "(?" + strings.Repeat(", ?", cols-1) + ")"
		stmts := map[int]*sql.Stmt{}
		stmt := func(n int) *sql.Stmt {
			if stmts[n] == nil {
				s, err := tx.PrepareContext(ctx, insert+" VALUES "+row+strings.Repeat(", "+row, n-1))
				if err != nil {
					b.Fatal(err)
				}
				stmts[n] = s
			}
			return stmts[n]
		}
		rows, err := src.QueryContext(ctx, query)
		if err != nil {
			b.Fatal(err)
		}
		defer rows.Close()
		var args []any
		flush := func(n int) {
			if tx != nil {
				if _, err := stmt(n).ExecContext(ctx, args...); err != nil {
					b.Fatal(err)
				}
			}
			args = args[:0]
		}
		vals := make([]any, cols)
		ptrs := make([]any, cols)
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for n := 0; rows.Next(); {
			if err := rows.Scan(ptrs...); err != nil {
				b.Fatal(err)
			}
			args = append(args, vals...)
			if n++; n == perStmt {
				flush(n)
				n = 0
			}
		}
		if err := rows.Err(); err != nil {
			b.Fatal(err)
		}
		for len(args) > 0 {
			flush(1)
		}
		for _, s := range stmts {
			s.Close()
		}
	}
	copyAll := func(tx *sql.Tx) {
		copyTable(tx, `SELECT id, name, org_name, base_url, created_at FROM sources`, `INSERT INTO sources (id, name, org_name, base_url, created_at)`, 5, 1)
		copyTable(tx, `SELECT id, prefix, given, family, birth_date, nhs_number, created_at FROM persons`,
			`INSERT INTO persons (id, prefix, given, family, birth_date, nhs_number, created_at)`, 7, 1)
		copyTable(tx, `SELECT person_id, system, value FROM person_identifiers`, `INSERT INTO person_identifiers (person_id, system, value)`, 3, 1)
		copyTable(tx, `SELECT source_id, patient_id, person_id FROM source_patients`, `INSERT INTO source_patients (source_id, patient_id, person_id)`, 3, 1)
		copyTable(tx, `SELECT source_id, type, id, version_id, last_updated, patient_id, json, stored_at FROM resources ORDER BY rowid`,
			`INSERT INTO resources (source_id, type, id, version_id, last_updated, patient_id, json, stored_at)`, 8, 1)
		copyTable(tx, `SELECT id, source_id, resource_type, resource_id, patient_id, person_id, section, code_system, code,
display, date, status, value, organisation, detail, dedup_key, exact, organisation_ref, display_ref, part FROM record_items ORDER BY id`,
			`INSERT INTO record_items (id, source_id, resource_type, resource_id, patient_id, person_id, section, code_system, code,
display, date, status, value, organisation, detail, dedup_key, exact, organisation_ref, display_ref, part)`, 20, 32)
	}
	// Reading the rows back is not storing them: timed alone first, and
	// taken off the copy's time.
	start := time.Now()
	copyAll(nil)
	readTook := time.Since(start)
	start = time.Now()
	tx, err := dst.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{"record_items_person", "record_items_results", "record_items_person_key", "record_items_shown_key", "resources_updated"} {
		exec(tx, "DROP INDEX "+name)
	}
	exec(tx, `INSERT INTO search_backlog (after_id) VALUES (0)`) // as a bulk load notes, so the triggers leave the search index alone
	copyAll(tx)
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	rowsTook = time.Since(start) - readTook
	start = time.Now()
	if tx, err = dst.BeginTx(ctx, nil); err != nil {
		b.Fatal(err)
	}
	for _, def := range deferred {
		exec(tx, def)
	}
	exec(tx, `INSERT INTO record_search (rowid, scope, display, code, value, detail, organisation, source, others)
SELECT fts_rowid, scope, display, code, value, detail, organisation, source, others FROM record_search_rows`)
	exec(tx, `DELETE FROM search_backlog`)
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	builtTook = time.Since(start)
	// The copy holds what the import stored.
	for _, table := range []string{"resources", "record_items", "persons"} {
		var a, c int
		if err := src.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table).Scan(&a); err != nil {
			b.Fatal(err)
		}
		if err := dst.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table).Scan(&c); err != nil {
			b.Fatal(err)
		}
		if a != c || a == 0 {
			b.Fatalf("%s: %d rows copied of %d", table, c, a)
		}
	}
	return rowsTook, builtTook
}

// storedJSON reads every cached resource's JSON from a store's file.
func storedJSON(b *testing.B, path string) [][]byte {
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT json FROM resources`)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var j []byte
		if err := rows.Scan(&j); err != nil {
			b.Fatal(err)
		}
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	return out
}

// peakHeap runs fn and returns the most heap in use seen while it ran, sampled
// every 20 ms.
func peakHeap(fn func()) uint64 {
	var peak atomic.Uint64
	sample := func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if ms.HeapInuse > peak.Load() {
			peak.Store(ms.HeapInuse)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				sample()
			case <-stop:
				return
			}
		}
	}()
	sample()
	fn()
	close(stop)
	wg.Wait()
	sample()
	return peak.Load()
}

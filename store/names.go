package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/mycarerecord/portal/store/fhir"
)

// A record item that names who took part, or its medicine, only by a
// reference takes the name from the resource it points at once the cache
// holds it (store/fhir names.go, migration 0027). The importer notes each
// named resource's name as it stores it (named). Pages read who took part
// through the note as they show an item (itemColumns), so a practice renamed
// upstream rewrites no item however many point at it. A medicine's name and
// code go into its item, since sharing choices and search read them there:
// an item stored after its Medication takes them as it is stored (nameItem),
// and the items stored before it there and then (nameStoredItems). A care
// team member known only by a reference is its name, and takes it so too.

// nameItem is the medicine item named by the Medication it points at, as far
// as the cache knows.
// A medicine naming a Medication ("medref" among its reasons) takes that
// Medication's codes among its own, whatever names it, so a kind kept out
// keeps it out for them (fhir.Named.Codes; migration 0063).
func (im *importer) nameItem(ctx context.Context, it fhir.Item) (fhir.Item, error) {
	if i := strings.Index(it.Reasons, "medref|"); i >= 0 {
		ref, _, _ := strings.Cut(it.Reasons[i+len("medref|"):], "\x1f")
		// Under the source's own address as its type and id; another
		// server's, whole, names none of the source's (addReasons stores it
		// so), nor its words: a file's insulin naming the GP's Medication/med1
		// read as the file's own Fluoxetine med1 (a review), as a sync never
		// did (fhir.Prepared.AtServer).
		if ref = fhir.LocalReason(ref, im.base, im.others); strings.Contains(ref, "://") && it.DisplayRef != "" {
			it.DisplayRef, it.DedupKey = "", "" // unnamed: no key, or it would merge with every medicine unnamed so
		}
		// Another source's Medication, named by its address there, lends
		// its codes all the same (not its words): a hospital's medicine
		// naming the GP's Fluoxetine so reached a carer with mental health
		// kept out.
		sourceID := im.sourceID
		if strings.Contains(ref, "://") {
			sourceID, ref = im.atOtherSource(ref)
		}
		if sourceID != 0 {
			n, err := im.nameAt(ctx, sourceID, ref)
			if err != nil {
				return it, err
			}
			if n != nil && !strings.Contains(it.Reasons, n.Codes()) {
				it.Reasons += n.Codes()
			}
		}
	}
	if it.DisplayRef == "" {
		return it, nil
	}
	n, err := im.nameOf(ctx, it.DisplayRef)
	if err != nil || n == nil {
		return it, err
	}
	it, _ = it.Named(*n)
	return it, nil
}

// nameOf is what the source's resource ref is called, or nil when the cache
// does not know.
func (im *importer) nameOf(ctx context.Context, ref string) (*fhir.Named, error) {
	return im.nameAt(ctx, im.sourceID, ref)
}

// nameAt is the name of ref at the source sourceID (this import's, or
// another's) as far as the cache knows.
func (im *importer) nameAt(ctx context.Context, sourceID int64, ref string) (*fhir.Named, error) {
	key := ref
	if sourceID != im.sourceID {
		key = strconv.FormatInt(sourceID, 10) + " " + ref // not one of this source's, which named keeps
	}
	if n, ok := im.names[key]; ok {
		return n, nil
	}
	var n fhir.Named
	err := im.tx.QueryRowContext(ctx, `SELECT display, code_system, code, other_codes FROM reference_names WHERE source_id = ? AND ref = ?`,
		sourceID, ref).Scan(&n.Display, &n.CodeSystem, &n.Code, &n.Others)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		im.names[key] = nil
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read the name of %s: %w", ref, err)
	}
	im.names[key] = &n
	return &n, nil
}

// named notes the name of a resource items may point at, just stored, and
// names the medicine items stored before it that point at it. A Medication
// that no longer gives a name leaves its items named as they were; pages
// show no one for an organisation or person that no longer gives a name.
// It is noted under its type and id, and under a bundle's address for it:
// "urn:uuid:" and its id, or the one its bundle gave it, by which who took
// part, or a medicine's Medication, may be named (fhir who, medicationRef;
// migrations 0062 and 0063).
func (im *importer) named(ctx context.Context, p fhir.Prepared) error {
	if !fhir.NamesItems(p.Type) {
		return nil
	}
	refs := []string{p.Type + "/" + p.ID, "urn:uuid:" + p.ID}
	if u := strings.TrimSpace(p.FullURL); strings.HasPrefix(u, "urn:uuid:") && u != refs[1] {
		refs = append(refs, u)
	}
	for _, ref := range refs {
		if err := im.namedAs(ctx, p, ref); err != nil {
			return err
		}
	}
	return nil
}

// namedAs is named under one reference, ref.
func (im *importer) namedAs(ctx context.Context, p fhir.Prepared, ref string) error {
	old, err := im.nameOf(ctx, ref)
	if err != nil {
		return err
	}
	if p.Named == nil {
		im.names[ref] = nil
		if old == nil {
			return nil
		}
		if _, err := im.tx.ExecContext(ctx, `DELETE FROM reference_names WHERE source_id = ? AND ref = ?`, im.sourceID, ref); err != nil {
			return err
		}
		if p.Type != "Medication" {
			im.renamed = append(im.renamed, ref)
			return nil
		}
		return medicinesTakeCodes(ctx, im.tx, im.sourceID, im.base, ref, fhir.Named{}) // its codes it no longer gives keep nothing out
	}
	if old != nil && *old == *p.Named {
		return nil
	}
	n := *p.Named
	im.names[ref] = &n
	if _, err := im.tx.ExecContext(ctx, `INSERT INTO reference_names (source_id, ref, display, code_system, code, other_codes) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (source_id, ref) DO UPDATE SET display = excluded.display, code_system = excluded.code_system, code = excluded.code,
other_codes = excluded.other_codes`,
		im.sourceID, ref, n.Display, n.CodeSystem, n.Code, n.Others); err != nil {
		return fmt.Errorf("note the name of %s: %w", ref, err)
	}
	if p.Type != "Medication" {
		im.renamed = append(im.renamed, ref) // who took part is read through the note by the pages
	}
	if err := im.flush(ctx); err != nil { // items of this batch that point at it are read below
		return err
	}
	if err := nameStoredItems(ctx, im.tx, im.touched, im.sourceID, ref, n); err != nil {
		return err
	}
	if p.Type != "Medication" {
		return nil
	}
	return medicinesTakeCodes(ctx, im.tx, im.sourceID, im.base, ref, n)
}

// medicinesTakeCodes gives the stored medicines naming the source's
// Medication ref its codes among their own (nameItem), in place of those it
// gave before: a Medication recoded upstream, a wrong Fluoxetine corrected
// to insulin, kept the insulin from a carer (a review).
func medicinesTakeCodes(ctx context.Context, tx *sql.Tx, sourceID int64, base, ref string, n fhir.Named) error {
	ids, err := medicinesNaming(ctx, tx, sourceID, base, ref)
	if err != nil || len(ids) == 0 {
		return err
	}
	list, _ := json.Marshal(ids)
	if _, err := tx.ExecContext(ctx, `DELETE FROM record_item_reasons WHERE system GLOB 'med:*' AND item_id IN (SELECT value FROM json_each(?))`, list); err != nil {
		return fmt.Errorf("give the medicines naming %s its codes: %w", ref, err)
	}
	for r := range strings.SplitSeq(n.Codes(), "\x1f") {
		system, code, ok := strings.Cut(r, "|")
		if !ok {
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO record_item_reasons (item_id, system, code) SELECT value, ?, ? FROM json_each(?)`,
			system, code, list); err != nil {
			return fmt.Errorf("give the medicines naming %s its codes: %w", ref, err)
		}
	}
	return nil
}

// medicinesNaming are the stored medicines naming the source's Medication
// ref: the source's own ("medref"), and, by its address at the source's
// server, other sources' ("xmedref", crossRef).
func medicinesNaming(ctx context.Context, tx *sql.Tx, sourceID int64, base, ref string) ([]int64, error) {
	ids, err := idsOf(ctx, tx, `SELECT r.item_id FROM record_item_reasons r JOIN record_items ri ON ri.id = r.item_id AND ri.source_id = ?
WHERE r.system = 'medref' AND r.code = ?`, sourceID, ref)
	if err != nil || base == "" || !strings.HasPrefix(ref, "Medication/") {
		return ids, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT r.item_id, substr(r.code, instr(r.code, ' ') + 1) FROM record_item_reasons r
JOIN record_items ri ON ri.id = r.item_id AND ri.source_id != ?1
WHERE r.system = 'xmedref' AND r.code > ?2 || ' ' AND r.code < ?2 || '!'`, sourceID, ref)
	if err != nil {
		return nil, fmt.Errorf("the medicines naming %s: %w", ref, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var at string
		if err := rows.Scan(&id, &at); err != nil {
			return nil, err
		}
		if fhir.LocalRef(at, base) == ref {
			ids = append(ids, id)
		}
	}
	return ids, rows.Err()
}

// nameStoredItems names the source's stored items that point at ref (a
// Medication's medicines, a Practitioner's care team members). Their keys stay as they are (fhir.Item.DedupKey); the
// facts they report are noted, since another source's entry for one may
// carry their words in the search index.
func nameStoredItems(ctx context.Context, tx *sql.Tx, touched touchedFacts, sourceID int64, ref string, n fhir.Named) error {
	// The column is never empty here, said again so that its partial index serves.
	stored, err := readStoredItems(ctx, tx, `source_id = ? AND display_ref = ? AND display_ref != ''`, sourceID, ref)
	if err != nil {
		return fmt.Errorf("find the items naming %s: %w", ref, err)
	}
	for _, s := range stored {
		named, ok := s.it.Named(n)
		if !ok {
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE record_items SET display = ?, code_system = ?, code = ? WHERE id = ?`,
			named.Display, named.CodeSystem, named.Code, s.id); err != nil {
			return fmt.Errorf("name an item from %s: %w", ref, err)
		}
		touched.add(s.person, s.it.DedupKey)
	}
	return nil
}

// storedItem is a record item as stored, with what the importer needs to rewrite it.
type storedItem struct {
	id      int64
	patient string
	person  sql.NullInt64
	it      fhir.Item
}

// readStoredItems reads the record items that where selects, in the order they were stored.
func readStoredItems(ctx context.Context, tx *sql.Tx, where string, args ...any) ([]storedItem, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, patient_id, person_id, section, code_system, code, display, date, status, value,
organisation, detail, dedup_key, COALESCE(exact, ''), organisation_ref, display_ref, part, reason_codes FROM record_items WHERE `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []storedItem
	for rows.Next() {
		var s storedItem
		it := &s.it
		if err := rows.Scan(&s.id, &s.patient, &s.person, &it.Section, &it.CodeSystem, &it.Code, &it.Display, &it.Date, &it.Status, &it.Value,
			&it.Organisation, &it.Detail, &it.DedupKey, &it.Exact, &it.OrganisationRef, &it.DisplayRef, &it.Part, &it.Reasons); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// rereadKeptOutFirst reads again, before anything else is stored, the
// resources of the entries people keep out of sharing that a re-read asked
// for (reread_backlog) has not reached, once a re-read, as the file opens:
// so the keys a re-read gives those facts are known (key_aliases) before a
// sync brings a later report of one, or deletes the report itself. Left to
// the background re-read, which may take hours on a large cache, next
// month's prescription of a kept-out medicine reached the carer meanwhile
// (a review). An entry kept out while the re-read goes on is read again as
// it is kept out (rereadEntry). Read again later by the re-read, they change
// nothing.
func rereadKeptOutFirst(ctx context.Context, tx *sql.Tx, now string) error {
	var first bool
	err := tx.QueryRowContext(ctx, `SELECT kept_out_first FROM reread_backlog`).Scan(&first)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && first) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read the reread backlog: %w", err)
	}
	// Those whose latest decision keeps an entry out (consentState reads the same row).
	rows, err := tx.QueryContext(ctx, `SELECT d.person_id FROM consent_decisions d
WHERE d.id = (SELECT MAX(l.id) FROM consent_decisions l WHERE l.person_id = d.person_id)
AND json_array_length(d.state, '$.withheldItems') > 0`)
	if err != nil {
		return fmt.Errorf("read sharing choices: %w", err)
	}
	var persons []int64
	for rows.Next() {
		var p int64
		if err := rows.Scan(&p); err != nil {
			rows.Close()
			return err
		}
		persons = append(persons, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	var refs []itemRef
	for _, p := range persons {
		st, err := consentState(ctx, tx, p)
		if err != nil {
			return err
		}
		each, err := itemRefsOf(ctx, tx, p, st.itemKeys(), true)
		if err != nil {
			return err
		}
		for _, r := range each {
			refs = append(refs, r...)
		}
	}
	if err := rereadResources(ctx, tx, now, refs); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE reread_backlog SET kept_out_first = 1`)
	return err
}

// rereadEntry reads again the resources of an entry just kept out of
// sharing (refs), when a re-read has yet to reach them: the re-read then
// carries the choice to the keys it gives the fact.
func rereadEntry(ctx context.Context, tx *sql.Tx, now string, refs []itemRef) error {
	var pending bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM reread_backlog)`).Scan(&pending); err != nil || !pending {
		return err
	}
	return rereadResources(ctx, tx, now, refs)
}

// rereadResources reads again the stored resources of the reports refs
// that the re-read asked for (reread_backlog) has not reached, as
// rereadStored would.
func rereadResources(ctx context.Context, tx *sql.Tx, now string, refs []itemRef) error {
	type resource struct {
		source  int64
		typ, id string
	}
	seen := map[resource]bool{}
	rr := rereader{tx: tx, now: now, importers: map[string]*importer{}}
	defer rr.close()
	for _, ref := range refs {
		r := resource{ref.SourceID, ref.Type, ref.ID}
		if seen[r] {
			continue
		}
		seen[r] = true
		var source, patient string
		var res fhir.Resource
		var raw []byte // as stored, BLOB or TEXT
		err := tx.QueryRowContext(ctx, `SELECT s.name, r.type, r.id, r.version_id, r.last_updated, r.patient_id, r.json
FROM resources r JOIN sources s ON s.id = r.source_id, reread_backlog b
WHERE r.source_id = ? AND r.type = ? AND r.id = ? AND r.rowid > b.after_rowid AND r.rowid <= b.upto_rowid`,
			r.source, r.typ, r.id).Scan(&source, &res.Type, &res.ID, &res.VersionID, &res.LastUpdated, &patient, &raw)
		if errors.Is(err, sql.ErrNoRows) {
			continue // read again already, or stored since
		}
		if err != nil {
			return fmt.Errorf("read %s/%s as stored: %w", r.typ, r.id, err)
		}
		res.Raw = raw
		if err := rr.reread(ctx, source, patient, res); err != nil {
			return err
		}
	}
	return rr.finish(ctx)
}

// rereader reads stored resources again (reproject), with an importer a
// source, as a re-read asked for by a migration does: a key it changes is
// our reading's, not the fact's (importer.rereading).
type rereader struct {
	tx        *sql.Tx
	now       string
	importers map[string]*importer // by source name
}

// reread reads one stored resource again; one that no longer reads, and a
// Patient, stay as they are.
func (rr *rereader) reread(ctx context.Context, source, patientID string, res fhir.Resource) error {
	p := fhir.Prepare(res)
	if p.Err != nil || res.Type == "Patient" {
		return nil
	}
	im := rr.importers[source]
	if im == nil {
		var err error
		if im, err = newImporter(ctx, rr.tx, rr.now, ImportOptions{Source: source}); err != nil {
			return err
		}
		im.rereading = true
		rr.importers[source] = im
	}
	if err := im.reproject(ctx, p, patientID); err != nil {
		return fmt.Errorf("read %s/%s again: %w", res.Type, res.ID, err)
	}
	return nil
}

// finish stores what the re-reads left pending and settles the facts they touched.
func (rr *rereader) finish(ctx context.Context) error {
	for _, im := range rr.importers {
		if err := im.flush(ctx); err != nil {
			return err
		}
		if err := im.touched.settle(ctx, rr.tx); err != nil {
			return err
		}
	}
	return nil
}

func (rr *rereader) close() {
	for _, im := range rr.importers {
		im.close()
	}
}

// rereadBatch is how many stored resources one transaction reads again.
const rereadBatch = 500

// rereadStored reads again up to rereadBatch of the resources stored before
// a change to what the importer takes from them (reread_backlog, migration
// 0027), and reports whether any are left. Each resource's items are
// rewritten in place where they differ from what it gives now (reproject).
func rereadStored(ctx context.Context, tx *sql.Tx, now string) (more bool, err error) {
	var after, upto int64
	err = tx.QueryRowContext(ctx, `SELECT after_rowid, upto_rowid FROM reread_backlog`).Scan(&after, &upto)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read the reread backlog: %w", err)
	}
	type stored struct {
		rowid   int64
		source  string
		patient string
		res     fhir.Resource
	}
	rows, err := tx.QueryContext(ctx, `SELECT r.rowid, s.name, r.type, r.id, r.version_id, r.last_updated, r.patient_id, r.json
FROM resources r JOIN sources s ON s.id = r.source_id WHERE r.rowid > ? AND r.rowid <= ? ORDER BY r.rowid LIMIT ?`, after, upto, rereadBatch)
	if err != nil {
		return false, fmt.Errorf("read stored resources: %w", err)
	}
	var batch []stored
	for rows.Next() {
		var st stored
		if err := rows.Scan(&st.rowid, &st.source, &st.res.Type, &st.res.ID, &st.res.VersionID, &st.res.LastUpdated, &st.patient, &st.res.Raw); err != nil {
			rows.Close()
			return false, err
		}
		batch = append(batch, st)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, err
	}
	rr := rereader{tx: tx, now: now, importers: map[string]*importer{}}
	defer rr.close()
	for _, st := range batch {
		if err := rr.reread(ctx, st.source, st.patient, st.res); err != nil {
			return false, err
		}
	}
	if err := rr.finish(ctx); err != nil {
		return false, err
	}
	if len(batch) < rereadBatch {
		_, err = tx.ExecContext(ctx, `DELETE FROM reread_backlog`)
		return false, err
	}
	_, err = tx.ExecContext(ctx, `UPDATE reread_backlog SET after_rowid = ?`, batch[len(batch)-1].rowid)
	return true, err
}

// reproject writes a stored resource's items again from what it gives now,
// with the keys put gives them (ownKeys: a review found a re-read made two
// servers' Practitioner/1 one member again).
func (im *importer) reproject(ctx context.Context, p fhir.Prepared, patientID string) error {
	p = im.ownKeys(p)
	if err := im.named(ctx, p); err != nil {
		return err
	}
	var out ImportResult
	return im.writeItems(ctx, &out, p, patientID)
}

// indexNamesOf writes again the search index rows of the entries that a
// source's items name who took part in only by one of refs, and of the other
// sources' entries for the same facts, whose words include those items'
// names (ImportOptions.IndexNames). Entries in a bulk load's backlog are left
// to its catch-up, which reads the names as they are then. "+h.source_id"
// has the items read by the bound on their id, so a region's first bulk load
// reads none here; otherwise every item stored before is read once, which
// happens only when something was first named, renamed or left nameless.
func indexNamesOf(ctx context.Context, tx *sql.Tx, sourceID int64, refs []string) error {
	if len(refs) == 0 {
		return nil
	}
	list, err := json.Marshal(refs)
	if err != nil {
		return err
	}
	const entries = `item_id IN (SELECT e.id FROM record_items h JOIN record_items e ON e.person_id = h.person_id
    AND (e.id = h.id OR (h.dedup_key != '' AND e.dedup_key = h.dedup_key))
WHERE h.id <= COALESCE((SELECT after_id FROM search_backlog), 9223372036854775807)
    AND +h.source_id = ?1 AND h.organisation_ref != '' AND h.organisation_ref IN (SELECT value FROM json_each(?2)) AND e.dup = 0)
AND item_id <= COALESCE((SELECT after_id FROM search_backlog), item_id)`
	return indexNames(ctx, tx, entries, sourceID, string(list))
}

// indexNames writes again the search index rows of the entries that where
// (a condition on record_search_rows) selects.
func indexNames(ctx context.Context, tx *sql.Tx, where string, args ...any) error {
	for _, q := range []string{reindexDelete + where + `)`, reindexInsert + where} {
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("index names for search: %w", err)
		}
	}
	return nil
}

// IndexNamesFor writes again the search index rows of the person's entries
// that a source's items name who took part in only by a reference, so that
// search finds them by the name the cache holds now: sync stores a person's
// items before the resources they point at, and a practice may be renamed.
// Entries in a bulk load's backlog are left to its catch-up.
func (db *DB) IndexNamesFor(ctx context.Context, sourceID, personID int64) error {
	// "+d.source_id": read the person's items off their index, not the whole source's.
	const entries = `item_id IN (SELECT e.id FROM record_items e WHERE e.person_id = ?1 AND e.dup = 0 AND (
    (e.source_id = ?2 AND e.organisation_ref != '')
    OR e.dedup_key IN (SELECT d.dedup_key FROM record_items d WHERE d.person_id = ?1 AND +d.source_id = ?2 AND d.organisation_ref != '' AND d.dedup_key != '')))
AND item_id <= COALESCE((SELECT after_id FROM search_backlog), item_id)`
	return db.tx(ctx, func(tx *sql.Tx) error {
		return indexNames(ctx, tx, entries, personID, sourceID)
	})
}

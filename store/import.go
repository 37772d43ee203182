package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/mycarerecord/portal/store/fhir"
)

// ImportOptions says where resources come from and how people are linked.
type ImportOptions struct {
	Source string // source name, e.g. "meanwood-gp"; created when new
	// SourceID, for what a sync fetched, is the id of the source it came
	// from: one removed meanwhile (portal source remove) is not made again
	// by name, and nothing is stored (ENOTFOUND; ImportBulk and
	// ApplyPage check it). Zero for an import of files, which makes the
	// source when new.
	SourceID    int64
	OrgName     string   // organisation people see for the source; kept as it is when ""
	LinkSystems []string // identifier systems that link persons across sources besides the NHS number
	// IndexNames has the import index again, in its transaction, the entries
	// stored before it that name who took part by a resource it names first,
	// renames or leaves nameless, so search finds them by the name held now
	// (portal import: a later file may hold the practice). A bulk load does
	// so whether set or not; a person's sync does it for that person at its
	// end (IndexNamesFor).
	IndexNames bool
	// Accepted are NHS numbers an operator accepted (AcceptNHSNumber): the
	// source's Patient id → the number its new version may bring in place of
	// the one held for it.
	Accepted map[string]string
	// NoteSeen has the import note every resource it reads, stored, unchanged
	// or set aside, as listed by a full bulk export (StartSeen).
	NoteSeen bool
}

// ImportResult counts what one import did.
type ImportResult struct {
	ByType    map[string]int // resources read, by type (including unchanged ones)
	Added     int
	Updated   int
	Unchanged int      // identical to what was stored, or older than it: nothing written
	Older     int      // of Unchanged, those older than the version stored, which was kept
	OlderKept []string // each of those: its place (when known) and versions, e.g. "line 3: Observation/o1: this one (version 1, last updated 1990-01-01T00:00:00Z) is older than the one stored (version 5, …), so the stored one was kept"
	// Rejected are resources set aside with why, keeping what was stored
	// before: known types whose fields could not be read, a Patient whose
	// NHS number is not the one stored for it, and a resource stored earlier
	// by the same import that comes again with other contents.
	Rejected   int
	SetAside   []string // each of those: its place in the file (when known) and why, e.g. "entry 3: Observation/o1: valueQuantity.value should be a number, not text"
	Unknown    int      // types the portal does not show: stored raw
	Items      int      // record items written
	NewPersons int
	Deleted    int // resources removed because upstream deleted them
	// DeletedOthers are those removed, besides Deleted, that were not the
	// person's whose sync read them (PageUpdate.PersonID): a type's history
	// lists every deletion at the source.
	DeletedOthers int
}

// Add adds o's counts to r (not the lines saying what was set aside or kept).
func (r *ImportResult) Add(o ImportResult) {
	if r.ByType == nil {
		r.ByType = map[string]int{}
	}
	for k, v := range o.ByType {
		r.ByType[k] += v
	}
	r.Added += o.Added
	r.Updated += o.Updated
	r.Unchanged += o.Unchanged
	r.Older += o.Older
	r.Rejected += o.Rejected
	r.Unknown += o.Unknown
	r.Items += o.Items
	r.NewPersons += o.NewPersons
	r.Deleted += o.Deleted
	r.DeletedOthers += o.DeletedOthers
}

// ImportResources stores resources from one origin (a file or a page of a
// search) for a source, in one transaction: either all of it is stored or none.
// Stored resources whose JSON is identical are left untouched, so importing the
// same data twice changes nothing.
func (db *DB) ImportResources(ctx context.Context, opts ImportOptions, origin string, res []fhir.Resource) (ImportResult, error) {
	return db.ImportPrepared(ctx, opts, origin, PrepareAll(res))
}

// PrepareAll reads resources for storing on every core, so that the one
// database writer is left only SQL to run.
func PrepareAll(res []fhir.Resource) []fhir.Prepared {
	out := make([]fhir.Prepared, len(res))
	OnEveryCore(len(res), func(i int) { out[i] = fhir.Prepare(res[i]) })
	return out
}

// OnEveryCore calls fn for every i from 0 to n-1, spread over every core
// (one for each 64 or so), and returns when all are done.
func OnEveryCore(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), 1+n/64)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				fn(i)
			}
		}()
	}
	wg.Wait()
}

// ImportPrepared is ImportResources for resources already prepared, so a
// caller can prepare the next batch while this one is written.
func (db *DB) ImportPrepared(ctx context.Context, opts ImportOptions, origin string, res []fhir.Prepared) (ImportResult, error) {
	var out ImportResult
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = importTx(ctx, tx, db.stamp(), opts, origin, res)
		return err
	})
	if err != nil {
		return ImportResult{}, err
	}
	return out, nil
}

// ImportBulk is ImportPrepared for one batch of a bulk load: the items it
// stores are left out of the search index, and the duplicate marks of the
// persons it touches are not worked out, until FinishBulkLoad does both for
// the whole load at once. A load into a cache with no record items also
// leaves the indexes only pages read to be built then (bulkindex.go). What
// is left is noted in the same transaction as the rows, so a load killed
// half way is finished later (FinishStalledBulkLoad) with nothing lost.
// Until then, search does not find the new items, a fact reported by two
// sources may show twice, and ordinary imports leave theirs to the end too.
func (db *DB) ImportBulk(ctx context.Context, opts ImportOptions, origin string, res []fhir.Prepared) (ImportResult, error) {
	res, err := db.atSource(ctx, opts.Source, res) // a bulk export's server is known: another's references name nothing
	if err != nil {
		return ImportResult{}, err
	}
	var out ImportResult
	err = db.tx(ctx, func(tx *sql.Tx) error {
		if err := sourceStillThere(ctx, tx, opts.SourceID, opts.Source); err != nil {
			return err
		}
		var err error
		out, err = importTxMode(ctx, tx, db.stamp(), opts, origin, res, true)
		return err
	})
	if err != nil {
		return ImportResult{}, err
	}
	return out, nil
}

// importTx stores resources inside a transaction that the caller commits.
func importTx(ctx context.Context, tx *sql.Tx, now string, opts ImportOptions, origin string, res []fhir.Prepared) (ImportResult, error) {
	return importTxMode(ctx, tx, now, opts, origin, res, false)
}

// importTxMode is importTx, for one batch of a bulk load when bulk is set.
func importTxMode(ctx context.Context, tx *sql.Tx, now string, opts ImportOptions, origin string, res []fhir.Prepared, bulk bool) (ImportResult, error) {
	out := ImportResult{ByType: map[string]int{}}
	if strings.TrimSpace(opts.Source) == "" {
		return out, Errorf(EINVALID, "A source name is needed to import.")
	}
	if bulk {
		if err := noteBulkAlive(ctx, tx, now); err != nil {
			return out, err
		}
		if err := startBacklog(ctx, tx); err != nil {
			return out, err
		}
		if err := deferIndexes(ctx, tx); err != nil {
			return out, err
		}
	}
	im, err := newImporter(ctx, tx, now, opts)
	if err != nil {
		return out, err
	}
	defer im.close()
	if err := settleSetAside(ctx, tx, im.now, im.sourceID, res); err != nil {
		return out, err
	}
	if opts.NoteSeen {
		refs := make([]fhir.Resource, len(res))
		for i, p := range res {
			refs[i] = p.Resource
		}
		if err := noteSeen(ctx, tx, im.sourceID, refs); err != nil {
			return out, err
		}
	}
	patients := patientsByURL(res)
	if err := noteBundleURLs(ctx, tx, im.sourceID, res); err != nil {
		return out, err
	}
	// Patients first, so persons exist before anything about them.
	for pass := 0; pass < 2; pass++ {
		for i, p := range res {
			if (p.Type == "Patient") != (pass == 0) {
				continue
			}
			if err := ctx.Err(); err != nil {
				return out, err
			}
			place := putPlace{origin: fmt.Sprintf("%s, resource %d", origin, i+1), earlier: func() string { return earlierPlace(res, i) }}
			if err := im.put(ctx, &out, place, p, resolvePatient(patientRef(p, patients), patients)); err != nil {
				return out, fmt.Errorf("%s %s/%s: %w", origin, p.Type, p.ID, err)
			}
		}
	}
	if err := im.flush(ctx); err != nil {
		return out, err
	}
	if bulk {
		err = im.touched.postpone(ctx, tx)
	} else {
		err = im.touched.settle(ctx, tx)
	}
	if err != nil {
		return out, err
	}
	if bulk || opts.IndexNames {
		if err := indexNamesOf(ctx, tx, im.sourceID, im.renamed); err != nil {
			return out, err
		}
	}
	_, err = tx.ExecContext(ctx, `UPDATE sources SET last_import_at = ? WHERE id = ?`, im.now, im.sourceID)
	return out, err
}

// settleSetAside marks done what was set aside before of the resources given
// (a new version of each is here, or it was deleted upstream), whatever the
// import, sync page or bulk load: a new version that cannot be stored either
// is set aside again, with its own reason. A source with nothing set aside,
// as in most loads, costs one look.
func settleSetAside(ctx context.Context, tx *sql.Tx, now string, sourceID int64, res []fhir.Prepared) error {
	var open bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM rejected_resources WHERE source_id = ? AND resolved_at = '')`, sourceID).Scan(&open); err != nil || !open {
		return err
	}
	settle, err := tx.PrepareContext(ctx, `UPDATE rejected_resources SET resolved_at = ? WHERE source_id = ? AND type = ? AND resource_id = ? AND resolved_at = ''`)
	if err != nil {
		return err
	}
	defer settle.Close()
	for _, p := range res {
		if _, err := settle.ExecContext(ctx, now, sourceID, p.Type, p.ID); err != nil {
			return fmt.Errorf("settle what was set aside: %w", err)
		}
	}
	return nil
}

// deleteItemsSQL removes a resource's record items, saying which facts they
// reported (touchedFacts.deleted).
const deleteItemsSQL = `DELETE FROM record_items WHERE source_id = ? AND resource_type = ? AND resource_id = ? RETURNING person_id, dedup_key`

// importer holds one import's prepared statements.
type importer struct {
	tx        *sql.Tx
	now       string
	sourceID  int64
	opts      ImportOptions
	insert    *sql.Stmt
	update    *sql.Stmt
	stored    *sql.Stmt
	addItem   *sql.Stmt
	addItems  *sql.Stmt                // itemsPerInsert items in one statement
	addReason *sql.Stmt                // one of an item's reasons (record_item_reasons)
	pending   []any                    // the arguments of items not yet inserted, itemArgs each
	persons   map[string]sql.NullInt64 // patient id at this source → linked person, as far as this import knows
	touched   touchedFacts             // facts whose entries may have changed
	names     map[string]*fhir.Named   // reference → its name at this source, as far as this import knows (nil: none)
	renamed   []string                 // references to resources the record names who took part by, first named, renamed or left nameless here
	consent   map[int64]ConsentState   // persons' sharing choices, read when an item kept out may lose its key
	held      map[string]bool          // patient id at this source → a new version of it set aside for its NHS number (heldAside)
	rereading bool                     // reading stored resources again (rereadStored): a key changed is our reading's, not the fact's (key_aliases)
	base      string                   // the source's address, "" for one of files: whose an absolute reference is (fhir.LocalReason)
	others    []string                 // the other sources' addresses, for the same
	otherIDs  []int64                  // their ids, in the same order
}

func newImporter(ctx context.Context, tx *sql.Tx, now string, opts ImportOptions) (*importer, error) {
	id, err := ensureSource(ctx, tx, now, opts.Source, opts.OrgName)
	if err != nil {
		return nil, err
	}
	im := &importer{tx: tx, now: now, sourceID: id, opts: opts, persons: map[string]sql.NullInt64{}, touched: touchedFacts{},
		names: map[string]*fhir.Named{}, held: map[string]bool{}}
	if err := im.readAddresses(ctx, id); err != nil {
		return nil, fmt.Errorf("the sources' addresses: %w", err)
	}
	stmts := []struct {
		dst **sql.Stmt
		sql string
	}{
		// New resources are one statement; a known one is rewritten only when its JSON differs.
		{&im.insert, `INSERT OR IGNORE INTO resources (source_id, type, id, version_id, last_updated, patient_id, json, stored_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)`},
		// An older version than the one stored (a bulk export taken before a sync stored a
		// newer one) is left out: the cache never goes back in time.
		{&im.update, `UPDATE resources SET version_id = ?4, last_updated = ?5, patient_id = ?6, json = ?7, stored_at = ?8
WHERE source_id = ?1 AND type = ?2 AND id = ?3 AND json IS NOT ?7 AND NOT COALESCE(julianday(last_updated) > julianday(?5), 0)`},
		// What is stored of a resource the import holds too: whether it is the
		// same, stored earlier by this import, or newer than it.
		{&im.stored, `SELECT CASE WHEN json = ?4 THEN ` + strconv.Itoa(sameAsStored) + ` WHEN stored_at = ?5 THEN ` + strconv.Itoa(keepAside) + `
WHEN COALESCE(julianday(last_updated) > julianday(?6), 0) THEN ` + strconv.Itoa(olderThanStored) + ` ELSE ` + strconv.Itoa(replaceStored) + ` END
FROM resources WHERE source_id = ?1 AND type = ?2 AND id = ?3`},
		{&im.addItem, addItemsSQL(1)},
		{&im.addItems, addItemsSQL(itemsPerInsert)},
		{&im.addReason, `INSERT OR IGNORE INTO record_item_reasons (item_id, system, code) VALUES (?, ?, ?)`},
	}
	for _, s := range stmts {
		if *s.dst, err = tx.PrepareContext(ctx, s.sql); err != nil {
			im.close()
			return nil, fmt.Errorf("prepare import: %w", err)
		}
	}
	return im, nil
}

func (im *importer) close() {
	for _, s := range []*sql.Stmt{im.insert, im.update, im.stored, im.addItem, im.addItems, im.addReason} {
		if s != nil {
			s.Close()
		}
	}
}

// putPlace is where a resource put comes from: origin names it in
// rejected_resources, and earlier is where the same resource came before it
// in the same page or file, "" when not known.
type putPlace struct {
	origin  string
	earlier func() string
}

// ownKeys is p with the keys of its care team members known only by a
// reference made the source's own (fhir projectCareTeam keys them by the
// reference): another server's Practitioner/1 is another person (a review:
// two GPs at two practices, each Practitioner/1 at their own, were one
// entry). Done as the resource comes in (put) and as a stored one is read
// again (reproject), so that every key compared with a stored one is made so.
func (im *importer) ownKeys(p fhir.Prepared) fhir.Prepared {
	var items []fhir.Item
	for i, it := range p.Items {
		if it.Section != fhir.SectionCareTeam || it.DisplayRef == "" || it.DedupKey == "" {
			continue // every other item, on the import's hot path, costs a compare
		}
		own := "|source " + strconv.FormatInt(im.sourceID, 10)
		if strings.HasSuffix(it.DedupKey, own) {
			continue
		}
		if items == nil {
			items = slices.Clone(p.Items) // the caller's are not changed
		}
		items[i].DedupKey += own
	}
	if items != nil {
		p.Items = items
	}
	return p
}

// put stores one resource and its record items, unless it is unchanged.
func (im *importer) put(ctx context.Context, out *ImportResult, place putPlace, p fhir.Prepared, patientID string) error {
	out.ByType[p.Type]++
	if p.Err != nil {
		// Keep what was stored before; set the new version aside with its reason.
		return im.setAside(ctx, out, place, p, p.Err.Error(), "")
	}
	p = im.ownKeys(p)
	if p.Type != "Patient" && patientID != "" {
		if held, err := im.heldAside(ctx, patientID); err != nil {
			return err
		} else if held {
			return im.setAside(ctx, out, place, p, fmt.Sprintf("%s/%s: it is about Patient/%s, whose new version was set aside as its NHS number is not the one held for it, so this was set aside too, keeping what was stored",
				p.Type, p.ID, patientID), patientID)
		}
	}
	if p.Type == "Patient" {
		// A Patient removed upstream, and so from here, keeps its link: sent
		// again with another NHS number, it is held as an update would be.
		if why, err := im.relinkedNumber(ctx, p); err != nil {
			return err
		} else if why != "" {
			return im.setAside(ctx, out, place, p, why, p.ID)
		}
	}
	args := []any{im.sourceID, p.Type, p.ID, p.VersionID, p.LastUpdated, patientID, []byte(p.Raw), im.now}
	res, err := im.insert.ExecContext(ctx, args...)
	if err != nil {
		return err
	}
	updated := false // stored before, so its items are rewritten rather than added
	if n, _ := res.RowsAffected(); n == 1 {
		out.Added++
	} else {
		next, why, err := im.mayUpdate(ctx, place, p)
		switch {
		case err != nil:
			return err
		case next == sameAsStored:
			out.Unchanged++
			return nil
		case next == keepAside:
			return im.setAside(ctx, out, place, p, why, "")
		case next == otherNumberAside:
			return im.setAside(ctx, out, place, p, why, p.ID)
		case next == olderThanStored:
			out.Unchanged++
			out.Older++
			if p.Place != "" {
				why = p.Place + ": " + why
			}
			out.OlderKept = append(out.OlderKept, why)
			return nil
		}
		if err := im.rereadFirst(ctx, p); err != nil {
			return err
		}
		if res, err = im.update.ExecContext(ctx, args...); err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			out.Unchanged++
			return nil
		}
		out.Updated++
		updated = true
	}
	if !fhir.Known(p.Type) {
		out.Unknown++
	}
	if err := im.named(ctx, p); err != nil {
		return err
	}
	if p.Type == "Patient" {
		if err := im.flush(ctx); err != nil {
			return err
		}
		created, err := im.linkPatient(ctx, p.Resource)
		if err != nil {
			return err
		}
		if created {
			out.NewPersons++
		}
	}
	if updated {
		return im.writeItems(ctx, out, p, patientID)
	}
	return im.queueItems(ctx, out, p, patientID)
}

// setAside keeps the resource aside with why, and what was stored of it
// before. heldFor is the Patient whose new version, set aside for its NHS
// number, it waits on (itself, for that Patient); "" when it waits on none.
func (im *importer) setAside(ctx context.Context, out *ImportResult, place putPlace, p fhir.Prepared, why, heldFor string) error {
	out.Rejected++
	shown := why
	if p.Place != "" {
		shown = p.Place + ": " + why
	}
	out.SetAside = append(out.SetAside, shown)
	_, err := im.tx.ExecContext(ctx, `INSERT INTO rejected_resources (source_id, origin, type, resource_id, error, json, created_at, held_for)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, im.sourceID, place.origin, p.Type, p.ID, why, []byte(p.Raw), im.now, heldFor)
	return err
}

// What put does with a resource stored before (mayUpdate).
const (
	replaceStored    = iota // store it in place of the one stored
	sameAsStored            // nothing to do
	keepAside               // keep it aside, with why
	olderThanStored         // the one stored is kept: say why
	otherNumberAside        // a Patient whose NHS number is not the one held for it: keep it aside, with why
)

// mayUpdate looks at what is stored of a resource before a new version of it
// replaces it, and says what to do. It is set aside, with why, when this
// import stored it already, from earlier in the same page or file, and it
// comes again with other contents (which one is right cannot be told; the
// first is kept, and nothing is lost, as the second is kept aside), or when
// a Patient's NHS number is not the one held for it, which would make two
// people one.
func (im *importer) mayUpdate(ctx context.Context, place putPlace, p fhir.Prepared) (next int, why string, err error) {
	err = im.stored.QueryRowContext(ctx, im.sourceID, p.Type, p.ID, []byte(p.Raw), im.now, p.LastUpdated).Scan(&next)
	switch {
	case err == sql.ErrNoRows:
		return replaceStored, "", nil // removed meanwhile: the update finds nothing
	case err != nil:
		return 0, "", fmt.Errorf("read the stored %s/%s: %w", p.Type, p.ID, err)
	case next == keepAside:
		at := "earlier in the same import"
		if e := place.earlier(); e != "" {
			at = "at " + e
		}
		return keepAside, fmt.Sprintf("%s/%s came already, %s, with other contents: a resource is stored once, so the first was kept and this one set aside", p.Type, p.ID, at), nil
	case next == olderThanStored:
		var version, updated string
		if err := im.tx.QueryRowContext(ctx, `SELECT COALESCE(version_id, ''), COALESCE(last_updated, '') FROM resources WHERE source_id = ? AND type = ? AND id = ?`,
			im.sourceID, p.Type, p.ID).Scan(&version, &updated); err != nil {
			return 0, "", fmt.Errorf("read the stored %s/%s: %w", p.Type, p.ID, err)
		}
		return olderThanStored, fmt.Sprintf("%s/%s: this one (%s) is older than the one stored (%s), so the stored one was kept",
			p.Type, p.ID, describeVersion(p.VersionID, p.LastUpdated), describeVersion(version, updated)), nil
	case next == replaceStored && p.Type == "Patient":
		why, err := im.otherNHSNumber(ctx, p)
		if why != "" {
			return otherNumberAside, why, err
		}
		return replaceStored, "", err
	}
	return next, "", nil
}

// describeVersion names a version by its id and when it was last updated.
func describeVersion(id, updated string) string {
	v := "the version"
	if id != "" {
		v = "version " + id
	}
	if updated != "" {
		v += ", last updated " + updated
	}
	return v
}

// otherNHSNumber says why a new version of a Patient stored before must be
// set aside, when its NHS number is not the one held for it: the one in the
// version stored or, when that has none, the person's it is linked to.
// Applied, it would give the person a second NHS number and another's name,
// making two people one. A Patient that gains an NHS number where none was
// held is no such fault.
func (im *importer) otherNHSNumber(ctx context.Context, p fhir.Prepared) (string, error) {
	now, err := fhir.ParsePatient(p.Raw)
	if err != nil || now.NHSNumber == "" {
		return "", nil // set aside later by linkPatient, or holding no number to differ
	}
	var stored []byte // none: removed since it was linked (relinked)
	if err := im.tx.QueryRowContext(ctx, `SELECT json FROM resources WHERE source_id = ? AND type = 'Patient' AND id = ?`, im.sourceID, p.ID).Scan(&stored); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("read the stored Patient/%s: %w", p.ID, err)
	}
	held := ""
	if was, err := fhir.ParsePatient(stored); err == nil {
		held = was.NHSNumber
	}
	whose := "the one stored for it from this source"
	if held == "" {
		err := im.tx.QueryRowContext(ctx, `SELECT COALESCE(nhs_number, '') FROM persons WHERE id = (SELECT person_id FROM source_patients WHERE source_id = ? AND patient_id = ?)`,
			im.sourceID, p.ID).Scan(&held)
		if err != nil && err != sql.ErrNoRows {
			return "", err
		}
		whose = "that of the person it is linked to"
	}
	if held == "" || held == now.NHSNumber || im.opts.Accepted[p.ID] == now.NHSNumber {
		return "", nil
	}
	im.held[p.ID] = true
	kept := "the stored one was kept and this one set aside"
	if stored == nil {
		kept = "it was set aside"
	}
	return fmt.Sprintf("Patient/%s: its NHS number is now %s, but %s is %s: it may be another person under the same id, so %s, with what comes about it until the source sends it with %s again; ask the source which is right, and if it is a correction, portal source accept-nhs-number %s %s accepts it",
		p.ID, nhsNumber(now.NHSNumber), whose, nhsNumber(held), kept, nhsNumber(held), im.opts.Source, p.ID), nil
}

// heldAside reports whether the source's Patient has a new version set
// aside for otherNHSNumber, and not settled since. What comes about it
// meanwhile may be the other person's, so it is set aside too rather than
// filed in the record of the person the Patient is linked to.
func (im *importer) heldAside(ctx context.Context, patientID string) (bool, error) {
	if held, ok := im.held[patientID]; ok {
		return held, nil
	}
	var held bool
	err := im.tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM rejected_resources WHERE source_id = ? AND resolved_at = '' AND type = 'Patient' AND resource_id = ?
AND held_for = resource_id)`, im.sourceID, patientID).Scan(&held)
	if err != nil {
		return false, fmt.Errorf("look for a Patient set aside: %w", err)
	}
	im.held[patientID] = held
	return held, nil
}

// relinkedNumber is otherNHSNumber for a Patient that is linked to a
// person here but has no stored version (removed upstream since): "" when
// it is stored, not linked, or its number is the person's.
func (im *importer) relinkedNumber(ctx context.Context, p fhir.Prepared) (string, error) {
	var relinked bool
	err := im.tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM source_patients sp WHERE sp.source_id = ?1 AND sp.patient_id = ?2
AND NOT EXISTS (SELECT 1 FROM resources r WHERE r.source_id = ?1 AND r.type = 'Patient' AND r.id = ?2))`, im.sourceID, p.ID).Scan(&relinked)
	if err != nil || !relinked {
		return "", err
	}
	return im.otherNHSNumber(ctx, p)
}

// nhsNumber writes an NHS number in the 3-3-4 groups people know.
func nhsNumber(n string) string { return Person{NHSNumber: n}.FormattedNHSNumber() }

// earlierPlace is where the same resource as res[i] was before it in res,
// looking back at most lookBack resources, so a page or file that repeats
// itself a lot costs little; "" when not found.
func earlierPlace(res []fhir.Prepared, i int) string {
	const lookBack = 10000
	for j := i - 1; j >= 0 && j >= i-lookBack; j-- {
		if res[j].ID == res[i].ID && res[j].Type == res[i].Type {
			return res[j].Place
		}
	}
	return ""
}

// queueItems queues the resource's record items for inserting.
func (im *importer) queueItems(ctx context.Context, out *ImportResult, p fhir.Prepared, patientID string) error {
	if patientID == "" || len(p.Items) == 0 {
		return nil // not about a patient: nothing to show in a record
	}
	person, err := im.personOf(ctx, patientID)
	if err != nil {
		return err
	}
	for _, it := range p.Items {
		if err := im.queueItem(ctx, out, p, patientID, person, it); err != nil {
			return err
		}
	}
	return nil
}

// queueItem queues one record item of the resource for inserting.
func (im *importer) queueItem(ctx context.Context, out *ImportResult, p fhir.Prepared, patientID string, person sql.NullInt64, it fhir.Item) error {
	it, err := im.nameItem(ctx, it)
	if err != nil {
		return err
	}
	im.pending = append(im.pending, nil /* its id, given by flush */, im.sourceID, p.Type, p.ID, patientID, person, it.Section, it.CodeSystem, it.Code,
		it.Display, it.Date, it.Status, it.Value, it.Organisation, it.Detail, it.DedupKey,
		sql.NullString{String: it.Exact, Valid: it.Exact != ""}, it.OrganisationRef, it.DisplayRef, it.Part, it.Reasons)
	if len(im.pending) == itemsPerInsert*itemArgs {
		if err := im.flush(ctx); err != nil {
			return err
		}
	}
	im.touched.add(person, it.DedupKey)
	out.Items++
	return nil
}

// Record items are inserted itemsPerInsert to a statement: one statement a row
// cost a bulk load as much as the row itself.
const (
	itemsPerInsert = 32
	itemArgs       = 21
)

func addItemsSQL(n int) string {
	row := `(?` + strings.Repeat(", ?", itemArgs-1) + `)`
	return `INSERT INTO record_items (id, source_id, resource_type, resource_id, patient_id, person_id, section, code_system, code,
display, date, status, value, organisation, detail, dedup_key, exact, organisation_ref, display_ref, part, reason_codes) VALUES ` + row + strings.Repeat(", "+row, n-1)
}

// flush inserts the items put so far. Anything that reads or changes
// record_items in the import flushes first. It gives each item an id above
// any given before (record_item_ids, migration 0028): the access log names
// entries by id, so an id is never given to a second entry, as SQLite would
// give a deleted newest item's.
func (im *importer) flush(ctx context.Context) error {
	if len(im.pending) == 0 {
		return nil
	}
	var high int64
	if err := im.tx.QueryRowContext(ctx, `SELECT MAX(high, COALESCE((SELECT MAX(id) FROM record_items), 0)) FROM record_item_ids`).Scan(&high); err != nil {
		return fmt.Errorf("read the highest item id: %w", err)
	}
	for i := 0; i < len(im.pending); i += itemArgs {
		high++
		im.pending[i] = high
	}
	if _, err := im.tx.ExecContext(ctx, `UPDATE record_item_ids SET high = ?`, high); err != nil {
		return fmt.Errorf("note the highest item id: %w", err)
	}
	for done := 0; done < len(im.pending); {
		stmt, n := im.addItem, itemArgs
		if len(im.pending)-done >= itemsPerInsert*itemArgs {
			stmt, n = im.addItems, itemsPerInsert*itemArgs
		}
		if _, err := stmt.ExecContext(ctx, im.pending[done:done+n]...); err != nil {
			return err
		}
		done += n
	}
	for i := 0; i < len(im.pending); i += itemArgs {
		if err := im.addReasons(ctx, im.pending[i].(int64), im.pending[i+itemArgs-1].(string)); err != nil {
			return err
		}
	}
	im.pending = im.pending[:0] // the same array for the next items
	return nil
}

// addReasons stores an item's reasons (fhir.Item.Reasons) one a row, where
// keeping a kind of information out of sharing looks them up by code
// (store/consent.go reasonKeptOut).
func (im *importer) addReasons(ctx context.Context, id int64, reasons string) error {
	for r := range strings.SplitSeq(reasons, "\x1f") {
		system, code, ok := strings.Cut(r, "|")
		if !ok {
			continue
		}
		if system == "ref" || system == "medref" {
			// Beside it, how an entry at another source finds it: a
			// kept-out entry the ref names (namedAtOtherSources), a
			// Medication the medref names (medicinesTakeCodes), by the
			// address as written, though a file's source reads it as its
			// own (a review: a GP added as a source after the hospital's
			// file lent its Fluoxetine nothing).
			written := code
			code = fhir.LocalReason(code, im.base, im.others) // a medicine's Medication as nameItem read it
			if x := crossRef(written); x != "" {
				if _, err := im.addReason.ExecContext(ctx, id, "x"+system, x); err != nil {
					return fmt.Errorf("store an entry's reason: %w", err)
				}
			}
		}
		if _, err := im.addReason.ExecContext(ctx, id, system, code); err != nil {
			return fmt.Errorf("store an entry's reason: %w", err)
		}
	}
	return nil
}

// crossRef is the key under which a reason's reference kept whole, one under
// another source's address or another server's, is found from the entry it
// may name: "Type/id", a space, and the reference ("" for any other).
// withheldIDs looks it up by the kept-out entry's type and id, then keeps
// the entries whose reference is under that entry's source's address
// (namedAtOtherSources).
func crossRef(code string) string {
	if !strings.Contains(code, "://") {
		return ""
	}
	last := fhir.LastTypeID(code)
	if last == "" {
		return ""
	}
	return last + " " + code
}

// readAddresses reads the source's address and the other sources'.
func (im *importer) readAddresses(ctx context.Context, id int64) error {
	rows, err := im.tx.QueryContext(ctx, `SELECT id, base_url FROM sources WHERE id = ?1 OR base_url != '' ORDER BY id`, id)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var sid int64
		var base string
		if err := rows.Scan(&sid, &base); err != nil {
			return err
		}
		if sid == id {
			im.base = base
			continue
		}
		im.others, im.otherIDs = append(im.others, base), append(im.otherIDs, sid)
	}
	return rows.Err()
}

// atOtherSource is the other source whose address ref, kept whole, is
// under, and ref as that source's own "Type/id"; 0 for none.
func (im *importer) atOtherSource(ref string) (int64, string) {
	for i, o := range im.others {
		if local := fhir.LocalRef(ref, o); local != "" {
			return im.otherIDs[i], local
		}
	}
	return 0, ""
}

// personOf is the person the source's Patient is linked to, if any yet.
func (im *importer) personOf(ctx context.Context, patientID string) (sql.NullInt64, error) {
	if p, ok := im.persons[patientID]; ok {
		return p, nil
	}
	var p sql.NullInt64
	err := im.tx.QueryRowContext(ctx, `SELECT person_id FROM source_patients WHERE source_id = ? AND patient_id = ?`, im.sourceID, patientID).Scan(&p)
	if err != nil && err != sql.ErrNoRows {
		return p, err
	}
	im.persons[patientID] = p
	return p, nil
}

// linkPatient connects a source's Patient to a person: the one already linked,
// else the one with the same NHS number or linking identifier, else a new person.
func (im *importer) linkPatient(ctx context.Context, r fhir.Resource) (created bool, err error) {
	info, err := fhir.ParsePatient(r.Raw)
	if err != nil {
		return false, err
	}
	var personID int64
	err = im.tx.QueryRowContext(ctx, `SELECT person_id FROM source_patients WHERE source_id = ? AND patient_id = ?`, im.sourceID, r.ID).Scan(&personID)
	if err != nil && err != sql.ErrNoRows {
		return false, err
	}
	links := linkIdentifiers(info, im.opts.LinkSystems)
	for _, id := range links {
		if personID != 0 {
			break
		}
		err := im.tx.QueryRowContext(ctx, `SELECT person_id FROM person_identifiers WHERE system = ? AND value = ?`, id.System, id.Value).Scan(&personID)
		if err != nil && err != sql.ErrNoRows {
			return false, err
		}
	}
	merged, joinedMerged := false, false
	if personID == 0 && info.ReplacedBy != "" && info.NHSNumber == "" {
		// Merged into another Patient of the source's (a system-level export
		// holds both), and found by no identifier: the record of the person that one is, as a sync
		// follows a merge, not a person of its own (a review of Bulk Data:
		// one person was made two, the record split between them). Stored
		// before that one, it is taken for a person the survivor joins when
		// it comes (below).
		// Never one with an NHS number: found by no identifier, it is a
		// number no one here holds, and people are never joined across NHS
		// numbers (a review: a wrong merge would have given one person two).
		err := im.tx.QueryRowContext(ctx, `SELECT person_id FROM source_patients WHERE source_id = ? AND patient_id = ?`, im.sourceID, info.ReplacedBy).Scan(&personID)
		if err == sql.ErrNoRows {
			// Not yet: another record merged into the same one came first,
			// and is taken for the person that one is (migration 0075), but
			// only one that gave no NHS number: one that gave one is a person
			// of their own, perhaps not the survivor's (a review: a record
			// joined a person with another NHS number, then the survivor came
			// and was not them).
			err = im.tx.QueryRowContext(ctx, `SELECT sp.person_id FROM source_patients sp JOIN persons p ON p.id = sp.person_id
WHERE sp.source_id = ? AND sp.replaced_by = ? AND sp.patient_id != ? AND p.nhs_number IS NULL ORDER BY sp.rowid LIMIT 1`,
				im.sourceID, info.ReplacedBy, r.ID).Scan(&personID)
		}
		if err != nil && err != sql.ErrNoRows {
			return false, err
		}
		merged = personID != 0
	}
	if personID == 0 && info.ReplacedBy == "" {
		// The survivor of records merged into it that came before it, each
		// then taken for a person of its own: that person is theirs, not
		// another made beside them with the record split between the two (a
		// review of Bulk Data: an export's order decided it). Never across
		// NHS numbers.
		err := im.tx.QueryRowContext(ctx, `SELECT sp.person_id FROM source_patients sp JOIN persons p ON p.id = sp.person_id
WHERE sp.source_id = ? AND sp.replaced_by = ? AND (p.nhs_number IS NULL OR p.nhs_number = ?) ORDER BY sp.rowid LIMIT 1`,
			im.sourceID, r.ID, info.NHSNumber).Scan(&personID)
		if err != nil && err != sql.ErrNoRows {
			return false, err
		}
		if personID != 0 {
			if err := im.forgetMergedIdentifiers(ctx, personID); err != nil {
				return false, err
			}
			joinedMerged = true
		}
	}
	if personID == 0 {
		var nhs any
		if info.NHSNumber != "" {
			nhs = info.NHSNumber
		}
		res, err := im.tx.ExecContext(ctx, `INSERT INTO persons (prefix, given, family, birth_date, nhs_number, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			info.Prefix, info.Given, info.Family, info.BirthDate, nhs, im.now)
		if err != nil {
			return false, fmt.Errorf("add person: %w", err)
		}
		if personID, err = res.LastInsertId(); err != nil {
			return false, err
		}
		created = true
	} else if !merged && info.ReplacedBy == "" { // a record merged away says nothing of who they are now, when it comes again too
		var oldBirth string
		if err := im.tx.QueryRowContext(ctx, `SELECT birth_date FROM persons WHERE id = ?`, personID).Scan(&oldBirth); err != nil {
			return false, fmt.Errorf("read person: %w", err)
		}
		// The latest word on a name or birth date wins; an NHS number is only ever added, never changed.
		if _, err := im.tx.ExecContext(ctx, `UPDATE persons SET
prefix = CASE WHEN ? = '' THEN prefix ELSE ? END, given = CASE WHEN ? = '' THEN given ELSE ? END,
family = CASE WHEN ? = '' THEN family ELSE ? END, birth_date = CASE WHEN ? = '' THEN birth_date ELSE ? END,
nhs_number = COALESCE(nhs_number, NULLIF(?, '')) WHERE id = ?`,
			info.Prefix, info.Prefix, info.Given, info.Given, info.Family, info.Family, info.BirthDate, info.BirthDate, info.NHSNumber, personID); err != nil {
			return false, fmt.Errorf("update person: %w", err)
		}
		if info.BirthDate != "" && info.BirthDate != oldBirth {
			if err := capParental(ctx, im.tx, im.now, personID, info.BirthDate); err != nil {
				return false, err
			}
		}
	}
	for _, id := range links {
		if info.ReplacedBy != "" && !created {
			break // a record merged away says nothing of who the person it is linked to is
		}
		if _, err := im.tx.ExecContext(ctx, `INSERT OR IGNORE INTO person_identifiers (person_id, system, value) VALUES (?, ?, ?)`, personID, id.System, id.Value); err != nil {
			return false, err
		}
	}
	if _, err = im.tx.ExecContext(ctx, `INSERT INTO source_patients (source_id, patient_id, person_id, replaced_by) VALUES (?, ?, ?, ?)
ON CONFLICT (source_id, patient_id) DO UPDATE SET person_id = excluded.person_id, replaced_by = excluded.replaced_by`, im.sourceID, r.ID, personID, info.ReplacedBy); err != nil {
		return false, err
	}
	im.persons[r.ID] = sql.NullInt64{Int64: personID, Valid: true}
	if joinedMerged {
		// The records merged into it, linked before it, after it: it is the
		// Patient their record there is read and sent choices by (PatientAt;
		// a review: the merged record, linked first, took its place).
		ids, err := textsOf(ctx, im.tx, `SELECT patient_id FROM source_patients WHERE source_id = ? AND person_id = ? AND replaced_by != '' ORDER BY rowid`,
			im.sourceID, personID)
		if err != nil {
			return false, err
		}
		if err := linkAfter(ctx, im.tx, im.sourceID, personID, ids); err != nil {
			return false, err
		}
	}
	if err := im.foldMergedInto(ctx, personID, r.ID); err != nil {
		return false, err
	}
	im.touched.all(personID) // items linked now may repeat what another source said
	// Items stored before their Patient arrived (or linked to someone else before) follow the link.
	if _, err = im.tx.ExecContext(ctx, `UPDATE record_items SET person_id = ? WHERE source_id = ? AND patient_id = ? AND person_id IS NOT ?`,
		personID, im.sourceID, r.ID, personID); err != nil {
		return created, err
	}
	if info.ReplacedBy != "" {
		// Merged since it was stored, into a Patient linked already: the
		// person it was taken for joins that one's, as it would have had it
		// come merged (a third review of the merge fix: it stayed apart,
		// however the two came).
		var survivor int64
		err := im.tx.QueryRowContext(ctx, `SELECT person_id FROM source_patients WHERE source_id = ? AND patient_id = ?`, im.sourceID, info.ReplacedBy).Scan(&survivor)
		if err != nil && err != sql.ErrNoRows {
			return created, err
		}
		if survivor != 0 && survivor != personID {
			if err := im.foldMergedInto(ctx, survivor, info.ReplacedBy); err != nil {
				return created, err
			}
			im.touched.all(survivor)
		}
	}
	return created, nil
}

// foldMergedInto brings to the person the records of this source merged
// into its Patient patientID that were taken for a person of their own:
// stored before it, when it was found by an identifier (known from another
// source), or before migration 0075, or when it was itself merged into
// another since (a review: each order split the record). Only a person who
// is those merged records alone, with no NHS number, and whom nobody has
// used: no account, no carer, no choices, no enrolment code; records merged
// into one of those are merged away too, a chain (a fourth review), but
// never one merged into another's record (a fifth: it took another's). Their identifiers go with them,
// as a record merged away says nothing of who the person is. The person
// left holds nothing, and is not deleted: the access log keeps its id. It
// names the person it was merged into, for operators (merged_into).
func (im *importer) foldMergedInto(ctx context.Context, personID int64, patientID string) error {
	rows, err := im.tx.QueryContext(ctx, `SELECT DISTINCT sp.person_id FROM source_patients sp JOIN persons p ON p.id = sp.person_id
WHERE sp.source_id = ?1 AND sp.replaced_by = ?2 AND sp.person_id != ?3 AND p.nhs_number IS NULL
AND NOT EXISTS (SELECT 1 FROM source_patients o WHERE o.person_id = sp.person_id AND (o.source_id != ?1 OR o.replaced_by = ''
	OR o.replaced_by != ?2 AND o.replaced_by NOT IN (SELECT x.patient_id FROM source_patients x WHERE x.person_id = sp.person_id AND x.source_id = ?1)))
AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.person_id = sp.person_id)
AND NOT EXISTS (SELECT 1 FROM carer_grants g WHERE g.person_id = sp.person_id)
AND NOT EXISTS (SELECT 1 FROM consent_decisions d WHERE d.person_id = sp.person_id)
AND NOT EXISTS (SELECT 1 FROM enrolment_codes e WHERE e.person_id = sp.person_id)`, im.sourceID, patientID, personID)
	if err != nil {
		return fmt.Errorf("look for records merged into %s: %w", patientID, err)
	}
	var split []int64
	for rows.Next() {
		var q int64
		if err := rows.Scan(&q); err != nil {
			rows.Close()
			return err
		}
		split = append(split, q)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, q := range split {
		// Linked again after the person's own, so the survivor stays the
		// Patient their record there is read and sent choices by (a review:
		// the merged record, linked first, took its place).
		ids, err := textsOf(ctx, im.tx, `SELECT patient_id FROM source_patients WHERE person_id = ? ORDER BY rowid`, q)
		if err != nil {
			return err
		}
		if err := linkAfter(ctx, im.tx, im.sourceID, personID, ids); err != nil {
			return fmt.Errorf("bring records merged into %s together: %w", patientID, err)
		}
		for _, stmt := range []string{
			`DELETE FROM person_identifiers WHERE person_id = ?2`,
			`UPDATE record_items SET person_id = ?1 WHERE person_id = ?2`,
			`UPDATE persons SET merged_into = ?1 WHERE id = ?2 OR merged_into = ?2`, // operators are pointed on to who holds the records now (MergedInto)
		} {
			if _, err := im.tx.ExecContext(ctx, stmt, personID, q); err != nil {
				return fmt.Errorf("bring records merged into %s together: %w", patientID, err)
			}
		}
		for pid, p := range im.persons {
			if p.Valid && p.Int64 == q {
				im.persons[pid] = sql.NullInt64{Int64: personID, Valid: true}
			}
		}
	}
	return nil
}

// forgetMergedIdentifiers takes from the person the identifiers by which
// records merged away linked them, when a record they were merged into
// joins them: a record merged away says nothing of who the person is
// (TestAMergedPatientJoinsItsSurvivor). Only from a person this source's
// merged records alone are, whose every identifier is theirs: another
// record linked to them, at another source or this one, may carry the same
// number, as theirs (a review: a hospital's live record's number was
// dropped). The survivor's own are linked after.
func (im *importer) forgetMergedIdentifiers(ctx context.Context, personID int64) error {
	var others bool
	if err := im.tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM source_patients WHERE person_id = ?
AND (source_id != ? OR replaced_by = ''))`, personID, im.sourceID).Scan(&others); err != nil || others {
		return err
	}
	_, err := im.tx.ExecContext(ctx, `DELETE FROM person_identifiers WHERE person_id = ?`, personID)
	return err
}

// linkIdentifiers are the patient's identifiers that say who the person is across sources.
func linkIdentifiers(info fhir.PatientInfo, systems []string) []fhir.Identifier {
	var out []fhir.Identifier
	if info.NHSNumber != "" {
		out = append(out, fhir.Identifier{System: fhir.NHSNumberSystem, Value: info.NHSNumber})
	}
	for _, id := range info.Identifiers {
		if id.Value == "" || id.System == fhir.NHSNumberSystem {
			continue
		}
		for _, s := range systems {
			if id.System == s {
				out = append(out, id)
			}
		}
	}
	return out
}

// patientsByURL maps how resources in one file may refer to a Patient (fullUrl,
// Patient/id, identifier) to the Patient's id.
func patientsByURL(res []fhir.Prepared) map[string]string {
	m := map[string]string{}
	for _, r := range res {
		if r.Type != "Patient" {
			continue
		}
		m["Patient/"+r.ID] = r.ID
		if r.FullURL != "" {
			m[r.FullURL] = r.ID
		}
		if info, err := fhir.ParsePatient(r.Raw); err == nil {
			for _, id := range info.Identifiers {
				m["Patient?identifier="+id.System+"|"+id.Value] = r.ID
			}
		}
	}
	return m
}

// patientRef is the reference to the patient p is about; for a Provenance,
// the one Patient its targets name, by type or by the address of a Patient
// in the same batch (patientsByURL). One naming two or more is about none:
// filed under one, it would put another's name and records in that one's
// export (a review).
func patientRef(p fhir.Prepared, patients map[string]string) string {
	if p.Type != "Provenance" {
		return p.PatientRef
	}
	one := ""
	for _, t := range fhir.ProvenanceTargets(p.Raw) {
		id, ok := patients[t]
		if !ok && strings.Contains(t, "Patient/") {
			id, ok = PatientIDOf(t), true
		}
		switch {
		case !ok || id == one:
		case one != "":
			return ""
		default:
			one = id
		}
	}
	if one == "" {
		return ""
	}
	return "Patient/" + one
}

// noteBundleURLs keeps the "urn:uuid:…" address a bundle entry gave a
// resource when it is not the resource's own id (bundle_urls), so that
// another entry naming it so names it (consent.go namesOneOf).
func noteBundleURLs(ctx context.Context, tx *sql.Tx, sourceID int64, res []fhir.Prepared) error {
	for _, r := range res {
		if !strings.HasPrefix(r.FullURL, "urn:uuid:") || r.FullURL == "urn:uuid:"+r.ID || r.ID == "" {
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO bundle_urls (source_id, type, id, url) VALUES (?, ?, ?, ?)`, sourceID, r.Type, r.ID, r.FullURL); err != nil {
			return fmt.Errorf("note %s/%s's address in its bundle: %w", r.Type, r.ID, err)
		}
	}
	return nil
}

// resolvePatient turns a reference into the Patient id at the source.
func resolvePatient(ref string, patients map[string]string) string {
	if id, ok := patients[ref]; ok && ref != "" {
		return id
	}
	return PatientIDOf(ref)
}

// PatientIDOf is the id of the Patient a reference names, as the importer
// reads it: "Patient/x", "https://host/fhir/Patient/x",
// "Patient/x/_history/2" and "urn:uuid:x" all name x.
func PatientIDOf(ref string) string {
	if i := strings.LastIndex(ref, "Patient/"); i >= 0 {
		id, _, _ := strings.Cut(ref[i+len("Patient/"):], "/") // Patient/x/_history/2
		return id
	}
	return strings.TrimPrefix(ref, "urn:uuid:")
}

// sourceStillThere refuses what a sync fetched from the source with that id
// and name once the source has been removed; an id of 0 (an import of
// files) is never refused.
func sourceStillThere(ctx context.Context, tx *sql.Tx, id int64, name string) error {
	if id == 0 {
		return nil
	}
	var there bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM sources WHERE id = ? AND name = ?)`, id, name).Scan(&there); err != nil {
		return err
	}
	if !there {
		return Errorf(ENOTFOUND, "The source %q was removed while it was being synced: nothing more is stored from it.", name)
	}
	return nil
}

// ensureSource returns the source's id, adding it when new.
func ensureSource(ctx context.Context, tx *sql.Tx, now, name, org string) (int64, error) {
	_, err := tx.ExecContext(ctx, `INSERT INTO sources (id, name, org_name, created_at) VALUES (`+newSourceID+`, ?, ?, ?)
ON CONFLICT (name) DO UPDATE SET org_name = CASE WHEN excluded.org_name = '' THEN org_name ELSE excluded.org_name END`, name, org, now)
	if err != nil {
		return 0, fmt.Errorf("add source %q: %w", name, err)
	}
	var id int64
	if err := tx.QueryRowContext(ctx, `SELECT id FROM sources WHERE name = ?`, name).Scan(&id); err != nil {
		return 0, fmt.Errorf("find source %q: %w", name, err)
	}
	return id, nil
}

// ResourceCounts returns how many resources are stored, by type, across all sources.
func (db *DB) ResourceCounts(ctx context.Context) (map[string]int, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT type, COUNT(*) FROM resources GROUP BY type`)
	if err != nil {
		return nil, fmt.Errorf("count resources: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var t string
		var n int
		if err := rows.Scan(&t, &n); err != nil {
			return nil, err
		}
		out[t] = n
	}
	return out, rows.Err()
}

// writeItems stores the record items of a resource stored before in place of
// its old ones. Each new item that follows on from a stored one (pairItems)
// is rewritten where it differs, so it keeps its id: the access log names the
// entries viewed by id, and a link to an entry still leads to it after its
// resource changes upstream. A new item with none to follow on from is added,
// and a stored one that none follows on from is removed.
func (im *importer) writeItems(ctx context.Context, out *ImportResult, p fhir.Prepared, patientID string) error {
	if err := im.flush(ctx); err != nil {
		return err
	}
	old, err := readStoredItems(ctx, im.tx, `source_id = ? AND resource_type = ? AND resource_id = ?`, im.sourceID, p.Type, p.ID)
	if err != nil {
		return err
	}
	var person sql.NullInt64
	var pairs []int // none when no longer about a patient: nothing to show in a record
	if patientID != "" {
		if person, err = im.personOf(ctx, patientID); err != nil {
			return err
		}
		pairs = pairItems(old, p.Items)
	}
	followed := make([]bool, len(old))
	for _, j := range pairs {
		if j >= 0 {
			followed[j] = true
		}
	}
	for j, s := range old {
		if !followed[j] {
			if err := im.removeItem(ctx, p, s); err != nil {
				return err
			}
		}
	}
	for i, j := range pairs {
		if j < 0 {
			if err := im.queueItem(ctx, out, p, patientID, person, p.Items[i]); err != nil {
				return err
			}
			continue
		}
		s := old[j]
		out.Items++
		it, err := im.nameItem(ctx, p.Items[i])
		if err != nil {
			return err
		}
		if it == s.it && s.patient == patientID && s.person == person {
			continue
		}
		if err := im.holdKeptOutKey(ctx, p, s, it.DedupKey); err != nil {
			return err
		}
		// An item that no longer has a key is no other's duplicate: nothing would mark it again.
		if _, err := im.tx.ExecContext(ctx, `UPDATE record_items SET patient_id = ?, person_id = ?, section = ?, code_system = ?, code = ?,
display = ?, date = ?, status = ?, value = ?, organisation = ?, detail = ?, dedup_key = ?, exact = ?, organisation_ref = ?, display_ref = ?, part = ?,
reason_codes = ?, dup = CASE WHEN ?12 = '' THEN 0 ELSE dup END WHERE id = ?`, patientID, person, it.Section, it.CodeSystem, it.Code, it.Display, it.Date, it.Status, it.Value, it.Organisation, it.Detail,
			it.DedupKey, sql.NullString{String: it.Exact, Valid: it.Exact != ""}, it.OrganisationRef, it.DisplayRef, it.Part, it.Reasons, s.id); err != nil {
			return fmt.Errorf("rewrite a record item: %w", err)
		}
		if it.Reasons != s.it.Reasons {
			if _, err := im.tx.ExecContext(ctx, `DELETE FROM record_item_reasons WHERE item_id = ?`, s.id); err != nil {
				return fmt.Errorf("rewrite an entry's reasons: %w", err)
			}
			if err := im.addReasons(ctx, s.id, it.Reasons); err != nil {
				return err
			}
		}
		// Its old fact lost this report, or its words changed; the fact it
		// reports now may be another source's entry, whose words gain or lose its.
		im.touched.removed(s.person, s.it.DedupKey)
		im.touched.removed(person, it.DedupKey)
	}
	if len(pairs) == 0 {
		return nil
	}
	return im.keepOutAgain(ctx, p)
}

// keepOutAgain holds the resource's items to the keys waiting for them
// (removeItem): a care team member's to the item of the same member (part)
// and person, and, when the resource now gives one item, that item to the
// keys waiting for it. Keys waiting for a member named by no reference wait
// on while the resource gives several items: which of them followed on from
// the one removed cannot be told, and holding the wrong one to them would
// keep out an entry the person never chose to.
func (im *importer) keepOutAgain(ctx context.Context, p fhir.Prepared) error {
	const resource = `source_id = ? AND resource_type = ? AND resource_id = ?`
	var waiting bool
	if err := im.tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM held_keys_waiting WHERE `+resource+`)`, im.sourceID, p.Type, p.ID).Scan(&waiting); err != nil || !waiting {
		return err
	}
	if err := im.flush(ctx); err != nil {
		return err
	}
	items, err := readStoredItems(ctx, im.tx, resource, im.sourceID, p.Type, p.ID)
	if err != nil {
		return err
	}
	for _, s := range items {
		if !s.person.Valid || (s.it.Part == "" && len(items) != 1) {
			continue
		}
		args := []any{im.sourceID, p.Type, p.ID, s.it.Part, s.person.Int64, s.id, itemKey(im.sourceID, p.Type, p.ID, s.it.Part, s.it.DedupKey)}
		const same = resource + ` AND part = ? AND person_id = ?`
		if _, err := im.tx.ExecContext(ctx, `INSERT OR IGNORE INTO held_keys (person_id, key, item_id)
SELECT person_id, key, ?6 FROM held_keys_waiting WHERE source_id = ?1 AND resource_type = ?2 AND resource_id = ?3 AND part = ?4 AND person_id = ?5 AND key != ?7`, args...); err != nil {
			return fmt.Errorf("keep an entry out again: %w", err)
		}
		if _, err := im.tx.ExecContext(ctx, `DELETE FROM held_keys_waiting WHERE `+same, args[:5]...); err != nil {
			return fmt.Errorf("keep an entry out again: %w", err)
		}
	}
	return nil
}

// removeItem removes a stored item that no new one follows on from. The keys
// it is kept out of sharing by wait for its entry to come back
// (held_keys_waiting, migration 0028): a member who rejoins a care team, or a
// resource filed against the person again, is kept out again, even by a key
// it no longer has.
func (im *importer) removeItem(ctx context.Context, p fhir.Prepared, s storedItem) error {
	if s.person.Valid {
		keys, err := heldKeys(ctx, im.tx, s.person.Int64, s.id)
		if err != nil {
			return err
		}
		key := itemKey(im.sourceID, p.Type, p.ID, s.it.Part, s.it.DedupKey)
		if out, err := im.keepsOut(ctx, s.person.Int64, key); err != nil {
			return err
		} else if out {
			keys = append(keys, key)
		}
		for _, k := range keys {
			if _, err := im.tx.ExecContext(ctx, `INSERT OR IGNORE INTO held_keys_waiting (source_id, resource_type, resource_id, part, person_id, key)
VALUES (?, ?, ?, ?, ?, ?)`, im.sourceID, p.Type, p.ID, s.it.Part, s.person, k); err != nil {
				return fmt.Errorf("keep a removed item's kept-out key: %w", err)
			}
		}
	}
	if _, err := im.tx.ExecContext(ctx, `DELETE FROM record_items WHERE id = ?`, s.id); err != nil {
		return fmt.Errorf("remove a record item: %w", err)
	}
	im.touched.removed(s.person, s.it.DedupKey)
	return nil
}

// pairItems gives, for each of a resource's new items, the index of the
// stored item it follows on from, or -1 for none: first one identical to it
// (two reports with one key, reordered, keep theirs), then the same member
// of a care team (Item.Part) in the same role (its key), then the same
// member, then one with the same key, then the next left
// in order. Two items that are different members never pair, so a member who
// joins never takes the entry of one who left; items with no part (a member
// named by no reference, or one stored before migration 0028) pair as
// before, by key and then by order.
func pairItems(old []storedItem, items []fhir.Item) []int {
	out := make([]int, len(items))
	for i := range out {
		out[i] = -1
	}
	used := make([]bool, len(old))
	pass := func(match func(s, it fhir.Item) bool) {
		for i, it := range items {
			for j := 0; out[i] < 0 && j < len(old); j++ {
				if !used[j] && match(old[j].it, it) {
					out[i], used[j] = j, true
				}
			}
		}
	}
	mayBeOne := func(s, it fhir.Item) bool { return s.Part == "" || it.Part == "" || s.Part == it.Part }
	pass(func(s, it fhir.Item) bool { return s == it })
	pass(func(s, it fhir.Item) bool { return it.Part != "" && s.Part == it.Part && s.DedupKey == it.DedupKey }) // a member in two roles: each its own
	pass(func(s, it fhir.Item) bool { return it.Part != "" && s.Part == it.Part })
	pass(func(s, it fhir.Item) bool { return it.DedupKey != "" && s.DedupKey == it.DedupKey && mayBeOne(s, it) })
	pass(mayBeOne)
	return out
}

// rereadFirst reads the stored version of p's resource again, as a
// migration asked (reread_backlog), before a new version replaces it, when
// the re-read has not reached it yet: what our reading changed is then told
// apart from what upstream changed, and a choice made by the fact's old key
// holds by its new one (key_aliases; a review found a sync that came first
// left next month's prescription of a kept-out medicine to the carer).
func (im *importer) rereadFirst(ctx context.Context, p fhir.Prepared) error {
	var st fhir.Resource
	var patientID string
	err := im.tx.QueryRowContext(ctx, `SELECT r.type, r.id, r.version_id, r.last_updated, r.patient_id, r.json FROM resources r, reread_backlog b
WHERE r.source_id = ? AND r.type = ? AND r.id = ? AND r.rowid > b.after_rowid AND r.rowid <= b.upto_rowid`, im.sourceID, p.Type, p.ID).
		Scan(&st.Type, &st.ID, &st.VersionID, &st.LastUpdated, &patientID, &st.Raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s/%s as stored: %w", p.Type, p.ID, err)
	}
	stored := fhir.Prepare(st)
	if stored.Err != nil || st.Type == "Patient" {
		return nil // what was stored stays as it is, as rereadStored leaves it
	}
	was := im.rereading
	im.rereading = true
	defer func() { im.rereading = was }()
	if err := im.reproject(ctx, stored, patientID); err != nil {
		return fmt.Errorf("read %s/%s again: %w", p.Type, p.ID, err)
	}
	return im.flush(ctx)
}

// Sharing choices about one entry are held by its key (ItemKey), which can
// change when its resource does: a new dose, a corrected code. A stored item
// kept out of sharing by a key it is about to lose keeps that key in
// held_keys (migration 0027), and sharing choices match it by either. Only a
// key the person keeps out is held, so a later choice about another entry
// with the old key never catches this one.

// holdKeptOutKey keeps the stored item's key when the person keeps it out of
// sharing and the item is about to be known by another: for this report
// (held_keys), and, when a re-read changed it, for the fact by its new key
// (key_aliases, migration 0048).
func (im *importer) holdKeptOutKey(ctx context.Context, p fhir.Prepared, s storedItem, newKey string) error {
	key, nk := itemKey(im.sourceID, p.Type, p.ID, s.it.Part, s.it.DedupKey), itemKey(im.sourceID, p.Type, p.ID, s.it.Part, newKey)
	if key == nk || !s.person.Valid {
		return nil
	}
	// Most people keep no entry out: then there is nothing to hold, and a
	// re-read of the whole cache asks nothing more of each item.
	if st, err := im.consentOf(ctx, s.person.Int64); err != nil || len(st.WithheldItems) == 0 {
		return err
	}
	if im.rereading {
		// Our reading renamed the fact: a choice made by a key it had before
		// holds by the new one, for every report of it (migration 0048).
		if _, err := im.tx.ExecContext(ctx, `INSERT OR IGNORE INTO key_aliases (person_id, old_key, new_key)
SELECT person_id, old_key, ?3 FROM key_aliases WHERE person_id = ?1 AND new_key = ?2`, s.person, key, nk); err != nil {
			return fmt.Errorf("keep a fact's old key: %w", err)
		}
	}
	out, err := im.keepsOut(ctx, s.person.Int64, key)
	if err != nil {
		return err
	}
	if out && im.rereading {
		if _, err := im.tx.ExecContext(ctx, `INSERT OR IGNORE INTO key_aliases (person_id, old_key, new_key) VALUES (?, ?, ?)`, s.person, key, nk); err != nil {
			return fmt.Errorf("keep a fact's old key: %w", err)
		}
	}
	// The keys it is kept out by: its own, and those it had before, or its
	// fact had before a re-read (heldKeys), which hold it through this change
	// too (a review: a report kept out only through its fact's old key was
	// shared once upstream changed its dose).
	by := []string{}
	if out {
		by = append(by, key)
	}
	held, err := heldKeys(ctx, im.tx, s.person.Int64, s.id)
	if err != nil {
		return err
	}
	for _, k := range held {
		if kept, err := im.keepsOut(ctx, s.person.Int64, k); err != nil {
			return err
		} else if kept {
			by = append(by, k)
		}
	}
	for _, k := range by {
		if _, err := im.tx.ExecContext(ctx, `INSERT OR IGNORE INTO held_keys (person_id, key, item_id) VALUES (?, ?, ?)`, s.person, k, s.id); err != nil {
			return fmt.Errorf("keep an item's old key: %w", err)
		}
	}
	return nil
}

// keepsOut reports whether the person keeps the entry with this key out of sharing.
func (im *importer) keepsOut(ctx context.Context, person int64, key string) (bool, error) {
	st, err := im.consentOf(ctx, person)
	return err == nil && st.WithholdsItem(key), err
}

// consentOf is the person's sharing choices, read once an import.
func (im *importer) consentOf(ctx context.Context, person int64) (ConsentState, error) {
	if im.consent == nil {
		im.consent = map[int64]ConsentState{}
	}
	st, ok := im.consent[person]
	if !ok {
		var err error
		if st, err = consentState(ctx, im.tx, person); err != nil {
			return st, err
		}
		im.consent[person] = st
	}
	return st, nil
}

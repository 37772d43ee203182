package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// touchedFacts are the facts (person and dedup key) an import changed, so that
// which item stands for each fact, and what the search index holds for it,
// can be worked out again before it commits.
type touchedFacts map[int64]map[string]bool // person → key → whether a report of it was removed; an empty key means all of the person's

func (t touchedFacts) add(person sql.NullInt64, key string) {
	if !person.Valid || key == "" {
		return
	}
	if t[person.Int64] == nil {
		t[person.Int64] = map[string]bool{}
	}
	if _, ok := t[person.Int64][key]; !ok {
		t[person.Int64][key] = false
	}
}

// removed notes a fact that lost a report: its entry's words may lose that report's.
func (t touchedFacts) removed(person sql.NullInt64, key string) {
	t.add(person, key)
	if person.Valid && key != "" {
		t[person.Int64][key] = true
	}
}

func (t touchedFacts) all(person int64) {
	if t[person] == nil {
		t[person] = map[string]bool{}
	}
	t[person][""] = true
}

// deleted removes a resource's items, noting the facts they stood for.
func (t touchedFacts) deleted(ctx context.Context, del *sql.Stmt, sourceID int64, typ, id string) error {
	rows, err := del.QueryContext(ctx, sourceID, typ, id)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var person sql.NullInt64
		var key string
		if err := rows.Scan(&person, &key); err != nil {
			return err
		}
		t.removed(person, key)
	}
	return rows.Err()
}

// markDups works out which source's items stand for a fact: never a source
// whose every report of it was recorded in error (or, but for an allergy or
// condition, ruled out) while another
// source reports it as it is; nor a social care service while a health
// service reports it too, since a person may keep social care out of sharing
// and their carer must still see the fact as the GP reports it (migration
// 0021); nor, for the same reason, a source whose report gives a reason of
// a kind a person may keep out (migration 0045) while another's does not; for a medicine, never a source whose latest report of it says other
// than the latest report of any source (a course completed, while another
// source prescribed it again since): its entries would show the medicine as
// it no longer is and hide the prescription that says how it is now, which
// the summary's current medicines show; for a visit or an appointment, one
// rule whatever each report's type (a review: an appointment and a visit at
// one moment, each ranked by its own type's rule, each stood aside for the
// other and the visit vanished): a source that says it took place, else one
// that says it was cancelled or missed, over one that only booked or planned
// it (a cancellation is always later news than the booking, and a person
// must not go to a clinic cancelled; a visit the GP says took place must not
// read cancelled); for a vaccination, after the rules for social care and
// sensitive reasons (which keep the carer's view of the dose), one that says
// there was a reaction, then one that says the dose was less than full
// (store/fhir projectImmunization: a reaction must not hide behind the
// national record's report of the dose, nor behind a part dose); for an
// allergy or condition, the
// latest report, but for an allergy one that says it holds now first
// (heldFacts); then the source that reported it
// most often (a
// repeat prescription is several facts at one source), the lowest-numbered
// on a tie. Every other source's items for the fact are dup. Only the set of
// items decides, never the order they arrived in. Documents merge only when
// they also say the same about themselves (migration 0020): two sources'
// letters of one type on one day may be two letters, and one must never hide
// the other. A source's document that is its report's note too (one key: the
// same content) stands aside for the report, at the same source: Synthea
// sends every note as both, and each showed twice (a review).
const standsAside = `(` + noteAlsoReported + ` OR source_id != (SELECT o.source_id FROM record_items o
WHERE o.person_id = record_items.person_id AND o.dedup_key = record_items.dedup_key
AND (record_items.section != 'documents' OR o.detail = record_items.detail)
GROUP BY o.source_id ORDER BY MIN(o.status = 'entered-in-error' OR (o.status = 'refuted' AND record_items.section NOT IN ` + heldFacts + `)),
CASE WHEN record_items.section = 'allergies' THEN substr(` + heldLatest + `, -1) = '4' END DESC,
CASE WHEN record_items.section = 'encounters' THEN MAX(CASE WHEN o.status IN ('finished', 'in-progress', 'arrived', 'triaged', 'onleave', 'fulfilled', 'checked-in') THEN 2
    WHEN o.status IN ('cancelled', 'noshow') THEN 1 ELSE 0 END) END DESC,
(SELECT s.social_care FROM sources s WHERE s.id = o.source_id),
MAX(o.reason_codes != '' AND EXISTS (SELECT 1 FROM record_item_reasons r JOIN sensitive_codes sc ON sc.system = r.system
    AND (sc.code = r.code OR (sc.prefix = 1 AND substr(r.code, 1, length(sc.code)) = sc.code)) WHERE r.item_id = o.id)),
CASE WHEN record_items.section = 'immunisations' THEN MAX(CASE WHEN o.detail LIKE '%Reaction: %' OR o.detail LIKE '%A reaction to it was recorded%' THEN 2
    WHEN o.detail LIKE '%Less than a full dose%' THEN 1 ELSE 0 END) END DESC,
CASE WHEN record_items.section = 'medicines' THEN ` + sourceStatus + ` IS NOT ` + factStatus + ` END,
CASE WHEN record_items.section IN ` + heldFacts + ` THEN ` + heldLatest + ` END DESC,
COUNT(*) DESC, o.source_id LIMIT 1))`

// noteAlsoReported is SQL true for a document its source also sends as a
// report holding the same content (fhir projectDiagnosticReport), the report
// standing: a current document never stands aside for a report recorded in
// error or not yet final (a review: the valid note vanished behind
// "Recorded in error"). A document of more parts than its note is keyed
// apart (fhir projectDocument), so none of its files is lost.
const noteAlsoReported = `(record_items.resource_type = 'DocumentReference' AND record_items.section = 'documents'
AND EXISTS (SELECT 1 FROM record_items o WHERE o.person_id = record_items.person_id AND o.dedup_key = record_items.dedup_key
AND o.source_id = record_items.source_id AND o.resource_type = 'DiagnosticReport' AND o.detail = record_items.detail
AND o.status IN ('final', 'amended', 'corrected', 'appended')))`

// heldFacts are the sections whose facts a person has, or has had, or was
// thought to have: allergies and conditions. Of two sources' reports of one,
// the source whose latest report is latest stands (a condition resolved
// since a hospital left its episode active; a diagnosis ruled out after
// another source thought it likely); on the same day, the one saying more
// that matters: that it holds now, then that it is suspected, then that it
// is over, then that it was ruled out, so the order sources arrived in
// never decides. An allergy is the exception: a source whose latest report
// says it holds now stands over any other, a social care service's too,
// since hiding a current allergy behind a hospital's later "inactive" would
// tell the person, and anyone they show, that they have none. Found by
// clinical-safety reviews. Either way the entry's page lists every source's
// report.
const heldFacts = `('allergies', 'conditions')`

// heldLatest is the SQL for source o's latest report of a held fact, in
// standsAside: its day as written (a date and a date-time on one day are one
// day), the later of when it began and when it ended, for a condition that
// says ("Ended 2024-01-05": a GP's asthma resolved in 2024 is later news
// than a hospital's episode of 2020, though it began in 2015; found by a
// review), then what it says, ranked as heldFacts says (4 holds now, 3
// suspected, 2 over, 1 ruled out); a report recorded in error says nothing.
// Reports without a date are the earliest.
const heldLatest = `MAX(CASE WHEN record_items.section IN ` + heldFacts + ` AND o.status != 'entered-in-error' THEN
MAX(substr(o.date, 1, 10), CASE WHEN o.detail GLOB 'Ended [0-9][0-9][0-9][0-9]*' THEN substr(o.detail, 7, 10) ELSE '' END) || char(31) ||
CASE WHEN o.status IN ('active', 'recurrence', 'relapse') THEN '4' WHEN o.status = 'unconfirmed' THEN '3' WHEN o.status = 'refuted' THEN '1' ELSE '2' END END)`

// latestOfSource is the SQL for the latest report of the fact by source o, in
// standsAside, as its date and status, other than one recorded in error; of
// reports made at the same time, by their status, so that the order they
// arrived in never decides. latestOfFact is the latest of all sources (a
// window over the groups): one pass over the fact's reports finds both.
// sourceStatus and factStatus are their statuses. Only a medicine's reports
// are read for their dates, which the index standsAside reads does not hold.
const (
	latestOfSource = `MAX(CASE WHEN record_items.section = 'medicines' AND o.status NOT IN ('entered-in-error', 'refuted') THEN o.date || char(31) || o.status END)`
	latestOfFact   = `MAX(` + latestOfSource + `) OVER ()`
	sourceStatus   = `substr(` + latestOfSource + `, instr(` + latestOfSource + `, char(31)) + 1)`
	factStatus     = `substr(` + latestOfFact + `, instr(` + latestOfFact + `, char(31)) + 1)`
)

// Only rows whose mark changes are written: rewriting an unchanged row would
// still touch its indexes and the search index's triggers.
const markDups = `UPDATE record_items SET dup = ` + standsAside + ` WHERE person_id = ? AND dedup_key = ? AND dup != ` + standsAside

// A fact reported by one source, with no item marked, is right as it is: only
// the others are worked out (most of a bulk-loaded region's facts have one source).
const markAllDups = `UPDATE record_items SET dup = ` + standsAside + ` WHERE person_id = ?1 AND dedup_key IN (
SELECT dedup_key FROM record_items WHERE person_id = ?1 AND dedup_key != '' GROUP BY dedup_key HAVING COUNT(DISTINCT source_id) > 1 OR MAX(dup) = 1
    OR (MAX(resource_type = 'DocumentReference') AND MAX(resource_type = 'DiagnosticReport'))
) AND dup != ` + standsAside

// An entry's words in the search index include those of the other sources'
// reports of its fact (migration 0010), so once the duplicates of a fact are
// worked out its entries are indexed again: when it has other reports, or had
// one removed. Items in a bulk load's backlog are left for its catch-up.
const (
	reindexFact = `person_id = ?1 AND dedup_key = ?2 AND item_id <= COALESCE((SELECT after_id FROM search_backlog), item_id)
AND (?3 OR EXISTS (SELECT 1 FROM record_items d WHERE d.person_id = ?1 AND d.dedup_key = ?2 AND d.dup = 1))`
	reindexPerson = `person_id = ?1 AND dedup_key != '' AND item_id <= COALESCE((SELECT after_id FROM search_backlog), item_id)
AND EXISTS (SELECT 1 FROM record_items d WHERE d.person_id = ?1 AND d.dedup_key = record_search_rows.dedup_key AND d.dup = 1)`
	reindexDelete = `DELETE FROM record_search WHERE rowid IN (SELECT fts_rowid FROM record_search_rows WHERE `
	reindexInsert = `INSERT INTO record_search (rowid, scope, display, code, value, detail, organisation, source, others)
SELECT fts_rowid, scope, display, code, value, detail, organisation, source, others FROM record_search_rows WHERE `
)

// refresher runs the statements that work out a fact again.
type refresher struct {
	mark, del, ins          *sql.Stmt // one fact
	markAll, delAll, insAll *sql.Stmt // every fact of a person
	shared                  *sql.Stmt // whether any fact of a person may have two sources' reports
}

// sharedFacts is false when all a person's items come from one source and none
// is marked, nor is a note sent both as a document and as a report
// (noteAlsoReported): then every item stands for its fact and no entry has
// other reports' words, so there is nothing to work out (most persons of a
// bulk load).
const sharedFacts = `SELECT EXISTS (SELECT 1 FROM record_items WHERE person_id = ?1 AND dup = 1)
OR (SELECT COUNT(DISTINCT source_id) FROM record_items WHERE person_id = ?1) > 1
OR EXISTS (SELECT 1 FROM record_items d JOIN record_items r ON r.person_id = d.person_id AND r.dedup_key = d.dedup_key
    AND r.source_id = d.source_id AND r.resource_type = 'DiagnosticReport'
    WHERE d.person_id = ?1 AND d.section = 'documents' AND d.resource_type = 'DocumentReference' AND d.dedup_key != '')`

func newRefresher(ctx context.Context, tx *sql.Tx) (*refresher, error) {
	r := &refresher{}
	var err error
	for _, s := range []struct {
		dst **sql.Stmt
		sql string
	}{{&r.mark, markDups}, {&r.del, reindexDelete + reindexFact + `)`}, {&r.ins, reindexInsert + reindexFact},
		{&r.markAll, markAllDups}, {&r.delAll, reindexDelete + reindexPerson + `)`}, {&r.insAll, reindexInsert + reindexPerson},
		{&r.shared, sharedFacts}} {
		if *s.dst, err = tx.PrepareContext(ctx, s.sql); err != nil {
			r.close()
			return nil, err
		}
	}
	return r, nil
}

func (r *refresher) close() {
	for _, s := range []*sql.Stmt{r.mark, r.del, r.ins, r.markAll, r.delAll, r.insAll, r.shared} {
		if s != nil {
			s.Close()
		}
	}
}

// fact works out one fact's duplicates and indexes its entries again.
func (r *refresher) fact(ctx context.Context, person int64, key string, removed bool) error {
	if _, err := r.mark.ExecContext(ctx, person, key); err != nil {
		return fmt.Errorf("mark duplicates: %w", err)
	}
	for _, s := range []*sql.Stmt{r.del, r.ins} {
		if _, err := s.ExecContext(ctx, person, key, removed); err != nil {
			return fmt.Errorf("index a fact for search: %w", err)
		}
	}
	return nil
}

// person works out every fact of the person at once.
func (r *refresher) person(ctx context.Context, person int64, keys map[string]bool) error {
	var shared bool
	if err := r.shared.QueryRowContext(ctx, person).Scan(&shared); err != nil {
		return fmt.Errorf("mark duplicates: %w", err)
	}
	if shared {
		if _, err := r.markAll.ExecContext(ctx, person); err != nil {
			return fmt.Errorf("mark duplicates: %w", err)
		}
		for _, s := range []*sql.Stmt{r.delAll, r.insAll} {
			if _, err := s.ExecContext(ctx, person); err != nil {
				return fmt.Errorf("index facts for search: %w", err)
			}
		}
	}
	for key, removed := range keys {
		// A fact that lost its last other report is not covered above.
		if removed && key != "" {
			if err := r.fact(ctx, person, key, true); err != nil {
				return err
			}
		}
	}
	return nil
}

// refresh works out again which item stands for each touched fact, and what
// the search index holds for it.
func (t touchedFacts) refresh(ctx context.Context, tx *sql.Tx) error {
	if len(t) == 0 {
		return nil
	}
	r, err := newRefresher(ctx, tx)
	if err != nil {
		return err
	}
	defer r.close()
	for person, keys := range t {
		// Many facts of one person are cheaper to work out in one pass over the
		// person's items than one statement each.
		if _, all := keys[""]; all || len(keys) > 32 {
			if err := r.person(ctx, person, keys); err != nil {
				return err
			}
			continue
		}
		for key, removed := range keys {
			if err := r.fact(ctx, person, key, removed); err != nil {
				return err
			}
		}
	}
	return nil
}

// A bulk load (ImportBulk) leaves the search index and the duplicate marks of
// what it stores to be done once at the end; migration 0010 explains the two
// backlog tables that say what is left.

// startBacklog notes, once per load, that the items stored from now on wait
// for the search index.
func startBacklog(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO search_backlog (after_id)
SELECT COALESCE((SELECT MAX(id) FROM record_items), 0) WHERE NOT EXISTS (SELECT 1 FROM search_backlog)`)
	if err != nil {
		return fmt.Errorf("note the search backlog: %w", err)
	}
	return nil
}

// postpone notes the touched persons for their duplicates to be worked out
// when the bulk load ends, with the facts that lost a report (migration 0016).
func (t touchedFacts) postpone(ctx context.Context, tx *sql.Tx) error {
	if len(t) == 0 {
		return nil
	}
	persons, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO dedup_backlog (person_id) VALUES (?)`)
	if err != nil {
		return err
	}
	defer persons.Close()
	facts, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO dedup_backlog_facts (person_id, dedup_key) VALUES (?, ?)`)
	if err != nil {
		return err
	}
	defer facts.Close()
	for person, keys := range t {
		if _, err := persons.ExecContext(ctx, person); err != nil {
			return fmt.Errorf("note the dedup backlog: %w", err)
		}
		for key, removed := range keys {
			if removed && key != "" {
				if _, err := facts.ExecContext(ctx, person, key); err != nil {
					return fmt.Errorf("note the dedup backlog: %w", err)
				}
			}
		}
	}
	return nil
}

// removedFacts are the facts of the persons up to upto that lost a report
// while a bulk load had work left, each person's as a refresher takes them.
func removedFacts(ctx context.Context, tx *sql.Tx, upto int64) (map[int64]map[string]bool, error) {
	rows, err := tx.QueryContext(ctx, `SELECT person_id, dedup_key FROM dedup_backlog_facts WHERE person_id <= ?`, upto)
	if err != nil {
		return nil, fmt.Errorf("read the dedup backlog: %w", err)
	}
	defer rows.Close()
	out := map[int64]map[string]bool{}
	for rows.Next() {
		var person int64
		var key string
		if err := rows.Scan(&person, &key); err != nil {
			return nil, err
		}
		if out[person] == nil {
			out[person] = map[string]bool{}
		}
		out[person][key] = true
	}
	return out, rows.Err()
}

// finishBacklog does what bulk loads left: adds up to items items to the
// search index, then, once none is left, works out the duplicate marks of up
// to persons persons, each part in a call of its own. The index comes first so that
// working out a fact indexes its entries once, with their final words. It
// reports whether anything is still left.
func finishBacklog(ctx context.Context, tx *sql.Tx, persons, items int) (more bool, err error) {
	var after, last sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT (SELECT MIN(after_id) FROM search_backlog), (SELECT MAX(id) FROM record_items)`).Scan(&after, &last); err != nil {
		return false, fmt.Errorf("read the search backlog: %w", err)
	}
	if after.Valid {
		upto := last.Int64
		if items > 0 && after.Int64+int64(items) < upto {
			upto = after.Int64 + int64(items)
			more = true
		}
		// The rows the triggers would have written, in one statement.
		if _, err := tx.ExecContext(ctx, reindexInsert+`item_id > ? AND item_id <= ?`, after.Int64, upto); err != nil {
			return false, fmt.Errorf("index the search backlog: %w", err)
		}
		if more {
			_, err = tx.ExecContext(ctx, `UPDATE search_backlog SET after_id = ?`, upto)
			return true, err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM search_backlog`)
		return err == nil, err // a transaction of its own for the duplicates
	}
	var ids []int64
	rows, err := tx.QueryContext(ctx, `SELECT person_id FROM dedup_backlog ORDER BY person_id LIMIT ?`, persons)
	if err != nil {
		return false, fmt.Errorf("read the dedup backlog: %w", err)
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return false, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(ids) == 0 {
		return false, err
	}
	r, err := newRefresher(ctx, tx)
	if err != nil {
		return false, err
	}
	defer r.close()
	removed, err := removedFacts(ctx, tx, ids[len(ids)-1])
	if err != nil {
		return false, err
	}
	for _, id := range ids {
		if err := r.person(ctx, id, removed[id]); err != nil {
			return false, err
		}
	}
	for _, table := range []string{"dedup_backlog", "dedup_backlog_facts"} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE person_id <= ?`, ids[len(ids)-1]); err != nil {
			return false, err
		}
	}
	return len(ids) == persons, nil
}

// Bulk loads finish their backlog in transactions of this size, so that no
// one transaction grows with the size of the load.
const (
	finishPersons = 2000
	finishItems   = 100_000
)

// FinishBulkLoad does what bulk loads (ImportBulk) left for the end: builds
// the indexes they deferred, reads again the resources a migration asked to
// (rereadStored, rereadBatch per transaction), adds the items they stored to the search index,
// then works out the duplicate marks of every person they touched, a part per
// transaction (one index, finishItems items, or finishPersons persons), so
// other writers wait at most for one part. Nothing is lost if it is stopped:
// the next call carries on, or FinishStalledBulkLoad once the load has been
// quiet for BulkLoadQuiet.
func (db *DB) FinishBulkLoad(ctx context.Context) error {
	for more := true; more; {
		err := db.tx(ctx, func(tx *sql.Tx) error {
			var err error
			if more, err = buildDeferredIndex(ctx, tx); err != nil {
				return err
			}
			return noteBulkAlive(ctx, tx, db.stamp())
		})
		if err != nil {
			return fmt.Errorf("finish the bulk load: %w", err)
		}
	}
	for more := true; more; {
		err := db.tx(ctx, func(tx *sql.Tx) error {
			var err error
			if more, err = rereadStored(ctx, tx, db.stamp()); err != nil {
				return err
			}
			return noteBulkAlive(ctx, tx, db.stamp())
		})
		if err != nil {
			return fmt.Errorf("finish the bulk load: %w", err)
		}
	}
	for more := true; more; {
		err := db.tx(ctx, func(tx *sql.Tx) error {
			var err error
			if more, err = finishBacklog(ctx, tx, finishPersons, finishItems); err != nil {
				return err
			}
			if more {
				return noteBulkAlive(ctx, tx, db.stamp())
			}
			_, err = tx.ExecContext(ctx, `DELETE FROM bulk_load_alive`)
			return err
		})
		if err != nil {
			return fmt.Errorf("finish the bulk load: %w", err)
		}
	}
	return nil
}

// BulkLoadQuiet is how long a bulk load with work left may do nothing (store
// no batch, finish no step) before it is taken to have died (migration 0016).
const BulkLoadQuiet = 15 * time.Minute

// noteBulkAlive notes that a bulk load is working now.
func noteBulkAlive(ctx context.Context, tx *sql.Tx, now string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO bulk_load_alive (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at`, now)
	if err != nil {
		return fmt.Errorf("note the bulk load: %w", err)
	}
	return nil
}

// bulkWorkLeft reports whether a bulk load has left work for its end.
func bulkWorkLeft(ctx context.Context, q querier) (bool, error) {
	var left bool
	err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM search_backlog) OR EXISTS (SELECT 1 FROM dedup_backlog)
OR EXISTS (SELECT 1 FROM deferred_indexes) OR EXISTS (SELECT 1 FROM reread_backlog)`).Scan(&left)
	if err != nil {
		return false, fmt.Errorf("look for a bulk load's work: %w", err)
	}
	return left, nil
}

// FinishStalledBulkLoad finishes the work of a bulk load that left some and
// has been quiet for BulkLoadQuiet (it died, or was stopped), as
// FinishBulkLoad does. It reports whether there was such a load.
//
// Stored records read again after an update (reread_backlog), with nothing
// else left, are read on at once by serve's worker (resumeReread): each
// batch is its own transaction, so another process at the same work does no
// harm, and an upgrade's re-read stopped half way (serve restarted) waited
// the quiet period for nothing (an operator review: the pages showed what
// the old version made of the records meanwhile). A command leaves it to
// serve, as it may take hours (a review: portal sync ran all of it).
func (db *DB) FinishStalledBulkLoad(ctx context.Context, resumeReread bool) (bool, error) {
	var stalled, onlyReread bool
	err := db.db.QueryRowContext(ctx, `SELECT COALESCE((SELECT at FROM bulk_load_alive), '') < ?,
NOT EXISTS (SELECT 1 FROM search_backlog) AND NOT EXISTS (SELECT 1 FROM dedup_backlog) AND NOT EXISTS (SELECT 1 FROM deferred_indexes)
AND EXISTS (SELECT 1 FROM reread_backlog)`,
		formatTime(db.now().Add(-BulkLoadQuiet))).Scan(&stalled, &onlyReread)
	if err != nil {
		return false, fmt.Errorf("look for a stalled bulk load: %w", err)
	}
	switch {
	case onlyReread && !resumeReread:
		return false, nil // a command leaves it to serve, however old the mark (a review)
	case !stalled && !onlyReread:
		return false, nil
	}
	if left, err := bulkWorkLeft(ctx, db.db); err != nil || !left {
		return false, err
	}
	return true, db.FinishBulkLoad(ctx)
}

// settle works out the touched facts now, or, while a bulk load has work
// left, leaves them to its end with its own: working them out now would
// need the load's deferred indexes and search backlog done first, all in
// this one transaction, for as long as the load is big.
func (t touchedFacts) settle(ctx context.Context, tx *sql.Tx) error {
	left, err := bulkWorkLeft(ctx, tx)
	if err != nil {
		return err
	}
	if left {
		return t.postpone(ctx, tx)
	}
	return t.refresh(ctx, tx)
}

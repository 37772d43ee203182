package store

import (
	"context"
	"database/sql"
)

// touchedFacts are the facts (person and dedup key) an import changed, so that
// which item stands for each fact can be worked out again before it commits.
type touchedFacts map[int64]map[string]bool // person → keys; an empty key means all of the person's

func (t touchedFacts) add(person sql.NullInt64, key string) {
	if !person.Valid || key == "" {
		return
	}
	if t[person.Int64] == nil {
		t[person.Int64] = map[string]bool{}
	}
	t[person.Int64][key] = true
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
		t.add(person, key)
	}
	return rows.Err()
}

// markDups works out which source's items stand for a fact: the source that
// reported it most often (a repeat prescription is several facts at one
// source), the lowest-numbered on a tie. Every other source's items for the
// fact are dup. Only the set of items decides, never the order they arrived in.
const standsAside = `(source_id != (SELECT o.source_id FROM record_items o
WHERE o.person_id = record_items.person_id AND o.dedup_key = record_items.dedup_key
GROUP BY o.source_id ORDER BY COUNT(*) DESC, o.source_id LIMIT 1))`

// Only rows whose mark changes are written: rewriting an unchanged row would
// still touch its indexes and the search index's triggers.
const markDups = `UPDATE record_items SET dup = ` + standsAside + ` WHERE person_id = ? AND dedup_key = ? AND dup != ` + standsAside

const markAllDups = `UPDATE record_items SET dup = ` + standsAside + ` WHERE person_id = ? AND dedup_key != '' AND dup != ` + standsAside

// refresh works out again which item stands for each touched fact.
func (t touchedFacts) refresh(ctx context.Context, tx *sql.Tx) error {
	stmt, err := tx.PrepareContext(ctx, markDups)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for person, keys := range t {
		// Many facts of one person are cheaper to work out in one pass over the
		// person's items than one statement each.
		if keys[""] || len(keys) > 32 {
			if _, err := tx.ExecContext(ctx, markAllDups, person); err != nil {
				return err
			}
			continue
		}
		for key := range keys {
			if _, err := stmt.ExecContext(ctx, person, key); err != nil {
				return err
			}
		}
	}
	return nil
}

package store

import (
	"context"
	"database/sql"
	"fmt"
)

// PersonListing is a person as an operator's list shows them: who they are,
// and the sources that hold a record of them.
type PersonListing struct {
	Person
	Sources    []string // the names of the sources holding them, in name order
	MergedInto int64    // the person who holds the records theirs were all merged into (foldMergedInto), or 0
}

// EachPerson calls fn for each person with an id above after (0 for
// everyone), in id order, with the sources that hold them, reading them as
// it goes rather than all at once. It only reads; an error from fn stops it
// and is returned.
func (db *DB) EachPerson(ctx context.Context, after int64, fn func(PersonListing) error) error {
	rows, err := db.db.QueryContext(ctx, `SELECT p.id, p.prefix, p.given, p.family, p.birth_date, COALESCE(p.nhs_number, ''), COALESCE(p.merged_into, 0), s.name
FROM persons p
LEFT JOIN (SELECT DISTINCT person_id, source_id FROM source_patients) sp ON sp.person_id = p.id
LEFT JOIN sources s ON s.id = sp.source_id
WHERE p.id > ? ORDER BY p.id, s.name`, after)
	if err != nil {
		return fmt.Errorf("list persons: %w", err)
	}
	defer rows.Close()
	var cur PersonListing
	for rows.Next() {
		var p Person
		var mergedInto int64
		var source sql.NullString
		if err := rows.Scan(&p.ID, &p.Prefix, &p.Given, &p.Family, &p.BirthDate, &p.NHSNumber, &mergedInto, &source); err != nil {
			return fmt.Errorf("list persons: %w", err)
		}
		if p.ID != cur.ID {
			if cur.ID != 0 {
				if err := fn(cur); err != nil {
					return err
				}
			}
			cur = PersonListing{Person: p, MergedInto: mergedInto}
		}
		if source.Valid {
			cur.Sources = append(cur.Sources, source.String)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list persons: %w", err)
	}
	if cur.ID != 0 {
		return fn(cur)
	}
	return nil
}

// MergedInto is the person whose records now hold all of person id's (a
// source merged their Patient into another, store foldMergedInto), or 0 when
// id's are their own. Through a chain of such merges, it is the person at
// its end: each fold points on those that pointed at the person folded.
func (db *DB) MergedInto(ctx context.Context, id int64) (int64, error) {
	var into int64
	if err := db.db.QueryRowContext(ctx, `SELECT COALESCE(merged_into, 0) FROM persons WHERE id = ?`, id).Scan(&into); err != nil {
		return 0, fmt.Errorf("whom person %d was merged into: %w", id, err)
	}
	return into, nil
}

// LastPersonID is the highest person id given yet, or 0 when there is no
// one: a person added later has a higher id.
func (db *DB) LastPersonID(ctx context.Context) (int64, error) {
	var id int64
	if err := db.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM persons`).Scan(&id); err != nil {
		return 0, fmt.Errorf("last person id: %w", err)
	}
	return id, nil
}

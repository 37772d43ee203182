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
	Sources []string // the names of the sources holding them, in name order
}

// EachPerson calls fn for each person with an id above after (0 for
// everyone), in id order, with the sources that hold them, reading them as
// it goes rather than all at once. It only reads; an error from fn stops it
// and is returned.
func (db *DB) EachPerson(ctx context.Context, after int64, fn func(PersonListing) error) error {
	rows, err := db.db.QueryContext(ctx, `SELECT p.id, p.prefix, p.given, p.family, p.birth_date, COALESCE(p.nhs_number, ''), s.name
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
		var source sql.NullString
		if err := rows.Scan(&p.ID, &p.Prefix, &p.Given, &p.Family, &p.BirthDate, &p.NHSNumber, &source); err != nil {
			return fmt.Errorf("list persons: %w", err)
		}
		if p.ID != cur.ID {
			if cur.ID != 0 {
				if err := fn(cur); err != nil {
					return err
				}
			}
			cur = PersonListing{Person: p}
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

// LastPersonID is the highest person id given yet, or 0 when there is no
// one: a person added later has a higher id.
func (db *DB) LastPersonID(ctx context.Context) (int64, error) {
	var id int64
	if err := db.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM persons`).Scan(&id); err != nil {
		return 0, fmt.Errorf("last person id: %w", err)
	}
	return id, nil
}

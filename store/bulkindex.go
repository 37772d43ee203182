package store

import (
	"context"
	"database/sql"
	"fmt"
)

// deferredIndexesSince is the migration that made deferred_indexes.
const deferredIndexesSince = 15

// deferrable are the indexes a bulk load into an empty cache builds at its
// end (migration 0015): read by the pages and the duplicate marks, never by
// the importer.
var deferrable = []string{"record_items_person", "record_items_results", "record_items_person_key", "record_items_shown_key", "resources_patient"}

// deferIndexes drops the deferrable indexes, noting how to build them again,
// when the cache holds no record items and none is deferred yet.
func deferIndexes(ctx context.Context, tx *sql.Tx) error {
	var empty, deferred bool
	if err := tx.QueryRowContext(ctx, `SELECT NOT EXISTS (SELECT 1 FROM record_items), EXISTS (SELECT 1 FROM deferred_indexes)`).Scan(&empty, &deferred); err != nil {
		return fmt.Errorf("look for deferred indexes: %w", err)
	}
	if !empty || deferred {
		return nil
	}
	for _, name := range deferrable {
		res, err := tx.ExecContext(ctx, `INSERT INTO deferred_indexes (name, sql) SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name = ?`, name)
		if err != nil {
			return fmt.Errorf("defer index %s: %w", name, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			continue
		}
		if _, err := tx.ExecContext(ctx, `DROP INDEX `+name); err != nil {
			return fmt.Errorf("defer index %s: %w", name, err)
		}
	}
	return nil
}

// buildDeferredIndexes builds again every index a bulk load deferred.
func buildDeferredIndexes(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT name, sql FROM deferred_indexes ORDER BY name`)
	if err != nil {
		return fmt.Errorf("read deferred indexes: %w", err)
	}
	type index struct{ name, sql string }
	var todo []index
	for rows.Next() {
		var ix index
		if err := rows.Scan(&ix.name, &ix.sql); err != nil {
			rows.Close()
			return err
		}
		todo = append(todo, ix)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, ix := range todo {
		if _, err := tx.ExecContext(ctx, ix.sql); err != nil {
			return fmt.Errorf("build index %s: %w", ix.name, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM deferred_indexes WHERE name = ?`, ix.name); err != nil {
			return err
		}
	}
	return nil
}

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// deferredIndexesSince is the migration that made deferred_indexes.
const deferredIndexesSince = 15

// deferrable are the indexes a bulk load into an empty cache builds at its
// end (migration 0015): read by the pages and the duplicate marks, never by
// the importer.
var deferrable = []string{"record_items_person", "record_items_results", "record_items_person_key", "record_items_shown_key", "resources_updated"}

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
	for {
		more, err := buildDeferredIndex(ctx, tx)
		if err != nil || !more {
			return err
		}
	}
}

// buildDeferredIndex builds again one index a bulk load deferred, if any is
// left, and reports whether one was.
func buildDeferredIndex(ctx context.Context, tx *sql.Tx) (bool, error) {
	var name, def string
	err := tx.QueryRowContext(ctx, `SELECT name, sql FROM deferred_indexes ORDER BY name LIMIT 1`).Scan(&name, &def)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read deferred indexes: %w", err)
	}
	if _, err := tx.ExecContext(ctx, def); err != nil {
		return false, fmt.Errorf("build index %s: %w", name, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM deferred_indexes WHERE name = ?`, name); err != nil {
		return false, err
	}
	return true, nil
}

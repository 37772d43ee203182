package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// ActingGrant returns the grant the session acts under, for tests: the
// portal reads it with the session (Session.ActingGrantID, ActingGrantFor).
func (db *DB) ActingGrant(ctx context.Context, sessionID string, accountID int64) (Grant, bool, error) {
	var id sql.NullInt64
	err := db.db.QueryRowContext(ctx, `SELECT acting_grant_id FROM sessions WHERE id_hash = ? AND account_id = ?`, hashToken(sessionID), accountID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !id.Valid) {
		return Grant{}, false, nil
	}
	if err != nil {
		return Grant{}, false, fmt.Errorf("acting for: %w", err)
	}
	return db.ActingGrantFor(ctx, id.Int64, accountID)
}

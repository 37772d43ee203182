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

// SensitiveCategoriesOf says which sensitive categories an entry falls in, by
// its code and source, for tests: the portal decides with withheldIDs.
func (db *DB) SensitiveCategoriesOf(ctx context.Context, personID, itemID int64) ([]string, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT DISTINCT sc.category FROM record_items ri JOIN sensitive_codes sc ON sc.system = ri.code_system
AND (sc.code = ri.code OR (sc.prefix = 1 AND substr(ri.code, 1, length(sc.code)) = sc.code))
WHERE ri.person_id = ? AND ri.id = ?
UNION SELECT 'social-care' FROM record_items ri JOIN sources s ON s.id = ri.source_id WHERE ri.person_id = ? AND ri.id = ? AND s.social_care = 1
ORDER BY 1`, personID, itemID, personID, itemID)
	if err != nil {
		return nil, fmt.Errorf("categories of entry: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// GrantLogged makes the access log entry of a test's change to a grant: by
// the account, on the record of the grant's person.
func GrantLogged(accountID int64) Logged[Grant] {
	return func(g Grant) Access {
		return Access{AccountID: accountID, PersonID: g.PersonID, Action: "grant", What: g.CarerName + "'s access changed"}
	}
}

// ChoiceLogged makes the access log entry of a test's change of choices.
func ChoiceLogged(accountID int64) Logged[ConsentDecision] {
	return func(d ConsentDecision) Access {
		return Access{AccountID: accountID, PersonID: d.PersonID, Action: "choice", What: d.Question + ": " + d.Answer}
	}
}

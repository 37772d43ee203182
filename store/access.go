package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
)

// Access is one entry in the access log: who looked at whose record, and at what.
type Access struct {
	ID        int64
	At        string
	AccountID int64
	PersonID  int64
	Action    string
	What      string
	Device    string
}

func (a Access) hash(prev []byte) []byte {
	h := sha256.New()
	h.Write(prev)
	for _, s := range []string{a.At, a.Action, a.What, a.Device} {
		binary.Write(h, binary.BigEndian, uint32(len(s)))
		h.Write([]byte(s))
	}
	binary.Write(h, binary.BigEndian, a.AccountID)
	binary.Write(h, binary.BigEndian, a.PersonID)
	return h.Sum(nil)
}

// LogAccess appends an entry to the access log, chained to the one before.
func (db *DB) LogAccess(ctx context.Context, a Access) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		prev := []byte{}
		err := tx.QueryRowContext(ctx, `SELECT hash FROM access_log ORDER BY id DESC LIMIT 1`).Scan(&prev)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("log access: %w", err)
		}
		a.At = db.stamp()
		_, err = tx.ExecContext(ctx, `INSERT INTO access_log (at, account_id, person_id, action, what, device, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			a.At, a.AccountID, a.PersonID, a.Action, a.What, a.Device, prev, a.hash(prev))
		if err != nil {
			return fmt.Errorf("log access: %w", err)
		}
		return nil
	})
}

// AccessLog returns the person's access log entries, newest first.
func (db *DB) AccessLog(ctx context.Context, personID int64, limit int) ([]Access, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT id, at, account_id, person_id, action, what, device FROM access_log
WHERE person_id = ? ORDER BY id DESC LIMIT ?`, personID, limit)
	if err != nil {
		return nil, fmt.Errorf("read access log: %w", err)
	}
	defer rows.Close()
	var out []Access
	for rows.Next() {
		var a Access
		if err := rows.Scan(&a.ID, &a.At, &a.AccountID, &a.PersonID, &a.Action, &a.What, &a.Device); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// VerifyAccessLog recomputes the hash chain and returns the id of the first entry
// that does not match, or 0 when the whole log is intact.
func (db *DB) VerifyAccessLog(ctx context.Context) (int64, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT id, at, account_id, person_id, action, what, device, prev_hash, hash FROM access_log ORDER BY id`)
	if err != nil {
		return 0, fmt.Errorf("verify access log: %w", err)
	}
	defer rows.Close()
	prev := []byte{}
	for rows.Next() {
		var a Access
		var p, h []byte
		if err := rows.Scan(&a.ID, &a.At, &a.AccountID, &a.PersonID, &a.Action, &a.What, &a.Device, &p, &h); err != nil {
			return 0, err
		}
		if !bytes.Equal(p, prev) || !bytes.Equal(h, a.hash(prev)) {
			return a.ID, nil
		}
		prev = h
	}
	return 0, rows.Err()
}

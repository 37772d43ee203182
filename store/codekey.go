package store

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
)

// UseCodeKey has enrolment and invitation codes stored, and looked for, as
// HMAC-SHA-256 under a key derived from secret (the server's secret,
// PORTAL_SESSION_KEY), so the hashes in a copy of the database are worth
// nothing without it (migration 0039). The database keeps a check value of
// the key. When it holds another's: serve (replace) takes the new key, and
// reports that codes made under the old one no longer work (changed); portal
// invite (not replace) refuses, since a code it made would never be found.
func (db *DB) UseCodeKey(ctx context.Context, secret []byte, replace bool) (changed bool, err error) {
	key := sha256.Sum256(append([]byte("mcr code key\x00"), secret...))
	check := hex.EncodeToString(codeMAC(key[:], "mcr code key check"))
	err = db.tx(ctx, func(tx *sql.Tx) error {
		var held string
		err := tx.QueryRowContext(ctx, `SELECT key_check FROM code_key WHERE id = 1`).Scan(&held)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return fmt.Errorf("read the code key check: %w", err)
		case held == check:
			return nil
		case !replace:
			return Errorf(EINVALID, "This database's codes are checked with the secret portal serve uses, and PORTAL_SESSION_KEY is not that secret: set it as serve has it, or a code made now would never be recognised.")
		default:
			changed = true
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO code_key (id, key_check, set_at) VALUES (1, ?, ?)
ON CONFLICT (id) DO UPDATE SET key_check = excluded.key_check, set_at = excluded.set_at`, check, db.stamp())
		return err
	})
	if err != nil {
		return false, err
	}
	db.codeKey = key[:]
	return changed, nil
}

// CodeKeyIsSet says whether serve has stored codes under a key, so that
// portal invite without the secret would make codes nobody could use.
func (db *DB) CodeKeyIsSet(ctx context.Context) (bool, error) {
	var set bool
	err := db.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM code_key)`).Scan(&set)
	return set, err
}

func codeMAC(key []byte, s string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return m.Sum(nil)
}

// hashCode is how a code is stored: under the code key when there is one,
// else (a database no serve has keyed, as in tests) plainCodeHash.
func (db *DB) hashCode(code string) []byte {
	if db.codeKey != nil {
		return codeMAC(db.codeKey, NormaliseCode(code))
	}
	return plainCodeHash(code)
}

// plainCodeHash is a code's SHA-256, as codes were stored before migration 0039.
func plainCodeHash(code string) []byte {
	h := sha256.Sum256([]byte(NormaliseCode(code)))
	return h[:]
}

// codeHashes are the hashes a code may be stored under: keyed, and plain
// for one made before the key was used (it expires within days).
func (db *DB) codeHashes(code string) (keyed, plain []byte) {
	return db.hashCode(code), plainCodeHash(code)
}

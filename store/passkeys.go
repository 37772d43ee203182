package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxPasskeyNickname is the longest name, in characters, a person may give a passkey.
const MaxPasskeyNickname = 50

// CheckPasskeyNickname returns the nickname tidied (spaces trimmed and
// collapsed, tabs and line breaks among them), or an EINVALID error saying in
// plain words what is wrong with it.
func CheckPasskeyNickname(name string) (string, error) {
	name = strings.Join(strings.Fields(name), " ")
	switch {
	case name == "":
		return "", Errorf(EINVALID, "Enter a name for your passkey")
	case utf8.RuneCountInString(name) > MaxPasskeyNickname:
		return "", Errorf(EINVALID, "Passkey name must be %d characters or fewer", MaxPasskeyNickname)
	case strings.ContainsFunc(name, hiddenInName):
		return "", Errorf(EINVALID, "Passkey name must not contain hidden characters, such as control characters or ones that change the direction of text")
	}
	return name, nil
}

// hiddenInName reports a character that shows as nothing yet changes what a
// name looks like on the account page: a control character, or one that
// reorders text (U+202E before "exe.live" shows it as "evil.exe"). Refused
// rather than dropped, so the person sees the name they will get.
func hiddenInName(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)
}

// errNoSuchPasskey is what a person hears about a passkey that is not theirs:
// the same as for one that does not exist, so ids of other accounts' passkeys
// cannot be discovered.
func errNoSuchPasskey() error {
	return Errorf(ENOTFOUND, "We could not find that passkey in your account.")
}

// AccountPasskey returns one of the account's passkeys. A passkey of another
// account is ENOTFOUND, exactly as one that does not exist.
func (db *DB) AccountPasskey(ctx context.Context, accountID, passkeyID int64) (Passkey, error) {
	pks, err := db.Passkeys(ctx, accountID)
	if err != nil {
		return Passkey{}, err
	}
	for _, p := range pks {
		if p.ID == passkeyID {
			return p, nil
		}
	}
	return Passkey{}, errNoSuchPasskey()
}

// AddPasskey registers another passkey for an account that already has one
// or more (numbered if its name is taken: insertPasskey).
func (db *DB) AddPasskey(ctx context.Context, accountID int64, pk Passkey) error {
	pk.AccountID = accountID
	return db.tx(ctx, func(tx *sql.Tx) error {
		return db.insertPasskey(ctx, tx, pk)
	})
}

// RenamePasskey gives one of the account's passkeys a new nickname.
func (db *DB) RenamePasskey(ctx context.Context, accountID, passkeyID int64, nickname string) error {
	nickname, err := CheckPasskeyNickname(nickname)
	if err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE passkeys SET nickname = ? WHERE id = ? AND account_id = ?`, nickname, passkeyID, accountID)
		if err != nil {
			return fmt.Errorf("rename passkey: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errNoSuchPasskey()
		}
		return nil
	})
}

// RemovePasskey removes one of the account's passkeys and returns how many
// the account has left. The last passkey is removed only when lastConfirmed
// is true (otherwise the answer is ECONFLICT); removing it also ends every
// session of the account, in the same transaction, because nothing is left
// to sign in with.
func (db *DB) RemovePasskey(ctx context.Context, accountID, passkeyID int64, lastConfirmed bool) (int, error) {
	left := 0
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var owner int64
		err := tx.QueryRowContext(ctx, `SELECT account_id FROM passkeys WHERE id = ?`, passkeyID).Scan(&owner)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && owner != accountID) {
			return errNoSuchPasskey()
		}
		if err != nil {
			return fmt.Errorf("remove passkey: %w", err)
		}
		var total int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM passkeys WHERE account_id = ?`, accountID).Scan(&total); err != nil {
			return fmt.Errorf("remove passkey: %w", err)
		}
		if total == 1 && !lastConfirmed {
			return Errorf(ECONFLICT, "This is your only passkey. Confirm that you want to remove it.")
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM passkeys WHERE id = ? AND account_id = ?`, passkeyID, accountID); err != nil {
			return fmt.Errorf("remove passkey: %w", err)
		}
		left = total - 1
		if left == 0 {
			if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE account_id = ?1 OR pending_account_id = ?1`, accountID); err != nil {
				return fmt.Errorf("sign out everywhere: %w", err)
			}
		}
		return nil
	})
	return left, err
}

// OtherSessions counts the account's live sessions besides the one with id
// keepID, and those holding one of its passkeys' answers, which would sign
// in to it (SetSessionCeremony): "Sign out of all other sessions" ends
// those too, and is offered for them (a review).
func (db *DB) OtherSessions(ctx context.Context, accountID int64, keepID string, p SessionPolicy) (int, error) {
	var n int
	now := db.now()
	err := db.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sessions WHERE (account_id = ?1 OR pending_account_id = ?1) AND id_hash <> ?2 AND expires_at > ?3 AND last_seen_at > ?4`,
		accountID, hashToken(keepID), formatTime(now), formatTime(now.Add(-p.Idle))).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count sessions: %w", err)
	}
	return n, nil
}

// DeleteOtherSessions ends every session of the account except the one with
// id keepID (the one asking), and returns how many it ended. That includes a
// session holding one of its passkeys' answers for the person to confirm
// (SetSessionCeremony), which would otherwise be signed in to it later.
func (db *DB) DeleteOtherSessions(ctx context.Context, accountID int64, keepID string) (int64, error) {
	var n int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE (account_id = ?1 OR pending_account_id = ?1) AND id_hash <> ?2`, accountID, hashToken(keepID))
		if err != nil {
			return fmt.Errorf("sign out other sessions: %w", err)
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n, err
}

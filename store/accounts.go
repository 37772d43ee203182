package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Account is someone who signs in with passkeys.
type Account struct {
	ID          int64
	UserHandle  []byte // the WebAuthn user id: 64 random bytes
	PersonID    int64  // their own person, or 0 when none
	DisplayName string
	CreatedAt   time.Time
}

// Passkey is one WebAuthn credential registered to an account.
type Passkey struct {
	ID              int64
	AccountID       int64
	CredentialID    []byte
	PublicKey       []byte
	AttestationType string
	SignCount       uint32
	AAGUID          []byte
	Transports      []string
	BackupEligible  bool
	BackupState     bool
	UserVerified    bool
	Nickname        string
	CreatedAt       time.Time
	LastUsedAt      time.Time // zero when never used since registration
}

const accountColumns = `id, user_handle, COALESCE(person_id, 0), display_name, created_at`

func scanAccount(row rowScanner) (Account, error) {
	var a Account
	var created string
	err := row.Scan(&a.ID, &a.UserHandle, &a.PersonID, &a.DisplayName, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Account{}, Errorf(ENOTFOUND, "We could not find that account.")
	}
	if err != nil {
		return Account{}, fmt.Errorf("read account: %w", err)
	}
	a.CreatedAt = parseTime(created)
	return a, nil
}

// Account returns the account with that id.
func (db *DB) Account(ctx context.Context, id int64) (Account, error) {
	return scanAccount(db.db.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM accounts WHERE id = ?`, id))
}

// AccountByPerson returns the account linked to the person's own record.
func (db *DB) AccountByPerson(ctx context.Context, personID int64) (Account, error) {
	return scanAccount(db.db.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM accounts WHERE person_id = ?`, personID))
}

// AccountByUserHandle returns the account with that WebAuthn user handle and its passkeys.
func (db *DB) AccountByUserHandle(ctx context.Context, handle []byte) (Account, []Passkey, error) {
	a, err := scanAccount(db.db.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM accounts WHERE user_handle = ?`, handle))
	if err != nil {
		return Account{}, nil, err
	}
	pks, err := db.Passkeys(ctx, a.ID)
	return a, pks, err
}

// Passkeys returns the account's passkeys, oldest first.
func (db *DB) Passkeys(ctx context.Context, accountID int64) ([]Passkey, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT id, account_id, credential_id, public_key, attestation_type, sign_count,
COALESCE(aaguid, x''), transports, backup_eligible, backup_state, user_verified, nickname, created_at, COALESCE(last_used_at, '')
FROM passkeys WHERE account_id = ? ORDER BY id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("list passkeys: %w", err)
	}
	defer rows.Close()
	var out []Passkey
	for rows.Next() {
		var p Passkey
		var transports, created, used string
		if err := rows.Scan(&p.ID, &p.AccountID, &p.CredentialID, &p.PublicKey, &p.AttestationType, &p.SignCount,
			&p.AAGUID, &transports, &p.BackupEligible, &p.BackupState, &p.UserVerified, &p.Nickname, &created, &used); err != nil {
			return nil, fmt.Errorf("list passkeys: %w", err)
		}
		if transports != "" {
			p.Transports = strings.Split(transports, ",")
		}
		p.CreatedAt = parseTime(created)
		if used != "" {
			p.LastUsedAt = parseTime(used)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// EnrolPasskey registers a passkey for the person's own account, creating the
// account (with the given user handle and name) when the person has none yet.
// It returns the account the passkey now belongs to. The person's enrolment
// codes proved are spent with it (completeEnrolment).
func (db *DB) EnrolPasskey(ctx context.Context, personID int64, userHandle []byte, displayName string, pk Passkey) (Account, error) {
	var acct Account
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		acct, err = db.enrolPasskey(ctx, tx, personID, userHandle, displayName, pk)
		return err
	})
	return acct, err
}

// EnrolSessionPasskey is EnrolPasskey for the person whose enrolment code the
// session (sessionID) proved, checked in the same transaction: that it still
// holds it, and that the person's account is still the one the passkey was
// made for (userHandle), or there is none yet. Checked before, a session
// whose hold ended while its passkey was on its way (the person adding their
// record to their own carer account meanwhile) added that passkey to the
// carer account, and acted for whom it helps (a review).
func (db *DB) EnrolSessionPasskey(ctx context.Context, sessionID string, userHandle []byte, displayName string, pk Passkey) (Account, error) {
	var acct Account
	err := db.tx(ctx, func(tx *sql.Tx) error {
		s, err := db.readSession(ctx, tx, sessionID)
		if err != nil {
			return err
		}
		if s.EnrolPersonID == 0 || s.AccountID != 0 {
			return Errorf(EFORBIDDEN, "Enter your enrolment code and date of birth first.")
		}
		var handle []byte
		err = tx.QueryRowContext(ctx, `SELECT user_handle FROM accounts WHERE person_id = ?`, s.EnrolPersonID).Scan(&handle)
		switch {
		case err == nil && !bytes.Equal(handle, userHandle):
			return Errorf(ECONFLICT, "Your account changed while you were setting up. Try again.")
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("enrol: %w", err)
		}
		if err := db.heldCodeInDate(ctx, tx, s.EnrolPersonID); err != nil {
			return err
		}
		var had bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM passkeys p JOIN accounts a ON a.id = p.account_id WHERE a.person_id = ?)`,
			s.EnrolPersonID).Scan(&had); err != nil {
			return fmt.Errorf("enrol: %w", err)
		}
		if acct, err = db.enrolPasskey(ctx, tx, s.EnrolPersonID, userHandle, displayName, pk); err != nil || !had {
			return err
		}
		// A code adds a passkey to an account that has one: the person sees
		// it in who has looked at their record, as whoever holds it can
		// read it as them from now on (a privacy review: nothing said so).
		return db.logTx(ctx, tx, Access{PersonID: s.EnrolPersonID, AccountID: acct.ID, Action: ActionAccount, What: PasskeyAddedByCode,
			ActorKind: ActorSelf, ActorName: acct.DisplayName})
	})
	return acct, err
}

// ActionAccount is the access log's action for a change to how the record
// can be reached: a passkey added with a code, a code made by an operator,
// an NHS number accepted.
const ActionAccount = "account"

// What the access log says of a passkey added with a code, of a code an
// operator made, and of an NHS number an operator accepted.
const (
	PasskeyAddedByCode = "added a passkey using an enrolment code"
	CodeMade           = "made an enrolment code"
	NHSNumberAccepted  = "changed the NHS number your record is found by, as an organisation that holds it corrected it"
)

// enrolPasskey is EnrolPasskey in tx.
func (db *DB) enrolPasskey(ctx context.Context, tx *sql.Tx, personID int64, userHandle []byte, displayName string, pk Passkey) (Account, error) {
	acct, err := scanAccount(tx.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM accounts WHERE person_id = ?`, personID))
	switch {
	case ErrorCode(err) == ENOTFOUND:
		now := db.stamp()
		res, err := tx.ExecContext(ctx, `INSERT INTO accounts (user_handle, person_id, display_name, created_at) VALUES (?, ?, ?, ?)`,
			userHandle, personID, displayName, now)
		if err != nil {
			return Account{}, fmt.Errorf("create account: %w", err)
		}
		id, _ := res.LastInsertId()
		acct = Account{ID: id, UserHandle: userHandle, PersonID: personID, DisplayName: displayName, CreatedAt: parseTime(now)}
	case err != nil:
		return Account{}, err
	}
	pk.AccountID = acct.ID
	if err := db.insertPasskey(ctx, tx, pk); err != nil {
		return Account{}, err
	}
	return acct, db.completeEnrolment(ctx, tx, personID)
}

// insertPasskey adds pk to its account. A name one of the account's passkeys
// has already gets a number, "(2)" and on, within MaxPasskeyNickname: two
// passkeys added on one day, on a phone and a security key, were both
// "Passkey added 28 November 2026", and so were their Rename and Remove
// links (a review, WCAG 2.4.4); so too a passkey made by a second enrolment.
func (db *DB) insertPasskey(ctx context.Context, tx *sql.Tx, pk Passkey) error {
	base := []rune(pk.Nickname)
	for n := 2; len(base) > 0; n++ {
		var taken bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM passkeys WHERE account_id = ? AND nickname = ?)`, pk.AccountID, pk.Nickname).Scan(&taken); err != nil {
			return fmt.Errorf("add passkey: %w", err)
		}
		if !taken {
			break
		}
		suffix := fmt.Sprintf(" (%d)", n)
		keep := min(len(base), MaxPasskeyNickname-len([]rune(suffix)))
		pk.Nickname = strings.TrimSpace(string(base[:keep])) + suffix
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO passkeys (account_id, credential_id, public_key, attestation_type, sign_count, aaguid,
transports, backup_eligible, backup_state, user_verified, nickname, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		pk.AccountID, pk.CredentialID, pk.PublicKey, pk.AttestationType, pk.SignCount, pk.AAGUID,
		strings.Join(pk.Transports, ","), pk.BackupEligible, pk.BackupState, pk.UserVerified, pk.Nickname, db.stamp())
	if err != nil && strings.Contains(err.Error(), "UNIQUE") {
		return Errorf(ECONFLICT, "This passkey is already registered.")
	}
	if err != nil {
		return fmt.Errorf("add passkey: %w", err)
	}
	return nil
}

// PasskeyUsed records a successful sign-in with the credential: its new
// signature counter, backup state and the time.
func (db *DB) PasskeyUsed(ctx context.Context, credentialID []byte, signCount uint32, backupState bool) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE passkeys SET sign_count = ?, backup_state = ?, last_used_at = ? WHERE credential_id = ?`,
			signCount, backupState, db.stamp(), credentialID)
		if err != nil {
			return fmt.Errorf("record passkey use: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return Errorf(ENOTFOUND, "We do not recognise this passkey.")
		}
		return nil
	})
}

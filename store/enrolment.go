package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// MaxEnrolmentAttempts is how many wrong dates of birth lock an enrolment code.
const MaxEnrolmentAttempts = 5

// codeAlphabet leaves out letters and digits people confuse (0/O, 1/I/L, U).
const codeAlphabet = "ABCDEFGHJKMNPQRSTVWXYZ23456789"

// newCode returns a random code of n characters from codeAlphabet, grouped in fours.
func newCode(n int) string {
	var b strings.Builder
	buf := make([]byte, n)
	for i := 0; i < n; {
		if _, err := rand.Read(buf[i : i+1]); err != nil {
			panic(err) // crypto/rand never fails on Linux
		}
		// Reject bytes past the largest multiple of the alphabet size, so every character is equally likely.
		if int(buf[i]) >= 256-256%len(codeAlphabet) {
			continue
		}
		if i > 0 && i%4 == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(codeAlphabet[int(buf[i])%len(codeAlphabet)])
		i++
	}
	return b.String()
}

// NormaliseCode makes a typed code comparable: upper case, no white space
// (of any kind, as a form may bring) or dashes (of any kind, as a phone may
// type). The rate limit on each code counts its tries by this form, so no
// way of typing one code is counted apart from another (found by a review).
func NormaliseCode(code string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case unicode.IsSpace(r) || unicode.Is(unicode.Pd, r) || r == '\u2212' || r == '\u00ad' || r == '\u200b' || r == '\ufeff':
			return -1
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		}
		return r
	}, code)
}

// CreateEnrolmentCode makes a one-time enrolment code for the person, valid for ttl.
// Only its hash is stored; the code itself is returned once, to be given to the person.
func (db *DB) CreateEnrolmentCode(ctx context.Context, personID int64, ttl time.Duration) (string, time.Time, error) {
	code := newCode(12)
	expires := db.now().Add(ttl)
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM persons WHERE id = ?`, personID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return Errorf(ENOTFOUND, "There is no person with id %d.", personID)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO enrolment_codes (person_id, code_hash, created_at, expires_at) VALUES (?, ?, ?, ?)`,
			personID, db.hashCode(code), db.stamp(), formatTime(expires))
		return err
	})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("create enrolment code: %w", err)
	}
	return code, expires, nil
}

// RedeemEnrolmentCode checks a code and date of birth (YYYY-MM-DD) together.
// On a match it marks the code used, records on the session (sessionID) that it
// may enrol for the person, gives the session a new id, and returns the
// person and the new id, in one transaction: a code is never spent without a
// session holding what it proved, and what it proved is never held by an id
// from before (renewSessionID). A wrong date of birth counts against the
// code, which locks after MaxEnrolmentAttempts. The code is spent only when
// a passkey or an account's record comes of it (completeEnrolment): until
// then it may be proved again, by a session that ran out on "Create a
// passkey" (a review: the code was used up, and only the GP practice could
// give another).
func (db *DB) RedeemEnrolmentCode(ctx context.Context, sessionID, code, birthDate string) (Person, string, error) {
	var (
		person Person
		newID  string
		failed error
	)
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var (
			id, personID int64
			expires      string
			used, locked sql.NullString
			completed    sql.NullString
			attempts     int
		)
		keyed, plain := db.codeHashes(code)
		err := tx.QueryRowContext(ctx, `SELECT id, person_id, expires_at, used_at, locked_at, failed_attempts, completed_at FROM enrolment_codes WHERE code_hash IN (?, ?)`,
			keyed, plain).Scan(&id, &personID, &expires, &used, &locked, &attempts, &completed)
		if errors.Is(err, sql.ErrNoRows) {
			failed = Errorf(EINVALID, "We do not recognise that enrolment code. Check it and try again.")
			return nil
		}
		if err != nil {
			return err
		}
		if locked.Valid {
			failed = Errorf(ELOCKED, "This enrolment code has been locked after too many tries. Ask your GP practice for a new one.")
			return nil
		}
		person, err = scanPerson(tx.QueryRowContext(ctx, `SELECT id, prefix, given, family, birth_date, COALESCE(nhs_number, '') FROM persons WHERE id = ?`, personID))
		if err != nil {
			return err
		}
		// The date of birth is checked before anything is said of the code:
		// someone who has found a code, and not the date, learns nothing of
		// it, not even that it was used (found by reviews).
		if !sameBirthDate(person.BirthDate, birthDate) { // as an invitation from them is checked
			attempts++
			lockedAt := sql.NullString{}
			failed = Errorf(EINVALID, "The date of birth does not match our records. You have %s.", moreTries(MaxEnrolmentAttempts-attempts))
			if attempts >= MaxEnrolmentAttempts {
				lockedAt = sql.NullString{String: db.stamp(), Valid: true}
				failed = Errorf(ELOCKED, "This enrolment code has been locked after too many tries. Ask your GP practice for a new one.")
			}
			_, err := tx.ExecContext(ctx, `UPDATE enrolment_codes SET failed_attempts = ?, locked_at = ? WHERE id = ?`, attempts, lockedAt, id)
			return err
		}
		switch {
		case completed.Valid:
			failed = Errorf(EEXPIRED, "This enrolment code has already been used. Sign in with your passkey, or ask your GP practice for a new code.")
			return nil
		case !db.now().Before(parseTime(expires)):
			failed = Errorf(EEXPIRED, "This enrolment code has expired. Ask your GP practice for a new one.")
			return nil
		}
		if _, err = tx.ExecContext(ctx, `UPDATE enrolment_codes SET used_at = ? WHERE id = ?`, db.stamp(), id); err != nil {
			return err
		}
		// A session that has ended rolls it all back: the code stays unused.
		if err := updateSession(ctx, tx, `UPDATE sessions SET enrol_person_id = ? WHERE id_hash = ?`, personID, hashToken(sessionID)); err != nil {
			return err
		}
		newID, err = renewSessionID(ctx, tx, sessionID, db.now())
		return err
	})
	if err != nil {
		return Person{}, "", fmt.Errorf("redeem enrolment code: %w", err)
	}
	if failed != nil {
		return Person{}, "", failed
	}
	return person, newID, nil
}

// LinkEnrolment adds the person whose enrolment code the session proved to
// an account with no record of its own (someone who helps others, later
// given a code for their own record), so one account, with its passkeys,
// holds both: before, creating a passkey for the record made a second
// account, without the people they help (found by a review). The account is
// the one whose passkey answered a ceremony begun on the enrolment page of
// this same session, which proved the code and is signed in to nobody (a
// code signs its session out: renewSessionID), so whoever typed the code
// proved the account too, and no other sign-in ever picks the enrolment up.
// It is refused when the person's record already has an account (a code for
// a lost passkey: that account gets a new passkey instead; someone who
// invited a carer has one, so an account never holds the record of someone
// it acts for), and when the account's name is not the person's (a helper
// setting someone up at their own computer).
//
// It also signs the account in, with the passkey that answered
// (credentialID), in the same transaction: a passkey removed since it
// answered adds nothing (found by a review), and the session it returns
// (new id, as RotateSession gives) is bound to a passkey that exists.
func (db *DB) LinkEnrolment(ctx context.Context, sessionID string, accountID int64, credentialID []byte, p SessionPolicy) (Person, string, Session, error) {
	var person Person
	var newID string
	var sess Session
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if person, err = db.linkEnrolment(ctx, tx, sessionID, accountID); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM passkeys WHERE credential_id = ? AND account_id = ?`, credentialID, accountID).Scan(&n); err != nil {
			return fmt.Errorf("link enrolment: %w", err)
		}
		if n == 0 {
			return Errorf(EFORBIDDEN, "The passkey you used has been removed from its account since. Nothing was added: use a passkey of the account again.")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET person_id = ? WHERE id = ?`, person.ID, accountID); err != nil {
			return fmt.Errorf("link enrolment: %w", err)
		}
		if err := db.completeEnrolment(ctx, tx, person.ID); err != nil {
			return err
		}
		newID, sess, _, err = db.rotateSession(ctx, tx, sessionID, accountID, credentialID, p, false)
		return err
	})
	return person, newID, sess, err
}

// CheckLinkEnrolment says whether LinkEnrolment would add the record, and
// why not, changing nothing: asked before the person is asked to confirm.
func (db *DB) CheckLinkEnrolment(ctx context.Context, sessionID string, accountID int64) error {
	tx, err := db.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // read only
	_, err = db.linkEnrolment(ctx, tx, sessionID, accountID)
	return err
}

// linkEnrolment is LinkEnrolment's checks, in tx: the person it would add.
func (db *DB) linkEnrolment(ctx context.Context, tx *sql.Tx, sessionID string, accountID int64) (Person, error) {
	s, err := db.readSession(ctx, tx, sessionID)
	if err != nil {
		return Person{}, err
	}
	if s.EnrolPersonID == 0 || s.AccountID != 0 {
		return Person{}, Errorf(EFORBIDDEN, "Enter your enrolment code and date of birth first.")
	}
	if err := db.heldCodeInDate(ctx, tx, s.EnrolPersonID); err != nil {
		return Person{}, err
	}
	var own sql.NullInt64
	var name string
	if err := tx.QueryRowContext(ctx, `SELECT person_id, display_name FROM accounts WHERE id = ?`, accountID).Scan(&own, &name); err != nil {
		return Person{}, fmt.Errorf("link enrolment: %w", err)
	}
	person, err := db.personTx(ctx, tx, s.EnrolPersonID)
	if err != nil {
		return Person{}, err
	}
	if own.Valid {
		return Person{}, Errorf(ECONFLICT, "That passkey is for an account with a record of its own. To set up %s's record, create a passkey for it instead.", person.Name())
	}
	// A carer's account is named as they were invited: one in another
	// name is someone else's (a helper setting a person up at their own
	// computer, say), and must not take this record as their own.
	if !namesPerson(name, person) {
		return Person{}, Errorf(ECONFLICT, "That passkey is for %s's account. To set up %s's record, create a passkey for it instead.", name, person.Name())
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM accounts WHERE person_id = ?`, person.ID).Scan(&n); err != nil {
		return Person{}, fmt.Errorf("link enrolment: %w", err)
	}
	if n > 0 {
		return Person{}, Errorf(ECONFLICT, "%s's record already has an account: create a passkey, and it will be added to that account.", person.Name())
	}
	return person, nil
}

// EnrolmentInDate refuses, as heldCodeInDate does, a session setting up a
// passkey whose code has expired since it was proved: "I need more time"
// does not keep it going (a review).
func (db *DB) EnrolmentInDate(ctx context.Context, personID int64) error {
	return db.heldCodeInDate(ctx, db.db, personID)
}

// heldCodeInDate refuses, asking q (the transaction that stores what comes
// of it), when no code proved for the person is held and still in date: a
// session kept going by "I need more time" stored a passkey from a code that
// had expired hours before (a review).
func (db *DB) heldCodeInDate(ctx context.Context, q querier, personID int64) error {
	rows, err := q.QueryContext(ctx, `SELECT expires_at FROM enrolment_codes WHERE person_id = ? AND used_at IS NOT NULL AND completed_at IS NULL AND locked_at IS NULL`, personID)
	if err != nil {
		return fmt.Errorf("read enrolment codes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var expires string
		if err := rows.Scan(&expires); err != nil {
			return err
		}
		if db.now().Before(parseTime(expires)) {
			return nil
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return Errorf(EEXPIRED, "Your enrolment code has expired. Ask your GP practice for a new one.")
}

// completeEnrolment spends, in tx, the codes proved for the person, as a
// passkey or an account's record came of one: none may be proved again, and
// no other session that proved one may go on to add a passkey to the
// account now made.
func (db *DB) completeEnrolment(ctx context.Context, tx *sql.Tx, personID int64) error {
	if _, err := tx.ExecContext(ctx, `UPDATE enrolment_codes SET completed_at = ? WHERE person_id = ? AND used_at IS NOT NULL AND completed_at IS NULL`,
		db.stamp(), personID); err != nil {
		return fmt.Errorf("spend enrolment code: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE sessions SET enrol_person_id = NULL WHERE enrol_person_id = ?`, personID); err != nil {
		return fmt.Errorf("spend enrolment code: %w", err)
	}
	return nil
}

package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"
)

// Session is a server-side session. The browser holds only its id.
type Session struct {
	AccountID     int64 // 0 when nobody is signed in
	CSRFToken     string
	EnrolPersonID int64 // set once an enrolment code and date of birth matched
	ActingGrantID int64 // the grant the account acts under; 0 for its own record (see ActingGrantFor)
	PasskeyID     int64 // the passkey it was signed in with, whose removal ends it; 0 for none
	CreatedAt     time.Time
	LastSeenAt    time.Time
	ExpiresAt     time.Time
	// Bare: nobody signed in, no code or invitation held, no answer
	// waiting: the session only carries a form's CSRF token. It lasts
	// BareIdle without a request, and no absolute end applies (a code
	// proved gives a new session, which they do).
	Bare bool
}

// BareIdle is how long a bare session lasts without a request: longer than
// WCAG 2.2.1's 20 hours, so a page to sign in, enrol or accept an invitation
// left open while someone finds their letter still works when sent (a
// review: after 30 minutes it was refused, and what was typed lost). It
// holds nothing to take.
const BareIdle = 24 * time.Hour

// idleFor is how long s lasts without a request under p.
func (p SessionPolicy) idleFor(s Session) time.Duration {
	if s.Bare {
		return max(p.Idle, BareIdle)
	}
	return p.Idle
}

// endedAt says whether s has ended at now under p.
func (p SessionPolicy) endedAt(s Session, now time.Time) bool {
	return (!s.Bare && !now.Before(s.ExpiresAt)) || !now.Before(s.LastSeenAt.Add(p.idleFor(s)))
}

// bareSession is the SQL condition on a sessions row that Session.Bare is.
const bareSession = `(account_id IS NULL AND enrol_person_id IS NULL AND pending_account_id IS NULL
AND NOT EXISTS (SELECT 1 FROM carer_grants g WHERE g.held_by_session = sessions.id_hash))`

// SessionPolicy says how long sessions last.
type SessionPolicy struct {
	Idle     time.Duration // ends after this long without a request
	Absolute time.Duration // ends this long after it began, however busy
}

// DefaultSessionPolicy is 30 minutes idle and 12 hours in all.
func DefaultSessionPolicy() SessionPolicy {
	return SessionPolicy{Idle: 30 * time.Minute, Absolute: 12 * time.Hour}
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// csrfFor is the CSRF token of the session with that id, worked out from
// the id rather than stored, so a copy of the database holds none (migration
// 0040), and a new id (renewSessionID) is a new token. Under the server's
// secret once serve has given it (UseCodeKey). Only the id, which no other
// site can read from the cookie, gives the token.
func (db *DB) csrfFor(id string) string {
	key := db.codeKey
	if key == nil {
		key = []byte("mcr csrf")
	}
	return base64.RawURLEncoding.EncodeToString(codeMAC(key, "csrf\x00"+id))
}

func hashToken(id string) []byte {
	h := sha256.Sum256([]byte(id))
	return h[:]
}

// CreateSession starts a session, signed in to accountID when it is not 0,
// and returns its id: the only copy, which goes in the cookie.
func (db *DB) CreateSession(ctx context.Context, accountID int64, p SessionPolicy) (string, Session, error) {
	var id string
	var s Session
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		id, s, err = db.createSession(ctx, tx, accountID, nil, p)
		return err
	})
	return id, s, err
}

// createSession starts a session; credentialID names the passkey it was
// signed in with, whose removal ends it. A credential that is not one of the
// account's passkeys (removed since it was checked) is ENOTFOUND: a session
// naming no passkey would outlive its removal.
func (db *DB) createSession(ctx context.Context, tx *sql.Tx, accountID int64, credentialID []byte, p SessionPolicy) (string, Session, error) {
	id := randomToken()
	now := db.now()
	s := Session{AccountID: accountID, CSRFToken: db.csrfFor(id), CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(p.Absolute)}
	var acct, passkey sql.NullInt64
	if accountID != 0 {
		acct = sql.NullInt64{Int64: accountID, Valid: true}
	}
	if len(credentialID) > 0 {
		err := tx.QueryRowContext(ctx, `SELECT id FROM passkeys WHERE credential_id = ? AND account_id = ?`, credentialID, acct).Scan(&passkey)
		if errors.Is(err, sql.ErrNoRows) {
			return "", Session{}, Errorf(ENOTFOUND, "We do not recognise this passkey.")
		}
		if err != nil {
			return "", Session{}, fmt.Errorf("find passkey: %w", err)
		}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO sessions (id_hash, account_id, created_at, last_seen_at, expires_at, passkey_id)
VALUES (?, ?, ?, ?, ?, ?)`,
		hashToken(id), acct, formatTime(now), formatTime(now), formatTime(s.ExpiresAt), passkey)
	if err != nil {
		return "", Session{}, fmt.Errorf("create session: %w", err)
	}
	return id, s, nil
}

// Session returns the live session with that id and marks it as seen.
// A session past its idle or absolute end is deleted and reported as ENOTFOUND.
// Most requests only read: the write lock is taken only to mark the session
// seen (once a minute, or more often for a short idle time) or to delete it, so sessions do not queue every page
// behind the database's one writer.
func (db *DB) Session(ctx context.Context, id string, p SessionPolicy) (Session, error) {
	s, err := db.readSession(ctx, db.db, id)
	if err != nil {
		return Session{}, err
	}
	now := db.now()
	// Marked seen once a minute, or a tenth of the idle time for a shorter one.
	every := min(time.Minute, p.Idle/10)
	ended := p.endedAt(s, now)
	if !ended && now.Sub(s.LastSeenAt) < every {
		return s, nil
	}
	if !ended && time.Now().UnixNano() < db.touchesFrom.Load() {
		return s, nil // another process has held the database lately: marked seen later
	}
	// Only marking the session seen, which can wait for a later page, waits
	// at most a second for this process's other writes; ending it waits its turn.
	write := db.tx
	if !ended {
		write = func(ctx context.Context, fn func(*sql.Tx) error) error { return db.txWithin(ctx, time.Second, fn) }
	}
	err = write(ctx, func(tx *sql.Tx) error {
		// Read again under the write lock: another request may have touched or ended it.
		if s, err = db.readSession(ctx, tx, id); err != nil {
			return err
		}
		if ended = p.endedAt(s, now); ended {
			// Returning nil commits the delete; the caller still hears that the session ended.
			_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = ?`, hashToken(id))
			return err
		}
		if now.Sub(s.LastSeenAt) >= every {
			s.LastSeenAt = now
			if _, err := tx.ExecContext(ctx, `UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?`, formatTime(now), hashToken(id)); err != nil {
				return fmt.Errorf("touch session: %w", err)
			}
		}
		return nil
	})
	if IsBusy(err) {
		db.touchesFrom.Store(time.Now().Add(30 * time.Second).UnixNano())
	}
	if err != nil && !ended && (IsReadOnly(err) || IsNoSpace(err) || IsBusy(err) || errors.Is(err, errWriterBusy)) {
		// The database cannot be written just now (or another process, such
		// as a large portal import, has held it longer than the busy
		// timeout, or this one's writes are queued): the session goes on,
		// only its last-seen time is not moved on, so reads are still served.
		return s, nil
	}
	if err != nil {
		return Session{}, err
	}
	if ended {
		return Session{}, Errorf(ENOTFOUND, "Your session has ended.")
	}
	return s, nil
}

// TouchSession marks a live session as seen now, for someone who asked to
// stay signed in: Session does so only once a minute. It returns how long the
// session now has: the idle time, or less near its absolute end (ENOTFOUND
// when it has ended already).
func (db *DB) TouchSession(ctx context.Context, id string, p SessionPolicy) (time.Duration, error) {
	now := db.now()
	var ends time.Time
	err := db.tx(ctx, func(tx *sql.Tx) error {
		s, err := db.readSession(ctx, tx, id)
		if err != nil {
			return err
		}
		if p.endedAt(s, now) {
			return Errorf(ENOTFOUND, "Your session has ended.")
		}
		ends = now.Add(p.idleFor(s))
		if !s.Bare && s.ExpiresAt.Before(ends) {
			ends = s.ExpiresAt
		}
		_, err = tx.ExecContext(ctx, `UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?`, formatTime(now), hashToken(id))
		return err
	})
	return ends.Sub(now), err
}

// readSession reads the session with that id, live or not.
func (db *DB) readSession(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, id string) (Session, error) {
	var s Session
	var acct, enrol, acting, passkey sql.NullInt64
	var created, seen, expires string
	err := q.QueryRowContext(ctx, `SELECT account_id, enrol_person_id, created_at, last_seen_at, expires_at, acting_grant_id, passkey_id, `+bareSession+`
FROM sessions WHERE id_hash = ?`, hashToken(id)).Scan(&acct, &enrol, &created, &seen, &expires, &acting, &passkey, &s.Bare)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, Errorf(ENOTFOUND, "Your session has ended.")
	}
	if err != nil {
		return Session{}, fmt.Errorf("read session: %w", err)
	}
	s.AccountID, s.EnrolPersonID, s.ActingGrantID, s.PasskeyID = acct.Int64, enrol.Int64, acting.Int64, passkey.Int64
	s.CSRFToken = db.csrfFor(id)
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = parseTime(created), parseTime(seen), parseTime(expires)
	return s, nil
}

// RotateSession ends the session oldID and starts a new one for accountID,
// so an id known before sign-in is useless after it (no session fixation),
// signed in with the passkey credentialID: removing it ends the session. A
// carer's invitation the old session holds, part way through being
// accepted, does not pass to the new one, and is let go, unless the old
// session was the same account's (RotateSessionKeepingInvitation passes it):
// a sign-in by someone else at the same computer must not pick up an
// invitation they did not prove (a review: it was offered to them, one click
// from a grant). Nor does an enrolment code proved in the old session pass,
// for the same reason (LinkEnrolment is its own ceremony). The person the
// account was acting for does, when the old session was the same account's
// (confirming it's them) and the grant is still live: a carer stays with the
// person they were helping. held says whether the new session holds an
// invitation.
func (db *DB) RotateSession(ctx context.Context, oldID string, accountID int64, credentialID []byte, p SessionPolicy) (id string, s Session, held bool, err error) {
	err = db.tx(ctx, func(tx *sql.Tx) error {
		id, s, held, err = db.rotateSession(ctx, tx, oldID, accountID, credentialID, p, false)
		return err
	})
	return id, s, held, err
}

// RotateSessionKeepingInvitation is RotateSession for a sign-in begun from
// the invitation the old session holds (web/carers.go): the invitation
// passes to the new session in the same transaction.
func (db *DB) RotateSessionKeepingInvitation(ctx context.Context, oldID string, accountID int64, credentialID []byte, p SessionPolicy) (id string, s Session, held bool, err error) {
	err = db.tx(ctx, func(tx *sql.Tx) error {
		id, s, held, err = db.rotateSession(ctx, tx, oldID, accountID, credentialID, p, true)
		return err
	})
	return id, s, held, err
}

// rotateSession is RotateSession in tx; invitation says the held invitation passes whoever signs in.
func (db *DB) rotateSession(ctx context.Context, tx *sql.Tx, oldID string, accountID int64, credentialID []byte, p SessionPolicy, invitation bool) (id string, s Session, held bool, err error) {
	err = func() error {
		var acting sql.NullInt64
		var same bool
		err := tx.QueryRowContext(ctx, `DELETE FROM sessions WHERE id_hash = ? RETURNING CASE WHEN account_id = ?2 THEN acting_grant_id END, account_id IS ?2`,
			hashToken(oldID), accountID).Scan(&acting, &same)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("end old session: %w", err)
		}
		if id, s, err = db.createSession(ctx, tx, accountID, credentialID, p); err != nil {
			return err
		}
		if acting.Valid {
			// A grant that ended meanwhile is simply not taken up again.
			switch err := db.setActingFor(ctx, tx, id, accountID, acting.Int64); {
			case err == nil:
				s.ActingGrantID = acting.Int64
			case ErrorCode(err) != EFORBIDDEN:
				return err
			}
		}
		if !invitation && !same {
			if _, err := tx.ExecContext(ctx, `UPDATE carer_grants SET held_by_session = NULL WHERE held_by_session = ? AND accepted_at IS NULL`, hashToken(oldID)); err != nil {
				return fmt.Errorf("let go of the invitation: %w", err)
			}
			return nil
		}
		res, err := tx.ExecContext(ctx, `UPDATE carer_grants SET held_by_session = ? WHERE held_by_session = ? AND accepted_at IS NULL`,
			hashToken(id), hashToken(oldID))
		if err != nil {
			return fmt.Errorf("keep invitation: %w", err)
		}
		n, _ := res.RowsAffected()
		held = n > 0
		return nil
	}()
	return id, s, held, err
}

// SetSessionCeremony keeps in-flight WebAuthn data with the session (nil clears it).
//
// pendingAccount, when not 0, is the account a passkey's answer held in data
// is for, waiting for the person to confirm: signing out the account's other
// sessions, or removing its last passkey, ends this session too.
func (db *DB) SetSessionCeremony(ctx context.Context, id string, data []byte, pendingAccount int64) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		return updateSession(ctx, tx, `UPDATE sessions SET ceremony = ?, pending_account_id = NULLIF(?, 0) WHERE id_hash = ?`, data, pendingAccount, hashToken(id))
	})
}

// SessionCeremony returns the session's in-flight ceremony data, leaving it.
func (db *DB) SessionCeremony(ctx context.Context, id string) ([]byte, error) {
	var data []byte
	err := db.db.QueryRowContext(ctx, `SELECT ceremony FROM sessions WHERE id_hash = ?`, hashToken(id)).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, Errorf(ENOTFOUND, "Your session has ended.")
	}
	return data, err
}

// TakeSessionCeremony returns the session's in-flight WebAuthn data and
// clears it in the same write transaction, so of two requests answering one
// challenge at once only one gets it; the other gets nil.
func (db *DB) TakeSessionCeremony(ctx context.Context, id string) ([]byte, error) {
	var data []byte
	err := db.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT ceremony FROM sessions WHERE id_hash = ?`, hashToken(id)).Scan(&data)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return nil
		case err != nil:
			return err
		case data == nil:
			return nil
		}
		_, err = tx.ExecContext(ctx, `UPDATE sessions SET ceremony = NULL, pending_account_id = NULL WHERE id_hash = ?`, hashToken(id))
		return err
	})
	return data, err
}

// renewSessionID gives a session a new id and CSRF token, signed out,
// starting its times anew and keeping what it holds, and returns the id: once a code has
// proved who someone is, the id from before, which another could have
// planted in their browser, is worth nothing. That holds for a signed-in
// session too: one planted by someone signed in to their own account would
// otherwise let them finish, with their own passkey, the enrolment or
// invitation the code began. And whoever is signed in is signed out: an
// account signed in before the code, perhaps by someone else on this
// browser, must not take what the code gives (an invitation accepted with
// one click, a record added to it); the one who typed the code signs in
// again, or creates a passkey, after it. A session that has ended gives
// ENOTFOUND.
func renewSessionID(ctx context.Context, tx *sql.Tx, oldID string, now time.Time) (string, error) {
	id := randomToken()
	// It starts anew, as long as it was given to last: a bare session,
	// which no absolute end binds, may be older than that, and what it now
	// holds would end at once (a review: a code proved on a page left open
	// 13 hours was lost at the next click).
	var created, expires string
	if err := tx.QueryRowContext(ctx, `SELECT created_at, expires_at FROM sessions WHERE id_hash = ?`, hashToken(oldID)).Scan(&created, &expires); errors.Is(err, sql.ErrNoRows) {
		return "", Errorf(ENOTFOUND, "Your session has ended.")
	} else if err != nil {
		return "", fmt.Errorf("read session: %w", err)
	}
	span := parseTime(expires).Sub(parseTime(created))
	// A new CSRF token too, as it comes from the id: whoever planted the id knew the old one.
	// Nor does a ceremony begun before go on: what it would finish was begun by whoever held the old id.
	if err := updateSession(ctx, tx, `UPDATE sessions SET id_hash = ?, account_id = NULL, passkey_id = NULL, acting_grant_id = NULL, ceremony = NULL, pending_account_id = NULL,
created_at = ?, last_seen_at = ?, expires_at = ? WHERE id_hash = ?`,
		hashToken(id), formatTime(now), formatTime(now), formatTime(now.Add(span)), hashToken(oldID)); err != nil {
		return "", err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE carer_grants SET held_by_session = ? WHERE held_by_session = ?`, hashToken(id), hashToken(oldID)); err != nil {
		return "", fmt.Errorf("keep invitation: %w", err)
	}
	return id, nil
}

// updateSession runs query, an UPDATE of one session, in tx: a session that
// is no longer there has ended, which the person is told.
func updateSession(ctx context.Context, tx *sql.Tx, query string, args ...any) error {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("update session: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Errorf(ENOTFOUND, "Your session has ended.")
	}
	return nil
}

// DeleteSession ends one session.
func (db *DB) DeleteSession(ctx context.Context, id string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = ?`, hashToken(id))
		return err
	})
}

// DeleteExpiredSessions removes sessions past their idle or absolute end and returns how many.
func (db *DB) DeleteExpiredSessions(ctx context.Context, p SessionPolicy) (int64, error) {
	var n int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
		now := db.now()
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE (expires_at <= ?1 OR last_seen_at <= ?2) AND NOT (`+bareSession+` AND last_seen_at > ?3)`,
			formatTime(now), formatTime(now.Add(-p.Idle)), formatTime(now.Add(-max(p.Idle, BareIdle))))
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n, err
}

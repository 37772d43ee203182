package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mycarerecord/portal/store/fhir"
)

// Actions a grant may allow besides reading sections of the record.
const (
	ScopeChoices  = "choices"  // manage the person's sharing choices
	ScopeDownload = "download" // download or print the whole record
)

// Limits on invitations and grants.
const (
	InvitationTTL         = 7 * 24 * time.Hour // an invitation code lasts a week unless redeemed
	MaxInvitationAttempts = 5                  // wrong dates of birth before a code locks
	MaxGrantYears         = 5                  // the longest end date a person may choose
	ParentalAge           = 16                 // parental responsibility ends at this birthday
)

// Grant statuses, as both sides see them.
const (
	GrantInvited = "invited"            // code given, not yet accepted
	GrantExpired = "invitation expired" // the code ran out before anyone used it
	GrantLocked  = "invitation locked"  // too many wrong tries
	GrantActive  = "active"
	GrantEnded   = "ended" // its end date (or the child's 16th birthday) passed
	GrantRevoked = "revoked"
	GrantGivenUp = "given up"
)

// CarerScopes lists every scope a grant may hold: the record's sections in
// page order, then the actions.
func CarerScopes() []string {
	var out []string
	for _, s := range fhir.Sections() {
		out = append(out, s.Slug)
	}
	return append(out, ScopeChoices, ScopeDownload)
}

// Grant is a person's permission for a carer to act for them, from the
// invitation on. Status is worked out when it is read, so an end date that
// has passed ends the grant at once, without any job running.
type Grant struct {
	ID               int64
	PersonID         int64
	Person           Person // whose record: filled in for the carer's lists
	InvitedBy        int64
	CarerName        string
	Relationship     string
	Scopes           []string
	EndsAt           time.Time // zero: until the person cancels
	Parental         bool
	CodeExpiresAt    time.Time
	GranteeAccountID int64  // 0 until accepted
	AcceptedAs       string // the accepting account's name then ("" before migration 0041)
	AcceptedAt       time.Time
	RevokedAt        time.Time
	GivenUpAt        time.Time
	CreatedAt        time.Time
	Status           string
}

// Has says whether the grant allows the scope (a section slug or an action).
func (g Grant) Has(scope string) bool { return slices.Contains(g.Scopes, scope) }

// Active says whether the carer may act for the person now.
func (g Grant) Active() bool { return g.Status == GrantActive }

// Pending says whether the invitation can still be accepted.
func (g Grant) Pending() bool { return g.Status == GrantInvited }

// Open says whether the person can still change or end it.
func (g Grant) Open() bool { return g.Status == GrantInvited || g.Status == GrantActive }

// EndedAt is when it stopped being usable, or zero while it still is.
func (g Grant) EndedAt() time.Time {
	switch g.Status {
	case GrantRevoked:
		return g.RevokedAt
	case GrantGivenUp:
		return g.GivenUpAt
	case GrantEnded:
		return g.EndsAt
	case GrantExpired:
		// Its code ran out, or, sooner, the access it gives ended.
		if !g.EndsAt.IsZero() && g.EndsAt.Before(g.CodeExpiresAt) {
			return g.EndsAt
		}
		return g.CodeExpiresAt
	}
	return time.Time{}
}

// GrantEvent is one thing that happened to a grant.
type GrantEvent struct {
	At        time.Time
	AccountID int64 // 0 when the portal did it
	What      string
}

// Invitation is what a person fills in to invite a carer.
type Invitation struct {
	CarerName    string
	Relationship string
	Scopes       []string
	EndsAt       time.Time // zero: until cancelled
	Parental     bool
	// Once is the invitation form's own random token: the same form sent
	// twice (a reloaded page) makes one invitation, and the second sending
	// is answered ECONFLICT with that invitation. "" for none.
	Once string
}

const grantColumns = `g.id, g.person_id, g.invited_by, g.carer_name, g.relationship, g.scopes, COALESCE(g.ends_at, ''), g.parental,
g.code_expires_at, COALESCE(g.locked_at, ''), COALESCE(g.grantee_account_id, 0), COALESCE(g.accepted_at, ''),
COALESCE(g.revoked_at, ''), COALESCE(g.given_up_at, ''), g.created_at, COALESCE(g.accepted_as, ''),
p.id, p.prefix, p.given, p.family, p.birth_date, COALESCE(p.nhs_number, '')`

const grantFrom = ` FROM carer_grants g JOIN persons p ON p.id = g.person_id `

func (db *DB) scanGrant(row rowScanner) (Grant, error) {
	var (
		g                                                      Grant
		scopes, ends, expires, locked, accepted, revoked, gave string
		created                                                string
	)
	err := row.Scan(&g.ID, &g.PersonID, &g.InvitedBy, &g.CarerName, &g.Relationship, &scopes, &ends, &g.Parental,
		&expires, &locked, &g.GranteeAccountID, &accepted, &revoked, &gave, &created, &g.AcceptedAs,
		&g.Person.ID, &g.Person.Prefix, &g.Person.Given, &g.Person.Family, &g.Person.BirthDate, &g.Person.NHSNumber)
	if errors.Is(err, sql.ErrNoRows) {
		return Grant{}, Errorf(ENOTFOUND, "We could not find that carer's access.")
	}
	if err != nil {
		return Grant{}, fmt.Errorf("read grant: %w", err)
	}
	g.Scopes = strings.Fields(scopes)
	g.EndsAt, g.CodeExpiresAt, g.AcceptedAt = optTime(ends), parseTime(expires), optTime(accepted)
	g.RevokedAt, g.GivenUpAt, g.CreatedAt = optTime(revoked), optTime(gave), parseTime(created)
	if g.Parental {
		// Whatever was stored (a date of birth corrected before capParental
		// came in), parental access ends by the birthday held now.
		g.EndsAt = parentalEnd(g.Person, g.EndsAt)
	}
	now := db.now()
	switch {
	case !g.RevokedAt.IsZero():
		g.Status = GrantRevoked
	case !g.GivenUpAt.IsZero():
		g.Status = GrantGivenUp
	case g.AcceptedAt.IsZero() && locked != "" && parseTime(locked).Before(g.CodeExpiresAt):
		// Locked while it could still be accepted: wrong dates tried after it
		// ran out (CheckInvitation counts them all) leave it "ran out".
		g.Status = GrantLocked
	case g.AcceptedAt.IsZero() && (!now.Before(g.CodeExpiresAt) || !g.EndsAt.IsZero() && !now.Before(g.EndsAt)):
		// An invitation whose access has ended already (its end date, or the
		// child's 16th birthday, came before anyone accepted it) gives nothing:
		// it has run out, as one whose code has (found by a review).
		g.Status = GrantExpired
	case g.AcceptedAt.IsZero():
		g.Status = GrantInvited
	case !g.EndsAt.IsZero() && !now.Before(g.EndsAt):
		g.Status = GrantEnded
	default:
		g.Status = GrantActive
	}
	return g, nil
}

func optTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	return parseTime(s)
}

func optStamp(t time.Time) sql.NullString {
	if t.IsZero() {
		return sql.NullString{}
	}
	return sql.NullString{String: formatTime(t), Valid: true}
}

// sixteenth is the day the person turns ParentalAge, or zero when the date
// of birth is unknown. A date of birth FHIR gives only to the month or year
// ("2010-06", "2010") counts from its first day: the soonest the person may
// turn 16, so parental access never runs past it.
func sixteenth(p Person) time.Time {
	for _, layout := range []string{"2006-01-02", "2006-01", "2006"} {
		if dob, err := time.Parse(layout, p.BirthDate); err == nil {
			return time.Date(dob.Year()+ParentalAge, dob.Month(), dob.Day(), 0, 0, 0, 0, UKZone()) // as the birthday begins, UK time
		}
	}
	return time.Time{}
}

// IsChild reports whether the person is under ParentalAge now, by the date
// of birth held: only then may someone have parental responsibility for them.
func (db *DB) IsChild(p Person) bool {
	sixteen := sixteenth(p)
	return !sixteen.IsZero() && sixteen.After(db.now())
}

// capParental ends a child's parental grants, and invitations, no later than
// the 16th birthday by a date of birth a source corrected, saying so in each
// one's history: a corrected date of birth never leaves a parent access past
// it. An end already sooner is kept; one the old date made sooner is not
// moved later (the person can invite again).
func capParental(ctx context.Context, tx *sql.Tx, now string, personID int64, birthDate string) error {
	sixteen := sixteenth(Person{BirthDate: birthDate})
	if sixteen.IsZero() {
		return nil
	}
	end := formatTime(sixteen)
	rows, err := tx.QueryContext(ctx, `UPDATE carer_grants SET ends_at = ?1 WHERE person_id = ?2 AND parental
AND revoked_at IS NULL AND given_up_at IS NULL AND (ends_at IS NULL OR ends_at > ?1) RETURNING id`, end, personID)
	if err != nil {
		return fmt.Errorf("end parental access at the corrected 16th birthday: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	what := fmt.Sprintf("The date of birth was corrected, so parental responsibility ends on %s, the %dth birthday", sixteen.Format("2 January 2006"), ParentalAge)
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, `INSERT INTO carer_grant_events (grant_id, at, account_id, what) VALUES (?, ?, NULL, ?)`, id, now, what); err != nil {
			return fmt.Errorf("record grant change: %w", err)
		}
	}
	return nil
}

// checkTerms checks scopes and an end date, and caps a parental grant at the
// child's 16th birthday. It returns the end date to store.
func (db *DB) checkTerms(person Person, scopes []string, ends time.Time, parental bool) (time.Time, error) {
	now := db.now()
	for _, err := range []error{checkScopes(scopes), checkEnd(now, ends), checkParental(person, now, parental)} {
		if err != nil {
			return ends, err
		}
	}
	if parental {
		ends = parentalEnd(person, ends)
	}
	return ends, nil
}

// InvitationEnds is when access given on these terms ends: the end asked
// for, or for parental responsibility the person's 16th birthday when that
// comes first, as CreateInvitation stores it. Zero for no end.
func InvitationEnds(person Person, ends time.Time, parental bool) time.Time {
	if parental {
		return parentalEnd(person, ends)
	}
	return ends
}

// parentalEnd is when parental responsibility for person ends, given the end
// stored: no later than the 16th birthday by the date of birth held now. An
// end at midnight UTC of the birthday, as stored before ends began at UK
// midnight (an hour later in summer), is left as it is; with no date of
// birth, the end given.
func parentalEnd(person Person, ends time.Time) time.Time {
	sixteen := sixteenth(person)
	if !sixteen.IsZero() && (ends.IsZero() || ends.After(sixteen) && !ends.Equal(utcMidnight(sixteen))) {
		return sixteen
	}
	return ends
}

// utcMidnight is midnight UTC of the day t falls on in the UK.
func utcMidnight(t time.Time) time.Time {
	y, m, d := t.In(UKZone()).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// checkScopes refuses permissions that are not known, that let the carer
// see no part of the record, or that download a record they cannot see all of.
func checkScopes(scopes []string) error {
	valid := CarerScopes()
	sections := 0
	for _, s := range scopes {
		if !slices.Contains(valid, s) {
			return Errorf(EINVALID, "We do not know the permission %q.", s)
		}
		if s != ScopeChoices && s != ScopeDownload {
			sections++
		}
	}
	if sections == 0 {
		return Errorf(EINVALID, "Choose at least one part of your record they can see.")
	}
	if slices.Contains(scopes, ScopeDownload) && sections < len(fhir.Sections()) {
		// A download is the whole record: it cannot leave out sections.
		return Errorf(EINVALID, "To let them download your record, also let them see every part of it.")
	}
	return nil
}

// checkEnd refuses an end date (zero: none) in the past or too far ahead.
func checkEnd(now, ends time.Time) error {
	switch {
	case ends.IsZero():
		return nil
	case !ends.After(now):
		return Errorf(EINVALID, "The end date must be in the future.")
	case ends.After(now.AddDate(MaxGrantYears, 0, 1)):
		return Errorf(EINVALID, "The end date must be within %d years.", MaxGrantYears)
	}
	return nil
}

// checkParental refuses parental responsibility for someone who is not a child.
func checkParental(person Person, now time.Time, parental bool) error {
	if sixteen := sixteenth(person); parental && (sixteen.IsZero() || !sixteen.After(now)) {
		return Errorf(EINVALID, "Parental responsibility can only be given for a child under %d.", ParentalAge)
	}
	return nil
}

// checkInvitee refuses an invitation's name or relationship, blank or too long.
func checkInvitee(inv Invitation) error {
	if err := checkName(inv.CarerName); err != nil {
		return err
	}
	return checkRelationship(inv.Relationship)
}

func checkName(name string) error {
	switch {
	case name == "":
		return Errorf(EINVALID, "Enter the name of the person you are inviting.")
	case utf8.RuneCountInString(name) > 100:
		return Errorf(EINVALID, "Their name must be 100 characters or fewer.")
	}
	if why := nameProblem(name); why != "" {
		return Errorf(EINVALID, "%s", why)
	}
	return nil
}

func checkRelationship(relationship string) error {
	switch {
	case relationship == "":
		return Errorf(EINVALID, "Enter how they are related to you.")
	case utf8.RuneCountInString(relationship) > 60:
		return Errorf(EINVALID, "How they are related to you must be 60 characters or fewer.")
	}
	return nil
}

// InvitationProblems is everything CreateInvitation would refuse in an
// invitation for the person, asked before it is sent, so the form names
// every problem at once (the page that checks the answers shows none that
// cannot be sent). CreateInvitation asks again.
func (db *DB) InvitationProblems(person Person, inv Invitation) []error {
	inv.CarerName = strings.TrimSpace(inv.CarerName)
	inv.Relationship = strings.TrimSpace(inv.Relationship)
	var out []error
	for _, err := range []error{checkName(inv.CarerName), checkRelationship(inv.Relationship)} {
		if err != nil {
			out = append(out, err)
		}
	}
	return append(out, db.TermsProblems(person, inv.Scopes, inv.EndsAt, inv.Parental)...)
}

// TermsProblems is everything ChangeGrant, or CreateInvitation, would
// refuse in what a carer may see and do and until when, so a form names
// every problem at once.
func (db *DB) TermsProblems(person Person, scopes []string, ends time.Time, parental bool) []error {
	now := db.now()
	var out []error
	for _, err := range []error{checkScopes(orderScopes(scopes)), checkEnd(now, ends), checkParental(person, now, parental)} {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

// orderScopes puts scopes in CarerScopes order without repeats, so they read the same everywhere.
func orderScopes(scopes []string) []string {
	var out []string
	for _, s := range CarerScopes() {
		if slices.Contains(scopes, s) {
			out = append(out, s)
		}
	}
	for _, s := range scopes {
		if !slices.Contains(out, s) {
			out = append(out, s) // unknown: kept so checkTerms can name it
		}
	}
	return out
}

// CreateInvitation makes an invitation for a carer to act for the person and
// returns it with its one-time code. Only the code's hash is kept: the code is
// shown once, to be given to the carer. It expires after InvitationTTL.
// logAs makes the access log entry, written with the invitation (Logged).
func (db *DB) CreateInvitation(ctx context.Context, personID, byAccount int64, inv Invitation, logAs Logged[Grant]) (Grant, string, error) {
	inv.CarerName = strings.TrimSpace(inv.CarerName)
	inv.Relationship = strings.TrimSpace(inv.Relationship)
	if err := checkInvitee(inv); err != nil {
		return Grant{}, "", err
	}
	code := newCode(12)
	var g Grant
	var once any // NULL: no token
	if inv.Once != "" {
		once = hashToken(inv.Once)
	}
	err := db.tx(ctx, func(tx *sql.Tx) error {
		person, err := scanPerson(tx.QueryRowContext(ctx, `SELECT id, prefix, given, family, birth_date, COALESCE(nhs_number, '') FROM persons WHERE id = ?`, personID))
		if err != nil {
			return err
		}
		scopes := orderScopes(inv.Scopes)
		ends, err := db.checkTerms(person, scopes, inv.EndsAt, inv.Parental)
		if err != nil {
			return err
		}
		if once != nil {
			var made int64
			err := tx.QueryRowContext(ctx, `SELECT id FROM carer_grants WHERE person_id = ? AND form_once = ?`, personID, once).Scan(&made)
			switch {
			case err == nil:
				sent, err := db.grantTx(ctx, tx, made)
				if err != nil {
					return err
				}
				if sent.CarerName == inv.CarerName && sent.Relationship == inv.Relationship && slices.Equal(sent.Scopes, scopes) &&
					sameEndDay(sent.EndsAt, ends) && sent.Parental == inv.Parental {
					g = sent
					return Errorf(ECONFLICT, "You have already sent this invitation.")
				}
				// The same form sent again saying something else (a page brought back
				// with the browser's Back button, then changed): another invitation.
				once = nil
			case !errors.Is(err, sql.ErrNoRows):
				return fmt.Errorf("look for the invitation: %w", err)
			}
		}
		now := db.now()
		expires := now.Add(InvitationTTL)
		if !ends.IsZero() && ends.Before(expires) {
			expires = ends // the code works no longer than the access it gives (a product review)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO carer_grants (person_id, invited_by, carer_name, relationship, scopes, ends_at, parental,
code_hash, code_expires_at, created_at, form_once) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			personID, byAccount, inv.CarerName, inv.Relationship, strings.Join(scopes, " "), optStamp(ends), inv.Parental,
			db.hashCode(code), formatTime(expires), formatTime(now), once)
		if err != nil {
			return fmt.Errorf("create invitation: %w", err)
		}
		id, _ := res.LastInsertId()
		if err := db.grantEvent(ctx, tx, id, byAccount, fmt.Sprintf("Invited %s (%s)", inv.CarerName, inv.Relationship)); err != nil {
			return err
		}
		if g, err = db.grantTx(ctx, tx, id); err != nil {
			return err
		}
		return db.logTx(ctx, tx, logAs(g))
	})
	if ErrorCode(err) == ECONFLICT && g.ID != 0 {
		return g, "", err // the invitation this form made before
	}
	if err != nil {
		return Grant{}, "", err
	}
	return g, code, nil
}

// sameEndDay says whether two ends of access fall on the same day, or are
// both none: the form asks for a day, and "In 12 months" is counted from
// the moment each sending arrives.
func sameEndDay(a, b time.Time) bool {
	if a.IsZero() || b.IsZero() {
		return a.IsZero() == b.IsZero()
	}
	return a.UTC().Format(time.DateOnly) == b.UTC().Format(time.DateOnly)
}

func (db *DB) grantEvent(ctx context.Context, tx *sql.Tx, grantID, accountID int64, what string) error {
	acct := sql.NullInt64{Int64: accountID, Valid: accountID != 0}
	_, err := tx.ExecContext(ctx, `INSERT INTO carer_grant_events (grant_id, at, account_id, what) VALUES (?, ?, ?, ?)`, grantID, db.stamp(), acct, what)
	if err != nil {
		return fmt.Errorf("record grant change: %w", err)
	}
	return nil
}

func (db *DB) grantTx(ctx context.Context, q querier, id int64) (Grant, error) {
	return db.scanGrant(q.QueryRowContext(ctx, `SELECT `+grantColumns+grantFrom+`WHERE g.id = ?`, id))
}

// Grant returns one grant (or invitation) by id.
func (db *DB) Grant(ctx context.Context, id int64) (Grant, error) {
	return db.scanGrant(db.db.QueryRowContext(ctx, `SELECT `+grantColumns+grantFrom+`WHERE g.id = ?`, id))
}

func (db *DB) queryGrants(ctx context.Context, where string, args ...any) ([]Grant, error) {
	return db.grantsTx(ctx, db.db, where, args...)
}

// grantsTx is queryGrants in a transaction (or outside one, given db.db).
func (db *DB) grantsTx(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, where string, args ...any) ([]Grant, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+grantColumns+grantFrom+where, args...)
	if err != nil {
		return nil, fmt.Errorf("list grants: %w", err)
	}
	defer rows.Close()
	var out []Grant
	for rows.Next() {
		g, err := db.scanGrant(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// GrantsForPerson lists everyone the person has invited, newest first.
func (db *DB) GrantsForPerson(ctx context.Context, personID int64) ([]Grant, error) {
	return db.queryGrants(ctx, `WHERE g.person_id = ? ORDER BY g.id DESC`, personID)
}

// GrantsForAccount lists the grants the account has accepted, active or not, newest first.
func (db *DB) GrantsForAccount(ctx context.Context, accountID int64) ([]Grant, error) {
	return db.queryGrants(ctx, `WHERE g.grantee_account_id = ? ORDER BY g.id DESC`, accountID)
}

// ActiveGrantsForAccount lists the people the account may act for now, by name.
func (db *DB) ActiveGrantsForAccount(ctx context.Context, accountID int64) ([]Grant, error) {
	all, err := db.GrantsForAccount(ctx, accountID)
	if err != nil {
		return nil, err
	}
	var out []Grant
	for _, g := range all {
		if g.Active() {
			out = append(out, g)
		}
	}
	slices.SortFunc(out, func(a, b Grant) int { return strings.Compare(a.Person.Name(), b.Person.Name()) })
	return out, nil
}

// GrantEvents returns what happened to the grant, oldest first.
func (db *DB) GrantEvents(ctx context.Context, grantID int64) ([]GrantEvent, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT at, COALESCE(account_id, 0), what FROM carer_grant_events WHERE grant_id = ? ORDER BY id`, grantID)
	if err != nil {
		return nil, fmt.Errorf("grant history: %w", err)
	}
	defer rows.Close()
	var out []GrantEvent
	for rows.Next() {
		var e GrantEvent
		var at string
		if err := rows.Scan(&at, &e.AccountID, &e.What); err != nil {
			return nil, err
		}
		e.At = parseTime(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// CheckInvitation checks an invitation code together with the date of birth
// (YYYY-MM-DD) of the person who gave it. On a match the session holds the
// invitation until its account accepts it, under a new id it returns
// (renewSessionID). A wrong date of birth counts against the code, which
// locks after MaxInvitationAttempts.
func (db *DB) CheckInvitation(ctx context.Context, code, birthDate, sessionID string) (Grant, string, error) {
	var (
		g      Grant
		newID  string
		failed error
	)
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var id int64
		var attempts int
		keyed, plain := db.codeHashes(code)
		var locked bool
		err := tx.QueryRowContext(ctx, `SELECT id, failed_attempts, locked_at IS NOT NULL FROM carer_grants WHERE code_hash IN (?, ?)`, keyed, plain).Scan(&id, &attempts, &locked)
		if errors.Is(err, sql.ErrNoRows) {
			failed = Errorf(EINVALID, "We do not recognise that invitation code. Check it and try again.")
			return nil
		}
		if err != nil {
			return fmt.Errorf("check invitation: %w", err)
		}
		if g, err = db.grantTx(ctx, tx, id); err != nil {
			return err
		}
		if locked { // whatever else became of it: no more dates of birth are tried
			failed = Errorf(ELOCKED, "This invitation has been locked after too many tries. Ask the person who invited you for a new one.")
			return nil
		}
		// The date of birth is checked before anything is said of the
		// invitation: someone who has found a code, and not the date, learns
		// nothing of it, not even that it was accepted or cancelled (found by
		// reviews).
		if !sameBirthDate(g.Person.BirthDate, birthDate) {
			attempts++
			lockedAt := sql.NullString{}
			failed = Errorf(EINVALID, "The date of birth does not match the date of birth of the person who invited you. You have %s.", moreTries(MaxInvitationAttempts-attempts))
			if attempts >= MaxInvitationAttempts {
				lockedAt = sql.NullString{String: db.stamp(), Valid: true}
				failed = Errorf(ELOCKED, "This invitation has been locked after too many tries. Ask the person who invited you for a new one.")
			}
			_, err := tx.ExecContext(ctx, `UPDATE carer_grants SET failed_attempts = ?, locked_at = ? WHERE id = ?`, attempts, lockedAt, id)
			return err
		}
		if failed = invitationUnusable(g); failed != nil {
			return nil
		}
		if _, err = tx.ExecContext(ctx, `UPDATE carer_grants SET held_by_session = ? WHERE id = ?`, hashToken(sessionID), id); err != nil {
			return err
		}
		newID, err = renewSessionID(ctx, tx, sessionID, db.now())
		return err
	})
	if err != nil {
		return Grant{}, "", err
	}
	if failed != nil {
		return Grant{}, "", failed
	}
	return g, newID, nil
}

// moreTries says how many tries are left: "1 more try", "3 more tries".
func moreTries(n int) string {
	if n == 1 {
		return "1 more try"
	}
	return fmt.Sprintf("%d more tries", n)
}

// sameBirthDate says whether the whole date of birth typed (2011-06-15) is
// the one held, or, where a source gives it only to the month or the year
// (2011-06, 2011), falls in it: the forms take only a whole date, and an
// enrolment code, or an invitation, for a person whose date a source made
// partial could otherwise never be used (found by reviews). An enrolment
// code is only made for a whole date (portal invite).
func sameBirthDate(held, typed string) bool {
	return held == typed || len(held) < len("2006-01-02") && held != "" && strings.HasPrefix(typed, held+"-")
}

// invitationUnusable says why an invitation cannot be accepted, or nil when it can.
func invitationUnusable(g Grant) error {
	switch g.Status {
	case GrantInvited:
		return nil
	case GrantLocked:
		return Errorf(ELOCKED, "This invitation has been locked after too many tries. Ask the person who invited you for a new one.")
	case GrantExpired:
		return Errorf(EEXPIRED, "This invitation has expired. Ask the person who invited you for a new one.")
	case GrantRevoked:
		return Errorf(EEXPIRED, "This invitation has been cancelled. Ask the person who invited you if they want to send a new one.")
	}
	return Errorf(EEXPIRED, "This invitation has already been used. If you accepted it, sign in with your passkey; if not, ask the person who invited you for a new one.")
}

// HeldInvitation returns the invitation this session proved it may accept.
func (db *DB) HeldInvitation(ctx context.Context, sessionID string) (Grant, error) {
	g, err := db.scanGrant(db.db.QueryRowContext(ctx, `SELECT `+grantColumns+grantFrom+`WHERE g.held_by_session = ? ORDER BY g.id DESC LIMIT 1`, hashToken(sessionID)))
	if ErrorCode(err) == ENOTFOUND {
		return Grant{}, Errorf(EFORBIDDEN, "Enter your invitation code and the date of birth of the person who invited you first.")
	}
	if err != nil {
		return Grant{}, err
	}
	if err := invitationUnusable(g); err != nil {
		return Grant{}, err
	}
	return g, nil
}

// AcceptInvitation makes invitation id, which the session holds, a grant to
// the account: from now on, the account may act for the person. The id is
// the one the page asking to accept showed, so a code entered since in
// another window is not the one accepted. logAs makes the access log entry,
// written with the grant (Logged).
func (db *DB) AcceptInvitation(ctx context.Context, sessionID string, accountID, id int64, logAs Logged[Grant]) (Grant, error) {
	var g Grant
	err := db.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT id FROM carer_grants WHERE held_by_session = ? AND id = ?`, hashToken(sessionID), id).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return Errorf(EFORBIDDEN, "Enter your invitation code and the date of birth of the person who invited you first.")
		}
		if err != nil {
			return fmt.Errorf("accept invitation: %w", err)
		}
		if g, err = db.grantTx(ctx, tx, id); err != nil {
			return err
		}
		if err := invitationUnusable(g); err != nil {
			return err
		}
		var own sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT person_id FROM accounts WHERE id = ?`, accountID).Scan(&own); err != nil {
			return fmt.Errorf("accept invitation: %w", err)
		}
		if own.Valid && own.Int64 == g.PersonID {
			return Errorf(EINVALID, "This is an invitation to your own record. Give the code to the person you want to help you.")
		}
		// Active as scanGrant says, whose parental ends follow the date of birth held now.
		held, err := db.grantsTx(ctx, tx, `WHERE g.person_id = ? AND g.grantee_account_id = ? AND g.revoked_at IS NULL AND g.given_up_at IS NULL`, g.PersonID, accountID)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(held, Grant.Active) {
			return Errorf(ECONFLICT, "You can already act for %s. Ask them to change what you can see instead.", g.Person.Name())
		}
		// The accepting account's own name, kept when it is not the carer's
		// the person invited: the person may have given the code to someone
		// else, or someone else may have used it. An account with a record
		// is its person's (their first given and family names, a middle name
		// left out: namesPerson); a carer's is named as first invited.
		var as string
		var named bool
		if err := tx.QueryRowContext(ctx, `SELECT display_name FROM accounts WHERE id = ?`, accountID).Scan(&as); err != nil {
			return fmt.Errorf("accept invitation: %w", err)
		}
		if own.Valid {
			self, err := db.personTx(ctx, tx, own.Int64)
			if err != nil {
				return err
			}
			as, named = strings.TrimSpace(self.Given+" "+self.Family), namesPerson(g.CarerName, self) || sameName(g.CarerName, as)
		} else {
			named = sameName(g.CarerName, as)
		}
		if named {
			as = g.CarerName
		}
		if _, err := tx.ExecContext(ctx, `UPDATE carer_grants SET grantee_account_id = ?, accepted_at = ?, held_by_session = NULL, accepted_as = ? WHERE id = ?`,
			accountID, db.stamp(), as, id); err != nil {
			return fmt.Errorf("accept invitation: %w", err)
		}
		if g, err = db.grantTx(ctx, tx, id); err != nil {
			return err
		}
		if err := db.grantEvent(ctx, tx, id, accountID, g.AcceptedWords()); err != nil {
			return err
		}
		return db.logTx(ctx, tx, logAs(g))
	})
	return g, err
}

// CreateCarerAccount makes an account with no record of its own, for a carer,
// with its first passkey.
func (db *DB) CreateCarerAccount(ctx context.Context, userHandle []byte, displayName string, pk Passkey) (Account, error) {
	var acct Account
	err := db.tx(ctx, func(tx *sql.Tx) error {
		now := db.stamp()
		res, err := tx.ExecContext(ctx, `INSERT INTO accounts (user_handle, person_id, display_name, created_at) VALUES (?, NULL, ?, ?)`,
			userHandle, displayName, now)
		if err != nil {
			return fmt.Errorf("create account: %w", err)
		}
		id, _ := res.LastInsertId()
		acct = Account{ID: id, UserHandle: userHandle, DisplayName: displayName, CreatedAt: parseTime(now)}
		pk.AccountID = id
		return db.insertPasskey(ctx, tx, pk)
	})
	return acct, err
}

// personGrant reads a grant of the person's, for the person to change.
func (db *DB) personGrant(ctx context.Context, q querier, personID, grantID int64) (Grant, error) {
	g, err := db.grantTx(ctx, q, grantID)
	if err != nil {
		return Grant{}, err
	}
	if g.PersonID != personID {
		return Grant{}, Errorf(ENOTFOUND, "We could not find that carer's access.")
	}
	return g, nil
}

// PersonGrant returns one of the person's grants (or invitations), only theirs.
func (db *DB) PersonGrant(ctx context.Context, personID, grantID int64) (Grant, error) {
	return db.personGrant(ctx, db.db, personID, grantID)
}

// ChangeGrant sets what the carer may see and do, and until when. Changes
// apply on the carer's next request. logAs makes the access log entry,
// written with the change (Logged); a change that changes nothing writes none.
func (db *DB) ChangeGrant(ctx context.Context, personID, grantID, byAccount int64, scopes []string, ends time.Time, logAs Logged[Grant]) (Grant, error) {
	var g Grant
	err := db.tx(ctx, func(tx *sql.Tx) error {
		old, err := db.personGrant(ctx, tx, personID, grantID)
		if err != nil {
			return err
		}
		if !old.Open() {
			return Errorf(ECONFLICT, "This access has ended, so it cannot be changed. Invite them again instead.")
		}
		scopes = orderScopes(scopes)
		ends, err = db.checkTerms(old.Person, scopes, ends, old.Parental)
		if err != nil {
			return err
		}
		var changes []string
		if strings.Join(scopes, " ") != strings.Join(old.Scopes, " ") {
			changes = append(changes, "what they can see and do")
		}
		if !ends.Equal(old.EndsAt) {
			if ends.IsZero() {
				changes = append(changes, "the end date to when you stop it")
			} else {
				changes = append(changes, "the end date to "+ends.In(UKZone()).Format("2 January 2006"))
			}
		}
		if len(changes) == 0 {
			g = old
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE carer_grants SET scopes = ?, ends_at = ? WHERE id = ?`,
			strings.Join(scopes, " "), optStamp(ends), grantID); err != nil {
			return fmt.Errorf("change grant: %w", err)
		}
		if err := db.grantEvent(ctx, tx, grantID, byAccount, "Changed "+strings.Join(changes, " and ")); err != nil {
			return err
		}
		if g, err = db.grantTx(ctx, tx, grantID); err != nil {
			return err
		}
		return db.logTx(ctx, tx, logAs(g))
	})
	return g, err
}

// RevokeGrant ends the carer's access (or cancels the invitation) at once.
// logAs makes the access log entry, written with the change (Logged).
func (db *DB) RevokeGrant(ctx context.Context, personID, grantID, byAccount int64, logAs Logged[Grant]) (Grant, error) {
	var g Grant
	err := db.tx(ctx, func(tx *sql.Tx) error {
		old, err := db.personGrant(ctx, tx, personID, grantID)
		if err != nil {
			return err
		}
		if !old.Open() {
			return Errorf(ECONFLICT, "This access has already ended.")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE carer_grants SET revoked_at = ?, held_by_session = NULL WHERE id = ?`, db.stamp(), grantID); err != nil {
			return fmt.Errorf("revoke grant: %w", err)
		}
		what := "Stopped " + old.CarerName + "'s access"
		if old.Pending() {
			what = "Cancelled the invitation"
		}
		if err := db.grantEvent(ctx, tx, grantID, byAccount, what); err != nil {
			return err
		}
		if g, err = db.grantTx(ctx, tx, grantID); err != nil {
			return err
		}
		return db.logTx(ctx, tx, logAs(g))
	})
	return g, err
}

// GiveUpGrant ends a carer's own access to someone's record, at the carer's
// wish. logAs makes the access log entry, written with the change (Logged).
func (db *DB) GiveUpGrant(ctx context.Context, accountID, grantID int64, logAs Logged[Grant]) (Grant, error) {
	var g Grant
	err := db.tx(ctx, func(tx *sql.Tx) error {
		old, err := db.grantTx(ctx, tx, grantID)
		if err != nil {
			return err
		}
		if old.GranteeAccountID != accountID {
			return Errorf(ENOTFOUND, "We could not find that carer's access.")
		}
		if !old.Active() {
			return Errorf(ECONFLICT, "This access has already ended.")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE carer_grants SET given_up_at = ? WHERE id = ?`, db.stamp(), grantID); err != nil {
			return fmt.Errorf("give up grant: %w", err)
		}
		if err := db.grantEvent(ctx, tx, grantID, accountID, old.CarerName+" gave up their access"); err != nil {
			return err
		}
		if g, err = db.grantTx(ctx, tx, grantID); err != nil {
			return err
		}
		return db.logTx(ctx, tx, logAs(g))
	})
	return g, err
}

// SetActingFor records whom the session's account acts for: the grant, or 0 for themselves.
// The grant must be the account's and active now.
func (db *DB) SetActingFor(ctx context.Context, sessionID string, accountID, grantID int64) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		return db.setActingFor(ctx, tx, sessionID, accountID, grantID)
	})
}

// setActingFor is SetActingFor inside a transaction.
func (db *DB) setActingFor(ctx context.Context, tx *sql.Tx, sessionID string, accountID, grantID int64) error {
	grant := sql.NullInt64{}
	if grantID != 0 {
		g, err := db.grantTx(ctx, tx, grantID)
		if ErrorCode(err) == ENOTFOUND || (err == nil && g.GranteeAccountID != accountID) {
			return Errorf(EFORBIDDEN, "You cannot act for that person.")
		}
		if err != nil {
			return err
		}
		if !g.Active() {
			return Errorf(EFORBIDDEN, "%s", g.EndedSentence())
		}
		grant = sql.NullInt64{Int64: grantID, Valid: true}
	}
	return updateSession(ctx, tx, `UPDATE sessions SET acting_grant_id = ? WHERE id_hash = ? AND account_id = ?`, grant, hashToken(sessionID), accountID)
}

// AcceptedByOther is the name of the account that accepted the invitation
// when it is not the carer's the person invited ("" when it is, or is not
// known): the person is shown who holds the access, not only whom they meant.
func (g Grant) AcceptedByOther() string {
	if g.AcceptedAs == "" || sameName(g.AcceptedAs, g.CarerName) {
		return ""
	}
	return g.AcceptedAs
}

// AcceptedByLookalike says the name that accepted, not the carer's, would
// look like theirs on a page: written with letters of another alphabet.
func (g Grant) AcceptedByLookalike() bool {
	return g.AcceptedByOther() != "" && looksAlike(g.AcceptedAs, g.CarerName)
}

// AcceptedWords says who accepted the invitation, for its history and the
// person's access log.
func (g Grant) AcceptedWords() string {
	if other := g.AcceptedByOther(); other != "" {
		return fmt.Sprintf("%s accepted the invitation, which was for %s", other, g.CarerName)
	}
	return g.CarerName + " accepted the invitation"
}

// EndedSentence says, to the carer, that their access has ended and how,
// in words that put no one under pressure: not who stopped it, nor that
// they might ask for it back. A parent's access that ended as the child
// turned 16 says so.
func (g Grant) EndedSentence() string {
	whose := g.Person.Name() + "'s record"
	switch g.Status {
	case GrantRevoked:
		return "Your access to " + whose + " has been stopped."
	case GrantGivenUp:
		return "You gave up your access to " + whose + "."
	case GrantEnded:
		day := g.EndsAt.In(UKZone()).Format("2 January 2006")
		if sixteen := sixteenth(g.Person); g.Parental && !sixteen.IsZero() && !g.EndsAt.Before(sixteen) {
			return "Your access to " + whose + " ended on " + day + ", their 16th birthday. Access for parental responsibility ends when a child turns 16."
		}
		return "Your access to " + whose + " ended on " + day + "."
	}
	return "Your access to " + whose + " has not started."
}

// ActingGrantFor returns the grant a session acts under (Session.ActingGrantID)
// as it stands now (so a revocation or an end date that passed shows at once),
// and whether there is one. A grant that is not the account's is never returned.
func (db *DB) ActingGrantFor(ctx context.Context, grantID, accountID int64) (Grant, bool, error) {
	if grantID == 0 {
		return Grant{}, false, nil
	}
	g, err := db.Grant(ctx, grantID)
	if ErrorCode(err) == ENOTFOUND {
		return Grant{}, false, nil
	}
	if err != nil {
		return Grant{}, false, err
	}
	if g.GranteeAccountID != accountID {
		return Grant{}, false, nil
	}
	return g, true, nil
}

// ItemSection returns the section of one of the person's record items, so a
// carer's access to the section can be checked before the item is read. For
// a carer, an entry the person keeps out of sharing is not found, as one
// that does not exist.
func (db *DB) ItemSection(ctx context.Context, personID, itemID int64) (string, error) {
	cf, cargs, err := db.carerFilter(ctx, personID)
	if err != nil {
		return "", err
	}
	var section string
	err = db.db.QueryRowContext(ctx, `SELECT section FROM record_items ri WHERE ri.id = ? AND ri.person_id = ?`+cf,
		append([]any{itemID, personID}, cargs...)...).Scan(&section)
	if errors.Is(err, sql.ErrNoRows) {
		return "", Errorf(ENOTFOUND, "There is no such entry in the record.")
	}
	if err != nil {
		return "", fmt.Errorf("item section: %w", err)
	}
	return section, nil
}

// carerResources writes the person's active carer grants as FHIR RelatedPerson
// and Consent resources, for the record download. A carer's own download
// leaves them out: who else helps the person is not theirs to take away.
// patientURL is the fullUrl of the person's Patient in the download, or "".
func (db *DB) carerResources(ctx context.Context, personID int64, patientURL string) ([]fhir.BundleEntry, error) {
	if IsForCarer(ctx) {
		return nil, nil
	}
	grants, err := db.GrantsForPerson(ctx, personID)
	if err != nil {
		return nil, err
	}
	var out []fhir.BundleEntry
	for _, g := range grants {
		if !g.Active() {
			continue
		}
		entries, err := fhir.BuildCarerAccess(fhir.CarerAccess{
			ID: fmt.Sprintf("carer-%d", g.ID), PatientRef: patientURL, NHSNumber: g.Person.NHSNumber, PatientName: g.Person.Name(),
			CarerName: g.CarerName, Relationship: g.Relationship, Scopes: g.Scopes,
			Start: g.AcceptedAt, End: g.EndsAt, Parental: g.Parental,
		})
		if err != nil {
			return nil, err
		}
		out = append(out, entries...)
	}
	return out, nil
}

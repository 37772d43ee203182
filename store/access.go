package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mycarerecord/portal/store/fhir"
)

// Who acted, as the access log stores it.
const (
	ActorSelf  = "self"  // the person, on their own record
	ActorCarer = "carer" // someone else's account: a carer acting for the person
	// ActorOperator is someone running the portal on its server, reading a
	// person's record from the command line (portal export): no account, so
	// AccountID is 0 and ActorName is their login name on the server.
	ActorOperator = "operator"
)

// Access is one entry in the access log: who looked at whose record, and at what.
type Access struct {
	ID           int64
	At           string
	AccountID    int64
	PersonID     int64
	Action       string
	What         string
	Device       string
	ActorKind    string // ActorSelf, ActorCarer or ActorOperator; "" is taken as ActorSelf
	ActorName    string // the account's name when the entry was written
	Relationship string // a carer's relationship to the person, e.g. "son"
	hashVersion  int
}

// hash1 is the formula of entries written before migration 0013: it leaves out
// who acted for whom, which those entries do not hold.
func (a Access) hash1(prev []byte) []byte {
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

// hash2 covers every stored field but the row id (whose order the chain itself covers).
func (a Access) hash2(prev []byte) []byte {
	h := sha256.New()
	h.Write([]byte("access-log/2"))
	for _, s := range []string{string(prev), a.At, a.Action, a.What, a.Device, a.ActorKind, a.ActorName, a.Relationship} {
		binary.Write(h, binary.BigEndian, uint32(len(s)))
		h.Write([]byte(s))
	}
	binary.Write(h, binary.BigEndian, a.AccountID)
	binary.Write(h, binary.BigEndian, a.PersonID)
	return h.Sum(nil)
}

// hashFor computes the entry's hash with the formula it was written with.
func (a Access) hashFor(prev []byte) ([]byte, error) {
	switch a.hashVersion {
	case 1:
		return a.hash1(prev), nil
	case 2:
		return a.hash2(prev), nil
	}
	return nil, fmt.Errorf("unknown hash version %d", a.hashVersion)
}

// LogAccess appends an entry to the access log, chained to the one before.
// With a spool open (OpenAccessSpool) the entry is written to the spool and
// synced to disk before LogAccess returns, and moved into the table soon after.
func (db *DB) LogAccess(ctx context.Context, a Access) error {
	a, err := db.stamped(a)
	if err != nil {
		return err
	}
	if db.spool != nil {
		return db.spoolAccess(a)
	}
	return db.tx(ctx, func(tx *sql.Tx) error { return insertAccesses(ctx, tx, []spooled{{Access: a}}) })
}

// LogAccesses is LogAccess for many entries, in one transaction: an
// operator's list of people is a look at each.
func (db *DB) LogAccesses(ctx context.Context, all []Access) error {
	entries := make([]spooled, 0, len(all))
	for _, a := range all {
		a, err := db.stamped(a)
		if err != nil {
			return err
		}
		if db.spool != nil {
			if err := db.spoolAccess(a); err != nil {
				return err
			}
			continue
		}
		entries = append(entries, spooled{Access: a})
	}
	if len(entries) == 0 {
		return nil
	}
	return db.tx(ctx, func(tx *sql.Tx) error { return insertAccesses(ctx, tx, entries) })
}

// Logged makes, from what a change to a person's record did, the access log
// entry that says so. The store writes the entry in the change's own
// transaction (logTx): a change is never stored without its entry, nor an
// entry without its change.
type Logged[T any] func(T) Access

// logTx appends an entry to the access log inside the caller's transaction.
func (db *DB) logTx(ctx context.Context, tx *sql.Tx, a Access) error {
	a, err := db.stamped(a)
	if err != nil {
		return err
	}
	return insertAccesses(ctx, tx, []spooled{{Access: a}})
}

// stamped is the entry checked and timed, as it is logged.
func (db *DB) stamped(a Access) (Access, error) {
	if a.ActorKind == "" {
		a.ActorKind = ActorSelf
	}
	if a.ActorKind != ActorSelf && a.ActorKind != ActorCarer && a.ActorKind != ActorOperator {
		return a, fmt.Errorf("log access: unknown kind of actor %q", a.ActorKind)
	}
	a.At = db.stamp()
	return a, nil
}

// insertAccesses adds entries to the end of the access log's hash chain, in
// order. An entry from the spool that is in the table already is left out.
func insertAccesses(ctx context.Context, tx *sql.Tx, entries []spooled) error {
	prev := []byte{}
	err := tx.QueryRowContext(ctx, `SELECT hash FROM access_log ORDER BY id DESC LIMIT 1`).Scan(&prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("log access: %w", err)
	}
	for _, e := range entries {
		a := e.Access
		a.hashVersion = 2
		hash := a.hash2(prev)
		// An entry from the spool already moved (its spool_id is unique) is not added again.
		res, err := tx.ExecContext(ctx, `INSERT INTO access_log (at, account_id, person_id, action, what, device, actor_kind, actor_name, relationship,
hash_version, prev_hash, hash, spool_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULLIF(?, '')) ON CONFLICT DO NOTHING`,
			a.At, a.AccountID, a.PersonID, a.Action, a.What, a.Device, a.ActorKind, a.ActorName, a.Relationship, a.hashVersion, prev, hash, e.SpoolID)
		if err != nil {
			return fmt.Errorf("log access: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			prev = hash
		}
	}
	return nil
}

const accessColumns = `id, at, account_id, person_id, action, what, device, actor_kind, actor_name, relationship, hash_version`

func scanAccess(rows interface{ Scan(...any) error }, a *Access, extra ...any) error {
	return rows.Scan(append([]any{&a.ID, &a.At, &a.AccountID, &a.PersonID, &a.Action, &a.What, &a.Device,
		&a.ActorKind, &a.ActorName, &a.Relationship, &a.hashVersion}, extra...)...)
}

// AccessLog returns the person's access log entries, newest first.
func (db *DB) AccessLog(ctx context.Context, personID int64, limit int) ([]Access, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT `+accessColumns+` FROM access_log
WHERE person_id = ? ORDER BY at DESC, id DESC LIMIT ?`, personID, limit)
	if err != nil {
		return nil, fmt.Errorf("read access log: %w", err)
	}
	defer rows.Close()
	var out []Access
	for rows.Next() {
		var a Access
		if err := scanAccess(rows, &a); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// AccessLogCheck is what recomputing the access log's hash chain found.
type AccessLogCheck struct {
	Entries  int    // entries checked
	BrokenID int64  // the first entry that does not match; 0 when the whole log is intact
	BrokenAt string // when that entry says it was written
	Reason   string // why it does not match, in words
	LastID   int64  // the newest entry, when intact
	LastHash []byte // and its hash: keep it elsewhere to notice the newest entries being removed
}

// Intact reports whether every entry matched.
func (c AccessLogCheck) Intact() bool { return c.BrokenID == 0 }

// CheckAccessLog recomputes the hash chain, oldest entry first, and stops at the first entry that does not match.
func (db *DB) CheckAccessLog(ctx context.Context) (AccessLogCheck, error) {
	var out AccessLogCheck
	rows, err := db.db.QueryContext(ctx, `SELECT `+accessColumns+`, prev_hash, hash FROM access_log ORDER BY id`)
	if err != nil {
		return out, fmt.Errorf("verify access log: %w", err)
	}
	defer rows.Close()
	prev := []byte{}
	var prevID int64
	newest := 1
	for rows.Next() {
		var a Access
		var p, h []byte
		if err := scanAccess(rows, &a, &p, &h); err != nil {
			return out, fmt.Errorf("verify access log: %w", err)
		}
		reason := ""
		want, herr := a.hashFor(p)
		switch {
		case herr != nil:
			reason = "it was written with a hash formula this portal does not know (" + strconv.Itoa(a.hashVersion) + ")"
		case a.hashVersion < newest:
			reason = "it is written with an older hash formula than the entry before it, so it was added afterwards"
		case a.hashVersion == 1 && (a.ActorKind != ActorSelf || a.ActorName != "" || a.Relationship != ""):
			reason = "it was written before the log said who acted for whom, yet it now says so: it was changed"
		case !bytes.Equal(h, want):
			reason = "its contents do not match its hash: it was changed"
		case !bytes.Equal(p, prev) && prevID == 0:
			reason = "it is the first entry but follows on from another: the entries before it were removed"
		case !bytes.Equal(p, prev):
			reason = "it does not follow on from entry " + strconv.FormatInt(prevID, 10) + ": an entry between them was removed or moved, or that entry was changed"
		}
		out.Entries++
		if reason != "" {
			out.BrokenID, out.BrokenAt, out.Reason = a.ID, a.At, reason
			return out, nil
		}
		newest = max(newest, a.hashVersion)
		prev, prevID = h, a.ID
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("verify access log: %w", err)
	}
	out.LastID, out.LastHash = prevID, prev
	return out, nil
}

// AccessLogHash is the stored hash of access log entry id, for comparing
// with one kept elsewhere (portal audit verify --head); ENOTFOUND when there
// is no such entry.
func (db *DB) AccessLogHash(ctx context.Context, id int64) ([]byte, error) {
	var hash []byte
	err := db.reader.QueryRowContext(ctx, `SELECT hash FROM access_log WHERE id = ?`, id).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, Errorf(ENOTFOUND, "There is no access log entry %d.", id)
	}
	if err != nil {
		return nil, fmt.Errorf("read access log entry %d: %w", id, err)
	}
	return hash, nil
}

// VerifyAccessLog recomputes the hash chain and returns the id of the first entry
// that does not match, or 0 when the whole log is intact.
func (db *DB) VerifyAccessLog(ctx context.Context) (int64, error) {
	c, err := db.CheckAccessLog(ctx)
	return c.BrokenID, err
}

// UpstreamAccess is a use of the person's record that a source reported in an AuditEvent.
type UpstreamAccess struct {
	fhir.AuditEventInfo
	At         string // Recorded, stored the way the access log stores times
	ReportedBy string // the source's organisation, e.g. "Leeds Teaching Hospitals"
	SourceID   int64
	ResourceID string
}

// Label names who it was: "Dr A Jones at Leeds Teaching Hospitals", or one of the two.
func (u UpstreamAccess) Label() string {
	switch {
	case u.Who != "" && u.Organisation != "":
		return u.Who + " at " + u.Organisation
	case u.Who != "":
		return u.Who
	case u.Organisation != "":
		return u.Organisation
	}
	return "Someone at " + u.ReportedBy
}

// AccessLogEntry is one line of a person's access log: exactly one of Local (written
// by this portal) and Upstream (reported by a source) is set.
type AccessLogEntry struct {
	At       string
	Local    *Access
	Upstream *UpstreamAccess
}

// Time is when it happened.
func (e AccessLogEntry) Time() time.Time { return parseTime(e.At) }

// Whose entries an access log filter keeps.
const (
	AccessByAnyone = ""    // everyone
	AccessByYou    = "you" // the person themselves
)

// AccessWho is someone who has used the person's record, as the filter offers them.
type AccessWho struct {
	Key   string // AccessByYou, "carer-ACCOUNT" or "source-ID-LABEL"
	Label string // "You", "Your carer John Smith (son)", "Dr A Jones at Leeds Teaching Hospitals"
	Kind  string // ActorSelf, ActorCarer, "professional" or "organisation"
}

// CarerLabel is how a carer's entries are shown to the person.
func CarerLabel(name, relationship string) string {
	if name == "" {
		name = "(name not given)"
	}
	if relationship != "" {
		return "Your carer " + name + " (" + relationship + ")"
	}
	return "Your carer " + name
}

// PersonsListed is what an operator's "portal persons" looked at of each
// person listed: name, date of birth, NHS number and the sources holding
// their record.
const PersonsListed = "persons list"

// OperatorDevice is the device of an operator's entries.
const OperatorDevice = "The portal's command line, on its server"

// OperatorLabel is how an operator's entries are shown to the person: someone
// who runs the portal, by their login name on its server.
func OperatorLabel(name string) string {
	if name == "" {
		return "Someone who runs this portal"
	}
	return "Someone who runs this portal (login " + name + ")"
}

// AccessFilter narrows a person's access log.
type AccessFilter struct {
	Who      string    // AccessByAnyone, AccessByYou, or an AccessWho.Key
	From, To time.Time // from From (inclusive) to To (exclusive); zero for no bound
}

// AccessLogPage is one page of a person's access log, newest first.
type AccessLogPage struct {
	Entries []AccessLogEntry
	Total   int // entries the filter keeps, all pages
	Page    int
	PerPage int
	Who     []AccessWho // everyone who appears in the log, for the filter
	// Behind says the newest entries are waiting in the spool, kept safe but
	// not yet in the list, because the database cannot take them now.
	Behind bool
}

// Pages is how many pages the entries fill (at least 1).
func (p AccessLogPage) Pages() int {
	if p.PerPage <= 0 || p.Total == 0 {
		return 1
	}
	return (p.Total + p.PerPage - 1) / p.PerPage
}

// PersonAccessLog returns a page of the person's access log, newest first: the
// entries this portal wrote and the AuditEvents sources reported about the person,
// merged by time. A local entry and an upstream one at the same instant show the local one first.
func (db *DB) PersonAccessLog(ctx context.Context, personID int64, f AccessFilter, page, perPage int) (AccessLogPage, error) {
	out := AccessLogPage{Page: max(page, 1), PerPage: max(perPage, 1)}
	// The entries written a moment ago are in the spool still: move them in
	// first, but give up after a moment rather than keep the person waiting.
	mctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	if _, err := db.MoveAccessSpool(mctx); err != nil {
		out.Behind = true
	}
	cancel()
	upstream, err := db.upstreamAccesses(ctx, personID)
	if err != nil {
		return out, err
	}
	carers, err := db.accessCarers(ctx, personID)
	if err != nil {
		return out, err
	}
	out.Who = append([]AccessWho{{Key: AccessByYou, Label: "You", Kind: ActorSelf}}, carers...)
	seen := map[string]bool{}
	for _, u := range upstream {
		if k := upstreamKey(u); !seen[k] {
			seen[k] = true
			kind := "professional"
			if u.Who == "" {
				kind = "organisation"
			}
			out.Who = append(out.Who, AccessWho{Key: k, Label: u.Label(), Kind: kind})
		}
	}
	sort.SliceStable(out.Who[1+len(carers):], func(i, j int) bool {
		w := out.Who[1+len(carers):]
		return w[i].Label < w[j].Label
	})

	// Which entries the filter keeps, of each kind.
	where, args := "person_id = ?", []any{personID}
	localToo, upstreamToo := true, true
	switch {
	case f.Who == AccessByAnyone:
	case f.Who == AccessByYou:
		where += " AND actor_kind = 'self'"
		upstreamToo = false
	case strings.HasPrefix(f.Who, "carer-"):
		id, err := strconv.ParseInt(strings.TrimPrefix(f.Who, "carer-"), 10, 64)
		if err != nil {
			return out, Errorf(EINVALID, "There is no such person in your access log.")
		}
		where += " AND actor_kind = 'carer' AND account_id = ?"
		args = append(args, id)
		upstreamToo = false
	default:
		localToo = false
	}
	if !f.From.IsZero() {
		where += " AND at >= ?"
		args = append(args, formatTime(f.From))
	}
	if !f.To.IsZero() {
		where += " AND at < ?"
		args = append(args, formatTime(f.To))
	}
	var ups []UpstreamAccess
	if upstreamToo {
		for _, u := range upstream {
			if f.Who != AccessByAnyone && upstreamKey(u) != f.Who {
				continue
			}
			if (!f.From.IsZero() && u.At < formatTime(f.From)) || (!f.To.IsZero() && u.At >= formatTime(f.To)) {
				continue
			}
			ups = append(ups, u)
		}
	}
	localTotal := 0
	if localToo {
		if err := db.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM access_log WHERE `+where, args...).Scan(&localTotal); err != nil {
			return out, fmt.Errorf("count access log: %w", err)
		}
	}
	out.Total = localTotal + len(ups)

	// Upstream entry j stands at j + (local entries at or after it) in the merged
	// log; that rises with j, so the number of upstream entries on earlier pages is a binary search.
	offset := (out.Page - 1) * out.PerPage
	var searchErr error
	newerLocal := func(at string) int {
		if !localToo || searchErr != nil {
			return 0
		}
		var n int
		searchErr = db.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM access_log WHERE `+where+` AND at >= ?`, append(args, at)...).Scan(&n)
		return n
	}
	before := 0
	if offset > 0 {
		before = sort.Search(len(ups), func(j int) bool { return j+newerLocal(ups[j].At) >= offset })
	}
	if searchErr != nil {
		return out, fmt.Errorf("read access log: %w", searchErr)
	}
	var locals []Access
	if localToo {
		rows, err := db.db.QueryContext(ctx, `SELECT `+accessColumns+` FROM access_log WHERE `+where+`
ORDER BY at DESC, id DESC LIMIT ? OFFSET ?`, append(args, out.PerPage, max(offset-before, 0))...)
		if err != nil {
			return out, fmt.Errorf("read access log: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var a Access
			if err := scanAccess(rows, &a); err != nil {
				return out, fmt.Errorf("read access log: %w", err)
			}
			locals = append(locals, a)
		}
		if err := rows.Err(); err != nil {
			return out, fmt.Errorf("read access log: %w", err)
		}
	}
	ups = ups[min(before, len(ups)):]
	for len(out.Entries) < out.PerPage && (len(locals) > 0 || len(ups) > 0) {
		if len(locals) > 0 && (len(ups) == 0 || locals[0].At >= ups[0].At) {
			out.Entries = append(out.Entries, AccessLogEntry{At: locals[0].At, Local: &locals[0]})
			locals = locals[1:]
		} else {
			out.Entries = append(out.Entries, AccessLogEntry{At: ups[0].At, Upstream: &ups[0]})
			ups = ups[1:]
		}
	}
	return out, nil
}

// upstreamKey identifies who an upstream entry names, for the filter.
func upstreamKey(u UpstreamAccess) string {
	return "source-" + strconv.FormatInt(u.SourceID, 10) + "-" + u.Label()
}

// accessCarers are the carers who have used the person's record, by the name they had last.
func (db *DB) accessCarers(ctx context.Context, personID int64) ([]AccessWho, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT account_id, actor_name, relationship, MAX(id) FROM access_log
WHERE person_id = ? AND actor_kind = 'carer' GROUP BY account_id ORDER BY actor_name, account_id`, personID)
	if err != nil {
		return nil, fmt.Errorf("read access log carers: %w", err)
	}
	defer rows.Close()
	var out []AccessWho
	for rows.Next() {
		var id, last int64
		var name, rel string
		if err := rows.Scan(&id, &name, &rel, &last); err != nil {
			return nil, err
		}
		out = append(out, AccessWho{Key: "carer-" + strconv.FormatInt(id, 10), Label: CarerLabel(name, rel), Kind: ActorCarer})
	}
	return out, rows.Err()
}

// upstreamAccesses are the AuditEvents the person's sources hold about them, newest first.
// One that cannot be read is left out: a source's bad audit record must not hide the rest.
func (db *DB) upstreamAccesses(ctx context.Context, personID int64) ([]UpstreamAccess, error) {
	if err := db.readUpstreamAccesses(ctx, personID); err != nil {
		return nil, err
	}
	rows, err := db.db.QueryContext(ctx, `SELECT u.source_id, s.org_name, s.name, u.resource_id, u.at, u.who, u.organisation, u.action, u.what, u.failed
FROM source_patients sp JOIN resources r ON r.source_id = sp.source_id AND r.patient_id = sp.patient_id AND r.type = 'AuditEvent'
JOIN upstream_accesses u ON u.source_id = r.source_id AND u.resource_id = r.id AND u.stored_at = r.stored_at
JOIN sources s ON s.id = r.source_id
WHERE sp.person_id = ? AND u.at != ''
ORDER BY u.at DESC, u.source_id, u.resource_id`, personID)
	if err != nil {
		return nil, fmt.Errorf("read upstream audit events: %w", err)
	}
	defer rows.Close()
	var out []UpstreamAccess
	for rows.Next() {
		var u UpstreamAccess
		var org, name string
		if err := rows.Scan(&u.SourceID, &org, &name, &u.ResourceID, &u.At, &u.Who, &u.Organisation, &u.Action, &u.What, &u.Failed); err != nil {
			return nil, err
		}
		u.Recorded = u.At
		u.ReportedBy = org
		if u.ReportedBy == "" {
			u.ReportedBy = name
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// readUpstreamAccesses reads the person's AuditEvents that are new or changed
// since last read into upstream_accesses, so each one's JSON is parsed once.
func (db *DB) readUpstreamAccesses(ctx context.Context, personID int64) error {
	type stale struct {
		sourceID     int64
		id, storedAt string
		raw          []byte
	}
	var todo []stale
	rows, err := db.db.QueryContext(ctx, `SELECT r.source_id, r.id, r.stored_at, r.json
FROM source_patients sp JOIN resources r ON r.source_id = sp.source_id AND r.patient_id = sp.patient_id AND r.type = 'AuditEvent'
LEFT JOIN upstream_accesses u ON u.source_id = r.source_id AND u.resource_id = r.id
WHERE sp.person_id = ? AND u.stored_at IS NOT r.stored_at`, personID)
	if err != nil {
		return fmt.Errorf("read upstream audit events: %w", err)
	}
	for rows.Next() {
		var st stale
		if err := rows.Scan(&st.sourceID, &st.id, &st.storedAt, &st.raw); err != nil {
			rows.Close()
			return err
		}
		todo = append(todo, st)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(todo) == 0 {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		for _, st := range todo {
			var at string
			info, err := fhir.ParseAuditEvent(st.raw)
			if t, terr := time.Parse(time.RFC3339Nano, info.Recorded); err == nil && terr == nil {
				at = formatTime(t)
			}
			if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO upstream_accesses (source_id, resource_id, stored_at, at, who, organisation, action, what, failed)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, st.sourceID, st.id, st.storedAt, at, info.Who, info.Organisation, info.Action, info.What, info.Failed); err != nil {
				return fmt.Errorf("store upstream audit event: %w", err)
			}
		}
		return nil
	})
}

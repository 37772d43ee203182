package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mycarerecord/portal/store/fhir"
)

// Auth kinds a FHIR source may use.
const (
	AuthNone         = "none"
	AuthBearer       = "bearer"
	AuthSMARTBackend = "smart-backend"
)

// AddSource adds a FHIR server as a source. Its name must be new.
func (db *DB) AddSource(ctx context.Context, src Source) (Source, error) {
	if err := CheckSource(src); err != nil {
		return Source{}, err
	}
	src.BaseURL = strings.TrimRight(src.BaseURL, "/") // trimmed only now, so "http://" is not refused as "http:/"
	if src.AuthKind == "" {
		src.AuthKind = AuthNone
	}
	cfg, err := json.Marshal(src.AuthConfig)
	if err != nil {
		return Source{}, err
	}
	err = db.tx(ctx, func(tx *sql.Tx) error {
		// One source a server: two would fetch everything twice, and show
		// each fact twice, from "two" places that are one.
		// The address as another source wrote it may differ only in the
		// case of its host, a default port or http for https (fhir.SameServer).
		if other, at, err := sourceAt(ctx, tx, src.BaseURL, src.Name); err != nil {
			return fmt.Errorf("add source: %w", err)
		} else if other != "" {
			return Errorf(ECONFLICT, "The source %q already has the address %s: a FHIR server is added once.", other, at)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO sources (id, name, org_name, base_url, auth_kind, auth_config, social_care, created_at) VALUES (`+newSourceID+`, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (name) DO NOTHING`, src.Name, src.OrgName, src.BaseURL, src.AuthKind, string(cfg), src.SocialCare, db.stamp())
		if err != nil {
			return fmt.Errorf("add source: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return Errorf(ECONFLICT, "There is already a source called %q.", src.Name)
		}
		src.ID, err = res.LastInsertId()
		return err
	})
	return src, err
}

// SetSourceAuth replaces how the portal signs in to the FHIR server source
// (portal source auth): a key, client id, scope or token changed, with
// everything cached from it kept, which removing and adding it again would
// lose. The serve workers' clients take it at their next call
// (fhirsync.Clients).
func (db *DB) SetSourceAuth(ctx context.Context, name, kind string, config map[string]string) error {
	if err := CheckSource(Source{Name: name, BaseURL: "https://fhir.example", AuthKind: kind}); err != nil {
		return err
	}
	cfg, err := json.Marshal(config)
	if err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE sources SET auth_kind = ?, auth_config = ? WHERE name = ? AND base_url != ''`, kind, string(cfg), name)
		if err != nil {
			return fmt.Errorf("set source authentication: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return Errorf(ENOTFOUND, "There is no FHIR server source called %q.", name)
		}
		return nil
	})
}

// sourceAt is the name and address of a source other than name whose
// address names the server at base (fhir.SameServer), if any.
func sourceAt(ctx context.Context, tx *sql.Tx, base, name string) (string, string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT name, base_url FROM sources WHERE base_url != '' AND name != ?`, name)
	if err != nil {
		return "", "", err
	}
	defer rows.Close()
	for rows.Next() {
		var other, at string
		if err := rows.Scan(&other, &at); err != nil {
			return "", "", err
		}
		if fhir.SameServer(at, base) {
			return other, at, nil
		}
	}
	return "", "", rows.Err()
}

// newSourceID is the id a new source is given: above every id given before,
// even a removed source's (migration 0032), so that a sync of a removed
// source, still running, never stores what it fetches in a new one.
const newSourceID = `(SELECT MAX(high, COALESCE((SELECT MAX(id) FROM sources), 0)) + 1 FROM source_ids)`

// ValidSourceName reports whether name can name a source: one word of
// letters, digits, dots, hyphens and underscores, like leeds-hospitals, at
// most 64 long (portal import checks --source by it before storing
// anything). A source's name goes into the URI that says where an exported
// resource came from (Source.URI), so it holds nothing a URI would need to
// escape.
func ValidSourceName(name string) bool {
	return sourceName.MatchString(name)
}

var sourceName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// SourceNameProblem says why name cannot name a source (ValidSourceName),
// "" when it can: the rule, then what in name breaks it, so an operator
// need not guess (an operator review: a trailing space, a 65th character
// and a slash were each told only the rule).
func SourceNameProblem(name string) string {
	const rule = "a source name must be one word of letters, digits, dots, hyphens or underscores, like leeds-hospitals"
	if ValidSourceName(name) {
		return ""
	}
	for i, r := range []rune(name) {
		ok := r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || i > 0 && strings.ContainsRune("._-", r))
		switch {
		case !ok && i == 0 && strings.ContainsRune("._-", r):
			return fmt.Sprintf("%s, starting with a letter or digit: it starts with %q", rule, r)
		case !ok:
			return fmt.Sprintf("%s: character %d, %q, is not one of those", rule, i+1, r)
		}
	}
	if n := utf8.RuneCountInString(name); n > 64 {
		return fmt.Sprintf("%s, of at most 64 characters: this one has %d", rule, n)
	}
	return rule
}

// CheckSource refuses a source AddSource would refuse: its name, address or
// kind of authentication (source add checks before making a database).
func CheckSource(src Source) error {
	if why := SourceNameProblem(src.Name); why != "" {
		return Errorf(EINVALID, "%s.", strings.ToUpper(why[:1])+why[1:])
	}
	if _, err := ParseBaseURL(src.BaseURL); err != nil {
		return err
	}
	switch src.AuthKind {
	case "", AuthNone, AuthBearer, AuthSMARTBackend:
	default:
		return Errorf(EINVALID, "Authentication %q is not one of none, bearer or smart-backend.", src.AuthKind)
	}
	return nil
}

// ParseBaseURL checks a FHIR server's base URL, and returns it without a
// trailing slash. AddSource refuses by it what each sync's client
// (fhirsync.NewClient) would refuse later. Its errors (store.EINVALID, in words) never
// repeat an address that holds a password, a query or a fragment: any of them
// may be a secret.
func ParseBaseURL(raw string) (*url.URL, error) {
	const secretsElsewhere = "Give the server's token with --auth bearer and --token-file or --token-env instead."
	scheme, host, _ := strings.Cut(raw, "://")
	if end := strings.IndexAny(host, "/?#"); end >= 0 {
		host = host[:end]
	}
	if strings.Contains(host, "@") { // before parsing, whose errors could quote the password
		return nil, Errorf(EINVALID, "The FHIR server address must not hold a user name or password: it would be stored and shown in the list of sources. %s", secretsElsewhere)
	}
	if strings.ContainsFunc(raw, unicode.IsSpace) { // before parsing, whose error would not say so
		return nil, Errorf(EINVALID, "The FHIR server address %q has a space in it: an address has none (a space in a path is written %%20).", raw)
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the address
		}
		return nil, Errorf(EINVALID, "The FHIR server address cannot be read as a web address: %v.", err)
	}
	switch {
	case u.RawQuery != "" || u.ForceQuery:
		return nil, Errorf(EINVALID, "The FHIR server address must not have a query (a part from ?): each request to the server sends its own, and a key in it would be stored and shown in the list of sources. %s", secretsElsewhere)
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return nil, Errorf(EINVALID, "The FHIR server address must not have a fragment (a part from #): requests to the server would leave it out.")
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, Errorf(EINVALID, "The FHIR server address %q must start with https:// (or http:// for a test server).", raw)
	case u.Hostname() == "":
		return nil, Errorf(EINVALID, "The FHIR server address %q has no server name after %s://.", raw, scheme)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, Errorf(EINVALID, "The FHIR server address %q has port %s: a port is a number from 1 to 65535.", raw, p)
		}
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

const sourceColumns = `id, name, org_name, COALESCE(last_import_at, ''), base_url, auth_kind, auth_config, social_care, held_until`

func scanSource(row rowScanner) (Source, error) {
	var s Source
	var cfg, held string
	if err := row.Scan(&s.ID, &s.Name, &s.OrgName, &s.LastImportAt, &s.BaseURL, &s.AuthKind, &cfg, &s.SocialCare, &held); err != nil {
		return Source{}, err
	}
	s.HeldUntil = parseTime(held) // zero for none
	if err := json.Unmarshal([]byte(cfg), &s.AuthConfig); err != nil {
		return Source{}, fmt.Errorf("source %s: auth config: %w", s.Name, err)
	}
	return s, nil
}

// Sources lists every source, by name.
func (db *DB) Sources(ctx context.Context) ([]Source, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT `+sourceColumns+` FROM sources ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list sources: %w", err)
	}
	defer rows.Close()
	var out []Source
	for rows.Next() {
		s, err := scanSource(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// SourceByName returns the source with that name.
func (db *DB) SourceByName(ctx context.Context, name string) (Source, error) {
	s, err := scanSource(db.db.QueryRowContext(ctx, `SELECT `+sourceColumns+` FROM sources WHERE name = ?`, name))
	if err == sql.ErrNoRows {
		return Source{}, Errorf(ENOTFOUND, "There is no source called %q.", name)
	}
	return s, err
}

// HoldSource notes that the source asked not to be called before until, so
// that every process leaves it alone till then (Source.HeldUntil); a later
// time already noted stands.
func (db *DB) HoldSource(ctx context.Context, sourceID int64, until time.Time) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE sources SET held_until = ?1 WHERE id = ?2 AND held_until < ?1`, formatTime(until), sourceID)
		if err != nil {
			return fmt.Errorf("hold source: %w", err)
		}
		return nil
	})
}

// SourceHeldUntil is the time the source asked not to be called before
// (HoldSource), zero for none, as every process sees it now: a client reads
// it before each call, so a hold heard by another process, or lifted by an
// operator (LiftHold), counts at once.
func (db *DB) SourceHeldUntil(ctx context.Context, sourceID int64) (time.Time, error) {
	var held string
	err := db.db.QueryRowContext(ctx, `SELECT held_until FROM sources WHERE id = ?`, sourceID).Scan(&held)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil // removed: nothing holds it
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("read the source's hold: %w", err)
	}
	return parseTime(held), nil
}

// LiftHold lets the source be called again now, although it asked us to
// wait (an operator knows it is ready sooner): syncs may call it at once,
// and its consent deliveries put off until the hold's end are due now. It
// returns the time the source had asked to be left alone until, zero when
// it had not.
func (db *DB) LiftHold(ctx context.Context, name string) (time.Time, error) {
	var held time.Time
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var id int64
		var until string
		err := tx.QueryRowContext(ctx, `SELECT id, held_until FROM sources WHERE name = ?`, name).Scan(&id, &until)
		if errors.Is(err, sql.ErrNoRows) {
			return Errorf(ENOTFOUND, "There is no source called %q.", name)
		}
		if err != nil {
			return err
		}
		now := db.now()
		if held = parseTime(until); !held.After(now) {
			held = time.Time{} // over already: nothing to lift
		}
		if _, err := tx.ExecContext(ctx, `UPDATE sources SET held_until = '' WHERE id = ?`, id); err != nil {
			return fmt.Errorf("lift the hold: %w", err)
		}
		if held.IsZero() {
			return nil // nothing was held off: deliveries keep their times
		}
		// Only deliveries put off to the hold's end (fhirsync.Pusher): one
		// claimed for sending has a lease whose end is another time, and made
		// due now it could be claimed, and sent, twice. One put off further,
		// for failing before, keeps its back-off.
		_, err = tx.ExecContext(ctx, `UPDATE consent_outbox SET next_attempt_at = ?1 WHERE source_id = ?2 AND status = 'waiting' AND next_attempt_at = ?3`,
			formatTime(now), id, formatTime(held))
		return err
	})
	return held, err
}

// RemoveSource removes a source and everything cached from it. A fact
// another source reports too stays in the record, by that source's report:
// the removed source's may have been the one standing for it (a review: a
// medicine both a GP and a hospital reported vanished with the GP).
//
// Changes to sharing choices still waiting to be sent to the source could
// never be sent once it is removed, so it is refused (ECONFLICT) while any
// wait, unless evenIfWaiting; unsent says how many were left so. They stay
// in the outbox, as every delivery does, and the person's page says they
// were not sent (a review: they were counted as waiting for ever).
func (db *DB) RemoveSource(ctx context.Context, name string, evenIfWaiting bool) (unsent int, err error) {
	err = db.tx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM consent_outbox o JOIN sources s ON s.id = o.source_id
WHERE s.name = ? AND o.status = 'waiting'`, name).Scan(&unsent); err != nil {
			return fmt.Errorf("count the changes waiting to be sent: %w", err)
		}
		if unsent > 0 && !evenIfWaiting {
			return Errorf(ECONFLICT, "Changes people made to their sharing choices (%d) are still waiting to be sent to %s: once it is removed, they could never be sent. "+
				"Send them first (portal outbox push), or remove it all the same with --even-if-waiting.", unsent, name)
		}
		touched := touchedFacts{}
		rows, err := tx.QueryContext(ctx, `SELECT DISTINCT ri.person_id, ri.dedup_key FROM record_items ri JOIN sources s ON s.id = ri.source_id
WHERE s.name = ? AND ri.person_id IS NOT NULL AND ri.dedup_key != ''`, name)
		if err != nil {
			return fmt.Errorf("find the facts the source reports: %w", err)
		}
		for rows.Next() {
			var person sql.NullInt64
			var key string
			if err := rows.Scan(&person, &key); err != nil {
				rows.Close()
				return err
			}
			touched.removed(person, key)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return fmt.Errorf("find the facts the source reports: %w", err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM sources WHERE name = ?`, name)
		if err != nil {
			return fmt.Errorf("remove source: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return Errorf(ENOTFOUND, "There is no source called %q.", name)
		}
		if err := touched.settle(ctx, tx); err != nil {
			return err
		}
		// The search index only marks what is deleted from it, its words
		// kept until its parts are merged: merged now, so nothing the
		// source said stays in the file (a privacy review).
		if _, err := tx.ExecContext(ctx, `INSERT INTO record_search (record_search) VALUES ('optimize')`); err != nil {
			return fmt.Errorf("remove source: the search index: %w", err)
		}
		return nil
	})
	return unsent, err
}

// A full bulk export lists what the source holds, and no deletions. Into a
// cache that held some of the source's already (a load stopped half way, or
// persons synced before), what it does not list was deleted upstream: the
// load notes what each batch lists (ImportOptions.NoteSeen) and, once the
// whole export is stored, looks again for what it did not list (Unseen) and
// removes what the source says is gone, as a sync's listing does
// (fhirsync). Migration 0053 says why.

// StartSeen begins noting what a full bulk export of the source lists, and
// returns when, for Unseen; sweep is false, and nothing is noted, when
// the cache holds nothing of the source's yet (a region's first load).
func (db *DB) StartSeen(ctx context.Context, sourceID int64) (start string, sweep bool, err error) {
	err = db.tx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM resources WHERE source_id = ?)`, sourceID).Scan(&sweep); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM bulk_seen WHERE source_id = ?`, sourceID)
		return err
	})
	if err != nil {
		return "", false, fmt.Errorf("start noting what the export lists: %w", err)
	}
	return db.stamp(), sweep, nil
}

// noteSeen notes resources a full bulk export listed, a batch's with one statement prepared.
func noteSeen(ctx context.Context, tx *sql.Tx, sourceID int64, rs []fhir.Resource) error {
	if len(rs) == 0 {
		return nil
	}
	note, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO bulk_seen (source_id, type, id) VALUES (?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("note what the export lists: %w", err)
	}
	defer note.Close()
	for _, r := range rs {
		if r.Type == "" || r.ID == "" {
			continue
		}
		if _, err := note.ExecContext(ctx, sourceID, r.Type, r.ID); err != nil {
			return fmt.Errorf("note what the export lists: %w", err)
		}
	}
	return nil
}

// Unseen returns, at most limit of them, the source's cached resources
// that a complete full bulk export did not list, whatever their type (one
// the source no longer holds any of has no file; a review),
// stored before it started (start, from StartSeen: whatever a sync stored
// meanwhile may be newer than the export), in order of type and id after
// after. Patients are left out: a sync leaves a Patient the source no
// longer holds, and the person with it, for someone to look into.
func (db *DB) Unseen(ctx context.Context, sourceID int64, start string, after fhir.Resource, limit int) ([]fhir.Resource, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT r.type, r.id FROM resources r
WHERE r.source_id = ?1 AND r.type != 'Patient' AND r.stored_at < ?2
AND (r.type, r.id) > (?3, ?4)
AND NOT EXISTS (SELECT 1 FROM bulk_seen s WHERE s.source_id = r.source_id AND s.type = r.type AND s.id = r.id)
ORDER BY r.type, r.id LIMIT ?5`, sourceID, start, after.Type, after.ID, limit)
	if err != nil {
		return nil, fmt.Errorf("find what the export did not list: %w", err)
	}
	return scanRefs(rows)
}

// scanRefs reads rows of a type and an id as resources named so.
func scanRefs(rows *sql.Rows) ([]fhir.Resource, error) {
	defer rows.Close()
	var out []fhir.Resource
	for rows.Next() {
		var r fhir.Resource
		if err := rows.Scan(&r.Type, &r.ID); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ForgetSeen forgets what a full bulk export of the source listed.
func (db *DB) ForgetSeen(ctx context.Context, sourceID int64) error {
	if _, err := db.db.ExecContext(ctx, `DELETE FROM bulk_seen WHERE source_id = ?`, sourceID); err != nil {
		return fmt.Errorf("forget what the export listed: %w", err)
	}
	return nil
}

// Checkpoint is how far the pull of one resource type has got.
type Checkpoint struct {
	Watermark string // every resource last updated up to here is stored
	NextURL   string // the next page of a search in progress, or ""
	Pending   string // the newest lastUpdated the search in progress has seen
	Total     int    // the Bundle.total of the search in progress's first page; -1 (0 before migration 0071's time) when not given
	Received  int    // the resources the search in progress has received, stored and set aside
	// Started is when the server served the first page of the search in
	// progress ("" when not known), so a sync that resumes it can still tell
	// whether its pages shifted since: a resource updated after then.
	Started string
	// Repeat says the search in progress is already the one run again from
	// the watermark: kept, so that a search stopped and resumed is not run
	// again, and again, for ever.
	Repeat bool
	// ListDue says a search of the type shifted even when run again, so it
	// may have skipped a resource the watermark has passed: the type is to be
	// listed (fetching what the cache lacks), by this sync or, stopped first,
	// the next. ListingDone clears it.
	ListDue bool
}

// Checkpoint returns the checkpoint of a person's pull of a resource type from a source.
func (db *DB) Checkpoint(ctx context.Context, sourceID, personID int64, resourceType string) (Checkpoint, error) {
	var cp Checkpoint
	err := db.db.QueryRowContext(ctx, `SELECT watermark, next_url, pending, search_total, search_received, search_started, search_repeat, list_due FROM sync_checkpoints
WHERE source_id = ? AND person_id = ? AND resource_type = ?`, sourceID, personID, resourceType).Scan(&cp.Watermark, &cp.NextURL, &cp.Pending, &cp.Total, &cp.Received, &cp.Started, &cp.Repeat, &cp.ListDue)
	if err == sql.ErrNoRows {
		return Checkpoint{}, nil
	}
	return cp, err
}

// ListingDone clears a type's ListDue once it has been listed to its end.
func (db *DB) ListingDone(ctx context.Context, sourceID, personID int64, resourceType string) error {
	if _, err := db.db.ExecContext(ctx, `UPDATE sync_checkpoints SET list_due = 0 WHERE source_id = ? AND person_id = ? AND resource_type = ? AND list_due`,
		sourceID, personID, resourceType); err != nil {
		return fmt.Errorf("listing done: %w", err)
	}
	return nil
}

// DeletionsChecked returns when the last read of the type's history for
// deletions began, or "" when none has been read (or no search started) yet.
func (db *DB) DeletionsChecked(ctx context.Context, sourceID, personID int64, resourceType string) (string, error) {
	var checked string
	err := db.db.QueryRowContext(ctx, `SELECT deletions_checked FROM sync_checkpoints
WHERE source_id = ? AND person_id = ? AND resource_type = ?`, sourceID, personID, resourceType).Scan(&checked)
	if err == sql.ErrNoRows {
		return "", nil
	}
	return checked, err
}

// Rejected is a resource kept aside because it could not be read.
type Rejected struct {
	Type, ID, Error string
	Raw             []byte
}

// PageUpdate is one fetched page to apply: what came, what upstream deleted,
// what could not be read, and the checkpoint that follows it.
type PageUpdate struct {
	Source       string // source name
	SourceID     int64  // ImportOptions.SourceID
	OrgName      string // the organisation people see for the source, if this names it (portal import --org)
	IndexNames   bool   // ImportOptions.IndexNames
	PersonID     int64
	ResourceType string
	Origin       string // where the page came from, e.g. its URL
	LinkSystems  []string
	Resources    []fhir.Resource
	Prepared     []fhir.Prepared // Resources already read for storing (PrepareAll), when the caller has them
	Deleted      []fhir.Resource // only Type, ID and LastUpdated (when it was deleted, "" for now) are used
	// Moved are resources upstream now files under another patient than
	// those of MovedFrom, the person's Patient ids at the source (Type, ID
	// and LastUpdated, of that version, are used): each is removed where the
	// cache holds it about one of them, as a deletion is, unless the version
	// cached is newer.
	Moved      []fhir.Resource
	MovedFrom  []string
	Rejected   []Rejected
	Checkpoint *Checkpoint // stored with the page; nil for none
	// DeletionsChecked, when set, is when a read of the type's history that
	// this page ends began (or a first search, before any history read): every
	// deletion before then is applied. Stored with the page.
	DeletionsChecked string
	// Bulk says the page is one batch of a bulk load, stored as ImportBulk
	// stores one: what the load leaves for its end is left for it.
	Bulk bool
	// NoteSeen is ImportOptions.NoteSeen, for what is stored and set aside.
	NoteSeen bool
}

// renewRunningSQL moves a running sync's mark to now; it marks none that is not running.
const renewRunningSQL = `UPDATE sync_status SET running_since = ? WHERE source_id = ? AND person_id = ? AND running_since != ''`

// SyncStillRunning renews a running sync's mark, as each page ApplyPage
// stores does, for the parts of a sync that store nothing for a while
// (reading a long history or listing).
func (db *DB) SyncStillRunning(ctx context.Context, sourceID, personID int64) error {
	return db.txUntilDone(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, renewRunningSQL, db.stamp(), sourceID, personID)
		return err
	})
}

// ApplyPage stores a fetched page and its checkpoint in one transaction, so a
// crash leaves either both or neither.
func (db *DB) ApplyPage(ctx context.Context, u PageUpdate) (ImportResult, error) {
	var out ImportResult
	prepared := u.Prepared
	if prepared == nil {
		prepared = PrepareAll(u.Resources)
	}
	prepared, err := db.atSource(ctx, u.Source, prepared)
	if err != nil {
		return ImportResult{}, err
	}
	err = db.tx(ctx, func(tx *sql.Tx) error {
		now := db.stamp()
		if err := sourceStillThere(ctx, tx, u.SourceID, u.Source); err != nil {
			return err
		}
		sourceID, err := ensureSource(ctx, tx, now, u.Source, u.OrgName)
		if err != nil {
			return err
		}
		if u.PersonID != 0 {
			// A sync storing pages is running, however long it takes: its mark
			// is never older than its last page, so neither the pages nor a
			// background worker take it for one left behind (RunningMarkLife).
			if _, err := tx.ExecContext(ctx, renewRunningSQL, now, sourceID, u.PersonID); err != nil {
				return err
			}
		}
		// What was kept aside of a resource deleted upstream is settled; the
		// import settles what it stores a new version of (settleSetAside).
		deleted := make([]fhir.Prepared, len(u.Deleted))
		for i, r := range u.Deleted {
			deleted[i] = fhir.Prepared{Resource: r}
		}
		if err := settleSetAside(ctx, tx, now, sourceID, deleted); err != nil {
			return err
		}
		out, err = importTxMode(ctx, tx, now, ImportOptions{Source: u.Source, SourceID: u.SourceID, OrgName: u.OrgName, LinkSystems: u.LinkSystems, IndexNames: u.IndexNames,
			NoteSeen: u.NoteSeen}, u.Origin, prepared, u.Bulk)
		if err != nil {
			return err
		}
		if u.NoteSeen {
			aside := make([]fhir.Resource, 0, len(u.Rejected))
			for _, r := range u.Rejected {
				aside = append(aside, fhir.Resource{Type: r.Type, ID: r.ID}) // still upstream, though unreadable
			}
			if err := noteSeen(ctx, tx, sourceID, aside); err != nil {
				return err
			}
		}
		if out.Deleted, out.DeletedOthers, err = deleteResources(ctx, tx, sourceID, u.PersonID, u.Deleted, nil); err != nil {
			return err
		}
		if len(u.Moved) > 0 {
			moved, _, err := deleteResources(ctx, tx, sourceID, 0, u.Moved, u.MovedFrom)
			if err != nil {
				return err
			}
			out.Deleted += moved
		}
		for _, r := range u.Rejected {
			out.Rejected++
			out.SetAside = append(out.SetAside, r.Error)
			if _, err := tx.ExecContext(ctx, `INSERT INTO rejected_resources (source_id, origin, type, resource_id, error, json, created_at, person_id)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, sourceID, u.Origin, r.Type, r.ID, r.Error, r.Raw, now, sql.NullInt64{Int64: u.PersonID, Valid: u.PersonID != 0}); err != nil {
				return err
			}
		}
		if u.DeletionsChecked != "" {
			if _, err := tx.ExecContext(ctx, `INSERT INTO sync_checkpoints (source_id, person_id, resource_type, deletions_checked, updated_at)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT (source_id, person_id, resource_type) DO UPDATE SET deletions_checked = excluded.deletions_checked, updated_at = excluded.updated_at`,
				sourceID, u.PersonID, u.ResourceType, u.DeletionsChecked, now); err != nil {
				return err
			}
		}
		if u.Checkpoint == nil {
			return nil
		}
		cp := u.Checkpoint
		_, err = tx.ExecContext(ctx, `INSERT INTO sync_checkpoints (source_id, person_id, resource_type, watermark, next_url, pending, search_total, search_received,
search_started, search_repeat, list_due, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (source_id, person_id, resource_type) DO UPDATE SET watermark = excluded.watermark, next_url = excluded.next_url,
pending = excluded.pending, search_total = excluded.search_total, search_received = excluded.search_received,
search_started = excluded.search_started, search_repeat = excluded.search_repeat, list_due = excluded.list_due, updated_at = excluded.updated_at`,
			sourceID, u.PersonID, u.ResourceType, cp.Watermark, cp.NextURL, cp.Pending, cp.Total, cp.Received, cp.Started, cp.Repeat, cp.ListDue, now)
		return err
	})
	if err != nil {
		return ImportResult{}, err
	}
	return out, nil
}

// atSource is what was read from the source with that name, with no item
// named after another server's resource (fhir.Prepared.AtServer); as it is
// for a source of files, or one not added yet, whose server is not known.
func (db *DB) atSource(ctx context.Context, name string, prepared []fhir.Prepared) ([]fhir.Prepared, error) {
	var base string
	err := db.db.QueryRowContext(ctx, `SELECT base_url FROM sources WHERE name = ?`, name).Scan(&base)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	if base == "" {
		return prepared, nil
	}
	out := make([]fhir.Prepared, len(prepared))
	for i, p := range prepared {
		out[i] = p.AtServer(base)
	}
	return out, nil
}

// CachedIDs lists the ids of the resources of one type the cache holds from
// a source about one of its Patients, for a reconciliation to compare with
// what upstream lists.
func (db *DB) CachedIDs(ctx context.Context, sourceID int64, patientID, resourceType string) ([]string, error) {
	ids, err := db.texts(ctx, `SELECT id FROM resources WHERE source_id = ? AND patient_id = ? AND type = ? ORDER BY id`, sourceID, patientID, resourceType)
	if err != nil {
		return nil, fmt.Errorf("cached ids: %w", err)
	}
	return ids, nil
}

// CachedVersions is the version of each resource of the type cached about
// the source's Patient, by id ("" where upstream gave none).
func (db *DB) CachedVersions(ctx context.Context, sourceID int64, patientID, resourceType string) (map[string]string, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT id, version_id FROM resources WHERE source_id = ? AND patient_id = ? AND type = ?`, sourceID, patientID, resourceType)
	if err != nil {
		return nil, fmt.Errorf("cached versions: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, v string
		if err := rows.Scan(&id, &v); err != nil {
			return nil, fmt.Errorf("cached versions: %w", err)
		}
		out[id] = v
	}
	return out, rows.Err()
}

// texts is the one column of text query returns, row by row.
func (db *DB) texts(ctx context.Context, query string, args ...any) ([]string, error) {
	return textsOf(ctx, db.db, query, args...)
}

// textsOf is texts, asked of q (a transaction, say).
func textsOf(ctx context.Context, q querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// deleteResources removes resources of a source that upstream deleted (their
// Type, ID and, when given, LastUpdated: when it was deleted), with their
// record items, and works out again the facts those items reported: which
// report stands for each, and the words search finds the entry by, which
// included theirs. A deletion older than the version stored is left alone
// (storedSince). Given patients (PageUpdate.Moved), only those cached about
// one of them are removed. It returns how many resources there were: the
// person's (every one when personID is 0), and others'.
func deleteResources(ctx context.Context, tx *sql.Tx, sourceID, personID int64, refs []fhir.Resource, patients []string) (deleted, others int, err error) {
	if len(refs) == 0 {
		return 0, 0, nil
	}
	delItems, err := tx.PrepareContext(ctx, deleteItemsSQL)
	if err != nil {
		return 0, 0, err
	}
	defer delItems.Close()
	touched := touchedFacts{}
	for _, r := range refs {
		if patients != nil {
			ids, _ := json.Marshal(patients)
			var about bool
			if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM resources WHERE source_id = ? AND type = ? AND id = ?
AND patient_id IN (SELECT value FROM json_each(?)))`, sourceID, r.Type, r.ID, string(ids)).Scan(&about); err != nil {
				return 0, 0, fmt.Errorf("remove %s/%s: %w", r.Type, r.ID, err)
			}
			if !about {
				continue // cached about someone else, or not at all
			}
		}
		recreated, err := storedSince(ctx, tx, sourceID, r)
		if err != nil {
			return 0, 0, fmt.Errorf("delete %s/%s: %w", r.Type, r.ID, err)
		}
		if recreated {
			continue
		}
		// Whose it was: a type's history lists every deletion at the source,
		// and one person's sync removes them all, counted apart from its own.
		theirs := true
		if personID != 0 {
			if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM resources r JOIN source_patients sp ON sp.source_id = r.source_id AND sp.patient_id = r.patient_id
WHERE r.source_id = ? AND r.type = ? AND r.id = ? AND sp.person_id = ?)`, sourceID, r.Type, r.ID, personID).Scan(&theirs); err != nil {
				return 0, 0, fmt.Errorf("delete %s/%s: %w", r.Type, r.ID, err)
			}
		}
		if err := touched.deleted(ctx, delItems, sourceID, r.Type, r.ID); err != nil {
			return 0, 0, fmt.Errorf("delete %s/%s: %w", r.Type, r.ID, err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM resources WHERE source_id = ? AND type = ? AND id = ?`, sourceID, r.Type, r.ID)
		if err != nil {
			return 0, 0, fmt.Errorf("delete %s/%s: %w", r.Type, r.ID, err)
		}
		n, _ := res.RowsAffected()
		if theirs {
			deleted += int(n)
		} else {
			others += int(n)
		}
	}
	return deleted, others, touched.settle(ctx, tx)
}

// storedSince reports whether the version of a deleted resource the cache
// holds was last updated after the deletion (r.LastUpdated): upstream
// deleted it and made it again, and a read of history from before then (a
// sync resuming from an earlier checkpoint) must not erase the version that
// is there now. A deletion with no time, or one that does not read as a
// time, counts as now; so does a stored version with no time. A deletion
// timed to the second (as some servers give lastModified) is compared with
// the stored version's time to the second: an update at 10:00:00.400 and a
// deletion at 10:00:00 may be one after the other.
func storedSince(ctx context.Context, tx *sql.Tx, sourceID int64, r fhir.Resource) (bool, error) {
	if r.LastUpdated == "" {
		return false, nil
	}
	var newer bool
	err := tx.QueryRowContext(ctx, `SELECT COALESCE(julianday(CASE WHEN instr(?1, '.') = 0 THEN strftime('%Y-%m-%dT%H:%M:%SZ', last_updated) ELSE last_updated END) > julianday(?1), 0)
FROM resources WHERE source_id = ?2 AND type = ?3 AND id = ?4`,
		r.LastUpdated, sourceID, r.Type, r.ID).Scan(&newer)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return newer, err
}

// PatientAt returns the id of the person's Patient at the source, the one
// every sync searches by, or "" when none is linked. Of several, it is the
// one linked first: a sync links the Patient it finds by the person's
// identifiers before any other, and another Patient a page brings later
// (one the server added to a page of results, even with the same NHS
// number) must not take its place, whatever its id. A link's rowid tells
// the order: a row keeps it when relinked, and a new row's is above every
// other's. Rows brought to the person from another (a record merged into
// theirs, store foldMergedInto) are linked again after theirs (linkAfter).
func (db *DB) PatientAt(ctx context.Context, sourceID, personID int64) (string, error) {
	var id string
	err := db.db.QueryRowContext(ctx, `SELECT patient_id FROM source_patients WHERE source_id = ? AND person_id = ? ORDER BY rowid LIMIT 1`,
		sourceID, personID).Scan(&id)
	if err == sql.ErrNoRows {
		return "", nil
	}
	return id, err
}

// linkAfter links the source's Patients ids to the person again, after
// every Patient linked to them now, as they were otherwise (replaced_by
// kept): PatientAt takes the first linked.
func linkAfter(ctx context.Context, tx *sql.Tx, sourceID, personID int64, ids []string) error {
	for _, id := range ids {
		var replacedBy string
		if err := tx.QueryRowContext(ctx, `SELECT replaced_by FROM source_patients WHERE source_id = ? AND patient_id = ?`, sourceID, id).Scan(&replacedBy); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM source_patients WHERE source_id = ? AND patient_id = ?`, sourceID, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO source_patients (source_id, patient_id, person_id, replaced_by) VALUES (?, ?, ?, ?)`,
			sourceID, id, personID, replacedBy); err != nil {
			return err
		}
	}
	return nil
}

// PatientMerged makes the Patient to, linked to the person already, the one
// their record at the source is searched by (PatientAt), in place of one the
// source merged into it, and has every type searched again from the start,
// as for a Patient first found: what the source filed under to before is
// not newer than the watermarks kept, and listed (a review: a record merged
// upstream emptied here).
func (db *DB) PatientMerged(ctx context.Context, sourceID, personID int64, to string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		var whose int64
		err := tx.QueryRowContext(ctx, `SELECT person_id FROM source_patients WHERE source_id = ? AND patient_id = ?`, sourceID, to).Scan(&whose)
		if err != nil && err != sql.ErrNoRows {
			return fmt.Errorf("the Patient merged into: %w", err)
		}
		if whose != personID {
			return fmt.Errorf("Patient/%s is not linked to person %d", to, personID)
		}
		// The others go after it, linked as they were (PatientAt takes the first).
		others, err := textsOf(ctx, tx, `SELECT patient_id FROM source_patients WHERE source_id = ? AND person_id = ? AND patient_id != ? ORDER BY rowid`,
			sourceID, personID, to)
		if err != nil {
			return fmt.Errorf("the Patient merged into: %w", err)
		}
		if err := linkAfter(ctx, tx, sourceID, personID, others); err != nil {
			return fmt.Errorf("the Patient merged into: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE sync_checkpoints SET watermark = '', next_url = '', pending = '', search_total = 0, search_received = 0,
search_started = '', search_repeat = 0 WHERE source_id = ? AND person_id = ?`, sourceID, personID); err != nil {
			return fmt.Errorf("the Patient merged into: %w", err)
		}
		// And every type listed, by this sync or, stopped before it could, the
		// next (a review: a restart lost the listing, and with it what the
		// merge deleted upstream).
		if _, err := tx.ExecContext(ctx, `UPDATE sync_status SET last_reconciled_at = '' WHERE source_id = ? AND person_id = ?`, sourceID, personID); err != nil {
			return fmt.Errorf("the Patient merged into: %w", err)
		}
		return nil
	})
}

// PatientIDsAt returns every Patient id at the source linked to the person
// (more than one when the source holds them twice, say before a merge).
func (db *DB) PatientIDsAt(ctx context.Context, sourceID, personID int64) ([]string, error) {
	ids, err := db.texts(ctx, `SELECT patient_id FROM source_patients WHERE source_id = ? AND person_id = ? ORDER BY rowid`, sourceID, personID)
	if err != nil {
		return nil, fmt.Errorf("patient ids: %w", err)
	}
	return ids, nil
}

// PersonIdentifiers returns the identifiers that link the person across sources.
func (db *DB) PersonIdentifiers(ctx context.Context, personID int64) ([]fhir.Identifier, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT system, value FROM person_identifiers WHERE person_id = ? ORDER BY system = ? DESC, system`, personID, fhir.NHSNumberSystem)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []fhir.Identifier
	for rows.Next() {
		var id fhir.Identifier
		if err := rows.Scan(&id.System, &id.Value); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// PersonByIdentifier returns the person with that identifier.
func (db *DB) PersonByIdentifier(ctx context.Context, system, value string) (Person, error) {
	return scanPerson(db.db.QueryRowContext(ctx, `SELECT p.id, p.prefix, p.given, p.family, p.birth_date, COALESCE(p.nhs_number, '')
FROM persons p JOIN person_identifiers pi ON pi.person_id = p.id WHERE pi.system = ? AND pi.value = ?`, system, value))
}

// PersonByPatientIdentifier returns the person one of whose Patients, as
// cached from any source, carries the identifier. ENOTFOUND when none does;
// ECONFLICT when the Patients of two or more people do.
func (db *DB) PersonByPatientIdentifier(ctx context.Context, system, value string) (Person, error) {
	ids, err := idsOf(ctx, db.db, `SELECT DISTINCT sp.person_id FROM source_patients sp
JOIN resources r ON r.source_id = sp.source_id AND r.type = 'Patient' AND r.id = sp.patient_id,
json_each(CASE WHEN json_valid(CAST(r.json AS TEXT)) AND json_type(CAST(r.json AS TEXT), '$.identifier') = 'array' THEN CAST(r.json AS TEXT) ELSE '{"identifier":[]}' END, '$.identifier') i
WHERE i.type = 'object' AND json_extract(i.value, '$.system') = ? AND json_extract(i.value, '$.value') = ? ORDER BY 1`, system, value)
	switch {
	case err != nil:
		return Person{}, err
	case len(ids) == 0:
		return Person{}, Errorf(ENOTFOUND, "We could not find that person.")
	case len(ids) > 1:
		return Person{}, Errorf(ECONFLICT, "The records of %d people carry identifier %s|%s: name the one meant with --person.", len(ids), system, value)
	}
	return db.Person(ctx, ids[0])
}

// LinkPersonIdentifier makes system|value one the person is looked for by
// at sources that do not hold them yet (PersonIdentifiers), as an operator
// asks when they name the person by it; ECONFLICT when it names another
// person here already.
func (db *DB) LinkPersonIdentifier(ctx context.Context, personID int64, system, value string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		other, err := linkIdentifierTx(ctx, tx, personID, system, value)
		if err != nil || other == 0 {
			return err
		}
		return Errorf(ECONFLICT, "That identifier names another person here (id %d).", other)
	})
}

// linkIdentifierTx links system|value to the person in tx, unless it names
// another person already, whom it returns (0: linked, or theirs already).
func linkIdentifierTx(ctx context.Context, tx *sql.Tx, personID int64, system, value string) (int64, error) {
	var other int64
	err := tx.QueryRowContext(ctx, `SELECT person_id FROM person_identifiers WHERE system = ? AND value = ?`, system, value).Scan(&other)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := tx.ExecContext(ctx, `INSERT INTO person_identifiers (person_id, system, value) VALUES (?, ?, ?)`, personID, system, value); err != nil {
			return 0, fmt.Errorf("link identifier: %w", err)
		}
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("link identifier: %w", err)
	case other != personID:
		return other, nil
	}
	return 0, nil
}

// LinkIdentifier links the identifier to the person the source's Patient
// is linked to, and returns that person: a Patient found by an identifier
// the portal did not hold, already stored unchanged (so the import, leaving
// it alone, linked nothing), is still the person it names. ENOTFOUND when no
// person holds that Patient; an identifier that names another person
// already is left to them, and ECONFLICT says so.
func (db *DB) LinkIdentifier(ctx context.Context, sourceID int64, patientID, system, value string) (Person, error) {
	var person Person
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var id int64
		var raw []byte
		err := tx.QueryRowContext(ctx, `SELECT sp.person_id, r.json FROM source_patients sp
JOIN resources r ON r.source_id = sp.source_id AND r.type = 'Patient' AND r.id = sp.patient_id
WHERE sp.source_id = ? AND sp.patient_id = ?`, sourceID, patientID).Scan(&id, &raw)
		if errors.Is(err, sql.ErrNoRows) {
			return Errorf(ENOTFOUND, "We could not find that person.")
		}
		if err != nil {
			return fmt.Errorf("link identifier: %w", err)
		}
		// Only an identifier the Patient as stored carries: a version that
		// names someone else (another NHS number) is set aside, not stored,
		// and its identifiers are not the person's (found by a review: linked,
		// they made two people one).
		info, err := fhir.ParsePatient(raw)
		if err != nil {
			return fmt.Errorf("link identifier: %w", err)
		}
		if !slices.ContainsFunc(info.Identifiers, func(i fhir.Identifier) bool { return i.System == system && i.Value == value }) {
			return Errorf(ECONFLICT, "The source's Patient/%s as stored here does not carry that identifier: its latest version may be set aside for another NHS number (portal source accept-nhs-number).", patientID)
		}
		other, err := linkIdentifierTx(ctx, tx, id, system, value)
		if err != nil {
			return err
		}
		if other != 0 {
			return Errorf(ECONFLICT, "That identifier names another person here (id %d), not the one the source's Patient/%s is linked to (id %d).", other, patientID, id)
		}
		person, err = db.personTx(ctx, tx, id)
		return err
	})
	return person, err
}

// SyncStatus is how a person's sync with one source stands.
type SyncStatus struct {
	Source           Source
	RunningSince     string
	LastAttemptAt    string
	LastSuccessAt    string
	LastReconciledAt string
	LastError        string // in plain words
	FailingSince     string
	// Partial says the last sync brought all but a part up to date: the
	// part LastError says failed.
	Partial bool
	// Unnamed is a source failing that a carer hears of without its name
	// (SyncStatuses): only that it is failing, and why.
	Unnamed bool
	// NoRecord says the last sync found that the source holds no record of
	// the person: not a failure, and nothing to tell them.
	NoRecord bool
}

// ErrSyncUnderWay means a sync of the person from the source is under way
// already, in this process or another: it is left to that one.
var ErrSyncUnderWay = errors.New("a sync of this person from this source is under way already")

// RunnerID names this process as the runner of the syncs it marks running
// (SyncStarted): what it is ("serve", "portal sync"), its process id, when it
// started, the machine's host name and the set of process ids it belongs to
// (its pid namespace), by which another process tells a mark left by one
// that was killed, even when a new process has the same id (serve is
// process 1 in every container).
func RunnerID(what string) string {
	id := fmt.Sprintf("%s pid %d", what, os.Getpid())
	if start, ok := processStart(os.Getpid()); ok {
		id += " started " + start
	}
	if host, err := os.Hostname(); err == nil && host != "" && !strings.ContainsAny(host, " \t") {
		id += " on " + host
	}
	if ns := pidNamespace(); ns != "" {
		id += " in " + ns
	}
	return id
}

var runnerPID = regexp.MustCompile(` pid (\d+)(?: started (\d+))?(?: on (\S+))?(?: in (pid:\[\d+\]))?$`)

// pidNamespace names the set of process ids this process sees, e.g.
// "pid:[4026531836]": each container has its own, and a container started
// again has a new one.
func pidNamespace() string {
	ns, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		return ""
	}
	return ns
}

// runnerGone says whether the process named by a running mark's RunnerID
// has stopped: the mark names none (one set before its process was named),
// no process has its id, or the one that has started at another time. A
// process that saw other process ids cannot be asked after. On a machine of
// the same name it was this container before it was started again (a
// container keeps its host name, and gets new process ids), so it stopped
// with it; on another (another container sharing the file) it is never
// taken as gone: its mark lasts until it grows old (RunningMarkLife), each
// page it stores renewing it.
func runnerGone(by string) bool {
	m := runnerPID.FindStringSubmatch(by)
	if m == nil {
		return true
	}
	if m[4] != "" && m[4] != pidNamespace() {
		host, err := os.Hostname()
		return m[3] != "" && err == nil && m[3] == host
	}
	pid, err := strconv.Atoi(m[1])
	if err != nil || pid <= 0 {
		return true
	}
	start, ok := processStart(pid)
	if !ok {
		if _, err := os.Stat("/proc/self/stat"); err == nil {
			return true // /proc would know it
		}
		return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) // no /proc to ask
	}
	return m[2] != "" && m[2] != start
}

// processStart is when the process with that id started, in clock ticks
// after the machine started (the 22nd field of /proc/PID/stat), if it runs.
func processStart(pid int) (string, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", false
	}
	// The name, the second field, is in brackets and may hold spaces.
	rest := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(rest) < 20 {
		return "", false
	}
	return rest[19], true
}

// SyncStarted records that a sync of the person from the source has begun,
// run by by (RunnerID), unless another is under way: marked running less
// than RunningMarkLife ago by a process still running. Then it returns
// ErrSyncUnderWay, so the same pull never runs twice at once; a killed one's
// is taken over at once.
func (db *DB) SyncStarted(ctx context.Context, sourceID, personID int64, by string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		now := db.now()
		var since, owner string
		err := tx.QueryRowContext(ctx, `SELECT running_since, running_by FROM sync_status WHERE source_id = ? AND person_id = ?`,
			sourceID, personID).Scan(&since, &owner)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if since != "" && since >= formatTime(now.Add(-RunningMarkLife)) && !runnerGone(owner) {
			return ErrSyncUnderWay
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO sync_status (source_id, person_id, running_since, running_by, last_attempt_at) VALUES (?1, ?2, ?3, ?4, ?3)
ON CONFLICT (source_id, person_id) DO UPDATE SET running_since = excluded.running_since, running_by = excluded.running_by, last_attempt_at = excluded.last_attempt_at`,
			sourceID, personID, formatTime(now), by)
		return err
	})
}

// SyncFinished records how a sync run by by (RunnerID) ended: errText is ""
// on success, else what went wrong in plain words. Reconciled says every
// type the source gave was listed to find deletions, which counts even when
// another part failed: a type the source refuses would otherwise have the
// rest listed again on every sync. The running mark is cleared only when it
// is still by's: one taken over by another process (this one's grew old,
// its pull stalled) stays, so that one is not run a third time beside it.
func (db *DB) SyncFinished(ctx context.Context, sourceID, personID int64, by, errText string, reconciled bool) error {
	return db.syncFinished(ctx, sourceID, personID, by, errText, false, reconciled)
}

// SyncFinishedInPart records a sync that brought the record up to date but
// for a part that failed (errText, in plain words): the record was last
// updated now, and the part is failing (SyncStatus.Partial).
func (db *DB) SyncFinishedInPart(ctx context.Context, sourceID, personID int64, by, errText string, reconciled bool) error {
	return db.syncFinished(ctx, sourceID, personID, by, errText, true, reconciled)
}

func (db *DB) syncFinished(ctx context.Context, sourceID, personID int64, by, errText string, partial, reconciled bool) error {
	now := db.stamp()
	rec := ""
	if reconciled {
		rec = now
	}
	return db.txUntilDone(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE sync_status SET `+ownMarkCleared+`,
last_success_at = CASE WHEN ?2 THEN ?3 ELSE last_success_at END, last_error = ?4, partial = ?5,
failing_since = CASE WHEN ?4 = '' THEN '' WHEN failing_since = '' THEN ?3 ELSE failing_since END,
last_reconciled_at = CASE WHEN ?6 = '' THEN last_reconciled_at ELSE ?6 END WHERE source_id = ?7 AND person_id = ?8`,
			by, errText == "" || partial, now, errText, partial, rec, sourceID, personID)
		return err
	})
}

// ownMarkCleared clears the running mark when it is the first argument's.
const ownMarkCleared = `running_since = CASE WHEN running_by = ? THEN '' ELSE running_since END`

// SyncStopped notes that a sync run by by was stopped part way (the process
// shutting down, or portal sync interrupted): it is running no longer, and
// neither succeeded nor failed, so pages warn of nothing; its pages and
// checkpoints stand, and the next sync resumes there. Its attempt counts for
// nothing either: the person's data is as old as their last sync that
// finished, so the next sign-in or round takes it up again. A mark another
// process has taken over meanwhile is left as it is.
func (db *DB) SyncStopped(ctx context.Context, sourceID, personID int64, by string) error {
	return db.txUntilDone(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE sync_status SET `+stoppedSync+` WHERE source_id = ? AND person_id = ? AND running_by = ?`, sourceID, personID, by)
		return err
	})
}

// stoppedSync is how a sync stopped part way is noted (SyncStopped).
const stoppedSync = `running_since = '', last_attempt_at = last_success_at`

// ClearRunning forgets syncs marked running by processes that have stopped
// (runnerGone): serve, at its start after it was killed, and in its rounds,
// so a sync a killed process left counts as no longer running at once.
// Each was stopped part way, as SyncStopped notes a sync stopped in good
// order, so its attempt counts for nothing. A portal sync still running
// beside serve keeps its marks.
func (db *DB) ClearRunning(ctx context.Context) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT source_id, person_id, running_by FROM sync_status WHERE running_since != ''`)
		if err != nil {
			return err
		}
		type mark struct {
			source, person int64
			by             string
		}
		var gone []mark
		for rows.Next() {
			var m mark
			if err := rows.Scan(&m.source, &m.person, &m.by); err != nil {
				rows.Close()
				return err
			}
			if runnerGone(m.by) {
				gone = append(gone, m)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, m := range gone {
			if _, err := tx.ExecContext(ctx, `UPDATE sync_status SET `+stoppedSync+` WHERE source_id = ? AND person_id = ? AND running_by = ?`,
				m.source, m.person, m.by); err != nil {
				return err
			}
		}
		return nil
	})
}

// SyncStatuses returns the person's sync state with every FHIR server source.
func (db *DB) SyncStatuses(ctx context.Context, personID int64) ([]SyncStatus, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT s.id, s.name, s.org_name, COALESCE(s.last_import_at, ''), s.base_url, s.auth_kind, s.auth_config,
COALESCE(st.running_since, ''), COALESCE(st.running_by, ''), COALESCE(st.last_attempt_at, ''), COALESCE(st.last_success_at, ''),
COALESCE(st.last_reconciled_at, ''), COALESCE(st.last_error, ''), COALESCE(st.failing_since, ''), COALESCE(st.partial, 0),
COALESCE(st.last_success_at, '') != '' AND NOT EXISTS (SELECT 1 FROM source_patients sp WHERE sp.source_id = s.id AND sp.person_id = ?1)
FROM sources s LEFT JOIN sync_status st ON st.source_id = s.id AND st.person_id = ?1
WHERE s.base_url != '' ORDER BY s.org_name, s.name`, personID)
	if err != nil {
		return nil, fmt.Errorf("sync status: %w", err)
	}
	defer rows.Close()
	shown, forCarer, err := db.carerSources(ctx, personID)
	if err != nil {
		return nil, err
	}
	var out []SyncStatus
	for rows.Next() {
		var st SyncStatus
		var cfg, by string
		if err := rows.Scan(&st.Source.ID, &st.Source.Name, &st.Source.OrgName, &st.Source.LastImportAt, &st.Source.BaseURL, &st.Source.AuthKind, &cfg,
			&st.RunningSince, &by, &st.LastAttemptAt, &st.LastSuccessAt, &st.LastReconciledAt, &st.LastError, &st.FailingSince, &st.Partial, &st.NoRecord); err != nil {
			return nil, err
		}
		if st.RunningSince != "" && runnerGone(by) {
			// Left by a process that has stopped (a portal sync killed): nothing
			// runs, and its attempt counts for nothing, as once ClearRunning has
			// cleared it (stoppedSync), so pages do not say "Updating…" and
			// sign-in queues a sync, rather than waiting for serve's round
			// (found by reviews).
			st.RunningSince, st.LastAttemptAt = "", st.LastSuccessAt
		}
		if forCarer && !shown[st.Source.ID] {
			// A carer hears by name only of sources that show them something:
			// the name of one whose only part is kept from them may say what
			// that part is (a sexual health service). One that is failing is
			// still warned of, unnamed: a carer reading "No medicines have been
			// recorded" must know a source could not be reached (a review).
			// So is one syncing, unnamed, as the carer may yet be shown
			// something of it (a review: the page said nothing of a first sync).
			// When it last brought the record is not said, but tells the page
			// whether its failing is worth a warning yet (views.failingLong).
			if (st.LastError == "" || st.NoRecord) && st.RunningSince == "" {
				continue
			}
			out = append(out, SyncStatus{Source: Source{ID: st.Source.ID}, Unnamed: true, LastError: st.LastError, FailingSince: st.FailingSince,
				RunningSince: st.RunningSince, LastSuccessAt: st.LastSuccessAt, NoRecord: st.NoRecord})
			continue
		}
		if err := json.Unmarshal([]byte(cfg), &st.Source.AuthConfig); err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, rows.Err()
}

// CachedResource is one resource in the cache, with the source it came from.
type CachedResource struct {
	Source Source
	Type   string
	ID     string
	Raw    []byte
}

// PersonResources calls fn for every cached resource about the person, source by source.
func (db *DB) PersonResources(ctx context.Context, personID int64, fn func(CachedResource) error) error {
	rows, err := db.db.QueryContext(ctx, `SELECT s.id, s.name, s.org_name, s.base_url, r.type, r.id, r.json FROM resources r
JOIN source_patients sp ON sp.source_id = r.source_id AND sp.patient_id = r.patient_id
JOIN sources s ON s.id = r.source_id
WHERE sp.person_id = ? ORDER BY s.name, r.type, r.id`, personID)
	if err != nil {
		return fmt.Errorf("read record: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c CachedResource
		if err := rows.Scan(&c.Source.ID, &c.Source.Name, &c.Source.OrgName, &c.Source.BaseURL, &c.Type, &c.ID, &c.Raw); err != nil {
			return err
		}
		if err := fn(c); err != nil {
			return err
		}
	}
	return rows.Err()
}

// MissingReferences returns, by type, the ids of resources of the given types
// that the person's resources from the source refer to and the cache does not hold.
func (db *DB) MissingReferences(ctx context.Context, sourceID, personID int64, types map[string]bool) (map[string][]string, error) {
	return db.references(ctx, sourceID, personID, types, false)
}

// References returns, by type, the ids of every resource of the given types
// that the person's resources from the source refer to, held or not: the
// daily reconciliation fetches them again, so a practice renamed upstream is
// renamed in the record too.
func (db *DB) References(ctx context.Context, sourceID, personID int64, types map[string]bool) (map[string][]string, error) {
	return db.references(ctx, sourceID, personID, types, true)
}

func (db *DB) references(ctx context.Context, sourceID, personID int64, types map[string]bool, all bool) (map[string][]string, error) {
	// Only references to the source's own resources: relative, or absolute
	// under its base URL. Another server's Organization/1 is not the
	// source's, and no item takes its name from it (fhir.Prepared.AtServer).
	var base string
	if err := db.db.QueryRowContext(ctx, `SELECT base_url FROM sources WHERE id = ?`, sourceID).Scan(&base); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	rows, err := db.db.QueryContext(ctx, `SELECT r.json FROM resources r
JOIN source_patients sp ON sp.source_id = r.source_id AND sp.patient_id = r.patient_id
WHERE r.source_id = ? AND sp.person_id = ?`, sourceID, personID)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	wanted := map[string][]string{}
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			rows.Close()
			return nil, err
		}
		for _, ref := range fhir.LocalRefs(raw, base) {
			typ, id, _ := strings.Cut(ref, "/")
			if !types[typ] || seen[ref] {
				continue
			}
			seen[ref] = true
			wanted[typ] = append(wanted[typ], id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if all {
		return wanted, nil
	}
	out := map[string][]string{}
	for typ, ids := range wanted {
		for _, id := range ids {
			var one int
			err := db.db.QueryRowContext(ctx, `SELECT 1 FROM resources WHERE source_id = ? AND type = ? AND id = ?`, sourceID, typ, id).Scan(&one)
			if err == sql.ErrNoRows {
				out[typ] = append(out[typ], id)
			} else if err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// RecentlyActivePersons returns the persons whose accounts have had a
// session in use since then, and those a carer has been acting for in one
// under a grant not stopped, given up or past its end.
func (db *DB) RecentlyActivePersons(ctx context.Context, since time.Time) ([]int64, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT a.person_id FROM sessions s JOIN accounts a ON a.id = s.account_id
WHERE s.last_seen_at >= ?1 AND a.person_id IS NOT NULL
UNION
SELECT g.person_id FROM sessions s JOIN carer_grants g ON g.id = s.acting_grant_id
WHERE s.last_seen_at >= ?1 AND g.accepted_at IS NOT NULL AND g.revoked_at IS NULL AND g.given_up_at IS NULL
    AND (g.ends_at IS NULL OR g.ends_at > ?2)`, formatTime(since), db.stamp())
	if err != nil {
		return nil, fmt.Errorf("recently active persons: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// RetryRejectedAfter is how long a resource kept aside that was read again
// and is still unreadable waits before it is read again (RetryDue).
const RetryRejectedAfter = time.Hour

// Unresolved returns the resources from the source kept aside as unreadable and
// not yet replaced by a readable version, at most limit of them (all for -1).
func (db *DB) Unresolved(ctx context.Context, sourceID int64, limit int) ([]fhir.Resource, error) {
	return db.unresolved(ctx, sourceID, 0, "~", limit) // "~" sorts after every time
}

// RetryDue is Unresolved for the person's sync to read again: those its
// searches kept aside and those kept aside by no person's (migration 0052),
// first those never read again, then those read again longest ago, leaving
// out any read again in the last RetryRejectedAfter (RejectedRetried).
func (db *DB) RetryDue(ctx context.Context, sourceID, personID int64, limit int) ([]fhir.Resource, error) {
	return db.unresolved(ctx, sourceID, personID, formatTime(db.now().Add(-RetryRejectedAfter)), limit)
}

// unresolved is Unresolved for those last read again before retriedBefore,
// for the person's sync (all when personID is 0).
func (db *DB) unresolved(ctx context.Context, sourceID, personID int64, retriedBefore string, limit int) ([]fhir.Resource, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT type, resource_id FROM rejected_resources
WHERE source_id = ?1 AND resolved_at = '' AND resource_id != '' AND (?2 = 0 OR person_id IS NULL OR person_id = ?2)
GROUP BY type, resource_id HAVING MAX(retried_at) < ?3 ORDER BY MAX(retried_at), type, resource_id LIMIT ?4`,
		sourceID, personID, retriedBefore, limit)
	if err != nil {
		return nil, fmt.Errorf("unresolved resources: %w", err)
	}
	return scanRefs(rows)
}

// SetAsideNow reports whether a version of the resource from the source is
// set aside and not yet settled: read again in its turn (RetryDue), not on
// every sync.
func (db *DB) SetAsideNow(ctx context.Context, sourceID int64, resourceType, id string) (bool, error) {
	var open bool
	err := db.reader.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM rejected_resources WHERE source_id = ? AND type = ? AND resource_id = ? AND resolved_at = '')`,
		sourceID, resourceType, id).Scan(&open)
	if err != nil {
		return false, fmt.Errorf("look for what is set aside: %w", err)
	}
	return open, nil
}

// RejectedRetried notes that a resource kept aside was read again, by the
// person's sync, and is still unreadable, or refused: RetryDue leaves it
// for RetryRejectedAfter. The sync is running still, as a page stored says
// (renewRunningSQL).
func (db *DB) RejectedRetried(ctx context.Context, sourceID, personID int64, resourceType, id string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		now := db.stamp()
		if _, err := tx.ExecContext(ctx, `UPDATE rejected_resources SET retried_at = ? WHERE source_id = ? AND type = ? AND resource_id = ? AND resolved_at = ''`,
			now, sourceID, resourceType, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, renewRunningSQL, now, sourceID, personID)
		return err
	})
}

// BulkSince returns the transactionTime of the source's last complete bulk export, or "".
func (db *DB) BulkSince(ctx context.Context, sourceID int64) (string, error) {
	var since string
	err := db.db.QueryRowContext(ctx, `SELECT bulk_since FROM sources WHERE id = ?`, sourceID).Scan(&since)
	return since, err
}

// SetBulkSince records that everything up to the export's transactionTime is
// stored. A system-level export holds everyone at the source, so everyone
// linked there now has their record from it as of then: their sync status
// says so, unless a sync brought it later (a review: pages listed a bulk
// load's entries and said "Waiting to update from" the source, as if it had
// sent nothing). A time ahead of this clock, a server's running fast, is
// taken as now: it would hold off syncs on sign-in and say "just now" (a
// review).
func (db *DB) SetBulkSince(ctx context.Context, sourceID int64, since string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE sources SET bulk_since = ? WHERE id = ?`, since, sourceID); err != nil {
			return err
		}
		at, err := time.Parse(time.RFC3339Nano, since)
		if err != nil {
			return nil // not a time: nobody's record is said to be from it
		}
		if now := db.now(); at.After(now) {
			at = now
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO sync_status (source_id, person_id, last_success_at)
SELECT DISTINCT ?1, person_id, ?2 FROM source_patients WHERE source_id = ?1
ON CONFLICT (source_id, person_id) DO UPDATE SET last_success_at = excluded.last_success_at
WHERE sync_status.last_success_at = '' OR julianday(sync_status.last_success_at) < julianday(excluded.last_success_at)`,
			sourceID, formatTime(at))
		return err
	})
}

package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mycarerecord/portal/store/fhir"
)

// Performer is who made a change: an account, by name, and whether as a carer
// acting for the person (with their relationship, e.g. "daughter").
type Performer struct {
	AccountID    int64
	Name         string
	Carer        bool
	Relationship string
}

// Describe says who made a change, to the person whose record it is: "You",
// or "Mary Smith (daughter), acting for you".
func (p Performer) Describe() string {
	if !p.Carer {
		return "You"
	}
	if p.Relationship != "" {
		return p.Name + " (" + p.Relationship + "), acting for you"
	}
	return p.Name + ", acting for you"
}

type forCarerKey struct{}

// carerReads is what ForCarer notes on a context.
type carerReads struct {
	scopes []string    // the grant's scopes; nil for every section
	rules  *carerRules // what the person keeps out, worked out once for all the reads on ctx
}

// carerRules remembers each person's withheldRule for one carer's request:
// a page reads its list, sources, sync lines and labels, each leaving out
// the same entries.
type carerRules struct {
	mu       sync.Mutex
	byPerson map[int64]withheldRule
}

// ForCarer marks reads made on ctx as being for a carer: items the person has
// withheld from sharing are left out of every read of their record, and the
// organisations a carer is told of are only those that show them something.
// scopes are the carer's grant's (sections and actions); none means every
// section. What the person keeps out is read once for all the reads on the
// returned ctx: make one per request, so a change of choices shows at the next.
func ForCarer(ctx context.Context, scopes ...string) context.Context {
	return context.WithValue(ctx, forCarerKey{}, carerReads{scopes: scopes, rules: &carerRules{byPerson: map[int64]withheldRule{}}})
}

// ForPortal marks reads made on ctx as the portal's own, such as whether a
// person's record is due a sync, though a carer's request set them off:
// nothing is left out as it would be for the carer (ForCarer).
func ForPortal(ctx context.Context) context.Context {
	return context.WithValue(ctx, forCarerKey{}, nil)
}

// IsForCarer says whether reads on ctx are for a carer.
func IsForCarer(ctx context.Context) bool {
	_, ok := ctx.Value(forCarerKey{}).(carerReads)
	return ok
}

// carerSources is, when ctx reads for a carer, the sources that show the
// carer at least one entry (in a section of the grant, not kept out of
// sharing), and ok; otherwise nil and false. A carer is never told of an
// organisation whose only part in the person's record is kept from them:
// that it holds anything at all can say what it is (a sexual health clinic).
func (db *DB) carerSources(ctx context.Context, personID int64) (map[int64]bool, bool, error) {
	if !IsForCarer(ctx) {
		return nil, false, nil
	}
	cf, cargs, err := db.carerFilter(ctx, personID)
	if err != nil {
		return nil, true, err
	}
	// One look per source, straight off record_items_patient, stopping at the
	// first entry the carer sees: not a read of the whole record per page.
	rows, err := db.db.QueryContext(ctx, `SELECT sp.source_id FROM source_patients sp WHERE sp.person_id = ?1
AND EXISTS (SELECT 1 FROM record_items ri WHERE ri.source_id = sp.source_id AND ri.patient_id = sp.patient_id AND ri.person_id = ?1`+cf+`)`,
		append([]any{personID}, cargs...)...)
	if err != nil {
		return nil, true, fmt.Errorf("sources a carer sees: %w", err)
	}
	defer rows.Close()
	out := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, true, err
		}
		out[id] = true
	}
	return out, true, rows.Err()
}

// The questions a person answers about their record. Each answer is "yes" or "no".
const (
	QuestionDirectCare = "direct-care" // share with professionals in other organisations caring for me
	QuestionResearch   = "research"    // use de-identified data for research
	QuestionPlanning   = "planning"    // use data for planning and improving services

	withholdPrefix     = "withhold:"      // + a category: keep this kind of information out of sharing
	withholdItemPrefix = "withhold-item:" // + an item key: keep this one entry out of sharing
)

// Sensitive categories a person may keep out of sharing. An entry is in a
// category only by its own code, or by a reason's (fhir.Item.Reasons,
// migration 0045), listed in the sensitive_codes table that
// migration 0011 seeds (SNOMED CT, LOINC and RxNorm codes one by one, ICD-10
// by prefix: F for mental health; A50-A64, B20-B24 and Z30 for sexual health),
// or, for social care, by coming from a source marked as a social care service
// (SetSourceSocialCare). Nothing is inferred from free text, so an entry
// recorded without a listed code is not kept out by its category: the pages
// say so, and single entries can always be kept out one by one.
const (
	CategoryMentalHealth = "mental-health"
	CategorySexualHealth = "sexual-health"
	CategorySocialCare   = "social-care"
)

// Categories lists the categories that can be kept out of sharing, in the order pages show them.
func Categories() []string {
	return []string{CategoryMentalHealth, CategorySexualHealth, CategorySocialCare}
}

// WithholdQuestion is the question that keeps a category out of sharing.
func WithholdQuestion(category string) string { return withholdPrefix + category }

// QuestionCategory is the category a question keeps out of sharing, if it is one of those.
func QuestionCategory(q string) (string, bool) { return strings.CutPrefix(q, withholdPrefix) }

// WithholdItemQuestion is the question that keeps one entry out of sharing.
func WithholdItemQuestion(key string) string { return withholdItemPrefix + key }

// ConsentQuestionSlug is the question's part of a page address, e.g. "mental-health" for withhold:mental-health.
func ConsentQuestionSlug(q string) string { return strings.TrimPrefix(q, withholdPrefix) }

// ConsentQuestionBySlug is the question a page address names, if any (single entries have no slug).
func ConsentQuestionBySlug(slug string) (string, bool) {
	for _, q := range ConsentQuestions() {
		if ConsentQuestionSlug(q) == slug {
			return q, true
		}
	}
	return "", false
}

// ItemQuestionKey is the entry key of a question about one entry, and whether it is one.
func ItemQuestionKey(q string) (string, bool) { return strings.CutPrefix(q, withholdItemPrefix) }

// ConsentQuestions lists the questions with a page of their own.
func ConsentQuestions() []string {
	qs := []string{QuestionDirectCare, QuestionResearch, QuestionPlanning}
	for _, c := range Categories() {
		qs = append(qs, WithholdQuestion(c))
	}
	return qs
}

// WithheldItem is one entry kept out of sharing, by a key that survives the
// record being synced again: the fact's de-duplication key, so every source's
// report of it is kept out, or its resource when it has none.
type WithheldItem struct {
	Key   string `json:"key"`
	Label string `json:"label"`
}

// ConsentState is every choice a person has made, as it stands.
type ConsentState struct {
	DirectCare    bool           `json:"directCare"`
	Research      bool           `json:"research"`
	Planning      bool           `json:"planning"`
	Withheld      []string       `json:"withheld"`      // categories kept out of sharing, sorted
	WithheldItems []WithheldItem `json:"withheldItems"` // sorted by key
}

// DefaultConsentState is where everyone starts when no choice is recorded
// anywhere: in England a record is shared for care, and used for research and
// planning unless the person opts out; nothing is kept out.
func DefaultConsentState() ConsentState {
	return ConsentState{DirectCare: true, Research: true, Planning: true}
}

// Answer is the state's answer to a question: "yes" or "no".
func (s ConsentState) Answer(question string) string {
	yes := false
	switch {
	case question == QuestionDirectCare:
		yes = s.DirectCare
	case question == QuestionResearch:
		yes = s.Research
	case question == QuestionPlanning:
		yes = s.Planning
	case strings.HasPrefix(question, withholdPrefix):
		yes = s.Withholds(strings.TrimPrefix(question, withholdPrefix))
	case strings.HasPrefix(question, withholdItemPrefix):
		yes = s.WithholdsItem(strings.TrimPrefix(question, withholdItemPrefix))
	}
	if yes {
		return "yes"
	}
	return "no"
}

// Withholds says whether the category is kept out of sharing.
func (s ConsentState) Withholds(category string) bool {
	for _, c := range s.Withheld {
		if c == category {
			return true
		}
	}
	return false
}

// KeepsOut says whether the question keeps something out of sharing (a
// category or an entry) and the answer now is yes: only the person may share
// that again, since a carer who lifted it would then see it.
func (s ConsentState) KeepsOut(q string) bool {
	_, category := QuestionCategory(q)
	_, item := ItemQuestionKey(q)
	return (category || item) && s.Answer(q) == "yes"
}

// WithholdsItem says whether the entry with that key is kept out of sharing.
func (s ConsentState) WithholdsItem(key string) bool {
	for _, it := range s.WithheldItems {
		if it.Key == key {
			return true
		}
	}
	return false
}

// ValidQuestion says whether q is a question a person can answer.
func ValidQuestion(q string) bool {
	switch {
	case q == QuestionDirectCare, q == QuestionResearch, q == QuestionPlanning:
		return true
	case strings.HasPrefix(q, withholdPrefix):
		c := strings.TrimPrefix(q, withholdPrefix)
		for _, k := range Categories() {
			if k == c {
				return true
			}
		}
	case strings.HasPrefix(q, withholdItemPrefix):
		return len(q) > len(withholdItemPrefix) && len(q) < 600
	}
	return false
}

// ConsentChange is one change a person makes: a question and its new answer.
// Label names the entry when the question is about one entry.
type ConsentChange struct {
	Question, Answer, Label string
	// Name names an entry as its pages do (views.ItemName), for the label
	// a choice about it keeps; nil keeps the entry's display as stored,
	// which may read "(disorder)" or a test's full coded name (a review).
	Name func(RecordItem) string
}

// itemKeys are the keys of the entries kept out one by one.
func (s ConsentState) itemKeys() []string {
	keys := make([]string, len(s.WithheldItems))
	for i, w := range s.WithheldItems {
		keys[i] = w.Key
	}
	return keys
}

// apply returns the state with the change made.
func (s ConsentState) apply(ch ConsentChange) (ConsentState, error) {
	if !ValidQuestion(ch.Question) {
		return s, Errorf(EINVALID, "There is no choice called %q.", ch.Question)
	}
	if ch.Answer != "yes" && ch.Answer != "no" {
		return s, Errorf(EINVALID, "Choose yes or no.")
	}
	yes := ch.Answer == "yes"
	out := s
	out.Withheld = append([]string(nil), s.Withheld...)
	out.WithheldItems = append([]WithheldItem(nil), s.WithheldItems...)
	switch {
	case ch.Question == QuestionDirectCare:
		out.DirectCare = yes
	case ch.Question == QuestionResearch:
		out.Research = yes
	case ch.Question == QuestionPlanning:
		out.Planning = yes
	case strings.HasPrefix(ch.Question, withholdPrefix):
		c := strings.TrimPrefix(ch.Question, withholdPrefix)
		out.Withheld = removeString(out.Withheld, c)
		if yes {
			out.Withheld = append(out.Withheld, c)
			sort.Strings(out.Withheld)
		}
	case strings.HasPrefix(ch.Question, withholdItemPrefix):
		key := strings.TrimPrefix(ch.Question, withholdItemPrefix)
		kept := out.WithheldItems[:0]
		for _, it := range out.WithheldItems {
			if it.Key != key {
				kept = append(kept, it)
			}
		}
		out.WithheldItems = kept
		if yes {
			out.WithheldItems = append(out.WithheldItems, WithheldItem{Key: key, Label: ch.Label})
			sort.Slice(out.WithheldItems, func(i, j int) bool { return out.WithheldItems[i].Key < out.WithheldItems[j].Key })
		}
	}
	return out, nil
}

func removeString(ss []string, s string) []string {
	out := ss[:0]
	for _, x := range ss {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

// ConsentDecision is one change a person (or their carer) made, with the state it left.
type ConsentDecision struct {
	ID            int64
	PersonID      int64
	Identifier    string // urn:uuid:…
	MadeAt        time.Time
	EffectiveFrom time.Time
	Performer     Performer
	Question      string
	Answer        string
	ItemLabel     string
	State         ConsentState
	FHIR          []byte
	Deliveries    []ConsentDelivery
}

// Delivery statuses of a decision at an upstream source.
const (
	DeliveryWaiting = "waiting"
	DeliverySent    = "sent"
	DeliveryFailed  = "failed"
	// DeliveryOrphaned counts (ConsentOutboxCounts) a delivery left waiting
	// when its source was removed: it can never be sent, and the person's
	// page says so ("Not sent: … is no longer connected").
	DeliveryOrphaned = "source removed"
)

// ConsentDelivery is how sending a decision to one upstream source has gone.
type ConsentDelivery struct {
	ID              int64
	DecisionID      int64
	SourceID        int64 // 0 when the source has since been removed
	SourceName      string
	Status          string // waiting, sent or failed
	Attempts        int
	LastAttemptAt   time.Time
	NextAttemptAt   time.Time
	LastError       string
	SentAt          time.Time
	UpstreamID      string
	UpstreamVersion string
	// Superseded: a later decision has been sent to the same source, and it carries every choice.
	Superseded bool
	// Overtaken: a later decision has been queued for the same source, sent
	// or not, and it carries every choice: this one is never sent again
	// (RetryConsentDelivery), so the pages do not offer to.
	Overtaken bool
	// Refresh: the decision sent again, after it had reached the source, as
	// the source has come to hold an entry kept out (migrations 0072, 0073).
	Refresh bool
}

// UpstreamConsent is a Consent recorded elsewhere (e.g. by the GP) and synced in.
type UpstreamConsent struct {
	Source   Source
	DateTime string // as the resource gives it
	Choices  fhir.ConsentChoices
}

// Choice origins: where the answer to a question came from.
const (
	OriginDefault  = "default"
	OriginUpstream = "upstream"
	OriginDecision = "decision"
)

// ChoiceOrigin says where the current answer to one question came from.
type ChoiceOrigin struct {
	Kind     string           // default, upstream or decision
	Decision *ConsentDecision // the decision that last set it
	Upstream *UpstreamConsent
}

// ConsentChoices is a person's choices as they stand, and where each came from.
type ConsentChoices struct {
	State    ConsentState
	Origins  map[string]ChoiceOrigin // by question
	Upstream *UpstreamConsent        // the starting state, when a source holds a Consent
	Latest   *ConsentDecision        // the newest decision, with its deliveries
	// Receivers is how many upstream FHIR servers hold the person: each is
	// sent every change (queueDeliveries). With none, a choice stays here.
	Receivers int
}

// ConsentChoices returns the person's choices as they stand: the latest
// decision's state, or the newest active Consent a source holds, or the default.
func (db *DB) ConsentChoices(ctx context.Context, personID int64) (ConsentChoices, error) {
	var out ConsentChoices
	up, err := upstreamConsent(ctx, db.db, personID)
	if err != nil {
		return ConsentChoices{}, err
	}
	shown, forCarer, err := db.carerSources(ctx, personID) // nil, false when not reading for a carer
	if err != nil {
		return ConsentChoices{}, err
	}
	if up != nil && forCarer && !shown[up.Source.ID] {
		// A carer is not told of an organisation that shows them nothing (carerSources).
		up.Source = Source{OrgName: "an organisation that holds the record"}
	}
	out.Upstream = up
	decisions, err := decisionsOf(ctx, db.db, personID)
	if err != nil {
		return ConsentChoices{}, err
	}
	out.State = startingState(up)
	out.Origins = map[string]ChoiceOrigin{}
	for _, question := range ConsentQuestions() {
		if up != nil {
			out.Origins[question] = ChoiceOrigin{Kind: OriginUpstream, Upstream: up}
		} else {
			out.Origins[question] = ChoiceOrigin{Kind: OriginDefault}
		}
	}
	for i := range decisions {
		d := &decisions[i]
		out.Origins[d.Question] = ChoiceOrigin{Kind: OriginDecision, Decision: d}
	}
	if n := len(decisions); n > 0 {
		out.State = decisions[n-1].State
		out.Latest = &decisions[n-1]
		if out.Latest.Deliveries, err = db.deliveries(ctx, personID, []int64{out.Latest.ID}, shown); err != nil {
			return ConsentChoices{}, err
		}
	}
	// Counted for a carer too: that choices reach some organisation names none.
	err = db.db.QueryRowContext(ctx, `SELECT COUNT(DISTINCT s.id) FROM sources s JOIN source_patients sp ON sp.source_id = s.id
WHERE sp.person_id = ? AND s.base_url != ''`, personID).Scan(&out.Receivers)
	if err != nil {
		return ConsentChoices{}, fmt.Errorf("receivers of choices: %w", err)
	}
	return out, nil
}

// deliveries is deliveriesOf, leaving out for a carer those to an
// organisation that shows them nothing: shown is carerSources's answer, nil
// when not reading for a carer. That it holds the person's record can say
// what it holds.
func (db *DB) deliveries(ctx context.Context, personID int64, ids []int64, shown map[int64]bool) ([]ConsentDelivery, error) {
	ds, err := deliveriesOf(ctx, db.db, personID, ids)
	if err != nil || shown == nil {
		return ds, err
	}
	return slices.DeleteFunc(ds, func(d ConsentDelivery) bool { return !shown[d.SourceID] }), nil
}

func startingState(up *UpstreamConsent) ConsentState {
	if up == nil {
		return DefaultConsentState()
	}
	return ConsentState{DirectCare: up.Choices.DirectCare, Research: up.Choices.Research, Planning: up.Choices.Planning,
		Withheld: append([]string(nil), up.Choices.WithheldCategories...)}
}

// querier is what both *sql.DB and *sql.Tx offer for reading.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// upstreamConsent is the newest active patient-privacy Consent any source holds about the person.
func upstreamConsent(ctx context.Context, q querier, personID int64) (*UpstreamConsent, error) {
	// +r.patient_id: find the few Consents by the primary key (source, type), not
	// by walking every resource the person has.
	rows, err := q.QueryContext(ctx, `SELECT r.json, s.id, s.name, s.org_name, COALESCE(s.last_import_at, '')
FROM resources r JOIN source_patients sp ON sp.source_id = r.source_id AND sp.patient_id = +r.patient_id
JOIN sources s ON s.id = r.source_id
WHERE sp.person_id = ? AND r.type = 'Consent'`, personID)
	if err != nil {
		return nil, fmt.Errorf("read upstream consent: %w", err)
	}
	defer rows.Close()
	var best *UpstreamConsent
	for rows.Next() {
		var raw []byte
		var src Source
		if err := rows.Scan(&raw, &src.ID, &src.Name, &src.OrgName, &src.LastImportAt); err != nil {
			return nil, err
		}
		ch, ok := fhir.ReadConsent(raw)
		if !ok || strings.HasPrefix(ch.Identifier, "urn:uuid:") && isOwnIdentifier(ctx, q, ch.Identifier) {
			continue // not a privacy consent, or one the portal itself sent
		}
		if best == nil || parseTime(ch.DateTime).After(parseTime(best.DateTime)) {
			best = &UpstreamConsent{Source: src, DateTime: ch.DateTime, Choices: ch}
		}
	}
	return best, rows.Err()
}

func isOwnIdentifier(ctx context.Context, q querier, id string) bool {
	var n int
	q.QueryRowContext(ctx, `SELECT COUNT(*) FROM consent_decisions WHERE identifier = ?`, id).Scan(&n)
	return n > 0
}

const decisionColumns = `id, person_id, identifier, made_at, effective_from, performer_account_id, performer_name,
performer_carer, performer_relationship, question, answer, item_label, state, fhir`

func scanDecision(row rowScanner) (ConsentDecision, error) {
	var d ConsentDecision
	var made, from, state, raw string
	if err := row.Scan(&d.ID, &d.PersonID, &d.Identifier, &made, &from, &d.Performer.AccountID, &d.Performer.Name,
		&d.Performer.Carer, &d.Performer.Relationship, &d.Question, &d.Answer, &d.ItemLabel, &state, &raw); err != nil {
		return d, err
	}
	d.MadeAt, d.EffectiveFrom, d.FHIR = parseTime(made), parseTime(from), []byte(raw)
	if err := json.Unmarshal([]byte(state), &d.State); err != nil {
		return d, fmt.Errorf("decision %d: state: %w", d.ID, err)
	}
	return d, nil
}

func decisionsOf(ctx context.Context, q querier, personID int64) ([]ConsentDecision, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+decisionColumns+` FROM consent_decisions WHERE person_id = ? ORDER BY id`, personID)
	if err != nil {
		return nil, fmt.Errorf("read decisions: %w", err)
	}
	defer rows.Close()
	var out []ConsentDecision
	for rows.Next() {
		d, err := scanDecision(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// deliveriesOf reads the deliveries of the decisions, in decision then source order,
// marking those a later decision to the same source has overtaken, and
// superseded once sent.
func deliveriesOf(ctx context.Context, q querier, personID int64, ids []int64) ([]ConsentDelivery, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	args := []any{personID}
	for _, id := range ids {
		args = append(args, id)
	}
	rows, err := q.QueryContext(ctx, `SELECT o.id, o.decision_id, COALESCE(o.source_id, 0), o.source_name, o.status, o.attempts,
o.last_attempt_at, o.next_attempt_at, o.last_error, o.sent_at, o.upstream_id, o.upstream_version,
EXISTS (SELECT 1 FROM consent_outbox l WHERE l.person_id = o.person_id AND l.source_id = o.source_id AND l.id > o.id AND l.status = 'sent'),
EXISTS (SELECT 1 FROM consent_outbox l WHERE l.person_id = o.person_id AND l.source_id = o.source_id AND l.id > o.id),
o.refresh AND o.sent_before
FROM consent_outbox o WHERE o.person_id = ? AND o.decision_id IN (?`+strings.Repeat(", ?", len(ids)-1)+`) ORDER BY o.decision_id, o.source_name, o.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("read deliveries: %w", err)
	}
	defer rows.Close()
	var out []ConsentDelivery
	for rows.Next() {
		var d ConsentDelivery
		var last, next, sent string
		if err := rows.Scan(&d.ID, &d.DecisionID, &d.SourceID, &d.SourceName, &d.Status, &d.Attempts, &last, &next,
			&d.LastError, &sent, &d.UpstreamID, &d.UpstreamVersion, &d.Superseded, &d.Overtaken, &d.Refresh); err != nil {
			return nil, err
		}
		d.LastAttemptAt, d.NextAttemptAt, d.SentAt = parseTime(last), parseTime(next), parseTime(sent)
		out = append(out, d)
	}
	return out, rows.Err()
}

// ConsentHistory returns every decision about the person, newest first, each with its deliveries.
func (db *DB) ConsentHistory(ctx context.Context, personID int64) ([]ConsentDecision, error) {
	ds, err := decisionsOf(ctx, db.db, personID)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	byID := map[int64]*ConsentDecision{}
	for i := range ds {
		byID[ds[i].ID] = &ds[i]
	}
	shown, _, err := db.carerSources(ctx, personID)
	if err != nil {
		return nil, err
	}
	for start := 0; start < len(ids); start += 500 {
		dels, err := db.deliveries(ctx, personID, ids[start:min(start+500, len(ids))], shown)
		if err != nil {
			return nil, err
		}
		for _, d := range dels {
			byID[d.DecisionID].Deliveries = append(byID[d.DecisionID].Deliveries, d)
		}
	}
	for i, j := 0, len(ds)-1; i < j; i, j = i+1, j-1 {
		ds[i], ds[j] = ds[j], ds[i]
	}
	return ds, nil
}

// ChangeConsent records one change to the person's choices. In one
// transaction it reads the choices as they stand, makes the change, appends
// the decision with its FHIR Consent, and queues one delivery for each
// upstream FHIR server that holds a record of the person, and logAs's access
// log entry (Logged). Concurrent changes are made one after the other, so
// none is lost. An answer that is the answer already (the same change sent
// twice) changes nothing: it records, queues and logs nothing, and returns
// a decision with ID 0.
func (db *DB) ChangeConsent(ctx context.Context, personID int64, by Performer, ch ConsentChange, logAs Logged[ConsentDecision]) (ConsentDecision, error) {
	var d ConsentDecision
	if !ValidQuestion(ch.Question) {
		return d, Errorf(EINVALID, "There is no choice called %q.", ch.Question)
	}
	err := db.tx(ctx, func(tx *sql.Tx) error {
		person, err := scanPerson(tx.QueryRowContext(ctx, `SELECT id, prefix, given, family, birth_date, COALESCE(nhs_number, '') FROM persons WHERE id = ?`, personID))
		if err != nil {
			return err
		}
		// Read inside the write transaction (BEGIN IMMEDIATE): a change made at the
		// same moment waits, and this one starts from it, so neither is lost.
		current, err := consentState(ctx, tx, personID)
		if err != nil {
			return err
		}
		if by.Carer && ch.Answer == "no" && current.KeepsOut(ch.Question) {
			return Errorf(EFORBIDDEN, "Only %s can share that information again.", person.Name())
		}
		var items []itemRef
		if strings.HasPrefix(ch.Question, withholdItemPrefix) {
			key := strings.TrimPrefix(ch.Question, withholdItemPrefix)
			if items, err = itemRefs(ctx, tx, personID, key, true); err != nil {
				return err
			}
			if len(items) == 0 && ch.Answer == "yes" {
				return Errorf(ENOTFOUND, "There is no such entry in this record.")
			}
			if ch.Answer == "no" && !current.WithholdsItem(key) {
				// Shared already (a form sent twice), unless kept out by a key it
				// had before upstream changed it (held_keys): shared again by that.
				for _, it := range items {
					held, err := heldKeys(ctx, tx, personID, it.ItemID)
					if err != nil {
						return err
					}
					if slices.ContainsFunc(held, current.WithholdsItem) {
						return Errorf(EINVALID, "That entry is not kept out of sharing.")
					}
				}
			}
			if ch.Answer == "yes" && !current.WithholdsItem(key) {
				// Already kept out by the key it had before upstream changed it (held_keys):
				// a second choice would have to be shared again apart.
				if held, err := allHeldOut(ctx, tx, personID, items, current); err != nil {
					return err
				} else if held {
					return Errorf(EINVALID, "That entry is already kept out of sharing.")
				}
			}
			// The label is the entry's own name, or the one it had when it was kept out.
			ch.Label = ""
			if len(items) > 0 {
				ch.Label = items[0].Display
				if ch.Name != nil {
					ch.Label = ch.Name(items[0].item())
				}
			}
			for _, w := range current.WithheldItems {
				if w.Key == key && ch.Label == "" {
					ch.Label = w.Label
				}
			}
		}
		if ch.Answer == current.Answer(ch.Question) {
			return nil // read under the write lock, so a change sent twice at once is made once
		}
		next, err := current.apply(ch)
		if err != nil {
			return err
		}
		if strings.HasPrefix(ch.Question, withholdItemPrefix) && ch.Answer == "no" {
			// Shared again: the entries it was held to go back to their own keys,
			// none that comes back is kept out by it (held_keys_waiting), nor a
			// fact by a key a re-read gave it (key_aliases; a review: a stale
			// alias kept out a report shared again).
			for _, forget := range []string{`DELETE FROM held_keys WHERE key = ? AND person_id = ?`,
				`DELETE FROM held_keys_waiting WHERE key = ? AND person_id = ?`, `DELETE FROM key_aliases WHERE old_key = ? AND person_id = ?`} {
				if _, err := tx.ExecContext(ctx, forget, strings.TrimPrefix(ch.Question, withholdItemPrefix), personID); err != nil {
					return fmt.Errorf("share an entry again: %w", err)
				}
			}
		}
		now := db.now().UTC()
		d = ConsentDecision{PersonID: personID, Identifier: "urn:uuid:" + newUUID(), MadeAt: now, EffectiveFrom: now,
			Performer: by, Question: ch.Question, Answer: ch.Answer, ItemLabel: ch.Label, State: next}
		in, refs, err := consentInput(ctx, tx, person, d)
		if err != nil {
			return err
		}
		if d.FHIR, err = fhir.BuildConsent(in); err != nil {
			return err
		}
		state, _ := json.Marshal(next)
		res, err := tx.ExecContext(ctx, `INSERT INTO consent_decisions (person_id, identifier, made_at, effective_from, performer_account_id,
performer_name, performer_carer, performer_relationship, question, answer, item_label, state, fhir) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			personID, d.Identifier, formatTime(now), formatTime(now), by.AccountID, by.Name, by.Carer, by.Relationship,
			ch.Question, ch.Answer, ch.Label, string(state), string(d.FHIR))
		if err != nil {
			return fmt.Errorf("record decision: %w", err)
		}
		if d.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		if err := queueDeliveries(ctx, tx, person, d, in, refs, formatTime(now), 0, false); err != nil {
			return err
		}
		if strings.HasPrefix(ch.Question, withholdItemPrefix) && ch.Answer == "yes" {
			// Kept out while a re-read goes on: the re-read carries the choice
			// to the keys it gives the fact (a review found next month's
			// prescription reaching the carer before the re-read got there).
			if err := rereadEntry(ctx, tx, db.stamp(), items); err != nil {
				return err
			}
		}
		return db.logTx(ctx, tx, logAs(d))
	})
	return d, err
}

// itemRef is one source's report of an entry, for a Consent's provision.data.
type itemRef struct {
	ItemID       int64 // the record item
	SourceID     int64
	Section      string
	Type, ID     string
	System, Code string
	Display      string
}

// item is as much of the entry as its name is made of (views.ItemName).
func (r itemRef) item() RecordItem {
	return RecordItem{Section: r.Section, CodeSystem: r.System, Code: r.Code, Display: r.Display}
}

// ItemKey is the key an entry is kept out of sharing by: the fact's
// de-duplication key, or its resource at its source when it has none. An
// item whose key changes (its resource changed upstream, or a migration
// read it again) keeps the keys it had in held_keys, so an entry kept out
// of sharing stays out.
func ItemKey(it RecordItem) string {
	return itemKey(it.Source.ID, it.ResourceType, it.ResourceID, it.Part, it.DedupKey)
}

// itemKey is the key of an item: its fact's, or, for one with none, the
// resource's and, when the resource gives several items, the item's part
// after a "#" (a review: two care team members known only by references
// had one key, and keeping one out kept out both). A resource id never
// holds a "#".
func itemKey(sourceID int64, resourceType, resourceID, part, dedupKey string) string {
	if dedupKey != "" {
		return dedupKey
	}
	key := fmt.Sprintf("item:%d/%s/%s", sourceID, resourceType, resourceID)
	if part != "" {
		key += "#" + part
	}
	return key
}

// itemKeySQL is ItemKey in SQL, over record_items ri.
const itemKeySQL = `CASE WHEN ri.dedup_key != '' THEN ri.dedup_key ELSE 'item:' || ri.source_id || '/' || ri.resource_type || '/' || ri.resource_id ||
CASE WHEN ri.part != '' THEN '#' || ri.part ELSE '' END END`

// itemRefs are the reports of the person's entry with this key: those known
// by it now first, then, when held is set, those kept out of sharing by it
// before their key changed (held_keys) or by the key a re-read gave their
// fact (key_aliases).
func itemRefs(ctx context.Context, q querier, personID int64, key string, held bool) ([]itemRef, error) {
	refs, err := itemRefsOf(ctx, q, personID, []string{key}, held)
	if err != nil {
		return nil, err
	}
	return refs[0], nil
}

// itemRefsOf is itemRefs of each key, all read by one query: a choice's
// Consent names every entry kept out, and a query a key made each change
// slower by a few milliseconds for every entry kept out before.
func itemRefsOf(ctx context.Context, q querier, personID int64, keys []string, held bool) ([][]itemRef, error) {
	out := make([][]itemRef, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	list, _ := json.Marshal(keys)
	// want: each key and, when held, each key a re-read gave its fact; found:
	// the reports known by one now (by the fact's key, or by the report's own
	// when it has none), then those held to a key (held_keys).
	rows, err := q.QueryContext(ctx, `WITH keys(key) AS (SELECT value FROM json_each(?2)),
want(key, match, direct) AS (SELECT key, key, 1 FROM keys
UNION SELECT a.old_key, a.new_key, 0 FROM key_aliases a WHERE ?3 AND a.person_id = ?1 AND a.old_key IN keys),
found(key, direct, item) AS (
SELECT w.key, w.direct, ri.id FROM want w JOIN record_items ri ON ri.person_id = ?1 AND ri.dedup_key = w.match
UNION ALL SELECT w.key, w.direct, ri.id FROM record_items ri JOIN want w ON w.match = `+itemKeySQL+` WHERE ri.person_id = ?1 AND ri.dedup_key = ''
UNION ALL SELECT h.key, 0, h.item_id FROM held_keys h WHERE ?3 AND h.person_id = ?1 AND h.key IN keys)
SELECT f.key, ri.id, ri.source_id, ri.section, ri.resource_type, ri.resource_id, ri.code_system, ri.code, ri.display
FROM (SELECT key, item, MAX(direct) AS direct FROM found GROUP BY key, item) f JOIN record_items ri ON ri.id = f.item AND ri.person_id = ?1
ORDER BY f.key, f.direct DESC, ri.dup, ri.id`, personID, string(list), held)
	if err != nil {
		return nil, fmt.Errorf("read entry: %w", err)
	}
	defer rows.Close()
	byKey := map[string][]itemRef{}
	for rows.Next() {
		var key string
		var r itemRef
		if err := rows.Scan(&key, &r.ItemID, &r.SourceID, &r.Section, &r.Type, &r.ID, &r.System, &r.Code, &r.Display); err != nil {
			return nil, err
		}
		byKey[key] = append(byKey[key], r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i, k := range keys {
		out[i] = byKey[k]
	}
	return out, nil
}

// consentInput is what the decision's Consent records, naming the patient
// by NHS number, and each entry kept out's reports (itemRefsOf), for
// queueDeliveries.
func consentInput(ctx context.Context, q querier, p Person, d ConsentDecision) (fhir.ConsentInput, [][]itemRef, error) {
	in := fhir.ConsentInput{Identifier: d.Identifier, NHSNumber: p.NHSNumber, PatientName: p.Name(), DateTime: d.MadeAt, EffectiveFrom: d.EffectiveFrom,
		PerformerName: d.Performer.Name, PerformerCarer: d.Performer.Carer, PerformerRelationship: d.Performer.Relationship,
		DirectCare: d.State.DirectCare, Research: d.State.Research, Planning: d.State.Planning, WithheldCategories: d.State.Withheld}
	if !d.Performer.Carer && in.PerformerName == "" {
		in.PerformerName = p.Name()
	}
	refs, err := itemRefsOf(ctx, q, p.ID, d.State.itemKeys(), true)
	if err != nil {
		return in, nil, err
	}
	for i, w := range d.State.WithheldItems {
		in.WithheldItems = append(in.WithheldItems, consentItem(w, refs[i], 0))
	}
	return in, refs, nil
}

// consentItem is how a Consent names an entry kept out of sharing: by the
// code and words of the first of its reports (itemRefs) with a code, as it
// has them now, since upstream may have changed them since the choice; and by
// every one of its resources at the source the Consent goes to. For a source
// (sourceID not 0), only its own reports are read.
func consentItem(w WithheldItem, refs []itemRef, sourceID int64) fhir.ConsentItem {
	it := fhir.ConsentItem{Display: w.Label}
	if sourceID != 0 {
		// In the receiving source's own code and words, never another's:
		// a clinic's words about a diagnosis are not the GP's to read (a
		// review of the fix that sends it only to sources holding it).
		refs = slices.DeleteFunc(slices.Clone(refs), func(r itemRef) bool { return r.SourceID != sourceID })
		it.Display = ""
		if i := slices.IndexFunc(refs, func(r itemRef) bool { return r.Display != "" }); i >= 0 {
			it.Display = refs[i].Display
		}
	}
	if i := slices.IndexFunc(refs, func(r itemRef) bool { return r.Code != "" }); i >= 0 {
		it.System, it.Code = refs[i].System, refs[i].Code
		if refs[i].Display != "" {
			it.Display = refs[i].Display
		}
	}
	for _, r := range refs {
		ref := fhir.ResourceRef{Type: r.Type, ID: r.ID}
		if r.SourceID == sourceID && !slices.Contains(it.Resources, ref) {
			it.Resources = append(it.Resources, ref)
		}
	}
	return it
}

// queueDeliveries writes one outbox row per upstream FHIR server holding the
// person (or only the source only, when not 0), each with the Consent as
// that server will receive it: the patient and withheld entries named by
// that server's own ids, only those it holds.
//
// refresh queues the decision's delivery there again, where the Consent is
// not the one queued (the source has come to hold an entry kept out), marked,
// once sent before, so the sender updates the Consent that carries it
// (migration 0072).
func queueDeliveries(ctx context.Context, tx *sql.Tx, p Person, d ConsentDecision, in fhir.ConsentInput, refs [][]itemRef, now string, only int64, refresh bool) error {
	// The Patient the record there is read by (PatientAt: the first linked, the
	// one merged into after a merge), not the least id (a review: the choices
	// were filed under a merged, inactive Patient, or a stray one).
	rows, err := tx.QueryContext(ctx, `SELECT s.id, s.name, s.org_name, (SELECT sp.patient_id FROM source_patients sp
    WHERE sp.source_id = s.id AND sp.person_id = ?1 ORDER BY sp.rowid LIMIT 1) AS patient FROM sources s
WHERE s.base_url != '' AND patient IS NOT NULL ORDER BY s.id`, p.ID)
	if err != nil {
		return fmt.Errorf("sources of person: %w", err)
	}
	type target struct {
		src     Source
		patient string
	}
	var targets []target
	for rows.Next() {
		var t target
		if err := rows.Scan(&t.src.ID, &t.src.Name, &t.src.OrgName, &t.patient); err != nil {
			rows.Close()
			return err
		}
		targets = append(targets, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, t := range targets {
		if only != 0 && t.src.ID != only {
			continue
		}
		at := in
		at.PatientRef = "Patient/" + t.patient
		at.WithheldItems = nil
		for i, w := range d.State.WithheldItems {
			// Only to a source that holds a report of it: naming it to
			// one that does not would tell them what the person chose to
			// share less (a review: a sexual health clinic's diagnosis,
			// kept out, was sent to the GP by its code and words).
			if it := consentItem(w, refs[i], t.src.ID); len(it.Resources) > 0 {
				at.WithheldItems = append(at.WithheldItems, it)
			}
		}
		body, err := fhir.BuildConsent(at)
		if err != nil {
			return err
		}
		if refresh {
			// The delivery of this decision there, sent or not, goes again
			// with the Consent as it is now, if that has changed: once sent or
			// tried, as a refresh, updating the Consent it may have made. A
			// sender holding it meanwhile records nothing (its claim is gone),
			// and it goes again (a review: a try under way when the row was
			// reset made the old Consent, which the next took as delivered).
			// Only when what it names of the source's own has changed, not its
			// words or the person's name (a review: an upgrade sent many again
			// for nothing they hold).
			var queued string
			err := tx.QueryRowContext(ctx, `SELECT fhir FROM consent_outbox WHERE decision_id = ? AND source_id = ?`, d.ID, t.src.ID).Scan(&queued)
			if errors.Is(err, sql.ErrNoRows) || err == nil && namedResources(queued) == namedResources(string(body)) {
				continue
			}
			if err != nil {
				return fmt.Errorf("queue delivery again: %w", err)
			}
			_, err = tx.ExecContext(ctx, `UPDATE consent_outbox SET fhir = ?1, status = 'waiting', attempts = 0, next_attempt_at = ?2, last_error = '',
claimed_by = '', refresh = (status = 'sent' OR refresh OR attempts > 0), sent_before = (status = 'sent' OR sent_before)
WHERE decision_id = ?3 AND source_id = ?4`, string(body), now, d.ID, t.src.ID)
			if err != nil {
				return fmt.Errorf("queue delivery again: %w", err)
			}
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO consent_outbox (decision_id, person_id, source_id, source_name, patient_id, fhir, next_attempt_at)
VALUES (?, ?, ?, ?, ?, ?, ?)`, d.ID, p.ID, t.src.ID, t.src.Label(), t.patient, string(body), now); err != nil {
			return fmt.Errorf("queue delivery: %w", err)
		}
	}
	return nil
}

// namedResources is the resources a Consent's provisions name, sorted: what
// the source it goes to is asked, by its own ids, not to share.
func namedResources(consent string) string {
	var c struct {
		Provision struct {
			Provision []struct {
				Data []struct {
					Reference struct{ Reference string }
				}
			}
		}
	}
	if json.Unmarshal([]byte(consent), &c) != nil {
		return consent // unreadable: as it is, so any change sends it again
	}
	var refs []string
	for _, p := range c.Provision.Provision {
		for _, d := range p.Data {
			refs = append(refs, d.Reference.Reference)
		}
	}
	slices.Sort(refs)
	return strings.Join(refs, " ")
}

// queueLateDeliveries queues, in tx, each person's latest decision for a
// source that came to hold them after they made it (consent_catchup, noted
// as its Patient was linked to them; migration 0065), unless one was sent or
// queued there already: the choices pages say every organisation holding
// the record is sent them (a review: mental health kept out never reached
// a hospital connected later).
func (db *DB) queueLateDeliveries(ctx context.Context, tx *sql.Tx, now string) error {
	type pair struct{ person, source int64 }
	var pairs []pair
	rows, err := tx.QueryContext(ctx, `DELETE FROM consent_catchup RETURNING person_id, source_id`)
	if err != nil {
		return fmt.Errorf("choices for sources connected later: %w", err)
	}
	for rows.Next() {
		var p pair
		if err := rows.Scan(&p.person, &p.source); err != nil {
			rows.Close()
			return err
		}
		pairs = append(pairs, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, p := range pairs {
		d, err := scanDecision(tx.QueryRowContext(ctx, `SELECT `+decisionColumns+` FROM consent_decisions WHERE person_id = ? ORDER BY id DESC LIMIT 1`, p.person))
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return err
		}
		// Sent or queued there already: again only if the Consent has
		// changed since, as when the source has come to hold an entry kept
		// out (migration 0072). An older decision queued there last is
		// followed by this one.
		var last int64
		err = tx.QueryRowContext(ctx, `SELECT decision_id FROM consent_outbox WHERE person_id = ? AND source_id = ? ORDER BY id DESC LIMIT 1`, p.person, p.source).Scan(&last)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		refresh := last == d.ID
		if refresh && len(d.State.WithheldItems) == 0 {
			continue // no entry kept out, so nothing that holding one changes
		}
		person, err := db.personTx(ctx, tx, p.person)
		if err != nil {
			return err
		}
		in, refs, err := consentInput(ctx, tx, person, d)
		if err != nil {
			return err
		}
		if err := queueDeliveries(ctx, tx, person, d, in, refs, now, p.source, refresh); err != nil {
			return err
		}
	}
	return nil
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// RetryConsentDelivery asks for a delivery that was not accepted to be sent
// again at once. Only the person's own deliveries can be retried, and only
// while no later decision has been queued for that source, whether it is
// waiting, being sent, sent or refused: the later one carries every choice,
// and this one, sent after it, would reach the source last and win. The
// entry is written to the access log with the change.
func (db *DB) RetryConsentDelivery(ctx context.Context, personID, deliveryID int64, entry Access) error {
	// A carer retries only what the choices pages show them (deliveries;
	// and web shownHistory).
	if shown, forCarer, err := db.carerSources(ctx, personID); err != nil {
		return err
	} else if forCarer {
		var src int64
		err := db.db.QueryRowContext(ctx, `SELECT COALESCE(source_id, 0) FROM consent_outbox WHERE id = ? AND person_id = ?`, deliveryID, personID).Scan(&src)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("retry delivery: %w", err)
		}
		if !shown[src] {
			return Errorf(ENOTFOUND, "There is no change waiting to be sent again.")
		}
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE consent_outbox SET status = 'waiting', next_attempt_at = ?
WHERE id = ? AND person_id = ? AND status = 'failed' AND source_id IS NOT NULL
AND NOT EXISTS (SELECT 1 FROM consent_outbox l WHERE l.person_id = consent_outbox.person_id AND l.source_id = consent_outbox.source_id AND l.id > consent_outbox.id)`,
			db.stamp(), deliveryID, personID)
		if err != nil {
			return fmt.Errorf("retry delivery: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return Errorf(ENOTFOUND, "There is no change waiting to be sent again.")
		}
		return db.logTx(ctx, tx, entry)
	})
}

// OutboxItem is a delivery claimed for sending.
type OutboxItem struct {
	ID         int64
	DecisionID int64
	PersonID   int64
	Identifier string // the decision's urn:uuid
	Source     Source
	PatientID  string
	PatientIDs []string // every Patient of the person's at the source (one merged into another, say), PatientID among them
	Body       []byte   // the Consent, without id
	Attempts   int      // including this one
	// CurrentID is the person's Consent at the source from an earlier delivery,
	// to update with PUT; "" means create it (conditionally, by Identifier).
	// CurrentVersion is its version then, which the update must still find
	// there (If-Match), so a sender that lost its claim never overwrites what
	// was sent after.
	CurrentID, CurrentVersion string
	// Claim is this sender's hold on the delivery (consent_outbox.claimed_by):
	// only with it are tries renewed and results recorded.
	Claim string
	// Refresh is a decision sent again, as the Consent changed since it was
	// sent (migration 0072): the Consent that carries it is updated, not
	// taken as delivered.
	Refresh bool
}

// ConsentIdentifiers are the identifiers of the person's newest decisions,
// up to limit: a Consent the portal sent before its identifier system was
// its own is known by one of them (fhirsync outbox).
func (db *DB) ConsentIdentifiers(ctx context.Context, personID int64, limit int) ([]string, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT identifier FROM consent_decisions WHERE person_id = ? ORDER BY id DESC LIMIT ?`, personID, limit)
	if err != nil {
		return nil, fmt.Errorf("the person's decisions: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// ErrClaimLost means a delivery's claim is no longer this sender's: its lease
// ran out and another sender claimed it. Nothing was recorded.
var ErrClaimLost = errors.New("the delivery was claimed by another sender after this one's lease ran out")

// ClaimConsentOutbox claims up to limit deliveries that are due, for lease:
// a claimed delivery is not due again until the lease ends, so a pusher that
// stops half way leaves it to be sent again. Each claim names its process
// (RunnerID) and a token of its own. Deliveries to one source go in the
// order the decisions were made: a delivery waits while an earlier one to
// the same source is waiting.
func (db *DB) ClaimConsentOutbox(ctx context.Context, limit int, lease time.Duration) ([]OutboxItem, error) {
	var out []OutboxItem
	err := db.tx(ctx, func(tx *sql.Tx) error {
		now := db.now()
		if err := db.queueLateDeliveries(ctx, tx, formatTime(now)); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT o.id, o.decision_id, o.person_id, d.identifier, o.patient_id, o.fhir, o.attempts,
s.id, s.name, s.org_name, COALESCE(s.last_import_at, ''), s.base_url, s.auth_kind, s.auth_config, s.held_until,
CASE WHEN o.upstream_id != '' THEN o.upstream_id ELSE COALESCE(c.upstream_id, '') END,
CASE WHEN o.upstream_id != '' THEN o.upstream_version ELSE COALESCE(c.upstream_version, '') END,
COALESCE((SELECT group_concat(sp.patient_id, ' ') FROM source_patients sp WHERE sp.source_id = s.id AND sp.person_id = o.person_id), ''), o.refresh
FROM consent_outbox o JOIN consent_decisions d ON d.id = o.decision_id JOIN sources s ON s.id = o.source_id
LEFT JOIN consent_outbox c ON c.id = (SELECT p.id FROM consent_outbox p WHERE p.person_id = o.person_id AND p.source_id = o.source_id
  AND p.id < o.id AND p.status = 'sent' AND p.upstream_id != '' ORDER BY p.id DESC LIMIT 1)
WHERE o.status = 'waiting' AND o.next_attempt_at <= ? AND s.base_url != ''
AND NOT EXISTS (SELECT 1 FROM consent_outbox e WHERE e.person_id = o.person_id AND e.source_id = o.source_id AND e.id < o.id AND e.status = 'waiting')
ORDER BY o.next_attempt_at, o.id LIMIT ?`, formatTime(now), limit)
		if err != nil {
			return fmt.Errorf("claim deliveries: %w", err)
		}
		for rows.Next() {
			var it OutboxItem
			var body, cfg, held, patients string
			if err := rows.Scan(&it.ID, &it.DecisionID, &it.PersonID, &it.Identifier, &it.PatientID, &body, &it.Attempts,
				&it.Source.ID, &it.Source.Name, &it.Source.OrgName, &it.Source.LastImportAt, &it.Source.BaseURL, &it.Source.AuthKind, &cfg, &held,
				&it.CurrentID, &it.CurrentVersion, &patients, &it.Refresh); err != nil {
				rows.Close()
				return err
			}
			it.PatientIDs = strings.Fields(patients)
			it.Body = []byte(body)
			it.Source.HeldUntil = parseTime(held) // zero for none
			if err := json.Unmarshal([]byte(cfg), &it.Source.AuthConfig); err != nil {
				rows.Close()
				return fmt.Errorf("source %s: auth config: %w", it.Source.Name, err)
			}
			it.Attempts++
			out = append(out, it)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		by := RunnerID("consent sender")
		for i := range out {
			out[i].Claim = "claim " + randomToken() + " by " + by
			if _, err := tx.ExecContext(ctx, `UPDATE consent_outbox SET attempts = ?, last_attempt_at = ?, next_attempt_at = ?, claimed_by = ? WHERE id = ?`,
				out[i].Attempts, formatTime(now), formatTime(now.Add(lease)), out[i].Claim, out[i].ID); err != nil {
				return fmt.Errorf("claim delivery: %w", err)
			}
		}
		return nil
	})
	return out, err
}

// RenewConsentClaim gives a claimed delivery a new lease, from now, before
// it is sent, and reports whether the claim is still this sender's: a
// delivery waiting in a batch behind slow ones may have outlived its lease
// and been claimed by another sender, and is then left to it.
func (db *DB) RenewConsentClaim(ctx context.Context, it OutboxItem, lease time.Duration) (bool, error) {
	var held bool
	err := db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE consent_outbox SET next_attempt_at = ? WHERE id = ? AND claimed_by = ? AND status = 'waiting'`,
			formatTime(db.now().Add(lease)), it.ID, it.Claim)
		if err != nil {
			return fmt.Errorf("renew the claim of delivery %d: %w", it.ID, err)
		}
		n, _ := res.RowsAffected()
		held = n == 1
		return nil
	})
	return held, err
}

// ReleaseConsentClaims makes due now every waiting delivery claimed by a
// process that has stopped, which would otherwise wait for its lease (15
// minutes) to end; with waitingToo, every waiting delivery no running
// process holds, so ones waiting out a back-off get one try at once. A
// pusher calls it with waitingToo when it starts, and without in each round,
// so a `portal outbox push` stopped half way holds nothing up for long. A
// delivery another process is sending is left to it.
func (db *DB) ReleaseConsentClaims(ctx context.Context, waitingToo bool) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		now := formatTime(db.now())
		claimed := ""
		if !waitingToo {
			claimed = ` AND claimed_by <> ''`
		}
		rows, err := tx.QueryContext(ctx, `SELECT id, claimed_by FROM consent_outbox WHERE status = 'waiting' AND next_attempt_at > ?`+claimed, now)
		if err != nil {
			return err
		}
		var free []int64
		for rows.Next() {
			var id int64
			var by string
			if err := rows.Scan(&id, &by); err != nil {
				rows.Close()
				return err
			}
			if by == "" || runnerGone(by) {
				free = append(free, id)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, id := range free {
			if _, err := tx.ExecContext(ctx, `UPDATE consent_outbox SET next_attempt_at = ?, claimed_by = '' WHERE id = ?`, now, id); err != nil {
				return err
			}
		}
		return nil
	})
}

// ConsentDelivered records that the source accepted the delivery as its
// resource id and version. It returns ErrClaimLost, recording nothing, when
// the claim is no longer the sender's.
func (db *DB) ConsentDelivered(ctx context.Context, it OutboxItem, upstreamID, version string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE consent_outbox SET status = 'sent', sent_at = ?, last_error = '', upstream_id = ?, upstream_version = ?, claimed_by = ''
WHERE id = ? AND claimed_by = ?`, db.stamp(), upstreamID, version, it.ID, it.Claim)
		return claimHeld(res, err)
	})
}

// ConsentNotDelivered records a failed try: with retryAt set it is tried
// again then; with a zero retryAt the source refused it, and it waits for
// the person to retry. It returns ErrClaimLost, recording nothing, when the
// claim is no longer the sender's.
func (db *DB) ConsentNotDelivered(ctx context.Context, it OutboxItem, reason string, retryAt time.Time) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		var res sql.Result
		var err error
		if retryAt.IsZero() {
			res, err = tx.ExecContext(ctx, `UPDATE consent_outbox SET status = 'failed', last_error = ?, claimed_by = '' WHERE id = ? AND claimed_by = ?`, reason, it.ID, it.Claim)
		} else {
			res, err = tx.ExecContext(ctx, `UPDATE consent_outbox SET status = 'waiting', last_error = ?, next_attempt_at = ?, claimed_by = '' WHERE id = ? AND claimed_by = ?`,
				reason, formatTime(retryAt), it.ID, it.Claim)
		}
		return claimHeld(res, err)
	})
}

// claimHeld is ErrClaimLost when an update by claim changed no row.
func claimHeld(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrClaimLost
	}
	return nil
}

// ConsentOutboxCounts counts deliveries by status, for the command line and tests.
func (db *DB) ConsentOutboxCounts(ctx context.Context) (map[string]int, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT CASE WHEN status = 'waiting' AND source_id IS NULL THEN '`+DeliveryOrphaned+`' ELSE status END, COUNT(*)
FROM consent_outbox GROUP BY 1`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		out[s] = n
	}
	return out, rows.Err()
}

// SetSourceOrg sets the organisation people see the source as (Label),
// keeping everything cached from it.
func (db *DB) SetSourceOrg(ctx context.Context, name, org string) error {
	res, err := db.db.ExecContext(ctx, `UPDATE sources SET org_name = ? WHERE name = ?`, org, name)
	if err != nil {
		return fmt.Errorf("set source organisation: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Errorf(ENOTFOUND, "There is no source called %q.", name)
	}
	return nil
}

// SetSourceSocialCare marks a source as a social care service (or not):
// everything it sends then counts as social care. The persons it holds are
// queued for their duplicates to be worked out again, which
// FinishStalledBulkLoad does (portal source social-care runs it at once).
func (db *DB) SetSourceSocialCare(ctx context.Context, name string, social bool) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		var was bool
		if err := tx.QueryRowContext(ctx, `SELECT social_care FROM sources WHERE name = ?`, name).Scan(&was); errors.Is(err, sql.ErrNoRows) {
			return Errorf(ENOTFOUND, "There is no source called %q.", name)
		} else if err != nil {
			return err
		}
		if was == social {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE sources SET social_care = ? WHERE name = ?`, social, name); err != nil {
			return err
		}
		// Which report stands for a fact the source shares with another depends on
		// it (store/dedup.go): its persons are queued, as a bulk load's are, and
		// worked out a part per transaction (FinishStalledBulkLoad), not all in
		// this one, which could hold the write lock for minutes for a region.
		_, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO dedup_backlog (person_id) SELECT DISTINCT person_id FROM record_items
WHERE source_id = (SELECT id FROM sources WHERE name = ?) AND person_id IS NOT NULL`, name)
		return err
	})
}

// withheldRule is an SQL condition over record_items ri that is true for the
// person's entries kept out of sharing, with its arguments; cond is "" when
// nothing is kept out.
type withheldRule struct {
	cond   string
	args   []any
	ids    []int64 // the entries themselves
	chosen []int64 // of those, the ones kept out one by one, sorted
	others []int64 // and those kept out by another choice (a kind, or an entry they name), sorted
}

func (db *DB) withheldRule(ctx context.Context, personID int64) (withheldRule, error) {
	st, err := consentState(ctx, db.db, personID)
	if err != nil {
		return withheldRule{}, err
	}
	ids, chosen, others, err := withheldIDs(ctx, db.db, personID, st)
	if err != nil || len(ids) == 0 {
		return withheldRule{}, err
	}
	list, _ := json.Marshal(ids)
	return withheldRule{cond: `ri.id IN (SELECT value FROM json_each(?))`, args: []any{string(list)}, ids: ids, chosen: chosen, others: others}, nil
}

// carerRule is withheldRule when ctx reads for a carer (worked out once per
// ctx, see ForCarer), and no rule otherwise.
func (db *DB) carerRule(ctx context.Context, personID int64) (withheldRule, error) {
	reads, ok := ctx.Value(forCarerKey{}).(carerReads)
	if !ok {
		return withheldRule{}, nil
	}
	reads.rules.mu.Lock()
	defer reads.rules.mu.Unlock()
	if r, ok := reads.rules.byPerson[personID]; ok {
		return r, nil
	}
	r, err := db.withheldRule(ctx, personID)
	if err == nil {
		reads.rules.byPerson[personID] = r
	}
	return r, err
}

// consentState is the person's choices as they stand: the latest decision's
// state, else the newest Consent a source holds, else the default. Two
// indexed look-ups at most, so every page of the record can afford it.
func consentState(ctx context.Context, q querier, personID int64) (ConsentState, error) {
	var state string
	err := q.QueryRowContext(ctx, `SELECT state FROM consent_decisions WHERE person_id = ? ORDER BY id DESC LIMIT 1`, personID).Scan(&state)
	switch {
	case err == nil:
		var st ConsentState
		if err := json.Unmarshal([]byte(state), &st); err != nil {
			return st, fmt.Errorf("consent state: %w", err)
		}
		return st, nil
	case !errors.Is(err, sql.ErrNoRows):
		return ConsentState{}, fmt.Errorf("consent state: %w", err)
	}
	up, err := upstreamConsent(ctx, q, personID)
	if err != nil {
		return ConsentState{}, err
	}
	return startingState(up), nil
}

// withheldIDs finds the person's entries kept out of sharing by index
// look-ups only: each sensitive code is sought in each section (prefixes as
// ranges), each kept-out entry by its key. A carer's pages then leave out a
// short list of ids, instead of classifying every entry they read.
// chosen are those of them kept out one by one, by their own key: the
// person's pages offer to share those again, and say of the rest that
// another choice keeps them out.
func withheldIDs(ctx context.Context, q querier, personID int64, st ConsentState) (ids, chosen, others []int64, err error) {
	var parts []string
	var args []any
	var dedupKeys []any
	keys := make([]string, 0, len(st.WithheldItems))
	for _, it := range st.WithheldItems {
		keys = append(keys, it.Key)
	}
	// A fact kept out by a key a re-read changed is kept out by its new one
	// (key_aliases, migration 0048), looked up as any kept-out key is.
	aliases, err := aliasesOf(ctx, q, personID, keys)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, key := range append(keys, aliases...) {
		var src int64
		var typ, id string
		if rest, ok := strings.CutPrefix(key, "item:"); ok {
			if n, err := fmt.Sscanf(rest, "%d/", &src); n == 1 && err == nil {
				if t, i, ok := strings.Cut(strings.SplitN(rest, "/", 2)[1], "/"); ok {
					typ, id = t, i
				}
			}
			id, part, _ := strings.Cut(id, "#") // itemKey
			parts = append(parts, `SELECT id FROM record_items WHERE source_id = ? AND resource_type = ? AND resource_id = ? AND person_id = ? AND dedup_key = '' AND part = ?`)
			args = append(args, src, typ, id, personID, part)
			continue
		}
		dedupKeys = append(dedupKeys, key)
	}
	// An entry kept out by a key it has since lost (held_keys, migration 0027) stays out.
	if len(st.WithheldItems) > 0 {
		parts = append(parts, `SELECT h.item_id FROM held_keys h JOIN record_items ri ON ri.id = h.item_id AND ri.person_id = h.person_id
WHERE h.person_id = ? AND h.key IN (?`+strings.Repeat(", ?", len(st.WithheldItems)-1)+`)`)
		args = append(args, personID)
		for _, it := range st.WithheldItems {
			args = append(args, it.Key)
		}
	}
	if len(dedupKeys) > 0 {
		parts = append(parts, `SELECT id FROM record_items WHERE person_id = ? AND dedup_key IN (?`+strings.Repeat(", ?", len(dedupKeys)-1)+`)`)
		args = append(append(args, personID), dedupKeys...)
	}
	var out []int64
	if len(parts) > 0 {
		// The entries kept out one by one, then those whose reason is one of
		// them (reasonIsKeptOut): a visit's "Reason: …" names it (a review: a
		// carer read a diagnosis kept out on the visit for it, in search and
		// in the download). In two steps, each off its indexes: the first as
		// a subquery of the second took a carer's page from 4 to 20 ms.
		kept, err := idsOf(ctx, q, strings.Join(parts, "\nUNION "), args...)
		if err != nil {
			return nil, nil, nil, err
		}
		list, _ := json.Marshal(kept)
		named, err := idsOf(ctx, q, reasonIsKeptOut, string(list), personID)
		if err != nil {
			return nil, nil, nil, err
		}
		same, err := idsOf(ctx, q, sameHeldFact, string(list), personID)
		if err != nil {
			return nil, nil, nil, err
		}
		named = append(named, same...)
		chosen = slices.Clone(kept)
		slices.Sort(chosen)
		others = append(others, named...)
		parts, args, out = nil, nil, append(kept, named...)
	}
	if len(st.Withheld) > 0 {
		var cats, secs []any
		for _, c := range st.Withheld {
			cats = append(cats, c)
		}
		for _, s := range fhir.Sections() {
			secs = append(secs, s.Slug)
		}
		in := func(n int) string { return `(?` + strings.Repeat(", ?", n-1) + `)` }
		for _, match := range codeMatches("ri.code") {
			parts = append(parts, `SELECT ri.id FROM sensitive_codes sc CROSS JOIN record_items ri
WHERE sc.category IN `+in(len(cats))+` AND ri.person_id = ? AND ri.section IN `+in(len(secs))+` AND ri.code_system = sc.system AND `+match)
			args = append(append(append(args, cats...), personID), secs...)
		}
		// An entry any other of whose own codes is of the kind (fhir ownCodes,
		// otherCodes), or of its medicine's Medication (fhir Named.Codes), and
		// every other source's report of its fact, which says what it is too
		// (a review: the GP's Fluoxetine reached a carer as only the
		// hospital's gave its RxNorm code).
		for _, match := range codeMatches("r.code") {
			parts = append(parts, `SELECT p.id FROM sensitive_codes sc JOIN record_item_reasons r ON r.system IN ('own:' || sc.system, 'med:' || sc.system, 'any:' || sc.system) AND `+match+`
JOIN record_items ri ON ri.id = r.item_id
JOIN record_items p ON p.person_id = ri.person_id AND (p.id = ri.id OR (ri.dedup_key != '' AND p.dedup_key = ri.dedup_key))
WHERE sc.category IN `+in(len(cats))+` AND ri.person_id = ? AND ri.section IN `+in(len(secs)))
			args = append(append(append(args, cats...), personID), secs...)
		}
		// An entry whose reason is of the kind (fhir.Item.Reasons), looked up
		// by code as the entry's own code is.
		for _, match := range codeMatches("r.code") {
			parts = append(parts, `SELECT ri.id FROM sensitive_codes sc JOIN record_item_reasons r ON r.system = sc.system AND `+match+`
JOIN record_items ri ON ri.id = r.item_id WHERE sc.category IN `+in(len(cats))+` AND ri.person_id = ?`)
			args = append(append(args, cats...), personID)
		}
		if st.Withholds(CategorySocialCare) {
			parts = append(parts, `SELECT id FROM record_items WHERE person_id = ? AND source_id IN (SELECT id FROM sources WHERE social_care = 1)`)
			args = append(args, personID)
		}
	}
	if len(parts) > 0 {
		more, err := idsOf(ctx, q, strings.Join(parts, "\nUNION ALL "), args...) // made unique below
		if err != nil {
			return nil, nil, nil, err
		}
		out = append(out, more...)
		others = append(others, more...)
	}
	slices.Sort(out)
	out = slices.Compact(out)
	// Then every entry that gives one of those as its reason by reference
	// at the same source ("ref|" and the reference: a visit or a
	// prescription for a diagnosis), and so on down a chain (a visit for a
	// therapy for a depression), whyever the one it gives is kept out (a
	// review: a visit for a therapy kept out for its reason). Any other
	// reference to one is masked in a carer's download (fhir.MaskRefs).
	for frontier := out; len(frontier) > 0; {
		list, _ := json.Marshal(frontier)
		all, _ := json.Marshal(out)
		naming, err := idsOf(ctx, q, namesOneOf, string(list), string(all))
		if err != nil {
			return nil, nil, nil, err
		}
		elsewhere, err := namedAtOtherSources(ctx, q, string(list), string(all))
		if err != nil {
			return nil, nil, nil, err
		}
		naming = append(naming, elsewhere...)
		frontier = nil
		others = append(others, naming...)
		for _, id := range naming {
			if i, found := slices.BinarySearch(out, id); !found {
				out = slices.Insert(out, i, id)
				frontier = append(frontier, id)
			}
		}
	}
	slices.Sort(others)
	return out, chosen, slices.Compact(others), nil
}

// reasonIsKeptOut selects the person's (?2) entries whose reason is one of
// the entries ?1 lists (ids, kept out one by one): by its code, and by any
// of the codes its resource gives for what it is, not only the first (a
// review: a diagnosis kept out by its SNOMED CT code was named by a visit's
// ICD-10 reason), read only from the small resources a reason names (a
// diagnosis, procedure, finding or allergy: a letter's JSON may hold a PDF,
// and every page pays for this), each code once, as two sources' reports of
// a fact share theirs (withheldIDs then adds those naming it by reference).
// CROSS JOIN
// keeps the kept-out list the outer loop: else SQLite read every reason
// given by reference against it (a review: 600 ms for 500 entries kept out).
// An allergy's reactions are no reason here, nor anywhere: an allergy is
// never hidden for what it caused.
const reasonIsKeptOut = `SELECT r.item_id FROM (
    SELECT k.code_system AS system, k.code AS code, k.person_id AS person FROM json_each(?1) e CROSS JOIN record_items k ON k.id = e.value
    WHERE k.code != ''
    UNION
    SELECT json_extract(cd.value, '$.system'), json_extract(cd.value, '$.code'), k.person_id FROM json_each(?1) e
    CROSS JOIN record_items k ON k.id = e.value AND k.resource_type IN ('Condition', 'Procedure', 'Observation', 'AllergyIntolerance')
    ` + codeCodings + `
) c
CROSS JOIN record_item_reasons r ON r.system = c.system AND r.code = c.code
CROSS JOIN record_items ri ON ri.id = r.item_id AND ri.person_id = c.person
WHERE c.person = ?2`

// codeCodings joins to each entry k its resource's code's codings, cd, as
// objects with a code (one written otherwise is left out: only a JSON
// object reaches the JSON functions).
const codeCodings = `CROSS JOIN resources res ON res.source_id = k.source_id AND res.type = k.resource_type AND res.id = k.resource_id
    CROSS JOIN json_each(CASE WHEN json_valid(CAST(res.json AS TEXT)) THEN CAST(res.json AS TEXT) ELSE '{}' END, '$.code.coding') cd
    WHERE json_type(CASE WHEN json_valid(CAST(res.json AS TEXT)) THEN CAST(res.json AS TEXT) ELSE '{}' END, '$.code.coding') = 'array'
    AND cd.type = 'object' AND json_type(cd.value, '$.code') = 'text'`

// sameHeldFact selects the person's (?2) allergies and conditions that are
// one of the entries ?1 lists (ids, kept out one by one) as another source
// reports it: of the same part of the record, first coded, or coding what
// it is (fhir ownCodes), as one of the codings of what the kept-out entry
// is (its resource's code). Reports of one fact are one entry only when
// their first codes agree (dedupKey), so a hospital's pregnancy coded in
// ICD-10 first and SNOMED CT second stayed shared when the GP's, in SNOMED
// CT, was kept out (a review). Never by a code found anywhere else in them
// ("any:", fhir withEveryCoding): a severity or a body site is shared by
// unrelated entries (a review: every other condition coded Severe went).
// Not results or visits: two of the same test or kind of visit are two facts.
// Not the kept-out entry itself, which its own codes would find: it would
// read as kept out by another choice too (a review: no "Share it again").
const sameHeldFact = `WITH k AS (SELECT k.* FROM json_each(?1) e CROSS JOIN record_items k ON k.id = e.value
    WHERE k.section IN ` + heldFacts + `),
c AS (SELECT k.id AS kid, k.section, k.code_system AS system, k.code AS code FROM k WHERE k.code != ''
    UNION
    SELECT k.id, k.section, json_extract(cd.value, '$.system'), json_extract(cd.value, '$.code') FROM k
    ` + codeCodings + ` AND json_type(cd.value, '$.system') = 'text')
SELECT ri.id FROM c CROSS JOIN record_items ri ON ri.person_id = ?2 AND ri.section = c.section AND ri.code_system = c.system AND ri.code = c.code AND ri.id != c.kid
UNION
SELECT ri.id FROM c CROSS JOIN record_item_reasons r ON r.system = 'own:' || c.system AND r.code = c.code
CROSS JOIN record_items ri ON ri.id = r.item_id AND ri.person_id = ?2 AND ri.section = c.section AND ri.id != c.kid`

// namesOneOf selects the entries that name one of the entries ?1 lists
// (ids) by reference as what they are for or about, at the same source
// (fhir.EntryRefs), the list the outer loop: by its type and id, by a
// bundle's "urn:uuid:" and its id, or by the address its bundle gave it
// (bundle_urls). Only when its resource is kept out whole (?2 lists every
// entry kept out): one member of a care team kept out keeps out nothing the
// team did (a review found a carer losing a current insulin so).
const namesOneOf = keptOutWhole + `
SELECT r.item_id FROM k
CROSS JOIN record_item_reasons r ON r.system = 'ref' AND r.code IN (k.resource_type || '/' || k.resource_id, 'urn:uuid:' || k.resource_id)
CROSS JOIN record_items ri ON ri.id = r.item_id AND ri.person_id = k.person_id AND ri.source_id = k.source_id
UNION ALL
SELECT r.item_id FROM k
CROSS JOIN bundle_urls b ON b.source_id = k.source_id AND b.type = k.resource_type AND b.id = k.resource_id
CROSS JOIN record_item_reasons r ON r.system = 'ref' AND r.code = b.url
CROSS JOIN record_items ri ON ri.id = r.item_id AND ri.person_id = k.person_id AND ri.source_id = k.source_id`

// keptOutWhole is k, the entries ?1 lists whose resource is kept out whole
// (?2 lists every entry kept out).
const keptOutWhole = `WITH k AS (SELECT k.* FROM json_each(?1) e CROSS JOIN record_items k ON k.id = e.value
    WHERE NOT EXISTS (SELECT 1 FROM record_items o WHERE o.source_id = k.source_id AND o.resource_type = k.resource_type
        AND o.resource_id = k.resource_id AND o.id NOT IN (SELECT value FROM json_each(?2))))`

// namedAtOtherSources selects, as namesOneOf does, the person's entries at
// other sources that name one of the entries ?1 lists by its address at its
// own source's server, however that is written (fhir.LocalRef): a hospital's
// report giving the GP's kept-out test among its results (a review found its
// pages showing it). The importer keeps such a reference whole, keyed by its
// "Type/id" (crossRef), which finds it here; whose it is is told in Go.
func namedAtOtherSources(ctx context.Context, q querier, list, all string) ([]int64, error) {
	rows, err := q.QueryContext(ctx, keptOutWhole+`
SELECT r.item_id, substr(r.code, instr(r.code, ' ') + 1), s.base_url, k.resource_type || '/' || k.resource_id FROM k
CROSS JOIN sources s ON s.id = k.source_id AND s.base_url != ''
CROSS JOIN record_item_reasons r ON r.system = 'xref' AND r.code > k.resource_type || '/' || k.resource_id || ' '
    AND r.code < k.resource_type || '/' || k.resource_id || '!'
CROSS JOIN record_items ri ON ri.id = r.item_id AND ri.person_id = k.person_id AND ri.source_id != k.source_id`, list, all)
	if err != nil {
		return nil, fmt.Errorf("withheld entries: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		var ref, base, named string
		if err := rows.Scan(&id, &ref, &base, &named); err != nil {
			return nil, err
		}
		if fhir.LocalRef(ref, base) == named {
			out = append(out, id)
		}
	}
	return out, rows.Err()
}

// idsOf runs query, which selects ids.
func idsOf(ctx context.Context, q querier, query string, args ...any) ([]int64, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("withheld entries: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// codeMatches are the SQL conditions, one for codes listed whole and one
// for codes listed by prefix, under which column col holds sensitive code
// sc, in the forms an index on col can answer: for whole records
// (withheldIDs), each a query of its own joined by UNION.
func codeMatches(col string) []string {
	return []string{
		`sc.prefix = 0 AND ` + col + ` = sc.code`,
		`sc.prefix = 1 AND ` + col + ` >= sc.code AND ` + col + ` < sc.code || char(1114111)`,
	}
}

// carerFilter is an SQL condition over record_items ri, " AND …", that
// leaves out, when ctx reads for a carer, the person's withheld entries and
// those in sections the grant leaves out; else "".
func (db *DB) carerFilter(ctx context.Context, personID int64) (string, []any, error) {
	reads, ok := ctx.Value(forCarerKey{}).(carerReads)
	if !ok {
		return "", nil, nil
	}
	var cond string
	var args []any
	if reads.scopes != nil {
		list, _ := json.Marshal(reads.scopes)
		cond, args = ` AND ri.section IN (SELECT value FROM json_each(?))`, []any{string(list)}
	}
	r, err := db.carerRule(ctx, personID)
	if err != nil || r.cond == "" {
		return cond, args, err
	}
	return cond + " AND NOT " + r.cond, append(args, r.args...), nil
}

// markWithheld sets Withheld on the person's items that are kept out of sharing, for their own pages.
func (db *DB) markWithheld(ctx context.Context, personID int64, items []RecordItem) error {
	if len(items) == 0 || IsForCarer(ctx) {
		return nil // a carer's reads have left them out already
	}
	// The entries a carer's reads leave out, by the one rule (withheldIDs).
	r, err := db.withheldRule(ctx, personID)
	if err != nil || len(r.ids) == 0 {
		return err
	}
	withheld := make(map[int64]bool, len(r.ids))
	for _, id := range r.ids {
		withheld[id] = true
	}
	for i := range items { // by field, not by copy: withSourcesAndLabels sets Sources meanwhile
		items[i].Withheld = withheld[items[i].ID]
		_, chosen := slices.BinarySearch(r.chosen, items[i].ID)
		_, other := slices.BinarySearch(r.others, items[i].ID)
		items[i].WithheldChosen = items[i].Withheld && chosen
		items[i].WithheldWithOther = items[i].Withheld && (other || !chosen)
	}
	return nil
}

// ConsentDecision returns one of the person's decisions with its deliveries.
func (db *DB) ConsentDecision(ctx context.Context, personID, id int64) (ConsentDecision, error) {
	d, err := scanDecision(db.db.QueryRowContext(ctx, `SELECT `+decisionColumns+` FROM consent_decisions WHERE id = ? AND person_id = ?`, id, personID))
	if errors.Is(err, sql.ErrNoRows) {
		return d, Errorf(ENOTFOUND, "There is no such change to your choices.")
	}
	if err != nil {
		return d, fmt.Errorf("read decision: %w", err)
	}
	shown, _, err := db.carerSources(ctx, personID)
	if err != nil {
		return d, err
	}
	d.Deliveries, err = db.deliveries(ctx, personID, []int64{id}, shown)
	return d, err
}

// resourceKey names a cached resource.
type resourceKey struct {
	sourceID int64
	typ, id  string
}

// withheldResources is, when ctx reads for a carer, every cached resource
// behind an entry the person keeps out of sharing; nil otherwise.
func (db *DB) withheldResources(ctx context.Context, personID int64) (map[resourceKey]bool, error) {
	r, err := db.carerRule(ctx, personID)
	if err != nil || r.cond == "" {
		return nil, err
	}
	return db.resourcesOfItems(ctx, r.cond, append([]any{personID}, r.args...)...)
}

// resourcesOfItems is every cached resource that the record items ri where
// selects come from (its first argument is the person).
func (db *DB) resourcesOfItems(ctx context.Context, where string, args ...any) (map[resourceKey]bool, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT DISTINCT ri.source_id, ri.resource_type, ri.resource_id FROM record_items ri WHERE ri.person_id = ? AND `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("resources of entries: %w", err)
	}
	defer rows.Close()
	out := map[resourceKey]bool{}
	for rows.Next() {
		var k resourceKey
		if err := rows.Scan(&k.sourceID, &k.typ, &k.id); err != nil {
			return nil, err
		}
		out[k] = true
	}
	return out, rows.Err()
}

// withheldResults is the date and value ("date|value") of each of the test's
// results that r (carerRule: none unless ctx reads for a carer) keeps out,
// within tx. filter and args pick the test as sameTest does.
func withheldResults(ctx context.Context, tx *sql.Tx, r withheldRule, filter string, args []any) (map[string]bool, error) {
	if r.cond == "" {
		return nil, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT ri.date, ri.value FROM record_items ri WHERE ri.person_id = ?`+filter+` AND `+r.cond, append(append([]any{}, args...), r.args...)...)
	if err != nil {
		return nil, fmt.Errorf("withheld results: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var d, v string
		if err := rows.Scan(&d, &v); err != nil {
			return nil, err
		}
		out[d+"|"+v] = true
	}
	return out, rows.Err()
}

// ItemLabelByKey names the person's entry with that key (see ItemKey) and
// its section, or says there is none: a key never names another person's
// entry, nor, when ctx reads for a carer, one kept out of sharing (keys are
// made of codes, so telling which exist would tell what the record holds).
func (db *DB) ItemLabelByKey(ctx context.Context, personID int64, key string) (RecordItem, error) {
	notFound := Errorf(ENOTFOUND, "There is no such entry in this record.")
	// Keys are made of codes: a carer is never told an entry once had one.
	refs, err := itemRefs(ctx, db.db, personID, key, !IsForCarer(ctx))
	if err != nil {
		return RecordItem{}, err
	}
	if len(refs) == 0 {
		return RecordItem{}, notFound
	}
	rule, err := db.carerRule(ctx, personID)
	if err != nil {
		return RecordItem{}, err
	}
	for _, r := range refs {
		if !slices.Contains(rule.ids, r.ItemID) { // the first report the reader may see
			return r.item(), nil
		}
	}
	return RecordItem{}, notFound
}

// withheldItemIDs is, when ctx reads for a carer, the ids of the person's
// entries kept out of sharing; nil otherwise. Search leaves them out of its matches.
func (db *DB) withheldItemIDs(ctx context.Context, personID int64) (map[int64]bool, error) {
	r, err := db.carerRule(ctx, personID)
	if err != nil || len(r.ids) == 0 {
		return nil, err
	}
	out := make(map[int64]bool, len(r.ids))
	for _, id := range r.ids {
		out[id] = true
	}
	return out, nil
}

// KeptOutKeyOf is the key the person's entry (item) is kept out of sharing
// by: its key now, or one it had when it was kept out, before upstream
// changed it (held_keys); its key now when it is not kept out. The entry's
// page asks about that key, to keep it out or share it again.
func (db *DB) KeptOutKeyOf(ctx context.Context, personID int64, it RecordItem) (string, error) {
	key := ItemKey(it)
	st, err := consentState(ctx, db.db, personID)
	if err != nil || st.WithholdsItem(key) {
		return key, err
	}
	held, err := heldKeys(ctx, db.db, personID, it.ID)
	if err != nil {
		return "", err
	}
	for _, k := range held {
		if st.WithholdsItem(k) {
			return k, nil
		}
	}
	return key, nil
}

// aliasesOf are the keys a re-read gave the person's facts kept out by any
// of keys (key_aliases, migration 0048).
func aliasesOf(ctx context.Context, q querier, personID int64, keys []string) ([]string, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	list, _ := json.Marshal(keys)
	return keysFrom(ctx, q, `SELECT DISTINCT new_key FROM key_aliases WHERE person_id = ? AND old_key IN (SELECT value FROM json_each(?)) ORDER BY new_key`, personID, string(list))
}

// keysFrom is the one column of keys query gives.
func keysFrom(ctx context.Context, q querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read kept-out keys: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// heldKeys are the keys the person's item had before upstream changed it,
// kept because the person kept the entry out of sharing by them (held_keys),
// and those its fact had before a re-read gave it the key it has now
// (key_aliases).
func heldKeys(ctx context.Context, q querier, personID, itemID int64) ([]string, error) {
	return keysFrom(ctx, q, `SELECT h.key FROM held_keys h JOIN record_items ri ON ri.id = h.item_id AND ri.person_id = h.person_id
WHERE h.item_id = ?1 AND h.person_id = ?2
UNION SELECT a.old_key FROM key_aliases a JOIN record_items ri ON ri.id = ?1 AND ri.person_id = a.person_id
WHERE a.person_id = ?2 AND a.new_key = `+itemKeySQL+` ORDER BY 1`, itemID, personID)
}

// allHeldOut reports whether every one of the reports is kept out of sharing
// by a key it had before upstream changed it (held_keys).
func allHeldOut(ctx context.Context, q querier, personID int64, items []itemRef, st ConsentState) (bool, error) {
	for _, it := range items {
		held, err := heldKeys(ctx, q, personID, it.ItemID)
		if err != nil {
			return false, err
		}
		if !slices.ContainsFunc(held, st.WithholdsItem) {
			return false, nil
		}
	}
	return len(items) > 0, nil
}

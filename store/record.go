package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/mycarerecord/portal/store/fhir"
)

// Person is a citizen whose record the portal holds.
type Person struct {
	ID        int64
	Prefix    string
	Given     string
	Family    string
	BirthDate string // YYYY-MM-DD
	NHSNumber string // ten digits, or "" when unknown
}

// Name is the person's name as written on a letter, e.g. "Mrs Jane Example".
// A title is written without a full stop, in NHS style ("Mr." is "Mr", as
// US systems such as Synthea write it; a review of real records).
func (p Person) Name() string {
	return strings.Join(strings.Fields(fhir.PlainTitles(p.Prefix)+" "+p.Given+" "+p.Family), " ")
}

// FormattedNHSNumber writes the NHS number in the 3-3-4 groups people know, e.g. "943 476 5919".
func (p Person) FormattedNHSNumber() string {
	n := p.NHSNumber
	if len(n) != 10 {
		return n
	}
	return n[:3] + " " + n[3:6] + " " + n[6:]
}

// Source is where part of a record came from.
type Source struct {
	ID           int64
	Name         string
	OrgName      string // the organisation people see, e.g. "Leeds Teaching Hospitals"
	LastImportAt string
	BaseURL      string            // the FHIR server, or "" for a set of imported files
	AuthKind     string            // none, bearer or smart-backend
	AuthConfig   map[string]string // where the secrets are (file paths, environment variable names), never the secrets
	SocialCare   bool              // a social care service: all it sends counts as social care (SetSourceSocialCare)
	HeldUntil    time.Time         // it asked not to be called before then (HoldSource); zero for never
}

// Label is what pages show for the source: its organisation, or its name when none is set.
func (s Source) Label() string {
	if s.OrgName != "" {
		return s.OrgName
	}
	return s.Name
}

// RecordItem is one thing in a person's record as the pages show it.
type RecordItem struct {
	ID           int64
	Section      string
	ResourceType string
	ResourceID   string
	CodeSystem   string
	Code         string
	Display      string
	Date         string // ISO 8601 date or date-time, or ""
	Status       string
	Value        string
	Organisation string // named in the resource, e.g. a performer; may be ""
	Detail       string
	Source       Source   // the source whose report is shown
	Sources      []Source // every source that reported the same fact, the shown one first
	DedupKey     string
	Part         string // what it is within its resource, when that gives several (fhir.Item.Part)
	// Withheld: the person keeps this out of sharing (see ConsentState). Set on
	// the person's own pages; a carer's reads leave such items out altogether.
	Withheld bool
	// WithheldChosen: kept out by a choice about it alone, which "Share it
	// again" undoes. WithheldWithOther: kept out by another choice too, or
	// only (a kind kept out, or an entry it names): sharing it again alone
	// does not share it (reviews: "Share it again" on such an entry changed
	// nothing, and once said it was shared).
	WithheldChosen, WithheldWithOther bool
	// PrescribedSince: a medicine prescribed again later, so this prescription
	// is not the one that holds now, whatever status it still carries (a repeat
	// prescription's earlier issues often stay "active" upstream). Set on the
	// medicines page.
	PrescribedSince bool
}

// SourceLabels names every source that reported the item, e.g. "Leeds Teaching Hospitals, Meanwood Group Practice".
func (it RecordItem) SourceLabels() string {
	if len(it.Sources) == 0 {
		return it.Source.Label()
	}
	labels := make([]string, len(it.Sources))
	for i, s := range it.Sources {
		labels[i] = s.Label()
	}
	return strings.Join(labels, ", ")
}

// SectionPage is one page of a record section.
type SectionPage struct {
	Section fhir.Section
	Items   []RecordItem
	Total   int
	Page    int // from 1
	PerPage int
}

// Pages is the number of pages the section fills.
func (p SectionPage) Pages() int {
	if p.PerPage <= 0 || p.Total == 0 {
		return 1
	}
	return (p.Total + p.PerPage - 1) / p.PerPage
}

// Summary is the first page of a person's record.
type Summary struct {
	Counts        map[string]int // by section slug
	Allergies     []RecordItem
	Medicines     []RecordItem
	Conditions    []RecordItem
	RecentResults []RecordItem
	// More says, by section slug, that the list holds only the most recent of
	// its current items: more are current than the summary shows.
	More map[string]bool
	// Unshown is what the record holds that no page shows, by kind (none
	// for a carer).
	Unshown []UnshownKind
	Sources []Source
	// Updated is, by source id, when the source last brought this person's
	// record up to date: its last good sync for them, else the newest thing it
	// sent about them. Not the source's last import for anyone, which could
	// be days after the record shown.
	Updated map[int64]string
	// Died is when the person died, as a source holding their record says
	// (Died).
	Died string
}

// Died is when the person died, as the Patient at a source holding their
// record says (deceasedDateTime, as that source wrote it; the earliest, if
// sources differ), "yes" when one says only that they have died
// (deceasedBoolean), or "" when none says so. To a carer, only from sources
// that show them something. A record read as current, of someone who died
// years ago, read as the medicines they take now (a review).
func (db *DB) Died(ctx context.Context, personID int64) (string, error) {
	shown, forCarer, err := db.carerSources(ctx, personID)
	if err != nil {
		return "", err
	}
	return db.died(ctx, personID, shown, forCarer)
}

// died is Died with the sources a carer is shown (carerSources) read already.
func (db *DB) died(ctx context.Context, personID int64, shown map[int64]bool, forCarer bool) (string, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT sp.source_id,
    COALESCE(json_extract(CAST(r.json AS TEXT), '$.deceasedDateTime'), ''), COALESCE(json_extract(CAST(r.json AS TEXT), '$.deceasedBoolean'), 0)
FROM source_patients sp JOIN resources r ON r.source_id = sp.source_id AND r.type = 'Patient' AND r.id = sp.patient_id
WHERE sp.person_id = ? AND json_valid(CAST(r.json AS TEXT))`, personID)
	if err != nil {
		return "", fmt.Errorf("whether the person has died: %w", err)
	}
	defer rows.Close()
	died := ""
	for rows.Next() {
		var source int64
		var when string
		var dead any
		if err := rows.Scan(&source, &when, &dead); err != nil {
			return "", err
		}
		switch {
		case forCarer && !shown[source]:
		case when != "" && fhir.IsDate(when[:min(10, len(when))]) && (died == "" || died == "yes" || earlierOrExacter(when, died)):
			died = when
		case when == "" && fmt.Sprint(dead) == "1" && died == "":
			died = "yes"
		}
	}
	return died, rows.Err()
}

// earlierOrExacter reports whether the date a is before b, or the same as
// far as both go and said more exactly ("1996-01-21" over "1996").
func earlierOrExacter(a, b string) bool {
	n := min(len(a), len(b), 10)
	return a[:n] < b[:n] || (a[:n] == b[:n] && len(a) > len(b))
}

// itemColumns are what pages read of an item. Who took part, when the resource
// named them only by a reference, is the name of what it points at (migration 0027).
const itemColumns = `ri.id, ri.section, ri.resource_type, ri.resource_id, ri.code_system, ri.code, ri.display, ri.date,
ri.status, ri.value, ` + itemOrganisation + `, ri.detail, s.id, s.name, s.org_name, COALESCE(s.last_import_at, ''), ri.dedup_key, ri.part`

// itemOrganisation is who took part in the item ri, as pages show it.
const itemOrganisation = `CASE WHEN ri.organisation_ref = '' THEN ri.organisation ELSE COALESCE((SELECT n.display FROM reference_names n
WHERE n.source_id = ri.source_id AND n.ref = ri.organisation_ref), '') END`

// pageOfItems reads the person's entries newest first, one per fact (the first
// report of each), straight off the record_items_person index.
func pageOfItems(filter, limit string) string {
	return `SELECT ` + itemColumns + ` FROM record_items ri JOIN sources s ON s.id = ri.source_id
WHERE ri.person_id = ? AND ri.section = ? AND ri.dup = 0` + filter + ` ORDER BY ri.date DESC, ri.id DESC ` + limit
}

// withSourcesAndLabels names every item's sources (withSources) and labels
// those kept out of sharing (markWithheld): two queries on two connections at
// once, as a page's time is mostly waiting for them.
func (db *DB) withSourcesAndLabels(ctx context.Context, personID int64, items []RecordItem) error {
	labelled := make(chan error, 1)
	go func() { labelled <- db.markWithheld(ctx, personID, items) }() // writes only Withheld
	err := db.withSources(ctx, personID, items)                       // writes only Sources
	if lerr := <-labelled; err == nil {
		err = lerr
	}
	return err
}

// withSources names, for each item, every source that reported the same fact.
func (db *DB) withSources(ctx context.Context, personID int64, items []RecordItem) error {
	if len(items) == 0 {
		return nil
	}
	keys := make([]any, 0, len(items)+1)
	keys = append(keys, personID)
	for i := range items { // by field, not by copy: withSourcesAndLabels sets Withheld meanwhile
		keys = append(keys, items[i].DedupKey)
	}
	// A carer is not told of a source whose reports of the fact are kept out
	// of sharing (a social care service's, when social care is).
	cf, cargs, err := db.carerFilter(ctx, personID)
	if err != nil {
		return err
	}
	// The distinct (fact, source) pairs come straight off the record_items_person_key index.
	rows, err := db.db.QueryContext(ctx, `SELECT k.dedup_key, s.id, s.name, s.org_name, COALESCE(s.last_import_at, '')
FROM (SELECT DISTINCT ri.dedup_key, ri.source_id FROM record_items ri WHERE ri.person_id = ? AND ri.dedup_key IN (?`+strings.Repeat(", ?", len(items)-1)+`)`+cf+`) k
JOIN sources s ON s.id = k.source_id ORDER BY s.org_name, s.name`, append(keys, cargs...)...)
	if err != nil {
		return fmt.Errorf("sources of items: %w", err)
	}
	defer rows.Close()
	byKey := map[string][]Source{}
	for rows.Next() {
		var key string
		var src Source
		if err := rows.Scan(&key, &src.ID, &src.Name, &src.OrgName, &src.LastImportAt); err != nil {
			return err
		}
		byKey[key] = append(byKey[key], src)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	byKey[""] = nil // an item with no key (no name, no code) reports a fact of its own
	for i := range items {
		srcs := []Source{items[i].Source}
		for _, s := range byKey[items[i].DedupKey] {
			if s.ID != items[i].Source.ID {
				srcs = append(srcs, s)
			}
		}
		items[i].Sources = srcs
	}
	return nil
}

// currentMedicines is pageOfItems with one line per medicine, by code (or by
// name when it has none): the newest prescription of each, since a repeat
// prescription is many entries, shown only if its status passes current.
// The newest is chosen first, whatever its status and from whichever source
// (not only the one standing for the fact), so a medicine stopped since is
// never shown by an older active prescription, nor one prescribed again now
// hidden by another source's older reports of a course that ended. The line
// is then the entry the medicines page lists for the newest's fact: the
// standing source's latest report of it, which says the same as the newest
// (standsAside), with its own date; another source's later report of the
// fact is on that entry's page. Only where the two say different things
// (marks worked out before standsAside compared them) is the newest shown
// itself. SQLite takes the bare columns from the row holding MAX(date).
// filter (the carer's, with arguments) applies to the line, like current
// (with none): when the person keeps the newest out of sharing (by its
// fact's key, which the line shares), a carer is not shown an older one
// instead.
func currentMedicines(filter, current string) string {
	return `SELECT ` + itemColumns + ` FROM record_items ri JOIN sources s ON s.id = ri.source_id
WHERE ri.id IN (SELECT COALESCE((SELECT CASE WHEN st.status = nw.status THEN st.id END FROM record_items st
		WHERE st.person_id = nw.person_id AND st.dedup_key = nw.dedup_key AND nw.dedup_key != '' AND st.dup = 0
		ORDER BY st.date DESC, st.id DESC LIMIT 1), nw.id)
	FROM (SELECT ri.id, ri.person_id, ri.dedup_key, ri.status, MAX(ri.date) FROM record_items ri
		WHERE ri.person_id = ? AND ri.section = ? AND NOT ` + notPrescribed("ri") + `
		GROUP BY ` + medicineKey("ri") + `) nw)` + filter + current + `
ORDER BY ri.date DESC, ri.id DESC LIMIT ?`
}

// latestResults is pageOfItems with one line per test, by code (or by name
// when it has none, as ResultTests groups them): the latest result of each,
// newest first, of those filter (resultShown and the carer's) lets through,
// so a test measured at every visit does not fill the list. The coded tests
// are found by skipping through the record_items_results index from one
// code to the next, as codedTests does, and each one's latest read from its
// end: a few seeks a test, however many results each has. Callers cut the
// list to the limit once names are compared as TestKey does. It takes the
// person and the section, then filter's arguments twice.
func latestResults(filter string) string {
	return `WITH RECURSIVE tests(id) AS (
	SELECT (SELECT id FROM record_items WHERE person_id = ?1 AND section = ?2 AND code != '' ORDER BY code_system, code LIMIT 1)
	UNION ALL
	SELECT COALESCE(
		(SELECT n.id FROM record_items p, record_items n WHERE p.id = tests.id AND n.person_id = ?1 AND n.section = ?2
			AND n.code_system = p.code_system AND n.code > p.code ORDER BY n.code LIMIT 1),
		(SELECT n.id FROM record_items p, record_items n WHERE p.id = tests.id AND n.person_id = ?1 AND n.section = ?2
			AND n.code_system > p.code_system AND n.code != '' ORDER BY n.code_system, n.code LIMIT 1))
	FROM tests WHERE tests.id IS NOT NULL)
SELECT ` + itemColumns + ` FROM record_items ri JOIN sources s ON s.id = ri.source_id
WHERE ri.id IN (SELECT (SELECT ri.id FROM record_items ri WHERE ri.person_id = ?1 AND ri.section = ?2
		AND ri.code_system = t.code_system AND ri.code = t.code AND ri.dup = 0` + filter + ` ORDER BY ri.date DESC, ri.value DESC LIMIT 1)
	FROM tests JOIN record_items t ON t.id = tests.id
	UNION ALL
	SELECT id FROM (SELECT ri.id AS id, ROW_NUMBER() OVER (PARTITION BY lower(trim(ri.display)) ORDER BY ri.date DESC, ri.id DESC) AS n
		FROM record_items ri WHERE ri.person_id = ?1 AND ri.section = ?2 AND ri.code_system = '' AND ri.code = '' AND ri.dup = 0` + filter + `)
	WHERE n = 1)
ORDER BY ri.date DESC, ri.id DESC`
}

// oneEachTest keeps the first (newest) result of each test, up to limit.
func oneEachTest(items []RecordItem, limit int) []RecordItem {
	seen := map[string]bool{}
	out := items[:0]
	for _, it := range items {
		k := TestKey(it.CodeSystem, it.Code, it.Display)
		if seen[k] || len(out) == limit {
			continue
		}
		seen[k] = true
		out = append(out, it)
	}
	return out
}

func scanItems(rows *sql.Rows) ([]RecordItem, error) {
	defer rows.Close()
	var items []RecordItem
	for rows.Next() {
		var it RecordItem
		if err := rows.Scan(&it.ID, &it.Section, &it.ResourceType, &it.ResourceID, &it.CodeSystem, &it.Code, &it.Display, &it.Date,
			&it.Status, &it.Value, &it.Organisation, &it.Detail, &it.Source.ID, &it.Source.Name, &it.Source.OrgName, &it.Source.LastImportAt, &it.DedupKey, &it.Part); err != nil {
			return nil, err
		}
		items = append(items, it)
	}
	return items, rows.Err()
}

// Person returns the person with that id.
func (db *DB) Person(ctx context.Context, id int64) (Person, error) {
	return db.personTx(ctx, db.db, id)
}

// personTx is Person, read with q (a transaction).
func (db *DB) personTx(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, id int64) (Person, error) {
	return scanPerson(q.QueryRowContext(ctx, `SELECT id, prefix, given, family, birth_date, COALESCE(nhs_number, '') FROM persons WHERE id = ?`, id))
}

// PersonByNHSNumber returns the person with that NHS number (digits only).
func (db *DB) PersonByNHSNumber(ctx context.Context, nhs string) (Person, error) {
	return scanPerson(db.db.QueryRowContext(ctx, `SELECT id, prefix, given, family, birth_date, COALESCE(nhs_number, '') FROM persons WHERE nhs_number = ?`, nhs))
}

// Persons returns every person, by id, but those whose records were all
// merged into another's (MergedInto), who hold nothing.
func (db *DB) Persons(ctx context.Context) ([]Person, error) {
	return db.queryPersons(ctx, `SELECT id, prefix, given, family, birth_date, COALESCE(nhs_number, '') FROM persons WHERE merged_into IS NULL ORDER BY id`)
}

// PersonsAt returns every person who has a Patient at the source.
func (db *DB) PersonsAt(ctx context.Context, sourceID int64) ([]Person, error) {
	return db.queryPersons(ctx, `SELECT DISTINCT p.id, p.prefix, p.given, p.family, p.birth_date, COALESCE(p.nhs_number, '')
FROM persons p JOIN source_patients sp ON sp.person_id = p.id WHERE sp.source_id = ? ORDER BY p.id`, sourceID)
}

func (db *DB) queryPersons(ctx context.Context, query string, args ...any) ([]Person, error) {
	rows, err := db.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list persons: %w", err)
	}
	defer rows.Close()
	var ps []Person
	for rows.Next() {
		p, err := scanPerson(rows)
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return ps, rows.Err()
}

type rowScanner interface{ Scan(...any) error }

func scanPerson(row rowScanner) (Person, error) {
	var p Person
	err := row.Scan(&p.ID, &p.Prefix, &p.Given, &p.Family, &p.BirthDate, &p.NHSNumber)
	if err == sql.ErrNoRows {
		return Person{}, Errorf(ENOTFOUND, "We could not find that person.")
	}
	if err != nil {
		return Person{}, fmt.Errorf("read person: %w", err)
	}
	return p, nil
}

// RecordSection returns one page of a section of the person's record, newest first.
func (db *DB) RecordSection(ctx context.Context, personID int64, section string, page, perPage int) (SectionPage, error) {
	sec, ok := fhir.SectionBySlug(section)
	if !ok {
		return SectionPage{}, Errorf(ENOTFOUND, "There is no part of the record called %q.", section)
	}
	if page < 1 {
		page = 1
	}
	out := SectionPage{Section: sec, Page: page, PerPage: perPage}
	cf, cargs, err := db.carerFilter(ctx, personID)
	if err != nil {
		return out, err
	}
	if err := db.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM record_items ri WHERE ri.person_id = ? AND ri.section = ? AND ri.dup = 0`+cf,
		append([]any{personID, section}, cargs...)...).Scan(&out.Total); err != nil {
		return out, fmt.Errorf("count %s: %w", section, err)
	}
	rows, err := db.db.QueryContext(ctx, pageOfItems(cf, `LIMIT ? OFFSET ?`), append(append([]any{personID, section}, cargs...), perPage, (page-1)*perPage)...)
	if err != nil {
		return out, fmt.Errorf("read %s: %w", section, err)
	}
	if out.Items, err = scanItems(rows); err != nil {
		return out, err
	}
	if err := db.markPrescribedSince(ctx, personID, out.Items, cf, cargs); err != nil {
		return out, err
	}
	if err := db.resultRangeWords(ctx, out.Items); err != nil { // a printed result in the results pages' words
		return out, err
	}
	return out, db.withSourcesAndLabels(ctx, personID, out.Items)
}

// ItemsByID returns those of the items that are still in the person's
// record, by id: the access log names the entries it says were viewed.
func (db *DB) ItemsByID(ctx context.Context, personID int64, ids []int64) (map[int64]RecordItem, error) {
	out := map[int64]RecordItem{}
	if len(ids) == 0 {
		return out, nil
	}
	list, _ := json.Marshal(ids)
	rows, err := db.db.QueryContext(ctx, `SELECT `+itemColumns+` FROM record_items ri JOIN sources s ON s.id = ri.source_id
WHERE ri.id IN (SELECT value FROM json_each(?)) AND ri.person_id = ?`, string(list), personID)
	if err != nil {
		return nil, fmt.Errorf("items by id: %w", err)
	}
	items, err := scanItems(rows)
	for _, it := range items {
		out[it.ID] = it
	}
	return out, err
}

// notPrescribed is the SQL for whether a medicine's item (of record_items
// alias a) is no prescription of it: one recorded in error, one only
// proposed (fhir requestStatus), or a statement that it is intended, to be
// taken some time. A later one neither hides the current prescription nor
// makes it "prescribed again since".
func notPrescribed(a string) string {
	return `(` + a + `.status IN ('entered-in-error', 'proposed', 'intended') OR ` + a + `.status GLOB 'proposal-*')`
}

// medicineKey is the SQL for which medicine an item is (of record_items
// alias a), as currentMedicines groups them: by code; without one, by the
// Medication it points at, not yet named, or by name; and one with neither a
// name nor a code, shown as "Medicine (name not recorded)", by itself, since
// nothing says two such are one medicine (fhir.Item.DedupKey).
func medicineKey(a string) string {
	return `CASE WHEN ` + a + `.code != '' THEN ` + a + `.code_system || '|' || ` + a + `.code
WHEN ` + a + `.display_ref != '' THEN 'ref|' || ` + a + `.source_id || '|' || ` + a + `.display_ref
WHEN ` + a + `.dedup_key = '' THEN 'item|' || ` + a + `.id
ELSE 'name|' || lower(trim(` + a + `.display)) END`
}

// markPrescribedSince sets PrescribedSince on those of the items that are
// medicines prescribed again later, in an entry the lists show: a patient
// shown two "active" prescriptions of one statin would think they take two.
// Another source's later report standing aside for this entry's fact (dup)
// is not listed, so it does not count: the entry would say "prescribed again
// since" with no later one to be seen.
// cf and cargs are carerFilter's, applied to the later prescription, so a
// carer is not told of one kept from them.
func (db *DB) markPrescribedSince(ctx context.Context, personID int64, items []RecordItem, cf string, cargs []any) error {
	var ids []int64
	for _, it := range items {
		if it.Section == fhir.SectionMedicines {
			ids = append(ids, it.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	list, _ := json.Marshal(ids)
	rows, err := db.db.QueryContext(ctx, `SELECT m.id FROM record_items m WHERE m.id IN (SELECT value FROM json_each(?)) AND EXISTS (
SELECT 1 FROM record_items ri WHERE ri.person_id = ? AND ri.section = m.section AND ri.date > m.date AND ri.dup = 0
AND NOT `+notPrescribed("ri")+` AND `+medicineKey("ri")+` = `+medicineKey("m")+cf+`)`, append([]any{string(list), personID}, cargs...)...)
	if err != nil {
		return fmt.Errorf("medicines prescribed again: %w", err)
	}
	defer rows.Close()
	since := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return err
		}
		since[id] = true
	}
	for i := range items {
		items[i].PrescribedSince = since[items[i].ID]
	}
	return rows.Err()
}

// RecordSummary returns the summary page of the person's record.
func (db *DB) RecordSummary(ctx context.Context, personID int64) (Summary, error) {
	sum := Summary{Counts: map[string]int{}, More: map[string]bool{}}
	cf, cargs, err := db.carerFilter(ctx, personID)
	if err != nil {
		return sum, err
	}
	rows, err := db.db.QueryContext(ctx, `SELECT ri.section, COUNT(*) FROM record_items ri WHERE ri.person_id = ? AND ri.dup = 0`+cf+` GROUP BY ri.section`,
		append([]any{personID}, cargs...)...)
	if err != nil {
		return sum, fmt.Errorf("count sections: %w", err)
	}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			rows.Close()
			return sum, err
		}
		sum.Counts[s] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return sum, err
	}
	lists := []struct {
		dst     *[]RecordItem
		section string
		filter  string
		limit   int
	}{
		// Only what holds now: no allergy recorded in error, ruled out or
		// over, though one suspected, not yet confirmed, is (the page tags it:
		// found by a clinical-safety review, a suspected allergy to penicillin
		// is one to know of); no
		// condition but a confirmed current one; no result recorded in error or
		// cancelled (never done). Of results, the latest of each test.
		{&sum.Allergies, fhir.SectionAllergies, ` AND ri.status NOT IN ('entered-in-error', 'refuted', 'inactive', 'resolved')`, 10},
		{&sum.Medicines, fhir.SectionMedicines, ` AND ri.status IN ('active', 'on-hold')`, 10},
		{&sum.Conditions, fhir.SectionConditions, ` AND ri.status IN ('active', 'recurrence', 'relapse')`, 10},
		{&sum.RecentResults, fhir.SectionResults, resultShown + notAnAnswer, 5},
	}
	var all []RecordItem
	counts := make([]int, len(lists))
	for i, l := range lists {
		// One more than shown, to know whether there are more.
		q, args := pageOfItems(l.filter+cf, `LIMIT ?`), append(append([]any{personID, l.section}, cargs...), l.limit+1)
		switch l.section {
		case fhir.SectionMedicines:
			q = currentMedicines(cf, l.filter)
		case fhir.SectionResults:
			q, args = latestResults(l.filter+cf), append(append([]any{personID, l.section}, cargs...), cargs...)
		}
		rows, err := db.db.QueryContext(ctx, q, args...)
		if err != nil {
			return sum, fmt.Errorf("summary %s: %w", l.section, err)
		}
		items, err := scanItems(rows)
		if err != nil {
			return sum, fmt.Errorf("summary %s: %w", l.section, err)
		}
		if l.section == fhir.SectionResults {
			items = oneEachTest(items, l.limit)
		}
		if len(items) > l.limit {
			items = items[:l.limit]
			sum.More[l.section] = true
		}
		all = append(all, items...)
		counts[i] = len(items)
	}
	// Labels and sources for the four lists at once: one look at the person's
	// choices and one query for sources, rather than one of each per list.
	if err := db.withSourcesAndLabels(ctx, personID, all); err != nil {
		return sum, err
	}
	for i, l := range lists {
		*l.dst, all = all[:counts[i]:counts[i]], all[counts[i]:]
	}
	if sum.Unshown, err = db.UnshownKinds(ctx, personID); err != nil {
		return sum, err
	}
	srows, err := db.db.QueryContext(ctx, `SELECT s.id, s.name, s.org_name, COALESCE(s.last_import_at, ''),
COALESCE(NULLIF((SELECT st.last_success_at FROM sync_status st WHERE st.source_id = s.id AND st.person_id = ?1), ''),
	MAX((SELECT MAX(r.stored_at) FROM resources r WHERE r.source_id = s.id AND r.patient_id = sp.patient_id)), '')
FROM sources s JOIN source_patients sp ON sp.source_id = s.id WHERE sp.person_id = ?1 GROUP BY s.id ORDER BY s.org_name, s.name`, personID)
	if err != nil {
		return sum, fmt.Errorf("summary sources: %w", err)
	}
	defer srows.Close()
	shown, forCarer, err := db.carerSources(ctx, personID)
	if err != nil {
		return sum, err
	}
	sum.Updated = map[int64]string{}
	for srows.Next() {
		var s Source
		var updated string
		if err := srows.Scan(&s.ID, &s.Name, &s.OrgName, &s.LastImportAt, &updated); err != nil {
			return sum, err
		}
		sum.Updated[s.ID] = updated
		if forCarer && !shown[s.ID] {
			continue
		}
		sum.Sources = append(sum.Sources, s)
	}
	if err := srows.Err(); err != nil {
		return sum, err
	}
	sum.Died, err = db.died(ctx, personID, shown, forCarer)
	return sum, err
}

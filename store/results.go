package store

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mycarerecord/portal/store/fhir"
)

// ResultTest is one kind of test in a person's results, such as HbA1c, with
// its newest result.
type ResultTest struct {
	Key        string // in the trend page's address, e.g. "loinc-59261-8"
	CodeSystem string
	Code       string
	Name       string // the newest result's name for the test
	Latest     Result
	SameTime   []Result // other results of the test at the latest one's time (several answers to a question, a test done twice), each its own value
	Trend      bool     // two or more results with a number: enough to draw how it changed
	Answer     bool     // its newest result is an answer to a question, such as whether the person smokes (fhir.KindAnswer), not a test
}

// Result is one result of a test. When several sources sent the same result
// (same time, same value) it is one Result naming every source.
type Result struct {
	Item     RecordItem // the newest copy
	Sources  []Source   // every source that sent it, the item's own first
	Measures []Measure  // the value, or one per part (blood pressure has two); empty when the value is not a number
	Text     string     // the value as written when it is not a number, e.g. "Positive"
	Exact    bool       // Measures were read from the resource itself, with ranges and flags
}

// Measure is one number in a result.
type Measure struct {
	Name       string  // the part, e.g. "Systolic blood pressure"; "" for the result's own value
	Value      float64 // as written
	Number     string  // as written, e.g. "48"
	Comparator string  // "<", ">", "<=" or ">=", or ""
	Unit       string  // as received: the display unit, or the UCUM code when there is none; a bare "per minute" is what the test counts, e.g. "breaths per minute" (sayWhatIsCounted)
	UnitCode   string  // the UCUM code, when given
	Range      Range
	Flag       string // compared with the normal range, in words: "High", "Low", "Normal"…; "" when unknown
}

// Range is a normal (reference) range.
type Range struct {
	Low, High       float64
	HasLow, HasHigh bool
	Text            string // as the source wrote it, when it did
	Unit            string
}

// Known reports whether the range says anything.
func (r Range) Known() bool { return r.HasLow || r.HasHigh || r.Text != "" }

// String is the range in words, e.g. "20 to 41 mmol/mol", "5 mmol/L or lower".
// A range's limits are part of it (FHIR), as the flags take them: a blood
// pressure of 140 with a range up to 140 is normal, so never "below 140".
func (r Range) String() string {
	switch {
	case r.HasLow && r.HasHigh:
		return formatNumber(r.Low) + " to " + WithUnit(formatNumber(r.High), r.Unit)
	case r.HasHigh:
		return WithUnit(formatNumber(r.High), r.Unit) + " or lower"
	case r.HasLow:
		return WithUnit(formatNumber(r.Low), r.Unit) + " or higher"
	}
	return r.Text
}

// ValueText is the measure as people read it, e.g. "48 mmol/mol", "98%".
func (m Measure) ValueText() string {
	return WithUnit(m.Comparator+ReadableNumber(m.Number), m.Unit)
}

// WithUnit is a number with its unit as people read it: "48 mmol/mol",
// "98%" (no space before a per cent sign, as the NHS writes it), or the
// number alone when the unit says nothing but what was counted ("{score}").
func WithUnit(number, unit string) string {
	number = ReadableNumber(number)
	switch u := DisplayUnit(unit); u {
	case "":
		return number
	case "%":
		return number + u
	default:
		return number + " " + u
	}
}

// Trend is every result of one test, for its trend page.
type Trend struct {
	Test    ResultTest
	Series  []Series // one per part and kind of unit; never two kinds of unit in one
	Results []Result // this page of results, newest first, read exactly from the resources
	Total   int      // results in all
	Page    int      // from 1
	PerPage int
}

// Pages is the number of pages the results fill.
func (t Trend) Pages() int {
	if t.PerPage <= 0 || t.Total == 0 {
		return 1
	}
	return (t.Total + t.PerPage - 1) / t.PerPage
}

// Series is the numbers of one part of a test in one kind of unit, oldest
// first, ready to chart: values in other units of the same kind are converted.
type Series struct {
	Name   string // the part, e.g. "Systolic blood pressure", or ""
	Unit   string // as people read it, e.g. "mmol/mol"
	Points []Point
	Range  Range // the newest result's normal range, in Unit
}

// Point is one value of a series.
type Point struct {
	Date       time.Time
	Value      float64 // in the series' unit
	Comparator string  // "<", ">", "<=" or ">=" when the value is a limit ("<25"), else ""
}

// TestKey is the address of a test's trend page: "loinc-" or "snomed-" and the
// code, a short hash of another code system and the code, or for results
// without a code a hash of the name.
func TestKey(system, code, display string) string {
	switch {
	case code == "":
		return "name-" + shortHash(strings.ToLower(strings.Join(strings.Fields(display), " ")))
	case !urlSafe(code):
		return "code-" + shortHash(system+"|"+code)
	case system == "http://loinc.org":
		return "loinc-" + code
	case system == "http://snomed.info/sct":
		return "snomed-" + code
	}
	return "c" + shortHash(system)[:8] + "-" + code
}

func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:8])
}

func urlSafe(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_') {
			return false
		}
	}
	return s != ""
}

// numericValue is SQL true when a result's value starts with a number or has
// parts that do ("Systolic blood pressure: 128 mm[Hg]; …"), but not a titre,
// a date or a time ("1:160", "2024-02-03", "08:30"), which parseValue reads
// as words too.
const numericValue = `((value GLOB '[0-9]*' OR value GLOB '[<>]*[0-9]*' OR value GLOB '-[0-9]*' OR value GLOB '*: [0-9]*' OR value GLOB '*: [<>]*[0-9]*')
AND NOT value GLOB '[0-9]*[:-][0-9]*')`

// testRef is a test as the record holds it: a code system and code, or for
// results without a code, a name.
type testRef struct{ system, code, name string }

func (t testRef) key() string { return TestKey(t.system, t.code, t.name) }

// sameTest is the SQL that picks a coded test's results, straight off the
// record_items_results index, and its arguments.
func (t testRef) sameTest(personID int64) (string, []any) {
	return ` AND ri.section = ? AND ri.code_system = ? AND ri.code = ?` + resultShown, []any{personID, fhir.SectionResults, t.system, t.code}
}

// resultShown leaves out results upstream says were recorded in error, or
// cancelled (never done): no trend, latest result or summary shows them. The
// results index holds the status (migration 0017), so this costs no look-up.
const resultShown = ` AND ri.status NOT IN ('entered-in-error', 'cancelled')`

// notAnAnswer leaves out, of the summary's recent test results, answers to
// questionnaires and about how someone lives (fhir.KindAnswer): the results
// page lists them apart (ResultTest.Answer).
const notAnAnswer = ` AND NOT EXISTS (SELECT 1 FROM record_item_reasons ka WHERE ka.item_id = ri.id AND ka.system = 'kind' AND ka.code = 'answer')`

// isAnswer says whether the result item is an answer to a question, not a
// test (fhir.KindAnswer).
func isAnswer(ctx context.Context, tx *sql.Tx, itemID int64) (bool, error) {
	var answer bool
	err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM record_item_reasons WHERE item_id = ? AND system = 'kind' AND code = 'answer')`, itemID).Scan(&answer)
	return answer, err
}

// ResultTests returns the person's results grouped by test (code system and
// code; by name when there is no code), the test with the newest result first.
func (db *DB) ResultTests(ctx context.Context, personID int64) ([]ResultTest, error) {
	tx, err := db.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("result tests: %w", err)
	}
	defer tx.Rollback()
	q, err := newExactReader(ctx, tx)
	if err != nil {
		return nil, err
	}
	defer q.Close()
	refs, err := codedTests(ctx, tx, personID)
	if err != nil {
		return nil, err
	}
	rule, err := db.carerRule(ctx, personID) // for a carer: results kept out of sharing
	if err != nil {
		return nil, err
	}
	var out []ResultTest
	for _, ref := range refs {
		f, args := ref.sameTest(personID)
		hide, err := withheldResults(ctx, tx, rule, f, args)
		if err != nil {
			return nil, err
		}
		// Further back while all read are kept out from a carer, so the
		// newest they may see is found (a review: a test whose 8 newest were
		// kept out vanished from the list, older results shared and all).
		// And further while every one read is at the newest's time, so that
		// all the results at that time are shown (a review: 8 of 21 answers).
		var items []RecordItem
		for n := 8; ; n *= 2 {
			read, err := testItems(ctx, tx, personID, ref, n)
			if err != nil {
				return nil, err
			}
			items = dropResults(read, hide)
			if len(read) < n || len(items) > 0 && read[len(read)-1].Date != items[0].Date {
				break
			}
		}
		if len(items) == 0 {
			continue
		}
		latest := latestAtOnce(mergeResults(items))
		t := ResultTest{Key: ref.key(), CodeSystem: ref.system, Code: ref.code, Latest: latest[0], SameTime: latest[1:]}
		// Two different numbers make a trend; copies of one result from two sources do not.
		// Two values a chart can draw, read as the chart reads them: a value
		// the SQL takes for a number may be words ("1HRZE", a TB treatment,
		// was promised a chart: a review).
		rows, err := tx.QueryContext(ctx, `SELECT DISTINCT ri.date, ri.value FROM record_items ri WHERE ri.person_id = ?`+f+
			` AND `+strings.ReplaceAll(numericValue, "value", "ri.value"), args...)
		if err != nil {
			return nil, fmt.Errorf("result tests: %w", err)
		}
		var kinds chartKinds
		for !kinds.chart() && rows.Next() {
			var date, value string
			if err := rows.Scan(&date, &value); err != nil {
				rows.Close()
				return nil, fmt.Errorf("result tests: %w", err)
			}
			if ms, _ := parseValue(value); date != "" {
				kinds.add(ms)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("result tests: %w", err)
		}
		t.Trend = kinds.chart()
		if len(hide) > 0 {
			t.Trend = chartsOf(mergeResults(items))
		}
		out = append(out, t)
	}
	// The few results without a code are grouped by name, whatever its case and spacing.
	uncoded, err := testItems(ctx, tx, personID, testRef{}, 0)
	if err != nil {
		return nil, err
	}
	hide, err := withheldResults(ctx, tx, rule, uncodedResults, []any{personID, fhir.SectionResults})
	if err != nil {
		return nil, err
	}
	uncoded = dropResults(uncoded, hide)
	byName := map[string][]RecordItem{}
	var names []string
	for _, it := range uncoded {
		k := TestKey("", "", it.Display)
		if _, ok := byName[k]; !ok {
			names = append(names, k)
		}
		byName[k] = append(byName[k], it)
	}
	for _, k := range names {
		rs := mergeResults(byName[k])
		at := latestAtOnce(rs)
		out = append(out, ResultTest{Key: k, Latest: at[0], SameTime: at[1:], Trend: chartsOf(rs)})
	}
	// Each result shown read exactly, with its range and flag: the others at
	// the latest's time as the latest (a review: a high potassium beside a
	// normal one read "Not known").
	var latest []Result
	for i := range out {
		latest = append(append(latest, out[i].Latest), out[i].SameTime...)
	}
	if err := q.prefetch(ctx, latest); err != nil {
		return nil, err
	}
	for i := range out {
		for _, r := range out[i].shown() {
			if err := readExact(ctx, q, r); err != nil {
				return nil, err
			}
			sayWhatIsCounted(out[i], nil, r)
		}
		out[i].Name = TidyTestName(out[i].Latest.Item.Display)
	}
	tellApart(out)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Latest.Item.Date > out[j].Latest.Item.Date })
	// Answers are listed apart from tests (a review: "Tobacco smoking status:
	// Never smoked" and "PCP prophylaxis plan" were among the tests, with a
	// column for a normal range they can never have).
	for i := range out {
		if out[i].Answer, err = isAnswer(ctx, tx, out[i].Latest.Item.ID); err != nil {
			return nil, fmt.Errorf("result tests: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	var shown []*Result
	for i := range out {
		shown = append(shown, out[i].shown()...)
	}
	return out, db.markResultsWithheld(ctx, personID, shown)
}

// shown are the results the list shows of the test: its latest, and the
// others at that time.
func (t *ResultTest) shown() []*Result {
	out := []*Result{&t.Latest}
	for j := range t.SameTime {
		out = append(out, &t.SameTime[j])
	}
	return out
}

// markResultsWithheld labels the results the person keeps out of sharing, for their own pages.
func (db *DB) markResultsWithheld(ctx context.Context, personID int64, rs []*Result) error {
	items := make([]RecordItem, len(rs))
	for i, r := range rs {
		items[i] = r.Item
	}
	if err := db.markWithheld(ctx, personID, items); err != nil {
		return err
	}
	for i, r := range rs {
		r.Item.Withheld = items[i].Withheld
	}
	return nil
}

// codedTests lists the person's coded tests by skipping through the
// record_items_results index from one code to the next: a handful of seeks,
// however many thousand results each test has.
func codedTests(ctx context.Context, tx *sql.Tx, personID int64) ([]testRef, error) {
	sameSystem, err := tx.PrepareContext(ctx, `SELECT code_system, code FROM record_items
WHERE person_id = ? AND section = ? AND code_system = ? AND code > ? ORDER BY code LIMIT 1`)
	if err != nil {
		return nil, fmt.Errorf("list tests: %w", err)
	}
	defer sameSystem.Close()
	nextSystem, err := tx.PrepareContext(ctx, `SELECT code_system, code FROM record_items
WHERE person_id = ? AND section = ? AND code_system > ? AND code <> '' ORDER BY code_system, code LIMIT 1`)
	if err != nil {
		return nil, fmt.Errorf("list tests: %w", err)
	}
	defer nextSystem.Close()
	var out []testRef
	cur := testRef{}
	for {
		next := testRef{}
		err := sameSystem.QueryRowContext(ctx, personID, fhir.SectionResults, cur.system, cur.code).Scan(&next.system, &next.code)
		if err == sql.ErrNoRows {
			err = nextSystem.QueryRowContext(ctx, personID, fhir.SectionResults, cur.system).Scan(&next.system, &next.code)
		}
		if err == sql.ErrNoRows {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("list tests: %w", err)
		}
		out = append(out, next)
		cur = next
	}
}

// testItems reads a test's results newest first (in the index's order, so
// no more rows are read than are returned), every copy from every source; limit 0 reads them all. A test without a code is the results
// without a code named ref.name, or all of them when that is "".
func testItems(ctx context.Context, tx *sql.Tx, personID int64, ref testRef, limit int) ([]RecordItem, error) {
	filter, args := ref.sameTest(personID)
	if ref.code == "" {
		filter, args = uncodedResults, []any{personID, fhir.SectionResults}
	}
	lim := ""
	if limit > 0 {
		lim = `LIMIT ` + strconv.Itoa(limit)
	}
	return queryTestItems(ctx, tx, ref, filter, lim, args...)
}

func queryTestItems(ctx context.Context, tx *sql.Tx, ref testRef, filter, limit string, args ...any) ([]RecordItem, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+itemColumns+` FROM record_items ri JOIN sources s ON s.id = ri.source_id
WHERE ri.person_id = ?`+filter+` ORDER BY ri.date DESC, ri.dup, ri.value DESC `+limit, args...)
	if err != nil {
		return nil, fmt.Errorf("read results: %w", err)
	}
	items, err := scanItems(rows)
	if err != nil {
		return nil, fmt.Errorf("read results: %w", err)
	}
	if ref.code != "" || ref.name == "" {
		return items, nil
	}
	key, named := ref.key(), items[:0]
	for _, it := range items {
		if TestKey("", "", it.Display) == key {
			named = append(named, it)
		}
	}
	return named, nil
}

// mergeResults makes one Result of copies of the same result from several
// sources: the same test at the same time with the same value. Items come
// newest first and stay so, the report that stands for a fact before its
// copies (queryTestItems), so a Result opens the entry search and the
// record open (a product review: the trend opened the hospital's copy).
func mergeResults(items []RecordItem) []Result {
	var out []Result
	seen := map[string]int{}
	for _, it := range items {
		k := it.Date + "|" + it.Value
		if i, ok := seen[k]; ok && it.Date != "" {
			if !hasSource(out[i].Sources, it.Source.ID) {
				out[i].Sources = append(out[i].Sources, it.Source)
			}
			continue
		}
		seen[k] = len(out)
		out = append(out, newResult(it))
	}
	return out
}

// latestAtOnce is the results of merged (newest first) at the newest one's
// time, in order of value, numbers by size: every answer given to a question
// at once, a test done twice at one time. Before, the list gave only the
// one whose value came last as text (a review: 8.852 beside 10 mg/dL
// calcium, and one of seven antiretroviral drugs).
func latestAtOnce(merged []Result) []Result {
	n := 1
	for n < len(merged) && merged[n].Item.Date == merged[0].Item.Date && merged[0].Item.Date != "" {
		n++
	}
	// One fact two sources wrote apart ("5.0" and "5") is one result, by its
	// key, which reads numbers as numbers (a review), shown as the report
	// that stands (read first: testItems puts those standing aside after).
	var out []Result
	for _, r := range merged[:n] {
		i := slices.IndexFunc(out, func(o Result) bool { return r.Item.DedupKey != "" && o.Item.DedupKey == r.Item.DedupKey })
		if i < 0 {
			out = append(out, r)
			continue
		}
		for _, src := range r.Sources {
			if !hasSource(out[i].Sources, src.ID) {
				out[i].Sources = append(out[i].Sources, src)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Result) int {
		if len(a.Measures) == 1 && len(b.Measures) == 1 {
			return cmp.Compare(a.Measures[0].Value, b.Measures[0].Value)
		}
		return cmp.Compare(strings.ToLower(a.Item.Value), strings.ToLower(b.Item.Value))
	})
	return out
}

func newResult(it RecordItem) Result {
	r := Result{Item: it}
	if it.Source.ID != 0 {
		r.Sources = []Source{it.Source}
	}
	r.Measures, r.Text = parseValue(it.Value)
	if r.Measures == nil && r.Text == "" && it.ResourceType == "DiagnosticReport" {
		r.Text = it.Detail // a report's conclusion, or how many results it has
	}
	return r
}

func hasSource(srcs []Source, id int64) bool {
	for _, s := range srcs {
		if s.ID == id {
			return true
		}
	}
	return false
}

// lightRow is a result as the index holds it: enough to chart thousands.
type lightRow struct{ date, value string }

// lightRows reads a test's results newest first, each once, with only the
// date and value, straight off the record_items_results index. complete
// fills in the rest for the few a page lists.
func lightRows(ctx context.Context, tx *sql.Tx, personID int64, ref testRef) ([]lightRow, error) {
	if ref.code == "" {
		items, err := testItems(ctx, tx, personID, ref, 0)
		var out []lightRow
		for _, r := range mergeResults(items) {
			out = append(out, lightRow{r.Item.Date, r.Item.Value})
		}
		return out, err
	}
	// One row holding them all: thousands of rows one by one through the
	// driver cost more than the page's whole budget. The index gives them in
	// order, and copies of a result from two sources side by side.
	// Dates and values in two lists, in the same order: SQLite then builds no
	// string per row.
	f, args := ref.sameTest(personID)
	var dates, values sql.NullString
	err := tx.QueryRowContext(ctx, `SELECT string_agg(d, char(30)), string_agg(v, char(30))
FROM (SELECT ri.date AS d, ri.value AS v FROM record_items ri WHERE ri.person_id = ?`+f+` ORDER BY ri.date DESC, ri.value DESC)`, args...).Scan(&dates, &values)
	if err != nil {
		return nil, fmt.Errorf("read results: %w", err)
	}
	if !dates.Valid || dates.String == "" {
		return nil, nil
	}
	n := strings.Count(dates.String, "\x1e") + 1
	if strings.Count(values.String, "\x1e")+1 != n {
		// A value holding the separator: read them the slow way.
		items, err := testItems(ctx, tx, personID, ref, 0)
		var out []lightRow
		for _, r := range mergeResults(items) {
			out = append(out, lightRow{r.Item.Date, r.Item.Value})
		}
		return out, err
	}
	out := make([]lightRow, 0, n)
	sorted := true
	vs := values.String
	for d := range strings.SplitSeq(dates.String, "\x1e") {
		v, rest, _ := strings.Cut(vs, "\x1e")
		vs = rest
		r := lightRow{d, v}
		if n := len(out); n > 0 {
			if out[n-1] == r {
				continue
			}
			if prev := out[n-1]; prev.date < d || prev.date == d && prev.value < v {
				sorted = false
			}
		}
		out = append(out, r)
	}
	if !sorted { // SQLite does not promise an aggregate keeps its input's order
		sort.Slice(out, func(i, j int) bool {
			if out[i].date != out[j].date {
				return out[i].date > out[j].date
			}
			return out[i].value > out[j].value
		})
		uniq := out[:0]
		for _, r := range out {
			if len(uniq) == 0 || uniq[len(uniq)-1] != r {
				uniq = append(uniq, r)
			}
		}
		out = uniq
	}
	return out, nil
}

// lightResults are rows as Results for complete to fill in.
func lightResults(rows []lightRow) []Result {
	out := make([]Result, len(rows))
	for i, r := range rows {
		out[i] = newResult(RecordItem{Date: r.date, Value: r.value})
	}
	return out
}

// complete reads in full the results lightResults read light, with every
// source that sent each, from the record items of their dates.
func complete(ctx context.Context, tx *sql.Tx, personID int64, ref testRef, rs []Result) error {
	if len(rs) == 0 || ref.code == "" {
		return nil
	}
	f, args := ref.sameTest(personID)
	items, err := queryTestItems(ctx, tx, ref, f+` AND ri.date BETWEEN ? AND ?`, "", append(args, rs[len(rs)-1].Item.Date, rs[0].Item.Date)...)
	if err != nil {
		return err
	}
	full := map[string]Result{}
	for _, r := range mergeResults(items) {
		full[r.Item.Date+"|"+r.Item.Value] = r
	}
	for i := range rs {
		if r, ok := full[rs[i].Item.Date+"|"+rs[i].Item.Value]; ok {
			rs[i] = r
		}
	}
	return nil
}

// ResultTrend returns every result of the test with that key, for its trend
// page: the series to chart (all of them) and one page of results to list.
func (db *DB) ResultTrend(ctx context.Context, personID int64, key string, page, perPage int) (Trend, error) {
	notFound := Errorf(ENOTFOUND, "There is no test like that in these results.")
	tx, err := db.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return Trend{}, fmt.Errorf("result trend: %w", err)
	}
	defer tx.Rollback()
	q, err := newExactReader(ctx, tx)
	if err != nil {
		return Trend{}, err
	}
	defer q.Close()
	ref, ok, err := resolveKey(ctx, tx, personID, key)
	if err != nil {
		return Trend{}, err
	}
	if !ok {
		return Trend{}, notFound
	}
	rows, err := lightRows(ctx, tx, personID, ref)
	if err != nil {
		return Trend{}, err
	}
	f, args := ref.sameTest(personID)
	if ref.code == "" {
		f, args = uncodedResults, []any{personID, fhir.SectionResults}
	}
	rule, err := db.carerRule(ctx, personID) // for a carer: results kept out of sharing
	if err != nil {
		return Trend{}, err
	}
	hide, err := withheldResults(ctx, tx, rule, f, args)
	if err != nil {
		return Trend{}, err
	}
	if len(hide) > 0 {
		kept := rows[:0]
		for _, r := range rows {
			if !hide[r.date+"|"+r.value] {
				kept = append(kept, r)
			}
		}
		rows = kept
	}
	if len(rows) == 0 {
		return Trend{}, notFound
	}
	if page < 1 {
		page = 1
	}
	tr := Trend{Total: len(rows), Page: page, PerPage: perPage}
	if perPage <= 0 {
		tr.PerPage = len(rows)
	}
	if tr.Page > tr.Pages() {
		return Trend{}, Errorf(ENOTFOUND, "There is no such page of this test's results.")
	}
	from := (tr.Page - 1) * tr.PerPage
	tr.Results = lightResults(rows[from:min(from+tr.PerPage, len(rows))])
	if err := complete(ctx, tx, personID, ref, tr.Results); err != nil {
		return Trend{}, err
	}
	if err := q.prefetch(ctx, tr.Results); err != nil {
		return Trend{}, err
	}
	// Results read in full, so the chart's few look-ups reuse the page's.
	exact := map[lightRow]Result{}
	for i := range tr.Results {
		if err := readExact(ctx, q, &tr.Results[i]); err != nil {
			return Trend{}, err
		}
		exact[lightRow{tr.Results[i].Item.Date, tr.Results[i].Item.Value}] = tr.Results[i]
	}
	lookup := func(rw lightRow) (Result, error) {
		if r, ok := exact[rw]; ok {
			return r, nil
		}
		rs := lightResults([]lightRow{rw})
		if err := complete(ctx, tx, personID, ref, rs); err != nil {
			return Result{}, err
		}
		if err := readExact(ctx, q, &rs[0]); err != nil {
			return Result{}, err
		}
		exact[rw] = rs[0]
		return rs[0], nil
	}
	var numeric int
	tr.Series, numeric, err = buildSeries(rows, lookup)
	if err != nil {
		return Trend{}, err
	}
	latest, err := lookup(rows[0])
	if err != nil {
		return Trend{}, err
	}
	tr.Test = ResultTest{Key: key, CodeSystem: ref.system, Code: ref.code, Name: TidyTestName(latest.Item.Display), Latest: latest, Trend: numeric >= 2}
	if latest.Item.ID != 0 {
		tr.Test.Answer, err = isAnswer(ctx, tx, latest.Item.ID)
	} else { // a result with no code, read by its day and value alone
		err = tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM record_items ri JOIN record_item_reasons ka ON ka.item_id = ri.id AND ka.system = 'kind' AND ka.code = 'answer'
WHERE ri.person_id = ?`+f+` AND ri.date = ? AND ri.value = ?)`, append(append([]any{}, args...), latest.Item.Date, latest.Item.Value)...).Scan(&tr.Test.Answer)
	}
	if err != nil {
		return Trend{}, fmt.Errorf("result trend: %w", err)
	}
	// Last, as the series were built from the units as written.
	shown := []*Result{&tr.Test.Latest}
	for i := range tr.Results {
		shown = append(shown, &tr.Results[i])
	}
	sayWhatIsCounted(tr.Test, tr.Series, shown...)
	if err := tx.Commit(); err != nil {
		return Trend{}, err
	}
	return tr, db.markResultsWithheld(ctx, personID, shown)
}

// tellApart names two tests alike by TidyTestName apart by what kind of
// quantity each gives, from the brackets TidyTestName leaves out, in words:
// "Bilirubin.total in Urine by Test strip (present or not)" and "(amount)"
// (a review: four pairs of urine tests read alike on one list).
func tellApart(tests []ResultTest) {
	byName := map[string][]int{}
	for i, t := range tests {
		byName[t.Name] = append(byName[t.Name], i)
	}
	for _, is := range byName {
		if len(is) < 2 {
			continue
		}
		kinds := map[string]int{}
		for _, i := range is {
			kinds[quantityKind(tests[i].Latest.Item.Display)]++
		}
		for _, i := range is {
			t := &tests[i]
			kind := quantityKind(t.Latest.Item.Display)
			// Alike in kind too (glucose by weight and by moles are each an
			// amount): by the unit, which says which (a review).
			if unit := t.unit(); kinds[kind] > 1 && unit != "" {
				kind = unit
			}
			if kind != "" {
				t.Name += " (" + kind + ")"
			}
		}
	}
}

// unit is the unit of a test's latest result, "" when it has none or more
// than one part.
func (t ResultTest) unit() string {
	if len(t.Latest.Measures) != 1 {
		return ""
	}
	return t.Latest.Measures[0].Unit
}

// quantityKind is the kind of quantity a LOINC name's brackets give, in
// words ("[Presence]" is "present or not"), or "" when it has none.
func quantityKind(name string) string {
	i := strings.Index(name, " [")
	if i < 0 {
		return ""
	}
	kind, _, ok := strings.Cut(name[i+2:], "]")
	if !ok {
		return ""
	}
	switch k := strings.ToLower(kind); k {
	case "presence":
		return "present or not"
	case "mass/volume", "moles/volume", "units/volume", "mass", "moles":
		return "amount"
	case "#/volume", "#/area", "#":
		return "count"
	case "volume fraction", "mass fraction":
		return "percentage"
	case "mass ratio", "ratio", "molar ratio":
		return "ratio"
	default:
		return k
	}
}

// TidyTestName is a test's name as the pages show it: without the LOINC
// parts in square brackets that say what kind of quantity it is
// ("Microalbumin/Creatinine [Mass Ratio] in Urine" is
// "Microalbumin/Creatinine in Urine"), which mean nothing to most people.
// A bracket that is part of a word ("mm[Hg]") stays, as does a name that is
// nothing but brackets.
func TidyTestName(name string) string {
	var b strings.Builder
	rest := name
	for {
		i := strings.IndexByte(rest, '[')
		if i < 0 {
			b.WriteString(rest)
			break
		}
		j := strings.IndexByte(rest[i:], ']')
		if j < 0 || i > 0 && rest[i-1] != ' ' {
			b.WriteString(rest[:i+1])
			rest = rest[i+1:]
			continue
		}
		b.WriteString(rest[:i])
		rest = rest[i+j+1:]
	}
	if tidy := strings.Join(strings.Fields(b.String()), " "); tidy != "" {
		return tidy
	}
	return strings.Join(strings.Fields(name), " ")
}

// Tests whose results "per minute" count heartbeats or breaths, by code.
var (
	heartRateCodes = map[string]bool{
		"http://loinc.org|8867-4":          true, // heart rate
		"http://loinc.org|8889-8":          true, // heart rate by pulse oximetry
		"http://loinc.org|8893-0":          true, // heart rate, peripheral artery, by palpation
		"http://snomed.info/sct|364075005": true, // heart rate
		"http://snomed.info/sct|78564009":  true, // pulse rate
	}
	breathingRateCodes = map[string]bool{
		"http://loinc.org|9279-1":         true, // respiratory rate
		"http://snomed.info/sct|86290005": true, // respiratory rate
	}
)

// RateUnit is what a test's results "per minute" count: "beats per minute"
// for a heart rate or pulse, "breaths per minute" for a breathing
// (respiratory) rate, or "" when the test is neither, by its code or else
// its name.
func RateUnit(system, code, name string) string {
	switch k := system + "|" + code; {
	case heartRateCodes[k]:
		return "beats per minute"
	case breathingRateCodes[k]:
		return "breaths per minute"
	}
	n := " " + strings.ToLower(strings.Join(strings.Fields(name), " ")) + " "
	for _, w := range []string{" heart rate", " pulse rate", " pulse "} {
		if strings.Contains(n, w) {
			return "beats per minute"
		}
	}
	for _, w := range []string{" respiratory rate", " respiration rate", " breathing rate"} {
		if strings.Contains(n, w) {
			return "breaths per minute"
		}
	}
	return ""
}

// sayWhatIsCounted gives the test's series and results given only "per
// minute" the unit that says what was counted, such as "breaths per
// minute": a unit of the same kind, so nothing converts differently.
func sayWhatIsCounted(t ResultTest, ss []Series, rs ...*Result) {
	counted := RateUnit(t.CodeSystem, t.Code, t.Latest.Item.Display)
	if counted == "" {
		return
	}
	bare := func(u *string) {
		if DisplayUnit(*u) == "per minute" {
			*u = counted
		}
	}
	for _, r := range rs {
		for j := range r.Measures {
			bare(&r.Measures[j].Unit)
			bare(&r.Measures[j].Range.Unit)
		}
	}
	for i := range ss {
		bare(&ss[i].Unit)
		bare(&ss[i].Range.Unit)
	}
}

// TestNames names the tests the keys (TestKey) name among the person's
// results, each by its newest result's words, so the access log can say
// which test was looked at while it is still in the record. A key that names
// no test now is left out.
func (db *DB) TestNames(ctx context.Context, personID int64, keys []string) (map[string]string, error) {
	out := map[string]string{}
	if len(keys) == 0 {
		return out, nil
	}
	tx, err := db.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("test names: %w", err)
	}
	defer tx.Rollback()
	for _, key := range keys {
		if _, done := out[key]; done {
			continue
		}
		ref, ok, err := resolveKey(ctx, tx, personID, key)
		if err != nil {
			return nil, fmt.Errorf("test names: %w", err)
		}
		if !ok {
			continue
		}
		if ref.code == "" {
			out[key] = ref.name
			continue
		}
		f, args := ref.sameTest(personID)
		var name string
		err = tx.QueryRowContext(ctx, `SELECT ri.display FROM record_items ri WHERE ri.person_id = ?`+f+` ORDER BY ri.date DESC, ri.id DESC LIMIT 1`, args...).Scan(&name)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("test names: %w", err)
		}
		out[key] = name
	}
	return out, nil
}

// resolveKey finds the test a key names among the person's results.
func resolveKey(ctx context.Context, tx *sql.Tx, personID int64, key string) (testRef, bool, error) {
	prefix, rest, ok := strings.Cut(key, "-")
	if !ok || rest == "" {
		return testRef{}, false, nil
	}
	switch {
	case prefix == "loinc" || prefix == "snomed":
		ref := testRef{system: map[string]string{"loinc": "http://loinc.org", "snomed": "http://snomed.info/sct"}[prefix], code: rest}
		f, args := ref.sameTest(personID)
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM record_items ri WHERE ri.person_id = ?`+f+` LIMIT 1`, args...).Scan(&one)
		if err == sql.ErrNoRows {
			return testRef{}, false, nil
		}
		return ref, err == nil, err
	case prefix == "name":
		items, err := testItems(ctx, tx, personID, testRef{}, 0)
		if err != nil {
			return testRef{}, false, err
		}
		for _, it := range items {
			if TestKey("", "", it.Display) == key {
				return testRef{name: it.Display}, true, nil
			}
		}
		return testRef{}, false, nil
	}
	refs, err := codedTests(ctx, tx, personID)
	if err != nil {
		return testRef{}, false, err
	}
	for _, ref := range refs {
		if ref.key() == key {
			return ref, true, nil
		}
	}
	return testRef{}, false, nil
}

// parseValue reads the numbers in a record item's value as the projection
// wrote it: "48 mmol/mol", "<0.5 mg/L", or parts
// "Systolic blood pressure: 128 mm[Hg]; Diastolic blood pressure: 82 mm[Hg]".
// A value with no number is given back as text.
func parseValue(v string) ([]Measure, string) {
	v = strings.TrimSpace(v)
	if ms := parseValueInto(nil, v); ms != nil {
		return ms, ""
	}
	return nil, v
}

// parseValueInto is parseValue appending to dst, for reading thousands of
// values without allocating: nil when the value has no number.
func parseValueInto(dst []Measure, v string) []Measure {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	for more := true; more; {
		var part string
		part, v, more = strings.Cut(v, "; ")
		name, val := "", part
		if i := strings.LastIndex(part, ": "); i >= 0 {
			name, val = strings.TrimSpace(part[:i]), part[i+2:]
		}
		m, ok := parseQuantity(val)
		if !ok {
			return nil
		}
		m.Name = name
		dst = append(dst, m)
	}
	return dst
}

func parseQuantity(s string) (Measure, bool) {
	s = strings.TrimSpace(s)
	var m Measure
	for _, c := range []string{"<=", ">=", "<", ">"} {
		if strings.HasPrefix(s, c) {
			m.Comparator, s = c, strings.TrimSpace(s[len(c):])
			break
		}
	}
	num, unit, _ := strings.Cut(s, " ")
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return Measure{}, false
	}
	m.Value, m.Number, m.Unit = f, num, strings.TrimSpace(unit)
	return m, true
}

// observation is the part of an Observation a result's numbers come from.
type observation struct {
	ValueQuantity  *fhir.Quantity         `json:"valueQuantity"`
	ReferenceRange []fhir.ReferenceRange  `json:"referenceRange"`
	Interpretation []fhir.CodeableConcept `json:"interpretation"`
	Component      []observationComponent `json:"component"`
}

type observationComponent struct {
	Code           fhir.CodeableConcept   `json:"code"`
	ValueQuantity  *fhir.Quantity         `json:"valueQuantity"`
	ReferenceRange []fhir.ReferenceRange  `json:"referenceRange"`
	Interpretation []fhir.CodeableConcept `json:"interpretation"`
}

// exactReader reads results' numbers with statements prepared once for the
// whole page, when first needed: from the record item, where the import kept
// them, else (a result stored before it did) from the resource.
type exactReader struct {
	tx         *sql.Tx
	kept, read *sql.Stmt
	known      map[int64][]byte // read ahead by prefetch
}

func newExactReader(ctx context.Context, tx *sql.Tx) (*exactReader, error) {
	return &exactReader{tx: tx}, nil
}

func (q *exactReader) stmt(ctx context.Context, st **sql.Stmt, query string) (*sql.Stmt, error) {
	if *st == nil {
		var err error
		if *st, err = q.tx.PrepareContext(ctx, query); err != nil {
			return nil, fmt.Errorf("read results: %w", err)
		}
	}
	return *st, nil
}

// prefetch reads in one query what the import kept for a page of results,
// so that readExact need not ask for each.
func (q *exactReader) prefetch(ctx context.Context, rs []Result) error {
	if len(rs) == 0 {
		return nil
	}
	args := make([]any, 0, len(rs))
	for _, r := range rs {
		if r.Item.ID != 0 && r.Item.ResourceType == "Observation" {
			args = append(args, r.Item.ID)
		}
	}
	if len(args) == 0 {
		return nil
	}
	rows, err := q.tx.QueryContext(ctx, `SELECT id, exact FROM record_items WHERE exact IS NOT NULL AND id IN (?`+strings.Repeat(", ?", len(args)-1)+`)`, args...)
	if err != nil {
		return fmt.Errorf("read results: %w", err)
	}
	defer rows.Close()
	if q.known == nil {
		q.known = map[int64][]byte{}
	}
	for rows.Next() {
		var id int64
		var exact []byte
		if err := rows.Scan(&id, &exact); err != nil {
			return fmt.Errorf("read results: %w", err)
		}
		q.known[id] = exact
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read results: %w", err)
	}
	return nil
}

func (q *exactReader) Close() error {
	for _, st := range []*sql.Stmt{q.kept, q.read} {
		if st != nil {
			st.Close()
		}
	}
	return nil
}

// parts reads the JSON array [valueQuantity, referenceRange, interpretation,
// component] of a result; nil when there is none to read.
func (q *exactReader) parts(ctx context.Context, it RecordItem) ([]byte, error) {
	if kept, ok := q.known[it.ID]; ok {
		return kept, nil
	}
	var kept []byte
	if it.ID != 0 {
		st, err := q.stmt(ctx, &q.kept, `SELECT exact FROM record_items WHERE id = ?`)
		if err != nil {
			return nil, err
		}
		err = st.QueryRowContext(ctx, it.ID).Scan(&kept)
		if err != nil && err != sql.ErrNoRows {
			return nil, fmt.Errorf("read result %s: %w", it.ResourceID, err)
		}
		if kept != nil {
			return kept, nil
		}
	}
	// SQLite picks out the four fields, so Go decodes a few hundred bytes, not the resource.
	var raw []byte
	st, err := q.stmt(ctx, &q.read, `SELECT json_extract(CAST(json AS TEXT), '$.valueQuantity', '$.referenceRange', '$.interpretation', '$.component')
FROM resources WHERE source_id = ? AND type = ? AND id = ?`)
	if err != nil {
		return nil, err
	}
	err = st.QueryRowContext(ctx, it.Source.ID, it.ResourceType, it.ResourceID).Scan(&raw)
	if err == sql.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		// A resource SQLite cannot read as JSON is shown as the record item has it.
		if strings.Contains(err.Error(), "JSON") {
			return nil, nil
		}
		return nil, fmt.Errorf("read result %s: %w", it.ResourceID, err)
	}
	return raw, nil
}

// readExact reads a result's numbers, units, normal ranges and flags from the
// resource as the source sent it. A resource that cannot be read leaves the
// result as the record item has it.
func readExact(ctx context.Context, q *exactReader, r *Result) error {
	if r.Exact || r.Item.ResourceType != "Observation" {
		return nil
	}
	raw, err := q.parts(ctx, r.Item)
	if err != nil || raw == nil {
		return err
	}
	if ems, ok := fhir.ExactMeasures(string(raw)); ok {
		var ms []Measure
		for _, em := range ems {
			var rr []fhir.ReferenceRange
			if em.Range != nil {
				rr = []fhir.ReferenceRange{{Low: em.Range.Low, High: em.Range.High, Text: em.Range.Text}}
			}
			if m, ok := exactMeasure(em.Name, em.Quantity, rr, em.Interpretation); ok {
				ms = append(ms, m)
			}
		}
		if len(ms) > 0 {
			r.Measures, r.Text = ms, ""
		}
		r.Exact = true
		return nil
	}
	decodeExact(raw, r)
	return nil
}

// decodeExact reads a result's measures from the JSON array [valueQuantity,
// referenceRange, interpretation, component]; JSON it cannot read leaves the
// result as the record item has it.
func decodeExact(raw []byte, r *Result) {
	var parts [4]json.RawMessage
	var o observation
	if json.Unmarshal(raw, &parts) != nil {
		return
	}
	for i, dst := range []any{&o.ValueQuantity, &o.ReferenceRange, &o.Interpretation, &o.Component} {
		if len(parts[i]) > 0 && json.Unmarshal(parts[i], dst) != nil {
			return
		}
	}
	var ms []Measure
	if o.ValueQuantity != nil {
		m, ok := exactMeasure("", *o.ValueQuantity, o.ReferenceRange, o.Interpretation)
		if ok {
			ms = append(ms, m)
		}
	} else {
		for _, c := range o.Component {
			if c.ValueQuantity == nil {
				continue
			}
			if m, ok := exactMeasure(firstWords(c.Code, "Part"), *c.ValueQuantity, c.ReferenceRange, c.Interpretation); ok {
				ms = append(ms, m)
			}
		}
	}
	if len(ms) > 0 {
		r.Measures, r.Text = ms, ""
	}
	r.Exact = true
}

func firstWords(c fhir.CodeableConcept, otherwise string) string {
	if w := c.Words(); w != "" {
		return w
	}
	return otherwise
}

func exactMeasure(name string, q fhir.Quantity, ranges []fhir.ReferenceRange, interp []fhir.CodeableConcept) (Measure, bool) {
	f, err := strconv.ParseFloat(string(q.Value), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return Measure{}, false
	}
	if len(interp) == 0 {
		interp = fhir.AgreedFlag(q, ranges) // several ranges that all say the same
	}
	m := Measure{Name: name, Value: f, Number: string(q.Value), Comparator: q.Comparator, Unit: q.Unit}
	if q.System == ucum || q.System == "" {
		m.UnitCode = q.Code
	}
	if m.Unit == "" {
		m.Unit = q.Code
	}
	if rr, ok := fhir.ComparedRange(ranges); ok {
		m.Range.Text = strings.TrimSpace(rr.Text)
		for _, b := range []struct {
			q   *fhir.Quantity
			v   *float64
			has *bool
		}{{rr.Low, &m.Range.Low, &m.Range.HasLow}, {rr.High, &m.Range.High, &m.Range.HasHigh}} {
			if b.q == nil {
				continue
			}
			if v, err := strconv.ParseFloat(string(b.q.Value), 64); err == nil {
				*b.v, *b.has = v, true
				if m.Range.Unit == "" {
					m.Range.Unit = firstNonBlank(b.q.Unit, b.q.Code)
				}
			}
		}
		// A range in another kind of unit cannot be compared with the value.
		if m.Range.Unit != "" && !SameKindOfUnit(m.Range.Unit, firstNonBlank(m.UnitCode, m.Unit)) {
			m.Range.HasLow, m.Range.HasHigh = false, false
		} else if m.Range.Unit != "" {
			f := UnitFactor(m.Range.Unit, firstNonBlank(m.UnitCode, m.Unit))
			m.Range.Low, m.Range.High = m.Range.Low*f, m.Range.High*f
			m.Range.Unit = m.Unit
		} else {
			m.Range.Unit = m.Unit
		}
	}
	m.Flag = Flag(interp, m.Value, m.Comparator, m.Range)
	return m, true
}

func firstNonBlank(ss ...string) string {
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			return strings.TrimSpace(s)
		}
	}
	return ""
}

// interpretationWords are the HL7 observation interpretation codes in words.
var interpretationWords = map[string]string{
	"H": "High", "HU": "Very high", "HH": "Very high", "H>": "Very high",
	"L": "Low", "LU": "Very low", "LL": "Very low", "L<": "Very low",
	"N": "Normal", "A": "Outside the normal range", "AA": "Far outside the normal range",
	"POS": "Positive", "NEG": "Negative", "DET": "Detected", "ND": "Not detected",
	"IND": "Unclear", "E": "Equivocal", "EX": "Outside the range the test can measure",
	"<": "Below the range the test can measure", ">": "Above the range the test can measure",
	"I": "Intermediate", "R": "Resistant", "S": "Susceptible", "W": "Worse", "B": "Better", "U": "Significant change up", "D": "Significant change down",
}

// Flag is how a value compares with its normal range, in words: the
// source's own interpretation when it gives one, else worked out from the
// range; "" when neither is known. A value given as a limit ("<25", ">90",
// its comparator) is flagged only when every value within that limit would
// be: "<25" against 25 to 200 is Low, ">90" against "over 60" Normal, "<5"
// against 3 to 10 nothing (found by a clinical-safety review: "<25" was
// called Normal). A lower limit of 0 is no limit to a measurement; one below
// 0 is (a base excess of "<-5" against -2 to 2 is Low).
func Flag(interp []fhir.CodeableConcept, value float64, comparator string, r Range) string {
	for _, in := range interp {
		for _, c := range in.Coding {
			if w, ok := interpretationWords[strings.ToUpper(strings.TrimSpace(c.Code))]; ok {
				return w
			}
		}
		if w := in.Words(); w != "" {
			return strings.ToUpper(w[:1]) + w[1:]
		}
	}
	hasLow := r.HasLow && r.Low != 0
	switch comparator {
	case "<", "<=": // at most value
		switch {
		case hasLow && (value < r.Low || comparator == "<" && value == r.Low):
			return "Low"
		case !hasLow && r.HasHigh && value <= r.High:
			return "Normal"
		}
		return ""
	case ">", ">=": // at least value
		switch {
		case r.HasHigh && (value > r.High || comparator == ">" && value == r.High):
			return "High"
		case !r.HasHigh && hasLow && value >= r.Low:
			return "Normal"
		}
		return ""
	}
	switch {
	case r.HasHigh && value > r.High:
		return "High"
	case r.HasLow && value < r.Low:
		return "Low"
	case r.HasHigh || r.HasLow:
		return "Normal"
	}
	return ""
}

// buildSeries puts a test's numbers into series to chart: one per part and
// kind of unit, in the unit most of its values were given in, values in other
// units of the same kind converted, different kinds never mixed. Rows come
// newest first. It also counts the results that have numbers.
func buildSeries(rows []lightRow, lookup func(lightRow) (Result, error)) ([]Series, int, error) {
	type seriesKey struct{ name, kind string }
	type raw struct {
		date  time.Time
		value float64
		unit  string // the UCUM code, else the unit as written
		cmp   string // the value's comparator, if any
	}
	type building struct {
		key    seriesKey
		raws   []raw // newest first
		counts map[string]*int
		newest lightRow
	}
	index := map[seriesKey]*building{}
	var order []*building
	// The UCUM code behind each unit as written, read once from a resource
	// that uses it, so "millimoles per mole" and "mmol/mol" are one unit.
	codes := map[[2]string]string{}
	kinds := map[string]string{}
	numeric := 0
	var buf [4]Measure
	// Where the last row's measures went, part by part: the next row nearly
	// always has the same parts in the same units, so thousands of rows need
	// no map look-ups.
	type place struct {
		name, written, unit string
		b                   *building
		count               *int
	}
	var last [4]place
	// sameShape reads a value written like the last row's ("Systolic blood
	// pressure: 128 mm[Hg]; …" with the same names and units) by comparing
	// it with them; false when it is not, for parseValueInto to read.
	sameShape := func(v string) ([]Measure, bool) {
		ms := buf[:0]
		for i := 0; ; i++ {
			if i >= len(last) || last[i].b == nil {
				return nil, false
			}
			p := &last[i]
			part, rest, more := strings.Cut(v, "; ")
			if p.name != "" {
				n := len(p.name)
				if len(part) < n+2 || part[:n] != p.name || part[n:n+2] != ": " {
					return nil, false
				}
				part = part[n+2:]
			}
			num := part
			if n := len(p.written); n > 0 {
				if len(part) < n+1 || part[len(part)-n:] != p.written || part[len(part)-n-1] != ' ' {
					return nil, false
				}
				num = part[:len(part)-n-1]
			}
			// ParseFloat takes nothing but a number: a comparator, or
			// anything else, is for parseValueInto.
			f, err := strconv.ParseFloat(num, 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, false
			}
			ms = append(ms, Measure{Name: p.name, Value: f, Number: num, Unit: p.written})
			if !more {
				return ms, true
			}
			v = rest
		}
	}
	for _, rw := range rows {
		ms, ok := sameShape(rw.value)
		if !ok {
			ms = parseValueInto(buf[:0], rw.value)
		}
		if len(ms) == 0 {
			continue
		}
		numeric++
		d, dated := parseDate(rw.date)
		for i, m := range ms {
			if i < len(last) && last[i].b != nil && last[i].name == m.Name && last[i].written == m.Unit {
				if dated {
					p := &last[i]
					p.b.raws = append(p.b.raws, raw{d, m.Value, p.unit, m.Comparator})
					*p.count++
				}
				continue
			}
			ck := [2]string{m.Name, m.Unit}
			unit, ok := codes[ck]
			if !ok {
				unit = m.Unit
				rep, err := lookup(rw)
				if err != nil {
					return nil, 0, err
				}
				for _, em := range rep.Measures {
					if em.Name == m.Name && em.Unit == m.Unit && em.UnitCode != "" {
						unit = em.UnitCode
					}
				}
				codes[ck] = unit
			}
			kind, ok := kinds[unit]
			if !ok {
				kind = UnitKind(unit)
				kinds[unit] = kind
			}
			k := seriesKey{m.Name, kind}
			b, ok := index[k]
			if !ok {
				b = &building{key: k, counts: map[string]*int{}, newest: rw, raws: make([]raw, 0, len(rows))}
				index[k] = b
				order = append(order, b)
			}
			count := b.counts[unit]
			if count == nil {
				count = new(int)
				b.counts[unit] = count
			}
			if dated {
				b.raws = append(b.raws, raw{d, m.Value, unit, m.Comparator})
				*count++
			}
			if i < len(last) {
				last[i] = place{m.Name, m.Unit, unit, b, count}
			}
		}
	}
	out := make([]Series, 0, len(order))
	for _, b := range order {
		s := Series{Name: b.key.name}
		best, bestUnit := 0, ""
		for _, rw := range b.raws { // newest first, so a tie goes to the newest unit
			if n := *b.counts[rw.unit]; n > best {
				bestUnit, best = rw.unit, n
			}
		}
		if best == 0 {
			continue // no value with a date; one with no unit is charted as it is (a review: an HIV viral load, 13 results, had none)
		}
		s.Unit = DisplayUnit(bestUnit)
		factors := map[string]float64{}
		s.Points = make([]Point, len(b.raws))
		lastUnit, f := "", 1.0
		for i, rw := range b.raws {
			if i == 0 || rw.unit != lastUnit {
				var ok bool
				if f, ok = factors[rw.unit]; !ok {
					f = UnitFactor(rw.unit, bestUnit)
					factors[rw.unit] = f
				}
				lastUnit = rw.unit
			}
			s.Points[len(b.raws)-1-i] = Point{Date: rw.date, Value: rw.value * f, Comparator: rw.cmp}
		}
		r, err := lookup(b.newest)
		if err != nil {
			return nil, 0, err
		}
		for _, m := range r.Measures {
			u := firstNonBlank(m.UnitCode, m.Unit)
			if m.Name == s.Name && m.Range.Known() && SameKindOfUnit(u, bestUnit) {
				f := UnitFactor(u, bestUnit)
				s.Range = m.Range
				s.Range.Low, s.Range.High, s.Range.Unit = m.Range.Low*f, m.Range.High*f, s.Unit
				break
			}
		}
		out = append(out, s)
	}
	return out, numeric, nil
}

// parseDate reads a FHIR date or date-time.
func parseDate(s string) (time.Time, bool) {
	for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02", "2006-01", "2006"} {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

const ucum = "http://unitsofmeasure.org"

// unit is one way of writing a unit: the kind of quantity it measures, how
// many of the kind's base unit it is, and how people read it.
type unit struct {
	kind    string
	factor  float64
	display string
}

// units are the ways of writing units that mean the same thing, by their
// folded form (see foldUnit). Units of one kind convert into each other.
var units = func() map[string]unit {
	m := map[string]unit{}
	add := func(kind string, factor float64, display string, spellings ...string) {
		for _, s := range append(spellings, display) {
			m[foldUnit(s)] = unit{kind, factor, display}
		}
	}
	add("ratio-mmol/mol", 1, "mmol/mol", "mmol/mol", "millimoles per mole", "millimole per mole")
	add("fraction", 1, "%", "percent", "per cent", "pct", "%{HbA1c}")
	add("mass", 1, "kg", "kilogram", "kilograms", "kgs")
	add("mass", 0.001, "g", "gram", "grams", "gm")
	add("mass", 1e-6, "mg", "milligram", "milligrams")
	add("mass", 0.45359237, "lb", "[lb_av]", "lbs", "pound", "pounds")
	add("mass", 6.35029318, "st", "[stone_av]", "stone")
	add("pressure-mmHg", 1, "mmHg", "mm[Hg]", "mm Hg", "millimetres of mercury", "millimeters of mercury")
	add("length", 1, "m", "metre", "metres", "meter", "meters")
	add("length", 0.01, "cm", "centimetre", "centimetres", "centimeter", "centimeters")
	add("length", 0.0254, "in", "[in_i]", "inch", "inches")
	add("molar-concentration", 1e-3, "mmol/L", "mmol/l", "mmol/litre", "mmol per litre", "millimoles per litre")
	add("molar-concentration", 1e-6, "µmol/L", "umol/L", "umol/l", "µmol/l", "micromol/L", "micromoles per litre")
	add("molar-concentration", 1e-9, "nmol/L", "nmol/l")
	add("mass-concentration", 1, "g/L", "g/l")
	add("mass-concentration", 10, "g/dL", "g/dl")
	add("mass-concentration", 0.01, "mg/dL", "mg/dl", "milligrams per decilitre")
	add("mass-concentration", 0.001, "mg/L", "mg/l")
	add("cell-count", 1, "×10⁹/L", "10*9/L", "10^9/L", "x10^9/L", "x10*9/L", "10*9/l", "10^9/l", "x10^9/l", "×10^9/L", "/nL", "10*3/uL", "10^3/uL", "K/uL")
	add("cell-count-12", 1, "×10¹²/L", "10*12/L", "10^12/L", "x10^12/L", "10*6/uL", "M/uL")
	add("egfr", 1, "mL/min/1.73m²", "mL/min/{1.73_m2}", "mL/min/1.73m2", "ml/min/1.73m2", "mL/min/1.73 m2", "ml/min/1.73m^2", "mL/min/[1.73m2]")
	add("temperature-c", 1, "°C", "Cel", "degC", "degrees C", "celsius")
	// "/min" says only how often: a heart rate's beats or a breathing rate's
	// breaths are the test's to say (see RateUnit).
	add("rate-per-minute", 1, "per minute", "/min", "1/min", "{count}/min", "{counts}/min", "{events}/min")
	add("rate-per-minute", 1, "beats per minute", "bpm", "beats/min", "{beats}/min", "{beat}/min", "{heartbeats}/min")
	add("rate-per-minute", 1, "breaths per minute", "breaths/min", "{breaths}/min", "{breath}/min", "{respirations}/min")
	add("bmi", 1, "kg/m²", "kg/m2", "kg/m^2")
	add("ratio-ml-min", 1, "mL/min", "ml/min")
	return m
}()

// foldUnit is a unit written without spaces, in lower case, with "µ" as "u":
// the form that tells whether two spellings are the same unit.
func foldUnit(s string) string {
	s = strings.ToLower(strings.Join(strings.Fields(s), ""))
	return strings.ReplaceAll(strings.ReplaceAll(s, "µ", "u"), "μ", "u")
}

// lookupUnit finds a unit however it was written. A UCUM annotation in curly
// brackets ("{score}", "{cells}/uL") only says what was counted and changes
// nothing (UCUM), so a unit the portal does not know is looked for without
// its annotations too.
func lookupUnit(s string) (unit, bool) {
	// UCUM's prefixes tell giga from gram by case alone: "G/L" (10⁹ cells a
	// litre, as some laboratories write it) is no "g/L", nor "T/L" a tonne,
	// nor "M" metres (found by a clinical-safety review: a white cell count
	// read as grams).
	switch strings.Join(strings.Fields(s), "") {
	case "G/L":
		s = "10*9/L"
	case "T/L":
		s = "10*12/L"
	case "M":
		return unit{}, false // a molar concentration, as laboratories write it, never metres
	}
	if u, ok := units[foldUnit(s)]; ok {
		return u, true
	}
	u, ok := units[foldUnit(withoutAnnotations(s))]
	return u, ok
}

// withoutAnnotations is a unit without its UCUM annotations in curly
// brackets: "{score}" is "", "{cells}/uL" is "/uL".
func withoutAnnotations(s string) string {
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			return s
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return s
		}
		s = s[:i] + s[i+j+1:]
	}
}

// NormaliseUnit is the way people read a unit, whichever way it was written:
// "mm[Hg]" is "mmHg", "mg/dl" is "mg/dL", "percent" is "%", "{score}" is
// nothing. A unit it does not know is given back with its spaces tidied and
// without UCUM annotations, which are codes, not words.
func NormaliseUnit(s string) string { return DisplayUnit(s) }

// DisplayUnit is NormaliseUnit; the name says what the views use it for.
func DisplayUnit(s string) string {
	if u, ok := lookupUnit(s); ok {
		return u.display
	}
	return strings.Join(strings.Fields(withoutAnnotations(s)), " ")
}

// KnownUnit is how people read a unit the portal knows ("mm[Hg]" is
// "mmHg"), and whether it knows it.
func KnownUnit(s string) (string, bool) {
	u, ok := lookupUnit(s)
	return u.display, ok
}

// UnitKind is the kind of quantity a unit measures: two units of the same
// kind can be charted together after conversion. An unknown unit is its own
// kind, so it is never mixed with another.
func UnitKind(s string) string {
	if u, ok := lookupUnit(s); ok {
		return u.kind
	}
	return "unit:" + foldUnit(withoutAnnotations(s))
}

// SameKindOfUnit reports whether values in the two units can be compared.
func SameKindOfUnit(a, b string) bool { return UnitKind(a) == UnitKind(b) }

// UnitFactor is what to multiply a value in unit from by to have it in unit
// to; 1 when they are not of the same kind (callers check that first).
func UnitFactor(from, to string) float64 {
	a, okA := lookupUnit(from)
	b, okB := lookupUnit(to)
	if !okA || !okB || a.kind != b.kind || b.factor == 0 {
		return 1
	}
	return a.factor / b.factor
}

// ReadableNumber writes a number given to more decimal places than a
// measurement has (a device's or a calculation's 72.97763358096024) to as
// many as people read: 72.98, 107.8, 2.075, 0.01235 (four significant
// figures, at most three decimal places from 1 up). A number given to three
// decimal places or fewer, or that does not read as one, is as written.
func ReadableNumber(s string) string {
	dot := strings.IndexByte(s, '.')
	if dot < 0 || len(s)-dot-1 <= 3 || strings.ContainsAny(s, "eE") {
		return s
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return s
	}
	places := 3
	switch a := math.Abs(v); {
	case a >= 100:
		places = 1
	case a >= 10:
		places = 2
	case a > 0 && a < 1:
		places = 3 - int(math.Floor(math.Log10(a)))
	}
	out := strings.TrimRight(strings.TrimRight(strconv.FormatFloat(v, 'f', places, 64), "0"), ".")
	if out == "-0" {
		out = "0"
	}
	return out
}

// formatNumber writes a number without trailing zeros: 41, 5.5, 0.25.
func formatNumber(f float64) string {
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// uncodedResults picks the results without a code, as sameTest picks a coded test's.
const uncodedResults = ` AND ri.section = ? AND ri.code_system = '' AND ri.code = ''` + resultShown

// dropResults leaves out the items whose "date|value" is in hide.
func dropResults(items []RecordItem, hide map[string]bool) []RecordItem {
	if len(hide) == 0 {
		return items
	}
	kept := items[:0]
	for _, it := range items {
		if !hide[it.Date+"|"+it.Value] {
			kept = append(kept, it)
		}
	}
	return kept
}

// chartKinds counts values as a trend page charts them: a series a part
// and a kind of unit (buildSeries), drawn with two values or more
// (views/chart.go). An HbA1c once in % and once in mmol/mol is two values
// and no chart (a review: one was promised).
type chartKinds struct {
	counts map[string]int
	two    bool
}

func (k *chartKinds) add(ms []Measure) {
	if k.counts == nil {
		k.counts = map[string]int{}
	}
	for _, m := range ms {
		key := m.Name + "\x1f" + UnitKind(firstNonBlank(m.UnitCode, m.Unit))
		if k.counts[key]++; k.counts[key] >= 2 {
			k.two = true
		}
	}
}

func (k *chartKinds) chart() bool { return k.two }

// chartsOf says whether results' page draws a chart (chartKinds), of those dated.
func chartsOf(rs []Result) bool {
	var k chartKinds
	for _, r := range rs {
		if r.Item.Date != "" {
			k.add(r.Measures)
		}
	}
	return k.chart()
}

package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mycarerecord/portal/store/fhir"
)

// MaxSearchLength is the longest search, in characters, the portal accepts.
const MaxSearchLength = 200

// SearchOptions narrows a search of a person's record.
type SearchOptions struct {
	Section    string // a section slug to search only that section, or "" for every section
	PerSection int    // at most this many items from each section (one page of them when Section is set)
	Page       int    // from 1: which page of the one section; ignored without Section
}

// SearchResults is what a search of one person's record found.
type SearchResults struct {
	Query    string
	Sections []SearchSection // in the order of fhir.Sections(), only those with matches
	Total    int             // matches across every section searched
	Page     int             // from 1 (only more than 1 when one section is searched)
}

// SearchSection is one section's share of the matches.
type SearchSection struct {
	Section fhir.Section
	Items   []RecordItem // the best matches first, newest first among equals
	Total   int          // every match in the section, however many Items shows
	Offset  int          // how many matches come before Items (one section, later pages)
	Newest  bool         // too many matches to rank: Items are the newest first
}

// More reports whether the section has more matches than it shows.
func (s SearchSection) More() bool { return s.Offset+len(s.Items) < s.Total }

// searchRank is bm25 with one weight per column of record_search: a match in
// the display name above one in a code, then the value or detail, then the
// organisations. The scope column only says whose and where, so it weighs nothing.
const searchRank = `bm25(record_search, 0.0, 10.0, 5.0, 2.0, 2.0, 1.0, 1.0)`

// searchRanked is how many matches a section may have for bm25 to rank them
// all. bm25 costs a couple of microseconds a match, so a section with more
// (every result from one organisation, a common test) lists them newest first,
// which needs no sort at all: the section's date index is walked until the
// page is full.
const searchRanked = 300

// searchHit is one fact a search found, with what orders it.
type searchHit struct {
	id    int64
	rank  float64
	date  string
	shown bool // another source's report found this entry, which also matches by itself
}

// SearchRecord finds the items of the person's record that contain every word of
// text (the last word may be the start of a word), in display names, codes,
// values, details and organisation names, grouped by section. A section with
// up to searchRanked matches lists the best first (newest first among equals);
// one with more lists them newest first. A hit in another source's report of
// a fact (dup = 1) finds the fact's one entry. Text is never read as FTS5
// syntax: each word is quoted, so quotes, AND, NEAR, brackets and stars are
// only characters to look for.
//
// The person and section are tokens in the index (migration 0009), so FTS5
// finds only this person's matches and the words are looked up once: the
// expensive part of a broad search, merging the doclists of every word a
// prefix stands for, is paid once per pass, and there are at most two passes.
func (db *DB) SearchRecord(ctx context.Context, personID int64, text string, opt SearchOptions) (SearchResults, error) {
	out := SearchResults{Query: text, Page: 1}
	if utf8.RuneCountInString(text) > MaxSearchLength {
		return out, Errorf(EINVALID, "Your search must be %d characters or fewer.", MaxSearchLength)
	}
	if opt.PerSection <= 0 {
		opt.PerSection = 20
	}
	sections := fhir.Sections()
	if opt.Section != "" {
		s, ok := fhir.SectionBySlug(opt.Section)
		if !ok {
			return out, Errorf(ENOTFOUND, "There is no part of the record called %q.", opt.Section)
		}
		sections = []fhir.Section{s}
		out.Page = max(opt.Page, 1)
	}
	terms := ftsQuery(text)
	if terms == "" {
		return out, nil
	}
	// The words typed are looked for in the text columns only, never in scope.
	words := `{display code value detail organisation source} : (` + terms + `)`
	person := fmt.Sprintf("0p%d", personID)
	scope := person + "v" // every shown item of the person
	if opt.Section != "" {
		scope = person + strings.ReplaceAll(opt.Section, "-", "")
	}
	offset := (out.Page - 1) * opt.PerSection
	need := offset + opt.PerSection

	// Pass 1: the person's matches (w), counted by section; the entries that
	// other sources' reports lead to; and, for each section with too many
	// matches to rank, the newest the page needs.
	args := []any{`scope : ("` + scope + `" OR "` + person + `dup") AND ` + words, personID, searchRanked, need}
	in := make([]string, len(sections))
	for i, s := range sections {
		args = append(args, s.Slug)
		in[i] = fmt.Sprintf("?%d", len(args))
	}
	// k counts through record_items_shown (migration 0009), a narrow covering
	// index: the planner would otherwise look each match up in the wide table,
	// which costs ten times as much.
	var q strings.Builder
	q.WriteString(`WITH w AS MATERIALIZED (SELECT rowid AS id FROM record_search WHERE record_search MATCH ?1),
k AS MATERIALIZED (SELECT ri.section, COUNT(*) AS n FROM w CROSS JOIN record_items ri INDEXED BY record_items_shown ON ri.id = w.id
	WHERE ri.dup = 0 GROUP BY ri.section)
SELECT 0, section, n, '', 0 FROM k
UNION ALL SELECT 1, f.section, f.id, f.date, f.dup = 0 AND f.id IN w FROM (
	SELECT DISTINCT COALESCE((SELECT MIN(o.id) FROM record_items o
		WHERE o.person_id = ri.person_id AND o.dedup_key = ri.dedup_key AND o.dup = 0), ri.id) AS id
	FROM record_items ri WHERE ri.person_id = ?2 AND ri.section IN (` + strings.Join(fhirSlugs(), ", ") + `) AND ri.dup = 1 AND ri.id IN w
) d CROSS JOIN record_items f ON f.id = d.id`)
	for _, p := range in {
		// LIMIT 0 (a section with few matches or none) never starts the walk.
		fmt.Fprintf(&q, `
UNION ALL SELECT * FROM (SELECT 2, ri.section, ri.id, ri.date, 0 FROM record_items ri
	WHERE ri.person_id = ?2 AND ri.section = %[1]s AND ri.dup = 0 AND ri.id IN w ORDER BY ri.date DESC, ri.id DESC
	LIMIT COALESCE((SELECT CASE WHEN n > ?3 THEN ?4 ELSE 0 END FROM k WHERE section = %[1]s), 0))`, p)
	}
	counts := map[string]int{}
	dups := map[string][]searchHit{}   // by section
	newest := map[string][]searchHit{} // by section
	rows, err := db.db.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return out, fmt.Errorf("search record: %w", err)
	}
	for rows.Next() {
		var kind int
		var section string
		var h searchHit
		if err := rows.Scan(&kind, &section, &h.id, &h.date, &h.shown); err != nil {
			rows.Close()
			return out, fmt.Errorf("search record: %w", err)
		}
		switch kind {
		case 0:
			counts[section] = int(h.id)
		case 1:
			dups[section] = append(dups[section], h)
		case 2:
			newest[section] = append(newest[section], h)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("search record: %w", err)
	}

	// Pass 2: bm25 for the sections with few enough matches to rank, and for
	// the other sources' reports that lead to entries in them.
	hits := map[string][]searchHit{}
	var ranked []string
	rankDups := false
	for _, s := range sections {
		if counts[s.Slug] > searchRanked {
			hits[s.Slug] = mergeHits(newest[s.Slug], dups[s.Slug])
			continue
		}
		if counts[s.Slug] > 0 {
			ranked = append(ranked, `"`+person+strings.ReplaceAll(s.Slug, "-", "")+`"`)
		}
		if len(dups[s.Slug]) > 0 {
			rankDups = true
		}
	}
	if rankDups {
		ranked = append(ranked, `"`+person+`dup"`)
	}
	if len(ranked) > 0 {
		facts := map[int64]searchHit{} // the entries other sources' reports lead to
		for _, ds := range dups {
			for _, d := range ds {
				facts[d.id] = d
			}
		}
		best := map[int64]float64{}
		rows, err := db.db.QueryContext(ctx, `WITH m AS MATERIALIZED (
	SELECT rowid AS id, `+searchRank+` AS r FROM record_search WHERE record_search MATCH ?1
)
SELECT CASE WHEN ri.dup = 0 THEN ri.id ELSE COALESCE((SELECT MIN(o.id) FROM record_items o
	WHERE o.person_id = ri.person_id AND o.dedup_key = ri.dedup_key AND o.dup = 0), ri.id) END, m.r, ri.section, ri.date, ri.dup
FROM m CROSS JOIN record_items ri ON ri.id = m.id`, `scope : (`+strings.Join(ranked, " OR ")+`) AND `+words)
		if err != nil {
			return out, fmt.Errorf("search record: %w", err)
		}
		for rows.Next() {
			var h searchHit
			var section string
			var dup bool
			if err := rows.Scan(&h.id, &h.rank, &section, &h.date, &dup); err != nil {
				rows.Close()
				return out, fmt.Errorf("search record: %w", err)
			}
			if dup {
				if _, ok := facts[h.id]; !ok {
					continue // an entry in a section listed newest first
				}
				if r, seen := best[h.id]; !seen || h.rank < r {
					best[h.id] = h.rank
				}
				continue
			}
			hits[section] = append(hits[section], h)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return out, fmt.Errorf("search record: %w", err)
		}
		for _, s := range sections {
			if counts[s.Slug] > searchRanked {
				continue
			}
			extra := dups[s.Slug]
			for i := range extra {
				extra[i].rank = best[extra[i].id]
			}
			hits[s.Slug] = mergeHits(hits[s.Slug], extra)
		}
	}

	type found struct {
		sec  SearchSection
		hits []searchHit
	}
	var secs []found
	var ids []any
	for _, s := range sections {
		total := counts[s.Slug]
		for _, d := range dups[s.Slug] {
			if !d.shown {
				total++
			}
		}
		if total == 0 {
			continue
		}
		out.Total += total
		h := hits[s.Slug]
		h = h[min(offset, len(h)):min(need, len(h))]
		if len(h) == 0 {
			continue // a page past the end: the total says how many there are
		}
		for _, x := range h {
			ids = append(ids, x.id)
		}
		secs = append(secs, found{SearchSection{Section: s, Total: total, Offset: offset, Newest: counts[s.Slug] > searchRanked}, h})
	}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err = db.db.QueryContext(ctx, `SELECT `+itemColumns+` FROM record_items ri JOIN sources s ON s.id = ri.source_id
WHERE ri.id IN (?`+strings.Repeat(", ?", len(ids)-1)+`)`, ids...)
	if err != nil {
		return out, fmt.Errorf("search record: %w", err)
	}
	items, err := scanItems(rows)
	if err != nil {
		return out, fmt.Errorf("search record: %w", err)
	}
	if err := db.withSources(ctx, personID, items); err != nil {
		return out, fmt.Errorf("search record: %w", err)
	}
	byID := make(map[int64]RecordItem, len(items))
	for _, it := range items {
		byID[it.ID] = it
	}
	for _, f := range secs {
		for _, h := range f.hits {
			if it, ok := byID[h.id]; ok {
				f.sec.Items = append(f.sec.Items, it)
			}
		}
		out.Sections = append(out.Sections, f.sec)
	}
	return out, nil
}

// fhirSlugs are "'allergies', 'medicines', …": every section, as SQL literals.
func fhirSlugs() []string {
	var out []string
	for _, s := range fhir.Sections() {
		out = append(out, "'"+s.Slug+"'")
	}
	return out
}

// mergeHits adds the entries found through other sources' reports to a
// section's own matches, one hit per entry at its best rank, best first and
// newest first among equals.
func mergeHits(hits, extra []searchHit) []searchHit {
	at := make(map[int64]int, len(hits))
	for i, h := range hits {
		at[h.id] = i
	}
	for _, e := range extra {
		if i, ok := at[e.id]; ok {
			hits[i].rank = min(hits[i].rank, e.rank)
			continue
		}
		at[e.id] = len(hits)
		hits = append(hits, e)
	}
	slices.SortStableFunc(hits, func(a, b searchHit) int {
		if c := cmp.Compare(a.rank, b.rank); c != 0 {
			return c
		}
		if c := strings.Compare(b.date, a.date); c != 0 {
			return c
		}
		return cmp.Compare(b.id, a.id)
	})
	return hits
}

// ftsQuery turns what a person typed into an FTS5 query that means "every word,
// the last perhaps unfinished". Each word becomes a quoted string (FTS5 reads
// nothing inside quotes as syntax, and a quote inside is doubled), so no input
// can be an FTS5 syntax error or an operator. Words with no letter or digit
// would be empty phrases after tokenising and are dropped. It returns "" when
// nothing is left to look for.
func ftsQuery(text string) string {
	var terms []string
	lastLen := 0
	for _, w := range strings.Fields(strings.ToValidUTF8(text, " ")) {
		n := 0
		for _, r := range w {
			if unicode.IsLetter(r) || unicode.IsNumber(r) {
				n++
			}
		}
		if n == 0 {
			continue
		}
		terms = append(terms, `"`+strings.ReplaceAll(w, `"`, `""`)+`"`)
		lastLen = n
	}
	if len(terms) == 0 {
		return ""
	}
	// A one-letter prefix would match most of a record and tells us little;
	// from two letters on ("hb" finds HbA1c) the last word may be unfinished.
	if lastLen >= 2 {
		terms[len(terms)-1] += "*"
	}
	return strings.Join(terms, " ")
}

package store

import (
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
}

// More reports whether the section has more matches than it shows.
func (s SearchSection) More() bool { return s.Offset+len(s.Items) < s.Total }

// searchWeights rank a match in the display name above one in a code, then the
// value or detail, then the organisations: bm25 with one weight per column of record_search.
const searchWeights = `10.0, 5.0, 2.0, 2.0, 1.0, 1.0`

// SearchRecord finds the items of the person's record that contain every word of
// text (the last word may be the start of a word), in display names, codes,
// values, details and organisation names, grouped by section and best first.
// Text is never read as FTS5 syntax: each word is quoted, so quotes, AND, NEAR,
// brackets and stars are only characters to look for.
func (db *DB) SearchRecord(ctx context.Context, personID int64, text string, opt SearchOptions) (SearchResults, error) {
	out := SearchResults{Query: text, Page: 1}
	if utf8.RuneCountInString(text) > MaxSearchLength {
		return out, Errorf(EINVALID, "Your search must be %d characters or fewer.", MaxSearchLength)
	}
	if opt.PerSection <= 0 {
		opt.PerSection = 20
	}
	filter, args := "", []any{}
	if opt.Section != "" {
		if _, ok := fhir.SectionBySlug(opt.Section); !ok {
			return out, Errorf(ENOTFOUND, "There is no part of the record called %q.", opt.Section)
		}
		filter, args = ` AND ri.section = ?`, append(args, opt.Section)
		out.Page = max(opt.Page, 1)
	}
	match := ftsQuery(text)
	if match == "" {
		return out, nil
	}
	offset := (out.Page - 1) * opt.PerSection
	// hits is materialised so the full-text index drives the search and the
	// person's other 10,000 items are never read. A hit in any source's report
	// of a fact finds the fact's one entry (the item pages show, dup = 0), best
	// rank of its reports. The window numbers each section's facts so only the
	// shown ones are read in full.
	query := `WITH hits AS MATERIALIZED (
	SELECT rowid AS id, bm25(record_search, ` + searchWeights + `) AS rank FROM record_search WHERE record_search MATCH ?
), facts AS (
	SELECT CASE WHEN ri.dup = 0 THEN ri.id ELSE COALESCE((SELECT MIN(o.id) FROM record_items o
		WHERE o.person_id = ri.person_id AND o.dedup_key = ri.dedup_key AND o.dup = 0), ri.id) END AS id,
		MIN(h.rank) AS rank
	FROM hits h CROSS JOIN record_items ri ON ri.id = h.id
	WHERE ri.person_id = ?` + filter + `
	GROUP BY 1
), ranked AS (
	SELECT f.id, ROW_NUMBER() OVER (PARTITION BY ri.section ORDER BY f.rank, ri.date DESC, ri.id DESC) AS n,
		COUNT(*) OVER (PARTITION BY ri.section) AS total
	FROM facts f CROSS JOIN record_items ri ON ri.id = f.id
)
SELECT id, n, total FROM ranked WHERE n > ? AND n <= ?`
	args = append([]any{match, personID}, append(args, offset, offset+opt.PerSection)...)
	rows, err := db.db.QueryContext(ctx, query, args...)
	if err != nil {
		return out, fmt.Errorf("search record: %w", err)
	}
	type hit struct{ n, total int }
	hits := map[int64]hit{}
	ids := []any{}
	for rows.Next() {
		var id int64
		var h hit
		if err := rows.Scan(&id, &h.n, &h.total); err != nil {
			rows.Close()
			return out, fmt.Errorf("search record: %w", err)
		}
		hits[id] = h
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("search record: %w", err)
	}
	if len(ids) == 0 {
		if opt.Section != "" && offset > 0 {
			// A page past the end: say how many there are, so the page can offer the first.
			first, err := db.SearchRecord(ctx, personID, text, SearchOptions{Section: opt.Section, PerSection: opt.PerSection})
			out.Total = first.Total
			return out, err
		}
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
	slices.SortFunc(items, func(a, b RecordItem) int { return hits[a.ID].n - hits[b.ID].n })
	for _, s := range fhir.Sections() {
		sec := SearchSection{Section: s, Offset: offset}
		for _, it := range items {
			if it.Section == s.Slug {
				sec.Items = append(sec.Items, it)
				sec.Total = hits[it.ID].total
			}
		}
		if len(sec.Items) > 0 {
			out.Sections = append(out.Sections, sec)
			out.Total += sec.Total
		}
	}
	return out, nil
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

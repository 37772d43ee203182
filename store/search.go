package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"slices"
	"strconv"
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
	Section  fhir.Section
	Items    []RecordItem // those named by the words searched for first, then those that only mention them, each newest first
	Mentions int          // how many of the last Items only mention the words (not in their name or code); the page lists them apart
	Total    int          // every match in the section, however many Items shows
	Offset   int          // how many matches come before Items (one section, later pages)
	Newest   bool         // too many matches to rank: Items are the newest first, named or not
}

// More reports whether the section has more matches than it shows.
func (s SearchSection) More() bool { return s.Offset+len(s.Items) < s.Total }

// searchNamed is below zero for an entry whose name (display) or code holds
// the words searched for, a test's plain name finding its codes, and zero for
// one that only mentions them (in its value, detail, organisations or another
// source's report): bm25 with one weight per column of record_search
// (migration 0010), every column but those two weighing nothing. Within each
// group the matches are newest first, as every list of the record is: bm25's
// own order (shorter entries first) put a hospital's HbA1c of 2025 below the
// GP's of 2017.
const searchNamed = `bm25(record_search, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0)`

// searchRanked is how many matches a section may have to be grouped into
// named and mentioned. bm25 costs several microseconds a match (it reads each
// row's size), so a section with more (every result from one organisation, a
// common test) lists them newest first, which needs no sort at all: the
// section's date index is walked until the page is full.
const searchRanked = 100

// searchIDBits is where migration 0010 puts an item's section number in the
// search index's rowid: above the item's id.
const searchIDBits = 40

// searchHit is one entry a search found, with what orders it.
type searchHit struct {
	id    int64
	named bool // the words are in its name or code, not only mentioned
	date  string
}

// SearchRecord finds the items of the person's record that contain every word of
// text (the last word may be the start of a word), in display names, codes,
// values, details and organisation names, grouped by section. A section with
// up to searchRanked matches lists those whose name or code holds the words
// first, then those that only mention them, each newest first; one with more
// lists them all newest first. Each fact is one entry, as on the
// pages, and is found by the words of any source's report of it. Text is never
// read as FTS5 syntax: each word is quoted, so quotes, AND, NEAR, brackets and
// stars are only characters to look for.
//
// Only the entries the pages show are in the index, each with the words of the
// fact's other reports, and the person and section are tokens in it (migration
// 0010): FTS5 finds only this person's entries, and their rowids say their
// sections, so matches are counted without reading record_items. Only the
// entries a page shows, and the newest of a section with too many to rank,
// are read from it. A broad word (a prefix, an organisation) is looked up at
// most twice.
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
	// A carer never finds, nor counts, what the person keeps out of sharing (store/consent.go).
	hidden, err := db.withheldItemIDs(ctx, personID)
	if err != nil {
		return out, err
	}
	// The words typed are looked for in the text columns only, never in scope;
	// a test's plain name ("HbA1c") finds it by its codes too. An entry's
	// "others" are the words of other sources' reports of its fact: a
	// carer's search leaves them out, as one of those reports may be kept
	// out (a social care service's, naming it), and finding the entry by its
	// words would say it exists; always, not only while the person keeps
	// something out, or a search that stopped finding an entry would tell
	// the carer that something now was (a product review).
	columns := `{display code value detail organisation source others}`
	if IsForCarer(ctx) {
		columns = `{display code value detail organisation source}`
	}
	words := columns + ` : (` + terms + `)`
	if codes := codesNamed(text); len(codes) > 0 {
		words = `(` + words + ` OR code : ("` + strings.Join(codes, `" OR "`) + `"))`
	}
	person := fmt.Sprintf("0p%d", personID)
	scope := person + "v" // every entry of the person
	if opt.Section != "" {
		scope = person + strings.ReplaceAll(opt.Section, "-", "")
	}
	offset := (out.Page - 1) * opt.PerSection
	need := offset + opt.PerSection

	// Pass 1: the person's matches, counted by section from their rowids.
	// For a carer, what the person keeps out of sharing is taken out of them
	// below, before anything is counted or read.
	counts := map[string]int{}
	matched := map[int64]map[int64]bool{} // section number → ids
	// The ids come as one string per section: a row each would cost more to hand over than to find.
	rows, err := db.db.QueryContext(ctx, `SELECT rowid >> ?2, group_concat(rowid & ?3) FROM record_search WHERE record_search MATCH ?1 GROUP BY 1`,
		`scope : "`+scope+`" AND `+words, searchIDBits, int64(1)<<searchIDBits-1)
	if err != nil {
		return out, fmt.Errorf("search record: %w", err)
	}
	for rows.Next() {
		var sn int64
		var list string
		if err := rows.Scan(&sn, &list); err != nil {
			rows.Close()
			return out, fmt.Errorf("search record: %w", err)
		}
		ids := map[int64]bool{}
		for f := range strings.SplitSeq(list, ",") {
			id, err := strconv.ParseInt(f, 10, 64)
			if err != nil {
				rows.Close()
				return out, fmt.Errorf("search record: %w", err)
			}
			ids[id] = true
		}
		matched[sn] = ids
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("search record: %w", err)
	}
	for _, ids := range matched {
		for id := range ids {
			if hidden[id] {
				delete(ids, id)
			}
		}
	}
	if len(matched) == 0 {
		return out, nil
	}
	bySlug, err := db.searchSections(ctx)
	if err != nil {
		return out, err
	}
	for _, s := range sections {
		counts[s.Slug] = len(matched[bySlug[s.Slug]])
	}

	// A section with too many matches to rank lists the newest the page needs,
	// walking the section's date index until the page is full.
	hits := map[string][]searchHit{} // by section
	for _, s := range sections {
		if counts[s.Slug] > searchRanked {
			if hits[s.Slug], err = db.newestHits(ctx, personID, s.Slug, matched[bySlug[s.Slug]], need); err != nil {
				return out, err
			}
		}
	}

	// Pass 2: bm25 tells named from mentioned in the sections with few enough matches.
	var ranked []string
	for _, s := range sections {
		if n := counts[s.Slug]; n > 0 && n <= searchRanked {
			ranked = append(ranked, `"`+person+strings.ReplaceAll(s.Slug, "-", "")+`"`)
		}
	}
	if len(ranked) > 0 {
		rows, err := db.db.QueryContext(ctx, `WITH m AS MATERIALIZED (
	SELECT rowid AS r, `+searchNamed+` AS rank FROM record_search WHERE record_search MATCH ?1
)
SELECT ri.id, m.rank, ri.section, ri.date FROM m CROSS JOIN record_items ri ON ri.id = m.r & ?2`,
			`scope : (`+strings.Join(ranked, " OR ")+`) AND `+words, int64(1)<<searchIDBits-1)
		if err != nil {
			return out, fmt.Errorf("search record: %w", err)
		}
		for rows.Next() {
			var h searchHit
			var section string
			var rank float64
			if err := rows.Scan(&h.id, &rank, &section, &h.date); err != nil {
				rows.Close()
				return out, fmt.Errorf("search record: %w", err)
			}
			h.named = rank < 0
			if hidden[h.id] {
				continue
			}
			hits[section] = append(hits[section], h)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return out, fmt.Errorf("search record: %w", err)
		}
		for _, s := range sections {
			if counts[s.Slug] <= searchRanked {
				sortHits(hits[s.Slug])
			}
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
		secs = append(secs, found{SearchSection{Section: s, Total: total, Offset: offset, Newest: total > searchRanked}, h})
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
	// The person's own search labels what they keep out of sharing, as their pages do.
	if err := db.withSourcesAndLabels(ctx, personID, items); err != nil {
		return out, fmt.Errorf("search record: %w", err)
	}
	cf, cargs, err := db.carerFilter(ctx, personID)
	if err != nil {
		return out, err
	}
	if err := db.markPrescribedSince(ctx, personID, items, cf, cargs); err != nil {
		return out, err
	}
	if err := db.resultRangeWords(ctx, items); err != nil {
		return out, err
	}
	byID := make(map[int64]RecordItem, len(items))
	for _, it := range items {
		byID[it.ID] = it
	}
	for _, f := range secs {
		for _, h := range f.hits {
			if it, ok := byID[h.id]; ok {
				f.sec.Items = append(f.sec.Items, it)
				if !f.sec.Newest && !h.named {
					f.sec.Mentions++
				}
			}
		}
		out.Sections = append(out.Sections, f.sec)
	}
	return out, nil
}

// resultRangeWords says a test result's normal range, in its detail, in the
// words of the results pages ("60 mL/min/1.73m² or higher"), rather than in
// the source's own ("above 60 mL/min/1.73m²"): search, an entry's page and
// print show the same result the results pages show, and must not describe
// it in other words. A result
// with parts, or no range but its words, keeps its detail as it is.
func (db *DB) resultRangeWords(ctx context.Context, items []RecordItem) error {
	var rs []Result
	var at []int
	for i, it := range items {
		if it.Section == fhir.SectionResults && it.ResourceType == "Observation" {
			rs = append(rs, Result{Item: it})
			at = append(at, i)
		}
	}
	if len(rs) == 0 {
		return nil
	}
	tx, err := db.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("search record: %w", err)
	}
	defer tx.Rollback()
	q, err := newExactReader(ctx, tx)
	if err != nil {
		return err
	}
	defer q.Close()
	if err := q.prefetch(ctx, rs); err != nil {
		return err
	}
	for i := range rs {
		if err := readExact(ctx, q, &rs[i]); err != nil {
			return err
		}
		if len(rs[i].Measures) != 1 || rs[i].Measures[0].Name != "" || !rs[i].Measures[0].Range.Known() {
			continue
		}
		m := rs[i].Measures[0]
		detail := "Normal range: " + m.Range.String()
		if m.Flag != "" {
			detail += ". " + m.Flag
		}
		items[at[i]].Detail = detail
	}
	return tx.Commit()
}

// searchSections is each section's number in the search index's rowids (migration 0010).
func (db *DB) searchSections(ctx context.Context) (map[string]int64, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT slug, n FROM search_sections`)
	if err != nil {
		return nil, fmt.Errorf("search record: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var slug string
		var n int64
		if err := rows.Scan(&slug, &n); err != nil {
			return nil, fmt.Errorf("search record: %w", err)
		}
		out[slug] = n
	}
	return out, rows.Err()
}

// newestHits walks a section's entries newest first, a growing stretch at a
// time, keeping those a search matched, until it has need of them.
func (db *DB) newestHits(ctx context.Context, personID int64, section string, matched map[int64]bool, need int) ([]searchHit, error) {
	var hits []searchHit
	lastDate, lastID := "\uffff", int64(1)<<62 // before the newest
	for stretch := max(2*need, 64); ; stretch = min(4*stretch, 4096) {
		rows, err := db.db.QueryContext(ctx, `SELECT ri.id, ri.date FROM record_items ri
WHERE ri.person_id = ? AND ri.section = ? AND ri.dup = 0 AND (ri.date < ? OR (ri.date = ? AND ri.id < ?))
ORDER BY ri.date DESC, ri.id DESC LIMIT ?`, personID, section, lastDate, lastDate, lastID, stretch)
		if err != nil {
			return nil, fmt.Errorf("search record: %w", err)
		}
		n := 0
		for rows.Next() {
			var h searchHit
			if err := rows.Scan(&h.id, &h.date); err != nil {
				rows.Close()
				return nil, fmt.Errorf("search record: %w", err)
			}
			n++
			lastDate, lastID = h.date, h.id
			if matched[h.id] && len(hits) < need {
				hits = append(hits, h)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("search record: %w", err)
		}
		if len(hits) >= need || n < stretch {
			return hits, nil
		}
	}
}

// sortHits puts a section's named matches first, then those that only
// mention the words, each newest first.
func sortHits(hits []searchHit) {
	slices.SortStableFunc(hits, func(a, b searchHit) int {
		if a.named != b.named {
			if a.named {
				return -1
			}
			return 1
		}
		if c := strings.Compare(b.date, a.date); c != 0 {
			return c
		}
		return cmp.Compare(b.id, a.id)
	})
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
	// Control characters become spaces: FTS5 ends a query string at a NUL (found by FuzzRecordParams).
	text = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(text, " "))
	for _, w := range strings.Fields(text) {
		n := 0
		for _, r := range w {
			if unicode.IsLetter(r) || unicode.IsNumber(r) {
				n++
			}
		}
		if n == 0 {
			continue
		}
		terms = append(terms, w)
		lastLen = n
	}
	if len(terms) == 0 {
		return ""
	}
	// A one-letter prefix would match most of a record and tells us little;
	// from two letters on ("hb" finds HbA1c) the last word may be unfinished.
	out := make([]string, len(terms))
	for i, w := range terms {
		prefix := ""
		if i == len(terms)-1 && lastLen >= 2 {
			prefix = "*"
		}
		spellings, names := searchVariants(w)
		alts := make([]string, 0, 2)
		for _, v := range spellings {
			alts = append(alts, `"`+strings.ReplaceAll(v, `"`, `""`)+`"`+prefix)
		}
		// Another name is a whole word, never the start of one: "influenza"
		// finds "flu", not Fluticasone (a review).
		for _, v := range names {
			alts = append(alts, `"`+strings.ReplaceAll(v, `"`, `""`)+`"`)
		}
		out[i] = alts[0]
		if len(alts) > 1 {
			out[i] = "(" + strings.Join(alts, " OR ") + ")"
		}
	}
	// AND between them: FTS5 joins phrases side by side, not a bracketed
	// OR and a phrase (a review: "flu vaccine" was a syntax error, a 500).
	return strings.Join(out, " AND ")
}

// searchVariants are a word typed and the other ways a record may write it,
// spellings (looked for, as the word typed is, as the start of a word when
// it is the last) and names (whole words):
// the US spelling of a British one ("anaemia" finds "Anemia", "tumour"
// "tumor", "immunisation" "immunization"), the US or UK name for the same
// medicine or vaccine ("paracetamol" finds "Acetaminophen", "flu"
// "Influenza"), and a name with its number apart ("B12" finds "Vitamin B
// 12"). Records from US systems (Synthea, many suppliers' terminologies) use
// US words; a UK patient types their own (a review of real records found
// each of these finding nothing).
func searchVariants(w string) (spellings, names []string) {
	out := []string{w}
	add := func(v string) {
		if v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	low := strings.ToLower(w)
	letters := len([]rune(low))
	if letters >= 5 {
		v := strings.NewReplacer("ae", "e", "oe", "e").Replace(low) // anaemia, haem-, oedema, oesophagus, diarrhoea
		v = strings.Replace(v, "isation", "ization", 1)
		if letters >= 6 {
			v = ukEndings.ReplaceAllString(v, "${1}or${2}") // tumour(s), colour, behaviour
		}
		if stem, ok := strings.CutSuffix(v, "tre"); ok {
			v = stem + "ter" // centre, litre
		} else if stem, ok := strings.CutSuffix(v, "yse"); ok {
			v = stem + "yze" // analyse
		}
		if v != low {
			add(v)
		}
	}
	if m := letterThenNumber.FindStringSubmatch(low); m != nil {
		add(m[1] + " " + m[2]) // b12 as "b 12"
	}
	for _, v := range searchSynonyms[low] {
		if !slices.Contains(out, v) && !slices.Contains(names, v) {
			names = append(names, v)
		}
	}
	return out, names
}

// ukEndings is a word ending "our" (or "ours", "oured"), as British spelling
// has where US spelling has "or".
var ukEndings = regexp.MustCompile(`^(\p{L}{3,})our(s|ed|ing)?$`)

// letterThenNumber is a word of letters then digits ("b12", "d3").
var letterThenNumber = regexp.MustCompile(`^(\p{L}{1,3})(\d{1,3})$`)

// searchSynonyms are, by a word as typed (lower case), the other words a
// record may use for the same thing: US names for UK ones, and the other way.
// A phrase of several words finds them side by side.
var searchSynonyms = func() map[string][]string {
	pairs := [][2]string{
		{"paracetamol", "acetaminophen"}, {"salbutamol", "albuterol"}, {"adrenaline", "epinephrine"},
		{"noradrenaline", "norepinephrine"}, {"frusemide", "furosemide"}, {"lignocaine", "lidocaine"},
		{"ciclosporin", "cyclosporine"}, {"pethidine", "meperidine"}, {"glibenclamide", "glyburide"},
		{"co-amoxiclav", "amoxicillin clavulanate"}, {"aciclovir", "acyclovir"}, {"amoxycillin", "amoxicillin"},
		{"flu", "influenza"}, {"shingles", "zoster"}, {"chickenpox", "varicella"}, {"whooping", "pertussis"},
		{"tetanus", "td"}, {"copd", "chronic obstructive"}, {"mmr", "measles"}, {"hpv", "papillomavirus"},
		{"bp", "blood pressure"}, {"bmi", "body mass index"}, {"gp", "general practice"}, {"a&e", "emergency"},
		{"stroke", "cerebrovascular"}, {"nappy", "diaper"},
	}
	m := map[string][]string{}
	for _, p := range pairs {
		m[p[0]] = append(m[p[0]], p[1])
		if !strings.Contains(p[1], " ") {
			m[p[1]] = append(m[p[1]], p[0])
		}
	}
	return m
}()

// plainTestNames are plain names for common tests, by LOINC code: what people
// call them, not how a laboratory catalogue spells them.
var plainTestNames = map[string]string{
	"59261-8": "HbA1c", "4548-4": "HbA1c", "17856-6": "HbA1c", "4549-2": "HbA1c",
	"29463-7": "weight", "3141-9": "weight", "8302-2": "height", "39156-5": "body mass index (BMI)",
	"85354-9": "blood pressure", "55284-4": "blood pressure", "8480-6": "systolic blood pressure", "8462-4": "diastolic blood pressure",
	"14647-2": "cholesterol", "2093-3": "cholesterol", "2085-9": "HDL cholesterol", "13457-7": "LDL cholesterol", "2571-8": "triglycerides",
	"62238-1": "eGFR (kidney function)", "33914-3": "eGFR (kidney function)", "69405-9": "eGFR (kidney function)", "2160-0": "creatinine",
	"718-7": "haemoglobin", "6690-2": "white cell count", "777-3": "platelet count",
	"2345-7": "glucose", "2339-0": "glucose", "8867-4": "heart rate", "8310-5": "temperature",
}

// PlainTestName is what people call a test ("HbA1c", "eGFR (kidney
// function)"), when the portal knows it by its LOINC code.
func PlainTestName(system, code string) (string, bool) {
	if system != "http://loinc.org" {
		return "", false
	}
	n, ok := plainTestNames[code]
	return n, ok
}

// codesNamed are the LOINC codes of the tests whose plain names hold every
// word searched for, each as the start of a word ("egfr", "kidney" and
// "hba1c" find tests a laboratory names "Glomerular filtration rate…" and
// "Hemoglobin A1c…"). Words of one letter find nothing.
func codesNamed(text string) []string {
	split := func(s string) []string {
		return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) })
	}
	words := split(text)
	if len(words) == 0 {
		return nil
	}
	for _, w := range words {
		if len([]rune(w)) < 2 {
			return nil
		}
	}
	var out []string
	for code, name := range plainTestNames {
		names := split(name)
		all := true
		for _, w := range words {
			if !slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, w) }) {
				all = false
				break
			}
		}
		if all {
			out = append(out, code)
		}
	}
	slices.Sort(out)
	return out
}

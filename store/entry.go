package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/mycarerecord/portal/store/fhir"
)

// Report is one source's report of a fact: its item and when the source last changed it.
type Report struct {
	Item        RecordItem
	VersionID   string
	LastUpdated string // meta.lastUpdated at the source, or ""
	StoredAt    string // when the portal stored this version
}

// Attachment is a document's content as the resource describes it.
type Attachment struct {
	Index       int // its place in the resource, for the download address
	ContentType string
	Title       string
	Size        int64
	HasData     bool   // the content is in the resource and can be downloaded
	URL         string // the content is held elsewhere
	Text        string // plain text content, to show on the page (escaped by the view)
}

// Entry is one fact in a person's record with everything known about it.
type Entry struct {
	Item        RecordItem // the report that stands for the fact
	Reports     []Report   // every source's report, the standing one first
	Related     []RecordItem
	Attachments []Attachment
}

// RecordEntry returns the fact an item belongs to, only from the person's own record.
func (db *DB) RecordEntry(ctx context.Context, personID, itemID int64) (Entry, error) {
	var e Entry
	cf, cargs, err := db.carerFilter(ctx, personID)
	if err != nil {
		return e, err
	}
	rows, err := db.db.QueryContext(ctx, `SELECT `+itemColumns+` FROM record_items ri JOIN sources s ON s.id = ri.source_id
WHERE ri.id = ? AND ri.person_id = ?`+cf, append([]any{itemID, personID}, cargs...)...)
	if err != nil {
		return e, fmt.Errorf("read entry: %w", err)
	}
	items, err := scanItems(rows)
	if err != nil {
		return e, err
	}
	if len(items) == 0 {
		return e, Errorf(ENOTFOUND, "There is no such entry in this record.")
	}
	if err := db.markWithheld(ctx, personID, items); err != nil {
		return e, err
	}
	if err := db.markPrescribedSince(ctx, personID, items, cf, cargs); err != nil {
		return e, err
	}
	e.Item = items[0]
	// The other reports of an entry's fact are those standing aside for it
	// (dup): another report that stands is an entry of its own, listed beside
	// this one (a repeat prescription, a condition recorded twice), not
	// another organisation's record of this. An entry standing aside itself
	// (named in the access log) shows every report of its fact. Documents
	// are one fact only when they say the same about themselves (standsAside).
	rrows, err := db.db.QueryContext(ctx, `SELECT `+itemColumns+`, r.version_id, r.last_updated, r.stored_at, r.json
FROM record_items ri JOIN sources s ON s.id = ri.source_id
JOIN resources r ON r.source_id = ri.source_id AND r.type = ri.resource_type AND r.id = ri.resource_id
WHERE ri.person_id = ?1 AND (ri.id = ?2 OR (ri.dedup_key = ?3 AND ri.dedup_key != ''
	AND (ri.dup = 1 OR (SELECT v.dup FROM record_items v WHERE v.id = ?2) = 1)
	AND (ri.section != 'documents' OR ri.detail = ?4)))`+cf+` ORDER BY ri.dup, ri.id`,
		append([]any{personID, itemID, e.Item.DedupKey, e.Item.Detail}, cargs...)...)
	if err != nil {
		return e, fmt.Errorf("read reports: %w", err)
	}
	defer rrows.Close()
	var raw []byte
	for rrows.Next() {
		var r Report
		var j []byte
		it := &r.Item
		if err := rrows.Scan(&it.ID, &it.Section, &it.ResourceType, &it.ResourceID, &it.CodeSystem, &it.Code, &it.Display, &it.Date,
			&it.Status, &it.Value, &it.Organisation, &it.Detail, &it.Source.ID, &it.Source.Name, &it.Source.OrgName, &it.Source.LastImportAt, &it.DedupKey, &it.Part,
			&r.VersionID, &r.LastUpdated, &r.StoredAt, &j); err != nil {
			return e, err
		}
		if it.ID == itemID {
			raw = j
			e.Reports = append([]Report{r}, e.Reports...)
		} else {
			e.Reports = append(e.Reports, r)
		}
	}
	if err := rrows.Err(); err != nil {
		return e, err
	}
	for _, r := range e.Reports { // a repeat prescription is several reports from one source: named once
		if !hasSource(e.Item.Sources, r.Item.Source.ID) {
			e.Item.Sources = append(e.Item.Sources, r.Item.Source)
		}
	}
	e.Attachments = attachments(raw)
	if e.Related, err = db.related(ctx, personID, e.Item, raw, cf, cargs); err != nil {
		return e, err
	}
	// A result's normal range in the words of the results pages, as its
	// flag is worked out ("5 mmol/L or lower. Normal", not the source's
	// "below 5 mmol/L. Normal", which read as a contradiction: a product
	// review). The source's own words are in the resource it keeps.
	shown := []RecordItem{e.Item}
	for _, r := range e.Reports {
		shown = append(shown, r.Item)
	}
	if err := db.resultRangeWords(ctx, shown); err != nil {
		return e, err
	}
	e.Item.Detail = shown[0].Detail
	for i := range e.Reports {
		e.Reports[i].Item.Detail = shown[i+1].Detail
	}
	return e, nil
}

// attachments lists a DocumentReference's content or a DiagnosticReport's presented form.
func attachments(raw []byte) []Attachment {
	all, err := rawAttachments(raw)
	if err != nil {
		return nil
	}
	out := make([]Attachment, 0, len(all))
	for i, a := range all {
		at := Attachment{Index: i, ContentType: a.ContentType, Title: a.Title, Size: a.Size, HasData: len(a.Data) > 0, URL: a.URL}
		if at.HasData && strings.HasPrefix(strings.ToLower(a.ContentType), "text/plain") && len(a.Data) < 200_000 {
			at.Text = string(a.Data)
		}
		out = append(out, at)
	}
	return out
}

// rawAttachments are a report's presented form followed by a document's
// content, in the order their download addresses number them.
func rawAttachments(raw []byte) ([]rawAttachment, error) {
	var v struct {
		Content []struct {
			Attachment rawAttachment `json:"attachment"`
		} `json:"content"`
		PresentedForm []rawAttachment `json:"presentedForm"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	all := v.PresentedForm
	for _, c := range v.Content {
		all = append(all, c.Attachment)
	}
	return all, nil
}

type rawAttachment struct {
	ContentType string `json:"contentType"`
	Data        []byte `json:"data"` // base64 in JSON, decoded by encoding/json
	URL         string `json:"url"`
	Title       string `json:"title"`
	Size        int64  `json:"size"`
}

// AttachmentData returns one attachment's content from the person's own record.
func (db *DB) AttachmentData(ctx context.Context, personID, itemID int64, index int) (Attachment, []byte, error) {
	var raw []byte
	cf, cargs, err := db.carerFilter(ctx, personID)
	if err != nil {
		return Attachment{}, nil, err
	}
	err = db.db.QueryRowContext(ctx, `SELECT r.json FROM record_items ri
JOIN resources r ON r.source_id = ri.source_id AND r.type = ri.resource_type AND r.id = ri.resource_id
WHERE ri.id = ? AND ri.person_id = ?`+cf, append([]any{itemID, personID}, cargs...)...).Scan(&raw)
	if err == sql.ErrNoRows {
		return Attachment{}, nil, Errorf(ENOTFOUND, "There is no such document in this record.")
	}
	if err != nil {
		return Attachment{}, nil, err
	}
	all, err := rawAttachments(raw)
	if err != nil {
		return Attachment{}, nil, fmt.Errorf("read attachment: %w", err)
	}
	if index < 0 || index >= len(all) || len(all[index].Data) == 0 {
		return Attachment{}, nil, Errorf(ENOTFOUND, "There is no such document in this record.")
	}
	a := all[index]
	return Attachment{Index: index, ContentType: a.ContentType, Title: a.Title, Size: int64(len(a.Data)), HasData: true}, a.Data, nil
}

// references finds the resources a resource points at, by type and id.
var references = regexp.MustCompile(`"reference"\s*:\s*"(?:[^"]*/)?(Observation|Condition|Procedure|DiagnosticReport|MedicationRequest|Immunization|DocumentReference|CarePlan|Goal|Encounter)/([A-Za-z0-9\-.]{1,64})"`)

var uuidReferences = regexp.MustCompile(`"reference"\s*:\s*"urn:uuid:([A-Za-z0-9\-.]{1,64})"`)

// related returns the person's entries the resource points at (a report's
// results) and, for an encounter or report, the entries that point at it (an
// encounter's diagnoses and procedures). cf and cargs are carerFilter's: a
// carer never sees a related entry the person keeps out of sharing.
func (db *DB) related(ctx context.Context, personID int64, it RecordItem, raw []byte, cf string, cargs []any) ([]RecordItem, error) {
	var out []RecordItem
	seen := map[int64]bool{it.ID: true}
	add := func(query string, args ...any) error {
		rows, err := db.db.QueryContext(ctx, query, append(args, cargs...)...)
		if err != nil {
			return err
		}
		items, err := scanItems(rows)
		for _, x := range items {
			if !seen[x.ID] {
				seen[x.ID] = true
				out = append(out, x)
			}
		}
		return err
	}
	for _, m := range references.FindAllSubmatch(raw, 50) {
		if string(m[1]) == "Encounter" && it.ResourceType != "DiagnosticReport" {
			continue // every item names its encounter; only a report's is worth showing
		}
		if err := add(`SELECT `+itemColumns+` FROM record_items ri JOIN sources s ON s.id = ri.source_id
WHERE ri.person_id = ? AND ri.source_id = ? AND ri.resource_type = ? AND ri.resource_id = ?`+cf, personID, it.Source.ID, string(m[1]), string(m[2])); err != nil {
			return nil, err
		}
	}
	// Bundles refer within themselves by urn:uuid; the uuid is the resource's id here.
	for _, m := range uuidReferences.FindAllSubmatch(raw, 50) {
		if err := add(`SELECT `+itemColumns+` FROM record_items ri JOIN sources s ON s.id = ri.source_id
WHERE ri.person_id = ? AND ri.source_id = ? AND ri.resource_id = ? AND ri.resource_type NOT IN ('Encounter', 'Patient')`+cf, personID, it.Source.ID, string(m[1])); err != nil {
			return nil, err
		}
	}
	// Entries that point at this one: what was done and written during a
	// visit (each names it), and what was prescribed, done or planned for a
	// condition (its reason, or what a plan addresses). Before, a visit's note
	// and vaccination, and a diabetes's metformin, were linked one way only
	// (a review of real records).
	var pointing []any
	switch it.ResourceType {
	case "Encounter":
		pointing = []any{fhir.SectionConditions, fhir.SectionProcedures, fhir.SectionMedicines, fhir.SectionImmunisations}
		// Notes and reports name their visit as a reason (fhir EntryRefs), so
		// are found by the index, not by reading every note's words, which
		// took a visit's page to 170 ms beside 3,000 notes (a review).
		if err := add(`SELECT `+itemColumns+` FROM record_item_reasons r JOIN record_items ri ON ri.id = r.item_id JOIN sources s ON s.id = ri.source_id
WHERE r.system = 'ref' AND r.code IN (?, ?) AND ri.person_id = ? AND ri.source_id = ? AND ri.section = ? AND ri.dup = 0`+cf+` ORDER BY ri.date DESC LIMIT 50`,
			"Encounter/"+it.ResourceID, "urn:uuid:"+it.ResourceID, personID, it.Source.ID, fhir.SectionDocuments); err != nil {
			return nil, err
		}
	case "Condition":
		pointing = []any{fhir.SectionMedicines, fhir.SectionProcedures, fhir.SectionCarePlans}
	}
	if len(pointing) > 0 {
		// By id or (in bundles) by urn:uuid.
		args := append([]any{personID, it.Source.ID}, pointing...)
		args = append(args, `"`+it.ResourceType+`/`+it.ResourceID+`"`, `"urn:uuid:`+it.ResourceID+`"`)
		if err := add(`SELECT `+itemColumns+` FROM record_items ri JOIN sources s ON s.id = ri.source_id
JOIN resources r ON r.source_id = ri.source_id AND r.type = ri.resource_type AND r.id = ri.resource_id
WHERE ri.person_id = ? AND ri.source_id = ? AND ri.section IN (?`+strings.Repeat(", ?", len(pointing)-1)+`) AND ri.dup = 0
AND (instr(r.json, ?) > 0 OR instr(r.json, ?) > 0)`+cf+` ORDER BY ri.date DESC LIMIT 50`, args...); err != nil {
			return nil, err
		}
	}
	return out, nil
}

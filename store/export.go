package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/mycarerecord/portal/store/fhir"
)

// URI is what an exported resource's meta.source says about where it
// came from: the FHIR server's address, or a URN naming a set of imported files.
func (s Source) URI() string {
	if s.BaseURL != "" {
		return s.BaseURL
	}
	return "urn:mycarerecord:source:" + s.Name
}

// WriteBundle streams every cached resource about the person as a FHIR R4
// Bundle of type collection, with the cached Organizations, Practitioners,
// Locations and Medications those point at, each resource's meta.source
// naming where it came from, and returns how many resources it wrote. `portal export` and the
// download page both write through it, so the two can never differ. For a
// carer (ForCarer) it holds what the carer's pages show and no more: the
// person's Patient at each source the carer is shown, and the resources
// behind the entries of the record, less those the person keeps out of
// sharing. So it leaves out what is the person's own business (who looked
// at the record, their choices, who else may act for them) and every
// resource of a type the pages do not show (a MedicationDispense, a
// ServiceRequest), which no sharing choice could keep out.
func (db *DB) WriteBundle(ctx context.Context, personID int64, w io.Writer) (int, error) {
	ts, _ := json.Marshal(time.Now().UTC().Format(time.RFC3339))
	if _, err := fmt.Fprintf(w, `{"resourceType":"Bundle","type":"collection","timestamp":%s,"entry":[`, ts); err != nil {
		return 0, err
	}
	n := 0
	hidden, err := db.withheldResources(ctx, personID) // for a carer: what the person keeps out of sharing
	if err != nil {
		return 0, err
	}
	// A carer's download holds nothing from a source that shows them nothing,
	// not even its Patient: that it knows the person can say too much.
	shown, forCarer, err := db.carerSources(ctx, personID)
	if err != nil {
		return 0, err
	}
	var entries map[resourceKey]bool
	if forCarer {
		// The entries of the parts of the record the carer may see, as their
		// pages read them (carerFilter): a download is only let to a carer who
		// may see every part, but this holds whatever the grant says.
		cond, args, err := db.carerFilter(ctx, personID)
		if err != nil {
			return 0, err
		}
		if entries, err = db.resourcesOfItems(ctx, "1"+cond, append([]any{personID}, args...)...); err != nil {
			return 0, err
		}
	}
	if err := db.hideTheirMedications(ctx, personID, hidden); err != nil {
		return 0, err
	}
	masked, err := db.maskedRefs(ctx, hidden) // for a carer: references to what is kept out, masked (fhir.MaskRefs)
	if err != nil {
		return 0, err
	}
	given := map[string]bool{} // fullUrls given so far: a Bundle's are each its own (bdl-7)
	patientURL := ""           // the first Patient's, which the carers' resources refer to
	written := map[resourceKey]bool{}
	named := namedBy{} // the organisations, people, places and medicines what is written points at
	write := func(c CachedResource) error {
		raw := c.Raw
		if masked != nil {
			var err error
			if raw, err = fhir.MaskRefs(raw, func(ref string) bool { return masked.has(c.Source, ref) }); err != nil {
				return fmt.Errorf("%s/%s: %w", c.Type, c.ID, err)
			}
		}
		raw, err := fhir.WithMetaSource(raw, c.Source.URI())
		if err != nil {
			return fmt.Errorf("%s/%s: %w", c.Type, c.ID, err)
		}
		sep := ","
		if n == 0 {
			sep = ""
		}
		// Each fullUrl once only: the same file may have been imported for two
		// sources, or two sources added for one server (sources made before
		// AddSource refused that); a repeat goes without.
		fullURL := ""
		if c.Source.BaseURL != "" {
			fullURL = c.Source.BaseURL + "/" + c.Type + "/" + c.ID
		} else {
			// From a file that gave it an address ("urn:uuid:…"): its file's
			// references to it resolve so (a review: one whose address was
			// not its id had none, and they pointed at nothing).
			if err := db.db.QueryRowContext(ctx, `SELECT url FROM bundle_urls WHERE source_id = ? AND type = ? AND id = ? ORDER BY url LIMIT 1`,
				c.Source.ID, c.Type, c.ID).Scan(&fullURL); err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if fullURL == "" && isUUID(c.ID) {
				// From a file whose entries were named urn:uuid:<id>, as Synthea's are.
				fullURL = "urn:uuid:" + c.ID
			}
		}
		field := ""
		if fullURL != "" && !given[fullURL] {
			given[fullURL] = true
			u, _ := json.Marshal(fullURL)
			field = `"fullUrl":` + string(u) + `,`
			if c.Type == "Patient" && patientURL == "" {
				patientURL = fullURL
			}
		}
		if _, err := fmt.Fprintf(w, `%s{%s"resource":%s}`, sep, field, raw); err != nil {
			return err
		}
		written[resourceKey{c.Source.ID, c.Type, c.ID}] = true
		named.add(c)
		n++
		return nil
	}
	err = db.PersonResources(ctx, personID, func(c CachedResource) error {
		k := resourceKey{c.Source.ID, c.Type, c.ID}
		if hidden[k] || (forCarer && (!shown[c.Source.ID] || (c.Type != "Patient" && !entries[k]))) {
			return nil
		}
		return write(c)
	})
	if err != nil {
		return n, err
	}
	// What the record names who took part by, or a medicine by, as cached:
	// the download holds what the pages show, and what upstream holds for the
	// record. Only what the resources written point at, so a carer's holds
	// no organisation of an entry kept from them.
	// One named by a bundle's "urn:uuid:" address for it, as Synthea's older
	// bundles name practices and clinicians, is whichever of those kinds
	// the source holds with that id (a review: every such reference in a
	// download pointed at nothing).
	writtenAs := map[resourceKey]bool{} // by type and id alone
	for _, c := range named.sorted() {
		if k := (resourceKey{c.Source.ID, c.Type, c.ID}); written[k] || hidden[k] {
			continue
		}
		query := `SELECT type, json FROM resources WHERE source_id = ?1 AND type = ?2 AND id = ?3`
		if c.Type == "" {
			// The resource its file gave that address, else one whose id it
			// is that its file gave no other (a review: ids are unique only
			// within a type, and the Patient's address was a clinician's id).
			query = `SELECT r.type, r.json FROM resources r WHERE r.source_id = ?1 AND ?2 = '' AND r.type IN ('Organization', 'Practitioner', 'Location', 'Medication')
AND ((r.type, r.id) IN (SELECT b.type, b.id FROM bundle_urls b WHERE b.source_id = ?1 AND b.url = 'urn:uuid:' || ?3)
    OR (r.id = ?3 AND NOT EXISTS (SELECT 1 FROM bundle_urls b WHERE b.source_id = ?1 AND b.type = r.type AND b.id = r.id AND b.url != 'urn:uuid:' || ?3)))
ORDER BY r.type LIMIT 1`
		}
		var raw []byte
		err := db.db.QueryRowContext(ctx, query, c.Source.ID, c.Type, c.ID).Scan(&c.Type, &raw)
		if errors.Is(err, sql.ErrNoRows) {
			continue // not fetched yet, or never
		}
		if err != nil {
			return n, err
		}
		if k := (resourceKey{c.Source.ID, c.Type, c.ID}); written[k] || hidden[k] || (c.Source.BaseURL == "" && writtenAs[resourceKey{0, c.Type, c.ID}]) {
			// Named both ways; or, from files, the one another file's source
			// gave already: two files of one Synthea run name one hospital
			// by one id (a review: the download then did not import again).
			// Servers' ids are their own: two may mean two organisations.
			continue
		}
		if c.Source.BaseURL == "" {
			writtenAs[resourceKey{0, c.Type, c.ID}] = true
		}
		c.Raw = raw
		if err := write(c); err != nil {
			return n, err
		}
	}
	// Who the person lets act for them, as RelatedPerson and Consent (store/carers.go).
	var carers []fhir.BundleEntry
	if !forCarer {
		if carers, err = db.carerResources(ctx, personID, patientURL); err != nil {
			return n, err
		}
	}
	for _, e := range carers {
		sep := ","
		if n == 0 {
			sep = ""
		}
		u, _ := json.Marshal(e.FullURL)
		if _, err := fmt.Fprintf(w, `%s{"fullUrl":%s,"resource":%s}`, sep, u, e.Raw); err != nil {
			return n, err
		}
		n++
	}
	_, err = io.WriteString(w, "]}\n")
	return n, err
}

// hideTheirMedications adds to hidden (a carer's: what the person keeps out
// of sharing) the Medications that kept-out medicines name (medref) and no
// shared one does, so a carer's download holds none of them, nor a
// reference to one, though a shared care plan names it too (a review: a
// kept-out Fluoxetine came in through the plan to review it); one a shared
// medicine names stays, as that medicine's name (a review of that: an old
// Metformin kept out took the current one's name with it).
func (db *DB) hideTheirMedications(ctx context.Context, personID int64, hidden map[resourceKey]bool) error {
	if len(hidden) == 0 {
		return nil
	}
	rows, err := db.db.QueryContext(ctx, `SELECT DISTINCT ri.source_id, ri.resource_type, ri.resource_id, r.code FROM record_items ri
JOIN record_item_reasons r ON r.item_id = ri.id AND r.system = 'medref' WHERE ri.person_id = ?`, personID)
	if err != nil {
		return fmt.Errorf("the Medications of what is kept out: %w", err)
	}
	defer rows.Close()
	keptOut, shared := map[resourceKey]bool{}, map[resourceKey]bool{}
	for rows.Next() {
		var k resourceKey
		var ref string
		if err := rows.Scan(&k.sourceID, &k.typ, &k.id, &ref); err != nil {
			return err
		}
		if id, ok := strings.CutPrefix(ref, "urn:uuid:"); ok {
			ref = "Medication/" + id // a bundle's address for it: Synthea's ids are those
		}
		id, ok := strings.CutPrefix(ref, "Medication/")
		if !ok || id == "" {
			continue
		}
		med := resourceKey{k.sourceID, "Medication", id}
		if hidden[k] {
			keptOut[med] = true
		} else {
			shared[med] = true
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for med := range keptOut {
		if !shared[med] {
			hidden[med] = true
		}
	}
	return nil
}

// namedBy collects, by source, the Organizations, Practitioners, Locations
// and Medications resources point at (fhir.NamesItems), as the source's own
// (fhir.LocalRef).
type namedBy map[resourceKey]Source

// add notes what c points at; by a bundle's "urn:uuid:" address, with no
// type, as the address does not say.
func (nb namedBy) add(c CachedResource) {
	for _, ref := range fhir.LocalRefs(c.Raw, c.Source.BaseURL) {
		typ, id, _ := strings.Cut(ref, "/")
		if fhir.NamesItems(typ) {
			nb[resourceKey{c.Source.ID, typ, id}] = c.Source
		}
	}
	for _, id := range fhir.UUIDRefs(c.Raw) {
		nb[resourceKey{c.Source.ID, "", id}] = c.Source
	}
}

// sorted is what was noted, as resources to read, in a steady order.
func (nb namedBy) sorted() []CachedResource {
	out := make([]CachedResource, 0, len(nb))
	for k, src := range nb {
		out = append(out, CachedResource{Source: src, Type: k.typ, ID: k.id})
	}
	slices.SortFunc(out, func(a, b CachedResource) int {
		return cmp.Or(cmp.Compare(a.Source.Name, b.Source.Name), cmp.Compare(a.Type, b.Type), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// isUUID reports whether s is a UUID as a urn:uuid names one (8-4-4-4-12
// lower-case hex digits).
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case !('0' <= c && c <= '9' || 'a' <= c && c <= 'f'):
			return false
		}
	}
	return true
}

// maskedRefs is what a carer's download masks (fhir.MaskRefs): by source,
// how the resources hidden from them may be referred to there, as
// "Type/id", as a bundle's "urn:uuid:" and the id, and by the address their
// bundle gave them (bundle_urls). Nil when nothing is hidden.
type maskedRefs struct {
	bySource map[int64]map[string]bool
	sources  []Source // those with an address, to tell whose an absolute reference is
}

func (db *DB) maskedRefs(ctx context.Context, hidden map[resourceKey]bool) (*maskedRefs, error) {
	if len(hidden) == 0 {
		return nil, nil
	}
	m := &maskedRefs{bySource: map[int64]map[string]bool{}}
	add := func(source int64, ref string) {
		if m.bySource[source] == nil {
			m.bySource[source] = map[string]bool{}
		}
		m.bySource[source][ref] = true
	}
	keys := make([][3]any, 0, len(hidden))
	for k := range hidden {
		add(k.sourceID, k.typ+"/"+k.id)
		add(k.sourceID, "urn:uuid:"+k.id)
		keys = append(keys, [3]any{k.sourceID, k.typ, k.id})
	}
	list, _ := json.Marshal(keys)
	rows, err := db.db.QueryContext(ctx, `SELECT b.source_id, b.url FROM json_each(?) e JOIN bundle_urls b
ON b.source_id = json_extract(e.value, '$[0]') AND b.type = json_extract(e.value, '$[1]') AND b.id = json_extract(e.value, '$[2]')`, string(list))
	if err != nil {
		return nil, fmt.Errorf("addresses of what is kept out: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var source int64
		var url string
		if err := rows.Scan(&source, &url); err != nil {
			return nil, err
		}
		add(source, url)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	srcs, err := db.Sources(ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range srcs {
		if s.BaseURL != "" {
			m.sources = append(m.sources, s)
		}
	}
	return m, nil
}

// has reports whether ref, in a resource from the source from, refers to
// something hidden: at that source when it is relative, a bundle's address,
// or absolute under its address; at the source whose address an absolute
// one is under; and, from a source of files, which has no address, at that
// source by its last "Type/id" (another source's of the same id is never
// masked: a review found a GP's own result masked for a hospital's).
func (m *maskedRefs) has(from Source, ref string) bool {
	if m == nil {
		return false
	}
	if i := strings.Index(ref, "/_history/"); i > 0 {
		ref = ref[:i]
	}
	if strings.HasPrefix(ref, "urn:uuid:") || !strings.Contains(ref, "://") {
		return m.bySource[from.ID][ref]
	}
	if local := fhir.LocalRef(ref, from.BaseURL); local != "" {
		return m.bySource[from.ID][local]
	}
	for _, s := range m.sources {
		if local := fhir.LocalRef(ref, s.BaseURL); local != "" && s.ID != from.ID {
			return m.bySource[s.ID][local] // another source's: masked as its own
		}
	}
	if from.BaseURL == "" {
		// From files, at no other source's address: by its last "Type/id"
		// at this source, as the importer reads it (fhir.LocalReason).
		last := fhir.LastTypeID(ref)
		return last != "" && m.bySource[from.ID][last]
	}
	return false
}

package fhirsync

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// PullTypes are the resource types pulled for each person: those the record pages show.
var pullTypes = []string{
	"AllergyIntolerance", "MedicationRequest", "MedicationStatement", "Condition", "Immunization", "Observation",
	"DiagnosticReport", "Encounter", "Appointment", "Procedure", "DocumentReference", "CarePlan", "CareTeam",
	"AuditEvent", // who looked at the record upstream, for the access log page
	"Consent",    // choices recorded elsewhere (e.g. by the GP): the starting state of the person's choices
}

// PullTypes returns the resource types pulled for each person.
func PullTypes() []string { return append([]string(nil), pullTypes...) }

// referenceTypes are the resources that record items point at and pages name.
var referenceTypes = map[string]bool{"Organization": true, "Practitioner": true, "Location": true, "Medication": true}

// Puller pulls people's records from FHIR servers into the store.
type Puller struct {
	DB          *store.DB
	Client      func(src store.Source) (*Client, error) // one client per source, kept by the caller
	PageSize    int                                     // _count; default 100
	HistorySize int                                     // _count of a history page, which is the whole server's; default 500
	Overlap     time.Duration                           // how far before the watermark each search starts again; default 1 minute
	Reconcile   time.Duration                           // how often a full listing looks for deletions; default 24 hours
	LinkSystems []string
	Now         func() time.Time
	// Runner names the process that runs the pulls (store.RunnerID) in the
	// marks of syncs running (store.SyncStarted), so another process tells
	// one under way from one a killed process left (store.ClearRunning);
	// default store.RunnerID("portal"). A mark naming no process would be
	// read as left by one that stopped, and taken over beside the pull.
	Runner string
}

// runner is Runner, or this process named.
func (p *Puller) runner() string {
	if p.Runner != "" {
		return p.Runner
	}
	return store.RunnerID("portal")
}

// Progress is reported after every page.
type Progress struct {
	Source       string
	ResourceType string
	Result       store.ImportResult
}

// Summary counts one person's pull from one source.
type Summary struct {
	Source  string
	Added   int
	Updated int
	Deleted int
	// DeletedOthers are resources of other people's records the source's
	// lists of deletions named, removed by the same read.
	DeletedOthers int
	Rejected      int
	NewPersons    int      // people added, their Patient found here
	SetAside      []string // what was kept aside and why, the first maxSetAside of Rejected
	Pages         int
	Warnings      []string // what the server said beside its answers (e.g. that some results were withheld), each once
}

// maxSetAside bounds Summary.SetAside: a source that sends thousands of
// damaged resources is named by the count beyond that.
const maxSetAside = 50

// warn notes what a server said beside a page, once.
func (s *Summary) warn(words []string) {
	for _, w := range words {
		if !slices.Contains(s.Warnings, w) {
			s.Warnings = append(s.Warnings, w)
		}
	}
}

// addFile adds what a bulk load stored from one file, with the lines it set
// aside, each named by the file's address and line.
func (s *Summary) addFile(b bulkResult) {
	s.Added += b.Added
	s.Updated += b.Updated
	s.Deleted += b.Deleted
	s.Rejected += b.Rejected
	s.Pages += b.batches
	s.SetAside = keepSetAside(s.SetAside, b.SetAside)
}

// keepSetAside is kept with as many of more as maxSetAside leaves room for.
func keepSetAside(kept, more []string) []string {
	return append(kept, more[:min(len(more), maxSetAside-len(kept))]...)
}

func (s *Summary) add(r store.ImportResult) {
	s.Added += r.Added
	s.Updated += r.Updated
	s.Deleted += r.Deleted
	s.DeletedOthers += r.DeletedOthers
	s.Rejected += r.Rejected
	s.NewPersons += r.NewPersons
	for _, why := range r.SetAside {
		if len(s.SetAside) < maxSetAside {
			// Where in a page of an answer it was ("entry 7") tells an operator
			// nothing: the resource's type and id follow.
			if rest, ok := strings.CutPrefix(why, "entry "); ok {
				if _, after, ok := strings.Cut(rest, ": "); ok {
					why = after
				}
			}
			s.SetAside = append(s.SetAside, why)
		}
	}
	s.Pages++
}

// ErrNoRecord means the source holds no Patient for the person.
var ErrNoRecord = errors.New("this organisation has no record for this person")

// ErrNoIdentifier means the portal holds nothing to look for the person by at
// a source that does not know them yet (no NHS number, no identifier of a
// linking system): it cannot ask, so as far as the record goes the source
// holds nothing of theirs (it is ErrNoRecord too), but an operator is told.
// ErrSetAside means the source's Patient found is set aside: its NHS number
// is not the one held for it, so it may now be someone else's, until an
// operator accepts it (portal source accept-nhs-number).
var ErrSetAside = errors.New("its NHS number is not the one held for it, so it is set aside until it is accepted with portal source accept-nhs-number")

var ErrNoIdentifier = fmt.Errorf("%w: the portal holds no NHS number or other linking identifier to look for them by", ErrNoRecord)

func (p *Puller) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// PullPerson brings one person's record from one source up to date. Each page
// is stored with its checkpoint, so a stopped pull resumes where it was. The
// person's sync status records how it ended. It returns ErrNoRecord when the
// source holds no record of the person, which the status records as a success.
func (p *Puller) PullPerson(ctx context.Context, src store.Source, personID int64, progress func(Progress)) (Summary, error) {
	sum := Summary{Source: src.Name}
	runner := p.runner()
	if err := p.DB.SyncStarted(ctx, src.ID, personID, runner); err != nil {
		return sum, err
	}
	reconciled, err := p.pull(ctx, src, personID, progress, &sum)
	// Record the end even when ctx was cancelled, so pages do not show
	// "Updating…" for ever, waiting out another process's long write (a
	// portal import) for up to 30 seconds.
	finishCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		// Stopped, not failed: a restart must not leave pages warning of a failure.
		if ferr := p.DB.SyncStopped(finishCtx, src.ID, personID, runner); ferr != nil {
			err = errors.Join(err, ferr)
		}
		return sum, err
	}
	msg := ""
	if err != nil && !errors.Is(err, ErrNoRecord) {
		// A source with no record of the person has answered all there is to
		// ask: in a region of many sources most hold nothing for most people,
		// and that is no failure to warn them of (store.SyncStatus.NoRecord).
		msg = Explain(err)
	}
	finish := p.DB.SyncFinished
	if partial := (*partialError)(nil); errors.As(err, &partial) && !partial.whole {
		finish = p.DB.SyncFinishedInPart // the rest is up to date: the pages say so, and warn of the part
	}
	if ferr := finish(finishCtx, src.ID, personID, runner, msg, reconciled); ferr != nil && err == nil {
		err = ferr
	}
	return sum, err
}

func (p *Puller) pull(ctx context.Context, src store.Source, personID int64, progress func(Progress), sum *Summary) (reconciled bool, err error) {
	client, err := p.Client(src)
	if err != nil {
		return false, err
	}
	patientID, found, err := p.findPatient(ctx, client, src, personID, sum)
	if err != nil {
		return false, err
	}
	switched := false // to the Patient the source merged the one found before into
	// A part the source will not give (a type it refuses, a link that cannot be
	// followed) fails alone, and the rest is still brought up to date; the pull
	// then reports the source as failing. Deletions that cannot be read are no
	// failure (deletionsUnread): the type is reconciled, as its search ran. A
	// source that is down or busy, or a sync that was stopped, stops the whole
	// pull: the rest would fail the same way.
	var failures partialError
	failed := map[string]bool{} // types whose search failed: their checkpoint stands, and they are not reconciled
	goOn := func(what string, err error) error {
		if err == nil {
			return nil
		}
		err = fmt.Errorf("%s: %w", what, err)
		if worthRetrying(err) {
			return err
		}
		failures.errs = append(failures.errs, err)
		return nil
	}
	if !found {
		// The Patient found before is read again: a new name, address or date
		// of death is as much the record as the rest. One set aside (another
		// NHS number) waits its turn with the rest set aside (retryRejected).
		held, err := p.DB.SetAsideNow(ctx, src.ID, "Patient", patientID)
		if err != nil {
			return false, err
		}
		if !held {
			merged, err := p.refreshPatient(ctx, client, src, personID, patientID, sum)
			if gone := patientGone(""); errors.As(err, &gone) {
				return false, fmt.Errorf("Patient: %w", err)
			}
			if err := goOn("Patient", err); err != nil {
				return false, err
			}
			if merged != nil {
				to, err := p.mergedInto(ctx, client, src, personID, patientID, sum)
				switch {
				case worthRetrying(err):
					return false, err
				case to != "":
					patientID, switched = to, true
				case *merged != "":
					// Merged into one the person's identifiers do not find (another
					// NHS number, say), or cannot tell: not followed, and nothing
					// more read, as the history would take what was filed there
					// away from them (a review: the record emptied, the sync
					// saying it was up to date).
					why := "which is not found by their NHS number or other identifiers"
					if err != nil {
						why = "which could not be told apart: " + err.Error()
					}
					return false, fmt.Errorf("the source merged their Patient/%s into %s, %s: what was stored of them is kept; ask the source", patientID, *merged, why)
				default:
					if err := goOn("Patient", err); err != nil {
						return false, err
					}
				}
			}
		}
	}
	var shifted []string // types whose search changed while it was read
	for _, typ := range pullTypes {
		changed, err := p.pullType(ctx, client, src, personID, patientID, typ, progress, sum)
		if err != nil {
			failed[typ] = true
			if err := goOn(typ, err); err != nil {
				return false, err
			}
			continue
		}
		if changed {
			shifted = append(shifted, typ)
		}
	}
	if err := goOn("resources kept aside", p.retryRejected(ctx, client, src, personID, sum)); err != nil {
		return false, err
	}
	// When a full reconciliation is due, every referenced resource is fetched
	// again, not only those the cache lacks: the names the record shows come from them.
	reconciled = switched || p.dueForReconcile(ctx, src, personID)
	if err := goOn("referenced resources", p.resolveReferences(ctx, client, src, personID, reconciled, sum)); err != nil {
		return false, err
	}
	// When something came in, and with the daily listing in case a pull stopped just before this.
	if sum.Added+sum.Updated > 0 || reconciled {
		if err := p.DB.IndexNamesFor(ctx, src.ID, personID); err != nil {
			return false, err
		}
	}
	// A search whose offset pages shifted even when it ran again may have
	// skipped a resource, which its watermark has passed: the listing finds and
	// fetches it now, if it is new to the cache. When a full reconciliation is
	// due, every type the source gave is listed.
	toList := shifted
	if reconciled {
		toList = nil
		for _, typ := range pullTypes {
			if !failed[typ] {
				toList = append(toList, typ)
			}
		}
	}
	for _, typ := range toList {
		err := p.reconcileType(ctx, client, src, personID, patientID, typ, sum)
		if err == nil {
			err = p.DB.ListingDone(ctx, src.ID, personID, typ)
		}
		if err != nil {
			reconciled = false
			if err := goOn(typ+" deletions", err); err != nil {
				return false, err
			}
		}
	}
	if len(failures.errs) > 0 {
		failures.whole = len(failed) == len(pullTypes)
		return reconciled, &failures
	}
	return reconciled, nil
}

// partialError is what failed in a pull that brought the rest up to date;
// whole says no type's search went through, so nothing was brought (a
// source refusing every read: a review found that taken for a partial sync).
type partialError struct {
	errs  []error
	whole bool
}

func (e *partialError) Error() string {
	words := make([]string, len(e.errs))
	for i, err := range e.errs {
		words[i] = err.Error()
	}
	return strings.Join(words, "; ")
}

func (e *partialError) Unwrap() []error { return e.errs }

// findPatient returns the person's Patient id at the source, searching by
// their identifiers (NHS number first) the first time and storing the
// Patient; found says it was found (and stored) just now.
func (p *Puller) findPatient(ctx context.Context, c *Client, src store.Source, personID int64, sum *Summary) (id string, found bool, err error) {
	id, err = p.DB.PatientAt(ctx, src.ID, personID)
	if err != nil || id != "" {
		return id, false, err
	}
	ids, err := p.DB.PersonIdentifiers(ctx, personID)
	if err != nil {
		return "", false, err
	}
	if len(ids) == 0 {
		return "", false, ErrNoIdentifier
	}
	for _, ident := range ids {
		r, err := p.patientWith(ctx, c, src, personID, ident.System, ident.Value, sum)
		if err != nil || r.ID != "" {
			return r.ID, err == nil, err
		}
	}
	return "", false, ErrNoRecord
}

// patientWith searches the source for the Patient with the identifier
// system|value (escaped as FHIR's search asks: a value with "|" or "," in
// it was read as two, and another person's Patient came back; a review),
// and stores the one that carries it, for personID (0: whoever it is);
// two or more, apart from records merged into another, are an error.
// It returns none when the source has none. One that cannot be read is set
// aside and is an error: that is not "no record" (a review: the source's
// whole record of the person went missing without a word).
func (p *Puller) patientWith(ctx context.Context, c *Client, src store.Source, personID int64, system, value string, sum *Summary) (fhir.Resource, error) {
	page, err := c.Search(ctx, "Patient", url.Values{"identifier": {searchToken(system) + "|" + searchToken(value)}})
	if err != nil {
		return fhir.Resource{}, err
	}
	// Every page of the answer, a few at most: a second Patient with the
	// identifier on the next page is as much a rival (a review).
	pages, read := []Page{page}, map[string]bool{}
	for next := page.Next; next != "" && len(pages) < maxPatientPages; next = pages[len(pages)-1].Next {
		more, err := c.nextUnseen(ctx, next, read)
		if err != nil {
			return fhir.Resource{}, err
		}
		pages = append(pages, more)
	}
	if pages[len(pages)-1].Next != "" {
		return fhir.Resource{}, fmt.Errorf("the source's answer to a search for that identifier goes on past %d pages, so none of its Patients is linked: which is the person's is for the source to settle", maxPatientPages)
	}
	origin := "Patient?identifier=" + system + "|" + value
	var found []fhir.Resource
	var unread []Rejected
	for _, pg := range pages {
		if sum != nil {
			sum.warn(pg.Warnings) // what the server said beside every page, as a type's search's (a review)
		}
		for _, r := range pg.Resources {
			if r.Type == "Patient" && carries(r, system, value) && !slices.ContainsFunc(found, func(f fhir.Resource) bool { return f.ID == r.ID }) {
				found = append(found, r)
			}
		}
		for _, r := range pg.Rejected {
			if r.Type == "Patient" {
				unread = append(unread, r)
			}
		}
	}
	if len(found) > 1 {
		// A record merged into another stays, marked so: the one it was
		// merged into is the person's.
		if kept := slices.DeleteFunc(slices.Clone(found), superseded); len(kept) > 0 {
			found = kept
		}
	}
	if len(unread) > 0 {
		// Set aside, and read again at the next sync; one that cannot be read
		// is no "no record" (a review: the source's whole record of the person
		// went missing without a word), nor can it be told from a rival.
		res, err := p.DB.ApplyPage(ctx, store.PageUpdate{Source: src.Name, SourceID: src.ID, PersonID: personID, ResourceType: "Patient",
			Origin: origin, Rejected: toRejected(unread)})
		if err != nil {
			return fhir.Resource{}, err
		}
		if sum != nil {
			sum.add(res)
		}
	}
	if len(found)+len(unread) > 1 && (len(unread) > 0 || !onePerson(found)) {
		// Two people, or one registered twice with nothing to say so, which
		// only the source can settle: linking either could show one person
		// another's record (a review: the first listed was taken).
		var ids []string
		for _, r := range found {
			ids = append(ids, "Patient/"+r.ID)
		}
		for _, r := range unread {
			ids = append(ids, fmt.Sprintf("Patient/%s, which could not be read (%s)", r.ID, r.Error))
		}
		return fhir.Resource{}, fmt.Errorf("the source holds %d Patients with that identifier (%s), so none is linked: which is the person's is for the source to settle", len(ids), strings.Join(ids, "; "))
	}
	if len(unread) > 0 {
		return fhir.Resource{}, fmt.Errorf("the source's Patient with that identifier could not be read (%s): it is set aside, and read again at the next sync", unread[0].Error)
	}
	// One, or one person's (one NHS number): the first is linked, as the
	// person's Patient here; what the source files under the other is not
	// searched for.
	for _, r := range found {
		res, err := p.DB.ApplyPage(ctx, store.PageUpdate{Source: src.Name, SourceID: src.ID, PersonID: personID, ResourceType: "Patient",
			Origin: origin, LinkSystems: p.linkSystems(system), Resources: []fhir.Resource{r}})
		if err != nil {
			return fhir.Resource{}, err
		}
		if sum != nil {
			sum.add(res)
		}
		if res.Rejected > 0 && personID == 0 {
			return fhir.Resource{}, fmt.Errorf("the source's Patient/%s with that identifier is set aside: %w", r.ID, ErrSetAside)
		}
		return r, nil
	}
	return fhir.Resource{}, nil
}

// maxPatientPages bounds the pages of a search for a Patient by identifier
// that are read: a handful of Patients share one at most.
const maxPatientPages = 5

// onePerson reports whether the Patients are one person's: they carry one
// NHS number, the identifier the NHS gives a person once (the same person
// registered twice).
func onePerson(patients []fhir.Resource) bool {
	nhs := ""
	for _, r := range patients {
		info, err := fhir.ParsePatient(r.Raw)
		if err != nil || info.NHSNumber == "" || nhs != "" && info.NHSNumber != nhs {
			return false
		}
		nhs = info.NHSNumber
	}
	return true
}

// superseded reports whether the Patient r is a record merged into another:
// not active, or replaced by another (Patient.link).
func superseded(r fhir.Resource) bool {
	var p struct {
		Active *bool `json:"active"`
		Link   []struct {
			Type string `json:"type"`
		} `json:"link"`
	}
	if json.Unmarshal(r.Raw, &p) != nil {
		return false
	}
	replaced := false
	for _, l := range p.Link {
		replaced = replaced || l.Type == "replaced-by"
	}
	return replaced || p.Active != nil && !*p.Active
}

// replacedBy is the reference of the Patient the Patient r says replaced it
// (Patient.link of type replaced-by), "" for none.
func replacedBy(r fhir.Resource) string {
	var p struct {
		Link []struct {
			Type  string `json:"type"`
			Other struct {
				Reference string `json:"reference"`
			} `json:"other"`
		} `json:"link"`
	}
	if json.Unmarshal(r.Raw, &p) != nil {
		return ""
	}
	for _, l := range p.Link {
		if l.Type == "replaced-by" {
			return cmp.Or(strings.TrimSpace(l.Other.Reference), "another Patient")
		}
	}
	return ""
}

// searchToken escapes s for a token search parameter's system or value.
func searchToken(s string) string {
	return strings.NewReplacer(`\`, `\\`, `|`, `\|`, `,`, `\,`, `$`, `\$`).Replace(s)
}

// carries reports whether the Patient r has the identifier system|value, an
// NHS number however it is spaced: a server's search may match loosely.
func carries(r fhir.Resource, system, value string) bool {
	info, err := fhir.ParsePatient(r.Raw)
	if err != nil {
		return true // read as the store reads it, which sets it aside with why
	}
	for _, id := range info.Identifiers {
		if id.System != system {
			continue
		}
		if id.Value == value || system == fhir.NHSNumberSystem && fhir.NormaliseNHSNumber(id.Value) == fhir.NormaliseNHSNumber(value) {
			return true
		}
	}
	return false
}

// patientGone is refreshPatient's error when the source no longer holds
// the person's Patient (its id): the pull stops there, as nothing more it
// read could be told from a source emptied or rebuilt, whose listing would
// find nothing and take the whole record away (an operator review: a sync
// saying what was stored is kept deleted 303 of 310 resources).
type patientGone string

func (id patientGone) Error() string {
	return fmt.Sprintf("the source no longer holds their Patient/%s (deleted, or merged into another), so nothing more was read from it: what was stored of them is kept; ask the source", string(id))
}

// refreshPatient reads the person's Patient at the source again and stores
// it if it changed (the importer leaves one that did not untouched). One the
// source no longer holds (deleted, or merged into another) is a failure to
// look into, not a deletion: the person and what is stored of them stay.
// merged is not nil when it is no longer the one in use (superseded), and
// then the Patient it was replaced by ("" when it names none: merely no
// longer active).
func (p *Puller) refreshPatient(ctx context.Context, c *Client, src store.Source, personID int64, patientID string, sum *Summary) (merged *string, err error) {
	got, err := c.Read(ctx, "Patient", patientID)
	var ue *UpstreamError
	if errors.As(err, &ue) && (ue.Status == http.StatusNotFound || ue.Status == http.StatusGone) {
		return nil, patientGone(patientID)
	}
	if err != nil {
		return nil, err
	}
	res, err := p.DB.ApplyPage(ctx, store.PageUpdate{Source: src.Name, SourceID: src.ID, PersonID: personID, ResourceType: "Patient",
		Origin: src.BaseURL + "/Patient/" + patientID, LinkSystems: p.LinkSystems, Resources: []fhir.Resource{got}})
	if err != nil {
		return nil, err
	}
	sum.add(res)
	if res.Rejected > 0 {
		// Set aside (another NHS number): read again in its turn, as all that is.
		return nil, p.DB.RejectedRetried(ctx, src.ID, personID, "Patient", patientID)
	}
	if !superseded(got) {
		return nil, nil
	}
	by := replacedBy(got)
	return &by, nil
}

// mergedInto looks again, by the person's identifiers, for their Patient at
// the source, the one found before being merged into another (superseded),
// and returns the one found in its place, "" for none: the record is read
// from there from now on (store.PatientMerged), as the source files it
// there. A Patient merely no longer active is found again, and changes
// nothing.
func (p *Puller) mergedInto(ctx context.Context, c *Client, src store.Source, personID int64, patientID string, sum *Summary) (string, error) {
	ids, err := p.DB.PersonIdentifiers(ctx, personID)
	if err != nil {
		return "", err
	}
	for _, ident := range ids {
		r, err := p.patientWith(ctx, c, src, personID, ident.System, ident.Value, sum)
		switch {
		case err != nil:
			return "", err
		case r.ID == "":
			continue
		case r.ID == patientID:
			return "", nil
		case superseded(r):
			// Every Patient the identifier finds is merged away too (one
			// followed before, say): none is theirs to follow, and following
			// one emptied the record (a review). Not followed: the caller
			// stops, saying so.
			return "", nil
		}
		if err := p.DB.PatientMerged(ctx, src.ID, personID, r.ID); err != nil {
			return "", err
		}
		sum.warn([]string{fmt.Sprintf("the source merged Patient/%s into Patient/%s: the record is read from there now", patientID, r.ID)})
		return r.ID, nil
	}
	return "", nil
}

// FindPerson searches the source for a Patient with the identifier, stores it
// (adding the person when new) and returns the person.
func (p *Puller) FindPerson(ctx context.Context, src store.Source, system, value string) (store.Person, error) {
	return p.FindPersonCounted(ctx, src, system, value, &Summary{})
}

// FindPersonCounted is FindPerson, adding what it stored to sum (a review:
// portal sync said "0 added" of the Patient it had just stored).
func (p *Puller) FindPersonCounted(ctx context.Context, src store.Source, system, value string, sum *Summary) (store.Person, error) {
	c, err := p.Client(src)
	if err != nil {
		return store.Person{}, err
	}
	r, err := p.patientWith(ctx, c, src, 0, system, value, sum)
	switch {
	case err != nil:
		return store.Person{}, err
	case r.ID == "":
		return store.Person{}, ErrNoRecord
	case system == fhir.NHSNumberSystem:
		return p.DB.PersonByNHSNumber(ctx, value)
	}
	person, err := p.DB.PersonByIdentifier(ctx, system, value)
	if store.ErrorCode(err) == store.ENOTFOUND {
		// Stored before and unchanged, so the import linked nothing: the
		// Patient is still the person it is linked to (found by a review).
		return p.DB.LinkIdentifier(ctx, src.ID, r.ID, system, value)
	}
	return person, err
}

// linkSystems makes sure the identifier a Patient was found by links it to the person.
func (p *Puller) linkSystems(system string) []string {
	for _, s := range p.LinkSystems {
		if s == system {
			return p.LinkSystems
		}
	}
	return append(append([]string(nil), p.LinkSystems...), system)
}

// pullType fetches what changed for one resource type since the watermark,
// page by page. It reports whether the results changed while they were read
// even when the search ran again (a resource on a later page changed after
// the first page was served): the next links of most servers are offsets, so
// the pages may have shifted and one may have been skipped, which the
// watermark has passed.
func (p *Puller) pullType(ctx context.Context, c *Client, src store.Source, personID int64, patientID, typ string, progress func(Progress), sum *Summary) (shifted bool, err error) {
	cp, err := p.DB.Checkpoint(ctx, src.ID, personID, typ)
	if err != nil {
		return false, err
	}
	checked, err := p.DB.DeletionsChecked(ctx, src.ID, personID, typ)
	if err != nil {
		return false, err
	}
	if cp.Watermark != "" && cp.NextURL == "" {
		if checked == "" {
			checked = cp.Watermark // stored before deletions had a time of their own
		}
		if err := p.pullDeletions(ctx, c, src, personID, patientID, typ, checked, sum); err != nil {
			var ue *UpstreamError
			if worthRetrying(err) || !errors.As(err, &ue) && !errors.Is(err, ErrForeignURL) {
				return false, err // the source is down or busy, or the cache could not store what it said
			}
			deletionsUnread(sum, typ, err)
		}
	}
	started := parseStamp(cp.Started) // when the server served the first page of the search; zero when not known
	restarted := false                // whether this run has started the search again after a next link failed
	searchedAgain := cp.Repeat
	// A search resumed from a next link saved before the checkpoint kept when
	// its first page was served cannot tell whether its pages shifted since:
	// it runs again from where it started, as one seen to shift does.
	shifted = cp.NextURL != "" && started.IsZero()
	// unsure: a search of more than one page from a server that does not
	// say when it served a page (no Date), so cannot show its pages did not
	// shift, or gives no total (R4 makes it optional), so cannot show a
	// deletion while it was read did not make the next offset page skip one.
	// Running it again could show no more: the type is listed when it ends
	// (a review: a search with no total was read twice, and then listed).
	unsure := false
	read := map[string]bool{} // the next links this search has followed
	for {
		var page Page
		deletionsFrom := "" // set on the first page of the type's first search
		if cp.NextURL != "" {
			page, err = c.nextUnseen(ctx, cp.NextURL, read)
			if err != nil && !worthRetrying(err) {
				if restarted {
					// The fresh search's own link fails too (it names another host, say):
					// starting again would fetch the same first page and the same link
					// for ever. The type fails; its checkpoint stays where it is.
					return shifted, fmt.Errorf("the next page could not be read, even after starting the search again: %w", err)
				}
				// The server no longer knows the search (next links can expire, as when a
				// sync stopped half way is resumed a day later): start it again from the
				// watermark, once. What the earlier pages stored is compared and left
				// alone; whether the pages of the search left shifted no longer matters.
				// The new search's first page gives the time its pages are compared with;
				// one that was the search run again still is.
				restarted, shifted = true, false
				cp = store.Checkpoint{Watermark: cp.Watermark, Repeat: cp.Repeat, ListDue: cp.ListDue}
				continue
			}
		} else {
			asked := p.now()
			clear(read) // a search of its own
			page, err = c.Search(ctx, typ, p.searchParams(typ, patientID, cp.Watermark))
			started = page.Served
			if checked == "" || (cp.Watermark == "" && !searchedAgain && !restarted) {
				// Nothing is cached of the type that was deleted before this search
				// (none of it was stored yet, so the history was not read either):
				// the history is read for deletions from here on, not from when the
				// type was first searched, which may be a year of the server's history.
				// Not when this run searches again: its earlier pages are stored, and
				// a deletion while they were read is what the history must show.
				deletionsFrom = stamp(earlier(asked, page.Served))
				checked = deletionsFrom
			}
		}
		if err != nil {
			return shifted, err
		}
		prepared, matched, seen := onlyOf(&page, typ, patientID)
		// What was left out as another patient's is counted as received, as the
		// server's total counts it, and moves the watermark on past it: else the
		// search would look short, and run twice, on every sync. What came only
		// as an include is not: the total does not count it, and counted it
		// would hide a match the pages skipped.
		shifted = shifted || changedSince(seen, started, cp.NextURL != "")
		// A checkpoint from before migration 0071 holds 0 for no total, which
		// no search of more than one page has.
		if page.Next != "" || cp.NextURL != "" {
			noTotal := page.Total < 0
			if cp.NextURL != "" {
				noTotal = cp.Total <= 0
			}
			unsure = unsure || page.Served.IsZero() || noTotal
		}
		// The watermark only moves when a whole search is stored, to the newest
		// change it saw; until then the next link is the checkpoint, kept with
		// what a sync that resumes the search needs to finish it as this one would.
		next := store.Checkpoint{Watermark: cp.Watermark, NextURL: page.Next, Pending: maxTime(cp.Pending, seen),
			Total: cp.Total, Received: cp.Received + matched + len(page.Rejected),
			Started: cp.Started, Repeat: searchedAgain, ListDue: cp.ListDue}
		if cp.NextURL == "" {
			next.Total = page.Total // the first page's (-1 when not given): later ones may count what changed since
			next.Started = stampIfKnown(started)
		}
		again := false
		if page.Next == "" {
			// Fewer resources than the first page's total means one was skipped: a
			// resource deleted upstream while the pages were read moves every later
			// one up a place, and the next offset page starts one too far. The
			// skipped one is older than the newest seen, so a watermark moved on
			// would pass it for good. The search runs again once from where it
			// started, the watermark left there meanwhile. Fewer again is more
			// likely a server whose total is not exact (one counting what it
			// withholds, say): the watermark moves on, and the daily listing of
			// ids fetches anything that was skipped; asking for it now would list
			// every id on every sync of such a server. A search whose pages
			// shifted, or resumed from a checkpoint that does not say when
			// its first page was served, runs again in the same way: a
			// resource updated while it was read moves to the end and may be
			// counted twice, so the count comes out whole, and the one it pushed
			// past is skipped; the listing would find that one cached,
			// an older version, and leave it. The checkpoint says the search
			// runs again, so a sync that resumes it does not run it a third time.
			short := next.Received < next.Total
			if (short || shifted) && !searchedAgain && !unsure {
				searchedAgain, again, shifted = true, true, false
				next = store.Checkpoint{Watermark: cp.Watermark, Repeat: true, ListDue: cp.ListDue}
			} else {
				shifted = shifted || unsure
				// A search that shifted even when run again is listed: said
				// with the watermark that passes what it may have skipped, so
				// a sync stopped before the listing leaves it to the next (a
				// review: it was only in memory, and the update was lost).
				next = store.Checkpoint{Watermark: maxTime(cp.Watermark, notAfter(next.Pending, page.Served)), ListDue: shifted || cp.ListDue}
			}
		}
		res, err := p.DB.ApplyPage(ctx, store.PageUpdate{Source: src.Name, SourceID: src.ID, PersonID: personID, ResourceType: typ,
			Origin: src.BaseURL + "/" + typ, LinkSystems: p.LinkSystems, Resources: page.Resources, Prepared: prepared, Rejected: toRejected(page.Rejected), Checkpoint: &next,
			DeletionsChecked: deletionsFrom})
		if err != nil {
			return shifted, err
		}
		sum.add(res)
		sum.warn(page.Warnings)
		if progress != nil {
			progress(Progress{Source: src.Name, ResourceType: typ, Result: res})
		}
		cp = next
		if cp.NextURL == "" && !again {
			return cp.ListDue, nil
		}
	}
}

// onlyOf leaves in the page only what is of the type searched for and, when
// patientID is set, about that patient, as the store reads the resources,
// and returns them read for storing. A server may put more in a page: a
// Patient (as _include does), or by mistake another type or another
// patient's resource. Stored, a stray Patient would become a person of the
// portal, or be linked to this one, and another's results would be cached
// with theirs: what is dropped is not stored. A resource the store cannot
// read is left in, to be set aside and read again later, as is an entry that
// names no type. It also returns how many of the page's resources the
// server matched, as its total counts them: those kept that did not come
// only as an include (search.mode), and those of the type dropped as another
// patient's (an appointment of two patients, the other named first), with
// the newest lastUpdated among these matches: what the watermark may move
// to, and what says whether the pages shifted.
func onlyOf(page *Page, typ, patientID string) (prepared []fhir.Prepared, matched int, newestMatch string) {
	var res []fhir.Resource
	for _, pr := range store.PrepareAll(page.Resources) {
		included := page.includedOnly(pr.Resource)
		switch {
		case pr.Type != typ:
		case patientID == "" || pr.Err != nil || store.PatientIDOf(pr.PatientRef) == patientID:
			res = append(res, pr.Resource)
			prepared = append(prepared, pr)
			if !included {
				matched++
				newestMatch = maxTime(newestMatch, pr.LastUpdated)
			}
		case !included:
			matched++
			newestMatch = maxTime(newestMatch, pr.LastUpdated)
		}
	}
	var rejected []Rejected
	for _, r := range page.Rejected {
		if r.Type == typ || r.Type == "" {
			rejected = append(rejected, r)
		}
	}
	page.Resources, page.Rejected = res, rejected
	return prepared, matched, newestMatch
}

// pullDeletions applies the deletions the type's history shows since the
// last read of it (checked), and removes what it shows is now filed under
// another patient (movedAway): the searches, by patient, no longer find it,
// so it would stay in this person's record until the daily listing. The
// history is the whole server's, so each read
// that succeeds moves checked on to when it began, stored with the deletions
// it applied: the next sync of an unchanged record asks for minutes, not for
// everything since the person's newest resource. A server without type
// history is left to full reconciliation.
func (p *Puller) pullDeletions(ctx context.Context, c *Client, src store.Source, personID int64, patientID, typ, checked string, sum *Summary) error {
	asked := p.now()
	page, err := c.History(ctx, typ, p.since(checked), cmp.Or(p.HistorySize, 500))
	var ue *UpstreamError
	if errors.As(err, &ue) && !ue.Retryable {
		return nil // no history here: reconciliation finds deletions instead
	}
	// The earlier of this clock and the server's, so a server clock behind ours
	// does not carry the next read past deletions it has not shown yet; since
	// takes the overlap off too, for a Date header's whole seconds and skew.
	began := stamp(earlier(asked, page.Served))
	answers := 0
	var refile *refiling      // read once a page shows a version of the type, kept to the end
	read := map[string]bool{} // the next links followed
	for {
		// A later page that fails leaves checked where it is, and the next sync
		// reads the history again from there: a source that is down or busy
		// stops the pull, and one whose history cannot be followed further is
		// left to full reconciliation (deletionsUnread).
		if err != nil {
			return err
		}
		sum.warn(page.Warnings)
		if refile == nil && slices.ContainsFunc(page.Resources, func(r fhir.Resource) bool { return r.Type == typ }) {
			if refile, err = p.newRefiling(ctx, src, personID, patientID, typ); err != nil {
				return err
			}
		}
		if refile != nil {
			refile.note(page.Resources, typ)
		}
		update := store.PageUpdate{Source: src.Name, SourceID: src.ID, PersonID: personID, ResourceType: typ, Origin: src.BaseURL + "/" + typ + "/_history", Deleted: page.Deleted}
		if page.Next == "" {
			// Judged once the whole history is read: a resource's versions may
			// be pages apart. A read that fails part way removes none of them,
			// and the next sync reads it again.
			update.DeletionsChecked = began
			if refile != nil {
				update.Moved, update.MovedFrom = refile.moved(), refile.patients
			}
		}
		if len(update.Deleted) > 0 || len(update.Moved) > 0 || update.DeletionsChecked != "" {
			res, err := p.DB.ApplyPage(ctx, update)
			if err != nil {
				return err
			}
			sum.Deleted += res.Deleted
			sum.DeletedOthers += res.DeletedOthers
		} else {
			p.stillRunning(ctx, src, personID, &answers) // a page of others' changes: nothing stored
		}
		if page.Next == "" {
			return nil
		}
		page, err = c.nextUnseen(ctx, page.Next, read)
	}
}

// refiling finds, for one person's sync at a source, the resources of a
// type cached about any of their Patient ids there that upstream now files
// under someone else's Patient, or none: a result filed against the wrong
// person, corrected. The searches, by patient, no longer find it, so it
// would stay in the record until the daily listing. Each is judged by its
// newest version among all it is shown (the type's history, page after
// page, or a read by id).
type refiling struct {
	patients []string                 // the person's Patient ids at the source: one filed under another (a merge) is still theirs
	ours     map[string]bool          // the same, to look up
	cached   map[string]bool          // the type's resources cached about any of them, by id
	searched []string                 // those cached about the Patient searched, in id order
	versions map[string]string        // their versions as cached, by id ("" where upstream gave none)
	newest   map[string]fhir.Resource // of those, the newest version shown so far
}

// newRefiling reads what refiling needs from the cache.
func (p *Puller) newRefiling(ctx context.Context, src store.Source, personID int64, patientID, typ string) (*refiling, error) {
	r := &refiling{ours: map[string]bool{}, cached: map[string]bool{}, newest: map[string]fhir.Resource{}}
	ids, err := p.DB.PatientIDsAt(ctx, src.ID, personID)
	if err != nil {
		return nil, err
	}
	for _, id := range append([]string{patientID}, ids...) {
		if r.ours[id] {
			continue
		}
		r.ours[id] = true
		r.patients = append(r.patients, id)
		// Cached about a second Patient id too (stored there by the listing):
		// a move on from there is seen as well.
		cached, err := p.DB.CachedVersions(ctx, src.ID, id, typ)
		if err != nil {
			return nil, err
		}
		if id == patientID {
			r.searched, r.versions = slices.Sorted(maps.Keys(cached)), cached
		}
		for c := range cached {
			r.cached[c] = true
		}
	}
	return r, nil
}

// note keeps the newest version shown of each resource of the type in res
// that is cached about the person. At the same time and with
// versionIds that do not say which is later, the one shown first is kept, as
// a history lists the newest first.
func (r *refiling) note(res []fhir.Resource, typ string) {
	for _, v := range res {
		if v.Type != typ || !r.cached[v.ID] {
			continue
		}
		if was, ok := r.newest[v.ID]; !ok || newerVersion(v, was) {
			r.newest[v.ID] = v
		}
	}
}

// moved are the resources noted whose newest version is filed under someone
// else's Patient, or none (Type, ID and LastUpdated, for PageUpdate.Moved,
// which removes only a copy cached about the person, and only when it is
// not newer). A newest version that cannot be read says nothing.
func (r *refiling) moved() []fhir.Resource {
	var newest []fhir.Resource
	for _, v := range r.newest {
		newest = append(newest, v)
	}
	var out []fhir.Resource
	for _, pr := range store.PrepareAll(newest) {
		if pr.Err == nil && !r.ours[store.PatientIDOf(pr.PatientRef)] {
			out = append(out, fhir.Resource{Type: pr.Type, ID: pr.ID, LastUpdated: pr.LastUpdated})
		}
	}
	return out
}

// movedAway says whether got, read by id, is now filed under someone else's
// Patient, or none.
func (r *refiling) movedAway(got fhir.Resource) bool {
	pr := fhir.Prepare(got)
	return pr.Err == nil && !r.ours[store.PatientIDOf(pr.PatientRef)]
}

// newerVersion says whether a is a later version of a resource than b: last
// updated later, or, at the same time, a higher versionId.
func newerVersion(a, b fhir.Resource) bool {
	ta, tb := parseStamp(a.LastUpdated), parseStamp(b.LastUpdated)
	if !ta.Equal(tb) {
		return ta.After(tb)
	}
	va, errA := strconv.Atoi(a.VersionID)
	vb, errB := strconv.Atoi(b.VersionID)
	return errA == nil && errB == nil && va > vb
}

// deletionsUnread warns the operator that the type's history could not be
// read to its end for a reason not worth retrying (a next link to another
// host, say). As with a server that refuses history, the sync does not fail
// for it: every search succeeded, and failing would tell the patient, on
// every sync for ever, that their record could not be updated. The periodic
// full reconciliation lists the type and finds its deletions instead.
func deletionsUnread(sum *Summary, typ string, err error) {
	sum.warn([]string{fmt.Sprintf("%s deletions are left to the periodic full listing of the record: %v", typ, err)})
}

// renewEvery is how many upstream answers that store nothing a sync reads
// between renewals of its running mark: store.RunningMarkLife is 10 minutes,
// and three answers, even each retried to the default limit (5 tries of up
// to 20 s, with back-off), take under 6.
const renewEvery = 3

// stillRunning counts an answer that stored nothing and, every renewEvery,
// renews the sync's running mark, as a stored page does. It is best effort:
// a mark it could not renew fails nothing, and the next stored page renews it.
func (p *Puller) stillRunning(ctx context.Context, src store.Source, personID int64, answers *int) {
	if *answers++; *answers%renewEvery == 0 {
		_ = p.DB.SyncStillRunning(ctx, src.ID, personID)
	}
}

// earlier is the earlier of two times, the second zero when not known.
func earlier(a, b time.Time) time.Time {
	if !b.IsZero() && b.Before(a) {
		return b
	}
	return a
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// since is the time a search for changes starts from: a little before the
// watermark, since a change committed upstream at the same instant as the newest
// one seen may not have been visible yet. Re-reading an unchanged resource costs
// nothing; it is compared and left alone.
func (p *Puller) since(watermark string) string {
	overlap := p.Overlap
	if overlap == 0 {
		overlap = time.Minute
	}
	t, err := time.Parse(time.RFC3339Nano, watermark)
	if err != nil {
		return ""
	}
	return t.Add(-overlap).UTC().Format(time.RFC3339Nano)
}

func (p *Puller) searchParams(typ, patientID, watermark string) url.Values {
	size := p.PageSize
	if size <= 0 {
		size = 100
	}
	q := url.Values{"_count": {strconv.Itoa(size)}, "_sort": {"_lastUpdated"}}
	q.Set(patientParam(typ), "Patient/"+patientID)
	if since := p.since(watermark); since != "" {
		q.Set("_lastUpdated", "gt"+since)
	}
	return q
}

// patientParam is the search parameter that names the patient for a type.
func patientParam(typ string) string {
	switch typ {
	case "Observation", "DiagnosticReport", "Encounter", "Condition", "MedicationRequest", "MedicationStatement",
		"Procedure", "DocumentReference", "CarePlan", "CareTeam":
		return "subject"
	}
	return "patient" // AllergyIntolerance, Immunization, Appointment
}

// changedSince reports whether a later page's newest resource (last
// updated then) changed after the search's first page was served (started;
// zero when not known).
func changedSince(newest string, started time.Time, later bool) bool {
	if !later || started.IsZero() {
		return false
	}
	t, err := time.Parse(time.RFC3339Nano, newest)
	return err == nil && t.After(started)
}

// parseStamp is the time a checkpoint keeps, zero for "" (not known).
func parseStamp(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

// stampIfKnown is how a checkpoint keeps a time: "" for zero (not known).
func stampIfKnown(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return stamp(t)
}

// notAfter is the time t, but no later than when the server answered: a
// resource stamped in the future (a clock set wrong upstream) must not carry
// the watermark past changes still to come, which would never be fetched.
func notAfter(t string, served time.Time) string {
	tt, err := time.Parse(time.RFC3339Nano, t)
	if err != nil || served.IsZero() || !tt.After(served) {
		return t
	}
	return served.UTC().Format(time.RFC3339Nano)
}

func maxTime(a, b string) string {
	ta, erra := time.Parse(time.RFC3339Nano, a)
	tb, errb := time.Parse(time.RFC3339Nano, b)
	switch {
	case errb != nil:
		return a
	case erra != nil || tb.After(ta):
		return b
	}
	return a
}

func toRejected(rs []Rejected) []store.Rejected {
	out := make([]store.Rejected, len(rs))
	for i, r := range rs {
		out[i] = store.Rejected{Type: r.Type, ID: r.ID, Error: r.Error, Raw: r.Raw}
	}
	return out
}

// retryRejected reads again, one by one, resources kept aside as unreadable
// (often damaged on the way), since the watermark has moved past them: up to
// 200 a sync, those not read again for longest first (store.RetryDue).
func (p *Puller) retryRejected(ctx context.Context, c *Client, src store.Source, personID int64, sum *Summary) error {
	todo, err := p.DB.RetryDue(ctx, src.ID, personID, 200)
	if err != nil || len(todo) == 0 {
		return err
	}
	patientID, err := p.DB.PatientAt(ctx, src.ID, personID)
	if err != nil {
		return err
	}
	for _, r := range todo {
		got, err := c.Read(ctx, r.Type, r.ID)
		var ue *UpstreamError
		update := store.PageUpdate{Source: src.Name, SourceID: src.ID, PersonID: personID, ResourceType: r.Type, Origin: src.BaseURL + "/" + r.Type + "/" + r.ID, LinkSystems: p.LinkSystems}
		switch {
		case err == nil:
			// Kept as a page of a search keeps what it holds: a resource that now
			// names another patient (their Patient, say, which would become a
			// person of the portal) is not stored by this person's sync.
			page := Page{Resources: []fhir.Resource{got}}
			update.Prepared, _, _ = onlyOf(&page, r.Type, aboutPatient(r.Type, patientID))
			update.Resources = page.Resources
		case errors.As(err, &ue) && (ue.Status == http.StatusNotFound || ue.Status == http.StatusGone):
			update.Deleted = []fhir.Resource{r}
		case worthRetrying(err) && !errors.Is(err, ErrMalformedResource):
			return err // the source is down or busy: the rest wait for the next sync
		}
		if len(update.Resources)+len(update.Deleted) == 0 {
			// Still unreadable upstream, or refused, or not a resource that can be
			// read, or now another patient's: it stays aside, the others go on,
			// and it waits its turn.
			if err := p.DB.RejectedRetried(ctx, src.ID, personID, r.Type, r.ID); err != nil {
				return err
			}
			continue
		}
		res, err := p.DB.ApplyPage(ctx, update)
		if err != nil {
			return err
		}
		sum.add(res)
		if res.Rejected > 0 {
			// Read, but set aside again by the import (a Patient whose NHS number
			// is not the one held, or what is about it): it waits its turn too,
			// rather than being read again on every sync.
			if err := p.DB.RejectedRetried(ctx, src.ID, personID, r.Type, r.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// aboutPatient is the Patient a resource of the type must be about for the
// person's sync to store it (onlyOf): theirs, for their own Patient and the
// types searched about them; none ("") for the rest, which are about no one
// (referenceTypes) or come only with a bulk export of the whole source.
func aboutPatient(typ, patientID string) string {
	if typ == "Patient" || slices.Contains(pullTypes, typ) {
		return patientID
	}
	return ""
}

// resolveReferences fetches the organisations, practitioners, locations and
// medicines the person's resources point at and the cache does not hold yet
// (all of them when all is set), in batches, a few at a time.
func (p *Puller) resolveReferences(ctx context.Context, c *Client, src store.Source, personID int64, all bool, sum *Summary) error {
	find := p.DB.MissingReferences
	if all {
		find = p.DB.References
	}
	missing, err := find(ctx, src.ID, personID, referenceTypes)
	if err != nil {
		return err
	}
	const batch, workers = 50, 4
	type job struct {
		typ string
		ids []string
	}
	var jobs []job
	for typ, ids := range missing {
		for len(ids) > 0 {
			n := min(batch, len(ids))
			jobs = append(jobs, job{typ, ids[:n]})
			ids = ids[n:]
		}
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		sem      = make(chan struct{}, workers)
	)
	for _, j := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			err := p.fetchAll(ctx, c, src, personID, j.typ, "", url.Values{"_id": {strings.Join(j.ids, ",")}, "_count": {strconv.Itoa(batch)}}, sum, &mu)
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// fetchAll stores every page of a search that has no checkpoint of its own:
// what is of the type and, when patientID is set, about that patient (onlyOf).
func (p *Puller) fetchAll(ctx context.Context, c *Client, src store.Source, personID int64, typ, patientID string, q url.Values, sum *Summary, mu *sync.Mutex) error {
	page, err := c.Search(ctx, typ, q)
	read := map[string]bool{} // the next links followed
	for {
		if err != nil {
			return err
		}
		prepared, _, _ := onlyOf(&page, typ, patientID)
		res, err := p.DB.ApplyPage(ctx, store.PageUpdate{Source: src.Name, SourceID: src.ID, PersonID: personID, ResourceType: typ, Origin: src.BaseURL + "/" + typ,
			Resources: page.Resources, Prepared: prepared, Rejected: toRejected(page.Rejected)})
		if err != nil {
			return err
		}
		mu.Lock()
		sum.add(res)
		sum.warn(page.Warnings)
		mu.Unlock()
		if page.Next == "" {
			return nil
		}
		page, err = c.nextUnseen(ctx, page.Next, read)
	}
}

func (p *Puller) dueForReconcile(ctx context.Context, src store.Source, personID int64) bool {
	every := p.Reconcile
	if every == 0 {
		every = 24 * time.Hour
	}
	if every < 0 {
		return false
	}
	sts, err := p.DB.SyncStatuses(ctx, personID)
	if err != nil {
		return false
	}
	for _, st := range sts {
		if st.Source.ID == src.ID {
			t, err := time.Parse("2006-01-02T15:04:05.000000000Z", st.LastReconciledAt)
			return err != nil || p.now().Sub(t) >= every
		}
	}
	return true
}

// reconcileType lists every id upstream holds for the patient and type, and
// brings the cache in line with it. Only a complete listing counts, and even
// then a listing read while upstream changes (by offset pages that shift) can
// leave out a resource that is there, or a search can have skipped one. So a
// cached resource the listing leaves out is read again, and removed only when
// upstream says it is gone; one the listing names that the cache lacks, or
// holds at another version than the listing gives, is fetched: a search
// whose pages shifted even when it ran again may have skipped an update,
// which its watermark has passed (a review).
func (p *Puller) reconcileType(ctx context.Context, c *Client, src store.Source, personID int64, patientID, typ string, sum *Summary) error {
	q := url.Values{"_elements": {"id,meta"}, "_count": {"500"}}
	q.Set(patientParam(typ), "Patient/"+patientID)
	asked := p.now()
	page, err := c.Search(ctx, typ, q)
	// A listing to its end finds every deletion before it began, as a read of
	// the history would: the next read of history starts there (as
	// pullDeletions times its own), so one that cannot be followed to its end
	// (deletionsUnread) is not read from further back on every sync.
	began := stamp(earlier(asked, page.Served))
	listed := map[string]bool{}
	versions := map[string]string{} // the version the listing gives each, where it does
	answers := 0
	read := map[string]bool{} // the next links followed
	for {
		if err != nil {
			return err
		}
		p.stillRunning(ctx, src, personID, &answers)
		sum.warn(page.Warnings)
		for _, r := range page.Resources {
			if r.Type == typ {
				listed[r.ID], versions[r.ID] = true, r.VersionID
			}
		}
		for _, r := range page.Rejected {
			listed[r.ID] = true // still upstream, even if unreadable
		}
		if page.Next == "" {
			break
		}
		page, err = c.nextUnseen(ctx, page.Next, read)
	}
	refile, err := p.newRefiling(ctx, src, personID, patientID, typ)
	if err != nil {
		return err
	}
	update := store.PageUpdate{Source: src.Name, SourceID: src.ID, PersonID: personID, ResourceType: typ, Origin: src.BaseURL + "/" + typ + " (reconciliation)", LinkSystems: p.LinkSystems,
		DeletionsChecked: began, MovedFrom: refile.patients}
	var unlisted []string
	first := map[string]bool{}
	for _, id := range refile.searched {
		first[id] = true
		if listed[id] {
			if v := versions[id]; v == "" || refile.versions[id] == "" || v == refile.versions[id] {
				delete(listed, id) // cached as it is upstream, as far as the listing tells
			}
			continue
		}
		unlisted = append(unlisted, id)
	}
	// What is cached about another of the person's Patient ids (a merge,
	// stored there by a listing before) no listing by this one names: it is
	// read again too, so a move on or a deletion is seen without a history.
	var others []string
	for id := range refile.cached {
		if !first[id] && !listed[id] {
			others = append(others, id)
		}
	}
	slices.Sort(others)
	for _, id := range append(unlisted, others...) {
		p.stillRunning(ctx, src, personID, &answers)
		got, err := c.Read(ctx, typ, id)
		var ue *UpstreamError
		switch {
		case err == nil && refile.movedAway(got):
			update.Moved = append(update.Moved, got) // now another person's, or nobody's
		case err == nil:
			update.Resources = append(update.Resources, got) // there after all
		case errors.As(err, &ue) && (ue.Status == http.StatusNotFound || ue.Status == http.StatusGone):
			update.Deleted = append(update.Deleted, fhir.Resource{Type: typ, ID: id})
		case errors.Is(err, ErrMalformedResource), !worthRetrying(err):
			// Unreadable, or refused: kept as it is until upstream says it is gone.
		default:
			return err
		}
	}
	res, err := p.DB.ApplyPage(ctx, update)
	if err != nil {
		return err
	}
	sum.add(res)
	// What is left was listed and is not cached, or cached at another
	// version, but for resources kept aside as unreadable: retryRejected reads
	// those again, and fetching them here would only keep them aside once more.
	aside, err := p.DB.Unresolved(ctx, src.ID, -1)
	if err != nil {
		return err
	}
	for _, r := range aside {
		if r.Type == typ {
			delete(listed, r.ID)
		}
	}
	missing := make([]string, 0, len(listed))
	for id := range listed {
		missing = append(missing, id)
	}
	slices.Sort(missing)
	var mu sync.Mutex
	for len(missing) > 0 {
		n := min(50, len(missing))
		if err := p.fetchAll(ctx, c, src, personID, typ, patientID, url.Values{"_id": {strings.Join(missing[:n], ",")}, "_count": {"50"}}, sum, &mu); err != nil {
			return err
		}
		missing = missing[n:]
	}
	return nil
}

// worthRetrying says whether a failed call may work later because the source
// is down or busy (or the sync was stopped): a pull stops there, rather than
// go on as if upstream had answered.
func worthRetrying(err error) bool {
	var ue *UpstreamError
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), errors.Is(err, ErrCircuitOpen), errors.Is(err, ErrAskedToWait):
		return true
	case errors.As(err, &ue):
		return ue.Retryable
	}
	return false
}

// Explain puts a sync error in a sentence a patient, or a carer reading for
// them, can read: what happened, never how, and never "your", since a
// carer's pages show it too. The error itself, for operators, goes to the log and to portal
// sync's error output.
func Explain(err error) string {
	var ue *UpstreamError
	var partial *partialError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &partial):
		return Explain(partial.errs[0]) // the first thing that failed
	case errors.Is(err, ErrNoRecord):
		return "This organisation has no record of this person."
	case errors.Is(err, ErrSetAside):
		return "Their record of this person now gives another NHS number, so it is kept aside until someone who runs this portal checks it."
	case errors.Is(err, ErrAskedToWait):
		return "Their system is busy and asked us to wait. We will try again later."
	case errors.Is(err, ErrCircuitOpen), errors.Is(err, context.DeadlineExceeded):
		return "Their system has not been answering. We will try again soon."
	case errors.Is(err, ErrForeignURL):
		return "Their system sent an answer we could not follow. We will try again soon."
	case errors.As(err, &ue):
		switch {
		case ue.Status == http.StatusUnauthorized || ue.Status == http.StatusForbidden:
			return "Their system would not let us read the record. We will try again soon."
		case ue.Retryable:
			return "Their system did not answer. We will try again soon."
		}
		return "Their system sent an answer we could not read. We will try again soon."
	}
	return "Something went wrong while we were getting the record. We will try again soon."
}

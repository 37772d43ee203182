package fhirsync

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// FHIR Bulk Data Access (system-level $export): kick-off, polling the status
// URL, and importing the NDJSON files as they stream in, a batch per
// transaction, so memory stays flat whatever the size of the files.

// DefaultBulkBatch is how many resources ImportNDJSON stores per transaction
// when it is given no batch size.
const DefaultBulkBatch = 1000

const (
	// maxPollDelay caps one wait between status checks the server gave no
	// Retry-After for; maxRetryAfterPoll one it did (a review: a server's
	// "check again in 10 minutes" was checked after 5), so that one saying
	// a day is still asked hourly.
	maxPollDelay      = 5 * time.Minute
	maxRetryAfterPoll = time.Hour
	// minPollDelay keeps a server answering Retry-After: 0 from being polled in a tight loop.
	minPollDelay = 100 * time.Millisecond
	// maxExportWait bounds the total time spent waiting for one export to finish.
	maxExportWait = 24 * time.Hour
	// maxNDJSONLine bounds one line held in memory; a longer one is set aside unread.
	maxNDJSONLine = 64 << 20
)

// Manifest is a finished bulk export: where its files are.
type Manifest struct {
	TransactionTime     string       `json:"transactionTime"`
	Request             string       `json:"request"`
	RequiresAccessToken bool         `json:"requiresAccessToken"`
	Output              []ExportFile `json:"output"`
	Error               []ExportFile `json:"error"` // NDJSON files of OperationOutcomes
	// Deleted are NDJSON files of transaction Bundles whose DELETE entries name
	// the resources deleted since the export's _since (type "Bundle", or none).
	Deleted []ExportFile `json:"deleted"`
	// StatusURL is the job's status URL (absolute, under the base URL). A
	// DELETE to it tells the server the files may go.
	StatusURL string `json:"-"`
}

// ExportFile is one NDJSON file of a bulk export.
type ExportFile struct {
	Type  string `json:"type"`
	URL   string `json:"url"` // absolute; under the source's base URL, or at an origin named in FilesFrom when no token is needed (fileURL)
	Count int    `json:"count,omitempty"`
}

// BulkExport runs a system-level $export (all resource types when types is
// empty; only resources changed after since, an RFC 3339 instant, when it is
// not ""): it kicks the export off, polls its status URL honouring Retry-After
// until the manifest is ready and returns it. progress, when not nil, hears
// each wait in words. The status URL must lie under the base URL, like the
// next links Next follows; so must file URLs, unless the manifest says no
// token is needed and they are at an origin ClientOptions.FilesFrom names
// (fileURL). If ctx ends or the export fails, the job is
// cancelled at the server (best effort).
func (c *Client) BulkExport(ctx context.Context, types []string, since string, progress func(string)) (Manifest, error) {
	q := url.Values{}
	for _, t := range types {
		if !validType(t) {
			return Manifest{}, fmt.Errorf("bulk export: %q is not a FHIR resource type", t)
		}
	}
	if len(types) > 0 {
		q.Set("_type", strings.Join(types, ","))
	}
	if since != "" {
		if _, err := time.Parse(time.RFC3339Nano, since); err != nil {
			return Manifest{}, fmt.Errorf("bulk export: since %q is not an RFC 3339 instant", since)
		}
		q.Set("_since", since)
	}
	kickoff := "$export"
	if len(q) > 0 {
		kickoff += "?" + q.Encode()
	}
	resp, body, err := c.do(ctx, request{method: http.MethodGet, header: http.Header{"Prefer": {"respond-async"}, "Accept": {"application/fhir+json"}},
		auth: true, startsWork: true}, kickoff)
	if err != nil {
		return Manifest{}, fmt.Errorf("starting a bulk export: %w", err)
	}
	if resp.StatusCode != http.StatusAccepted {
		msg := fmt.Sprintf("starting a bulk export: the server answered %s, not 202 Accepted", statusLine(resp.StatusCode))
		if said := outcomeText(body); said != "" { // its reason, as a refusal's is (a review)
			msg += ": it said: " + clip(c.redact(said))
		}
		return Manifest{}, errors.New(msg)
	}
	loc := resp.Header.Get("Content-Location")
	if loc == "" {
		return Manifest{}, errors.New("starting a bulk export: the server did not say where to check on it (no Content-Location)")
	}
	status, err := c.underBase(loc)
	if err != nil {
		return Manifest{}, fmt.Errorf("starting a bulk export: the status URL: %w", err)
	}
	m, err := c.pollExport(ctx, status, progress)
	if err != nil {
		c.cancelExport(ctx, status.String())
		return Manifest{}, err
	}
	return m, nil
}

// pollExport checks the status URL until the export is done. An export may
// take hours: a check the server answers busy (busy) does not end it, but is
// waited out as the server asked and made again, the wait counting towards
// maxExportWait as the waits between checks do.
func (c *Client) pollExport(ctx context.Context, status *url.URL, progress func(string)) (Manifest, error) {
	var waited time.Duration
	for n := 1; ; n++ {
		resp, body, err := c.Do(ctx, http.MethodGet, status.String(), nil, http.Header{"Accept": {"application/json"}})
		var d time.Duration
		var msg string
		switch {
		case err != nil && (ctx.Err() != nil || !busy(err)):
			return Manifest{}, fmt.Errorf("checking on the bulk export: %w", err)
		case err != nil && resp != nil && resp.StatusCode != http.StatusTooManyRequests && exportFailed(body):
			// The Bulk Data "error status": the export has failed, and only an
			// issue coded transient is worth checking on again (found by a
			// review: a failed export was checked on for a day, its words lost).
			return Manifest{}, fmt.Errorf("the bulk export failed: %w", err)
		case err != nil:
			d, msg = c.busyDelay(n, err), "The server is busy"
		case resp.StatusCode == http.StatusOK:
			m, err := c.readManifest(body)
			if err != nil {
				return Manifest{}, fmt.Errorf("reading the bulk export's manifest: %w", err)
			}
			m.StatusURL = status.String()
			return m, nil
		case resp.StatusCode == http.StatusAccepted:
			d, msg = c.pollDelay(n, resp.Header.Get("Retry-After")), "Export in progress"
			if p := clip(c.redact(resp.Header.Get("X-Progress"))); p != "" {
				msg += ": " + p
			}
		default:
			return Manifest{}, fmt.Errorf("checking on the bulk export: the server answered %s", statusLine(resp.StatusCode))
		}
		if waited += d; waited > maxExportWait {
			return Manifest{}, fmt.Errorf("the bulk export was not ready after %s of waiting", maxExportWait)
		}
		if progress != nil {
			progress(fmt.Sprintf("%s; checking again in %s", msg, d))
		}
		if err := c.opts.Sleep(ctx, d); err != nil {
			return Manifest{}, fmt.Errorf("waiting for the bulk export: %w", err)
		}
	}
}

// pollDelay is the wait before status check n+1: Retry-After when given,
// else exponential from 1s with jitter, bounded either way. The jitter keeps
// exports started together (every portal after a restart, say) from polling
// in step; half the wait is kept, so the waits still grow.
func (c *Client) pollDelay(n int, retryAfterHeader string) time.Duration {
	d, ok := retryAfter(retryAfterHeader, c.opts.Now())
	if ok {
		return min(max(d, minPollDelay), maxRetryAfterPoll)
	}
	d = time.Second << min(n-1, 6) // 1s, 2s, 4s … 64s
	d = d/2 + c.jitter(d/2)
	return min(max(d, minPollDelay), maxPollDelay)
}

// exportFailed says whether a status check's answer is an OperationOutcome
// saying the export failed: one with issues, none of them coded transient or
// one of its kinds in FHIR's IssueType (a review: 429 "throttled" ended an
// export hours long, and cancelled it). exception, a kind of transient too,
// is left out: servers give it for a job that failed.
func exportFailed(body []byte) bool {
	issues, _ := outcomeIssues(body)
	return len(issues) > 0 && !slices.ContainsFunc(issues, func(is outcomeIssue) bool {
		switch is.Code {
		case "transient", "lock-error", "no-store", "timeout", "incomplete", "throttled":
			return true
		}
		return false
	})
}

// busy says whether a failed status check is the server being busy, which
// a later check may get past: it asked to wait (*WaitError, the source held
// or not), failed in a way worth trying again, or failed so several times
// in a row that the breaker refused the check.
func busy(err error) bool {
	var we *WaitError
	var ue *UpstreamError
	return errors.As(err, &we) || errors.As(err, &ue) && ue.Retryable || errors.Is(err, ErrCircuitOpen)
}

// busyDelay is the wait before the status check after check n, which the
// server answered busy with err: until the time it asked for, if it did,
// else as between checks; bounded as those are.
func (c *Client) busyDelay(n int, err error) time.Duration {
	var we *WaitError
	if errors.As(err, &we) {
		return min(max(we.Until.Sub(c.opts.Now()), minPollDelay), maxRetryAfterPoll)
	}
	if errors.Is(err, ErrCircuitOpen) { // busy checks in a row opened it: wait till it lets one through
		return min(max(c.pollDelay(n, ""), c.opts.BreakerCooldown), maxPollDelay)
	}
	return c.pollDelay(n, "")
}

// readManifest reads a completion manifest and checks every file's address (fileURL).
func (c *Client) readManifest(body []byte) (Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(body, &m); err != nil {
		return Manifest{}, fmt.Errorf("the manifest is not valid JSON: %v", err)
	}
	// A manifest that does not say whether a token is needed is taken to need
	// one: only one that says it does not may name files elsewhere.
	var says struct {
		RequiresAccessToken *bool `json:"requiresAccessToken"`
	}
	if json.Unmarshal(body, &says) == nil && says.RequiresAccessToken == nil {
		m.RequiresAccessToken = true
	}
	for _, files := range [][]ExportFile{m.Output, m.Error} {
		for i, f := range files {
			if !validType(f.Type) {
				return Manifest{}, fmt.Errorf("file %d: %q is not a FHIR resource type", i+1, clip(f.Type))
			}
			u, err := c.fileURL(f.URL, m.RequiresAccessToken)
			if err != nil {
				return Manifest{}, fmt.Errorf("the %s file: %w", f.Type, err)
			}
			files[i].URL = u.String()
		}
	}
	for i, f := range m.Deleted {
		// Bundles of deletions, typed Bundle, or, as SMART's reference
		// server types them, by what they delete (a review).
		if f.Type != "" && !validType(f.Type) {
			return Manifest{}, fmt.Errorf("deleted file %d: %q is not a FHIR resource type", i+1, clip(f.Type))
		}
		u, err := c.fileURL(f.URL, m.RequiresAccessToken)
		if err != nil {
			return Manifest{}, fmt.Errorf("the deleted file: %w", err)
		}
		m.Deleted[i].URL = u.String()
	}
	return m, nil
}

// fileURL checks an export file's address. Under the source's base it is
// fetched as every request to the source is, with its token. Elsewhere (a
// server's object storage, say) only when the manifest says no token is
// needed and the operator named its origin (ClientOptions.FilesFrom), so a
// server cannot have the portal fetch whatever it likes, internal addresses
// included: then it is fetched without the token (streamOnce), over https (or
// http when the source itself is), and never with a user name or password in it.
func (c *Client) fileURL(raw string, requiresToken bool) (*url.URL, error) {
	u, err := c.underBase(raw)
	if err == nil || requiresToken {
		return u, err
	}
	ref, perr := url.Parse(raw)
	if perr != nil || !ref.IsAbs() || ref.Hostname() == "" || ref.User != nil ||
		(ref.Scheme != "https" && (ref.Scheme != "http" || c.base.Scheme != "http")) {
		return nil, err
	}
	if !c.fileMayComeFrom(ref) {
		return nil, fmt.Errorf("refused %s: its host %s is not one allowed with --files-from: %w", safeURL(ref), clip(ref.Host), ErrForeignURL)
	}
	return ref, nil
}

// cancelExport asks the server to drop the job and its files, even when ctx
// has ended, and even while the source has asked not to be called: one
// request that frees what the server holds for us is what it would want.
func (c *Client) cancelExport(ctx context.Context, statusURL string) {
	u, err := c.underBase(statusURL)
	if err != nil {
		return // checked when the export began (BulkExport): never so
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	c.call(dctx, request{method: http.MethodDelete, url: u, auth: true, despiteHold: true}) //nolint:errcheck // best effort: the server expires jobs anyway
}

// PullBulk populates the cache from a source with a system-level bulk export:
// every file is downloaded as a stream and imported in batches, Patients first
// so persons exist before their data, then the Medications (and the other
// resources items take names from), so a medicine named only by one takes its
// name as it is stored rather than in one long rewrite of every item after. Running it again changes nothing unless
// upstream changed. progress, when not nil, hears how it goes in words.
func (p *Puller) PullBulk(ctx context.Context, src store.Source, progress func(string)) (Summary, error) {
	sum := Summary{Source: src.Name}
	say := func(format string, args ...any) {
		if progress != nil {
			progress(fmt.Sprintf(format, args...))
		}
	}
	c, err := p.Client(src)
	if err != nil {
		return sum, err
	}
	// Only what changed since the last complete export; the first asks for everything.
	since, err := p.DB.BulkSince(ctx, src.ID)
	if err != nil {
		return sum, err
	}
	if _, perr := time.Parse(time.RFC3339Nano, since); since != "" && perr != nil {
		// Noted by a version that took the server's word for it (a review):
		// everything is asked for, rather than every export refused.
		say("The last export's time, %q, is not a date-time: asking for everything", since)
		since = ""
	}
	if since != "" {
		say("Asking for changes since %s", since)
	}
	// A full export into a cache that holds some of the source's already
	// lists no deletions: what it does not list is looked for again at its
	// end (sweepUnseen).
	var seenFrom string
	sweep := false
	if since == "" {
		if seenFrom, sweep, err = p.DB.StartSeen(ctx, src.ID); err != nil {
			return sum, err
		}
	}
	m, err := c.BulkExport(ctx, nil, since, progress)
	if err != nil {
		return sum, err
	}
	// However the load ends, stored, given up on a file or stopped, the
	// server may drop the job and its files, as the Bulk Data spec asks: a
	// load that did not finish starts a fresh export next time.
	defer c.cancelExport(ctx, m.StatusURL)
	files := importOrder(m.Output)
	say("Export ready: %d files", len(files))
	opts := store.ImportOptions{Source: src.Name, SourceID: src.ID, LinkSystems: p.LinkSystems, NoteSeen: sweep}
	var unreadable []string // files none of whose lines read as a resource: no NDJSON (a login page, say)
	for _, f := range files {
		start, lastSaid := time.Now(), time.Now()
		res, err := p.importExportFile(ctx, c, opts, f, func(r store.ImportResult) {
			if time.Since(lastSaid) >= 2*time.Second {
				lastSaid = time.Now()
				say("%s: %d read so far", f.Type, total(r))
			}
		})
		sum.addFile(res)
		if err != nil {
			return sum, fmt.Errorf("%s file: %w", f.Type, err)
		}
		say("%s: %d read, %d added, %d updated, %d unchanged, %d set aside, in %s", f.Type, total(res.ImportResult),
			res.Added, res.Updated, res.Unchanged, res.Rejected, time.Since(start).Round(time.Millisecond))
		if res.unread > 0 && res.readable == 0 {
			name := f.Type + " file"
			if u, err := url.Parse(f.URL); err == nil {
				name += " " + safeURL(u) // without a query, which may be a signature
			}
			unreadable = append(unreadable, name)
		}
	}
	// Deletions after every output file, so a resource changed and then deleted
	// while the export ran ends deleted.
	for _, f := range m.Deleted {
		start := time.Now()
		res, err := p.deleteExportFile(ctx, c, opts, f, m.TransactionTime)
		sum.addFile(res)
		if err != nil {
			return sum, fmt.Errorf("deleted file: %w", err)
		}
		say("Deleted upstream: %d listed, %d removed from the cache, %d set aside, in %s", res.listed, res.Deleted, res.Rejected,
			time.Since(start).Round(time.Millisecond))
	}
	partial := false // the server says it left out resources, or its list of problems could not be read
	for _, f := range m.Error {
		failed, err := c.readErrorFile(ctx, f, say)
		if err != nil {
			say("Could not read the export's list of problems: %v", err) // the data itself is stored
		}
		partial = partial || failed || err != nil
	}
	if sweep && !partial {
		start := time.Now()
		read, gone, err := p.sweepUnseen(ctx, c, src, seenFrom)
		sum.Deleted += gone
		if err != nil {
			return sum, fmt.Errorf("reading again what the export did not list: %w", err)
		}
		say("Not in this full export: looked for again in %d requests, %d gone upstream and removed from the cache, in %s", read, gone, time.Since(start).Round(time.Millisecond))
	}
	// The files were stored without the search index or duplicate marks: both are worked out once, now.
	say("Indexing for search and finding facts reported twice")
	if err := p.DB.FinishBulkLoad(ctx); err != nil {
		return sum, err
	}
	if len(unreadable) > 0 {
		// Not marked complete: what the file held would never be asked for
		// again by an export of what changed since (a review: a sign-in page
		// served as the Observations passed, exit 0).
		return sum, fmt.Errorf("%s: no line of it reads as a resource, so it is not NDJSON; the next export asks again for everything since the last complete one", strings.Join(unreadable, "; "))
	}
	if partial {
		// What the server could not export would never be asked for again
		// by an export of what changed since (found by a review).
		say("The export left out resources it could not export: the next export asks again for everything since the last complete one")
		return sum, nil
	}
	if _, err := time.Parse(time.RFC3339Nano, m.TransactionTime); m.TransactionTime != "" && err != nil {
		// Kept, it would be asked about on every export after (a review).
		return sum, fmt.Errorf("the export's manifest gives its time (transactionTime) as %q, which is not a date-time: the next export asks again for everything since the last complete one", m.TransactionTime)
	}
	// Every file is stored: the next export can start from this one's time.
	if m.TransactionTime != "" {
		if err := p.DB.SetBulkSince(ctx, src.ID, m.TransactionTime); err != nil {
			return sum, err
		}
	}
	return sum, nil
}

// sweepUnseen looks again for the cached resources that a complete full
// export did not list, of any type, stored before it began at seenFrom
// (store.Unseen): by a search by id, then reading each it did not find, and
// removes those the source says are gone (404 or 410), a batch per
// transaction: a full export lists no deletions, and one after a load
// stopped half way left a resource deleted in between in the record for good
// (a review). As a sync's listing does, absence alone
// removes nothing: one still there, or that cannot be read, stays. It
// returns how many it read and removed.
func (p *Puller) sweepUnseen(ctx context.Context, c *Client, src store.Source, seenFrom string) (read, gone int, err error) {
	var after fhir.Resource
	for {
		todo, err := p.DB.Unseen(ctx, src.ID, seenFrom, after, 500)
		if err != nil || len(todo) == 0 {
			return read, gone, errors.Join(err, p.DB.ForgetSeen(ctx, src.ID))
		}
		var deleted []fhir.Resource
		for len(todo) > 0 {
			// A search by id, 50 at a time, finds those still there; only the
			// rest are read, one by one (a review: a type the export leaves
			// out took one request a resource).
			n := 1
			for n < min(len(todo), 50) && todo[n].Type == todo[0].Type {
				n++
			}
			batch := todo[:n]
			todo, after = todo[n:], batch[n-1]
			there, err := c.stillThere(ctx, batch)
			read++
			if err != nil && worthRetrying(err) {
				return read, gone, err // the source is down or busy: the next full export reads them again
			}
			for _, r := range batch {
				if there[r.ID] {
					continue
				}
				_, err := c.Read(ctx, r.Type, r.ID)
				read++
				var ue *UpstreamError
				switch {
				case errors.As(err, &ue) && (ue.Status == http.StatusNotFound || ue.Status == http.StatusGone):
					deleted = append(deleted, r)
				case err != nil && worthRetrying(err) && !errors.Is(err, ErrMalformedResource):
					return read, gone, err
				}
			}
		}
		if len(deleted) > 0 {
			res, err := p.DB.ApplyPage(ctx, store.PageUpdate{Source: src.Name, SourceID: src.ID, Origin: src.BaseURL + "/$export", Deleted: deleted, Bulk: true})
			if err != nil {
				return read, gone, err
			}
			gone += res.Deleted
		}
	}
}

// stillThere is which of rs, all of one type, the server finds by a search
// by id: those it lists, and those it lists but cannot be read. An answer
// that is not a search's leaves them all to be read one by one.
func (c *Client) stillThere(ctx context.Context, rs []fhir.Resource) (map[string]bool, error) {
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	there := map[string]bool{}
	page, err := c.Search(ctx, rs[0].Type, url.Values{"_id": {strings.Join(ids, ",")}, "_elements": {"id"}, "_count": {strconv.Itoa(len(ids))}})
	read := map[string]bool{}
	for err == nil {
		for _, r := range page.Resources {
			if r.Type == rs[0].Type {
				there[r.ID] = true
			}
		}
		for _, r := range page.Rejected {
			there[r.ID] = true
		}
		if page.Next == "" {
			return there, nil
		}
		page, err = c.nextUnseen(ctx, page.Next, read)
	}
	return there, err
}

// importOrder is the order a bulk export's files are imported in: Patients,
// then what items take names from, then the rest, each as the manifest lists them.
func importOrder(files []ExportFile) []ExportFile {
	rank := func(typ string) int {
		switch {
		case typ == "Patient":
			return 0
		case fhir.NamesItems(typ):
			return 1
		}
		return 2
	}
	out := slices.Clone(files)
	slices.SortStableFunc(out, func(a, b ExportFile) int { return rank(a.Type) - rank(b.Type) })
	return out
}

// total is how many resources an import read.
func total(r store.ImportResult) int {
	n := 0
	for _, v := range r.ByType {
		n += v
	}
	return n
}

// bulkResult is an import's counts and how many transactions it took.
type bulkResult struct {
	store.ImportResult
	batches  int
	listed   int // resources a deleted file named, whether the cache held them or not
	unread   int // lines that do not read as a resource, nor name one
	readable int // lines that do, stored or set aside
}

// add adds what one batch of the file at origin stored, and, up to
// maxSetAside, the lines it set aside, with the file's address.
func (b *bulkResult) add(origin string, res store.ImportResult) {
	b.ImportResult.Add(res)
	for _, why := range res.SetAside {
		if len(b.SetAside) < maxSetAside {
			b.SetAside = append(b.SetAside, origin+" "+why)
		}
	}
}

// merge adds o, what a further try at one file stored, to b.
func (b *bulkResult) merge(o bulkResult) {
	b.ImportResult.Add(o.ImportResult)
	b.batches += o.batches
	b.listed += o.listed
	b.unread += o.unread
	b.readable += o.readable
	b.SetAside = keepSetAside(b.SetAside, o.SetAside)
}

// importExportFile streams one export file into the store.
func (p *Puller) importExportFile(ctx context.Context, c *Client, opts store.ImportOptions, f ExportFile, onBatch func(store.ImportResult)) (bulkResult, error) {
	var before store.ImportResult // what earlier tries stored
	return c.readExportFile(ctx, f, func(body io.Reader, origin string, skip int) (bulkResult, int, error) {
		res, lines, err := importNDJSON(ctx, p.DB, opts, origin, body, DefaultBulkBatch, skip, func(r store.ImportResult) {
			if onBatch != nil {
				var sofar store.ImportResult
				sofar.Add(before)
				sofar.Add(r)
				onBatch(sofar)
			}
		})
		before.Add(res.ImportResult)
		return res, lines, err
	})
}

// deleteExportFile removes from the cache the resources an export's deleted
// file names. Each was deleted by the export's time (transactionTime): a
// version stored since then was made again after, and is kept (a review: a
// sync had stored a resource made again with its id, which the load removed).
func (p *Puller) deleteExportFile(ctx context.Context, c *Client, opts store.ImportOptions, f ExportFile, deletedBy string) (bulkResult, error) {
	return c.readExportFile(ctx, f, func(body io.Reader, origin string, skip int) (bulkResult, int, error) {
		return deleteNDJSON(ctx, p.DB, opts, origin, body, DefaultBulkBatch, skip, deletedBy)
	})
}

// readExportFile streams one export file to read, which stores what it reads
// and returns its counts and the number of the last line it stored. If the
// connection breaks mid-file it asks again and has read skip the lines
// already stored.
func (c *Client) readExportFile(ctx context.Context, f ExportFile, read func(body io.Reader, origin string, skip int) (bulkResult, int, error)) (bulkResult, error) {
	u, err := url.Parse(f.URL) // checked with the manifest (fileURL)
	if err != nil {
		return bulkResult{}, err
	}
	var out bulkResult
	done, failures := 0, 0 // lines stored; failed tries since the last progress
	for {
		body, err := c.openStream(ctx, u)
		if err != nil {
			return out, fmt.Errorf("GET %s: %w", safeURL(u), err)
		}
		res, lines, err := read(body, safeURL(u), done)
		body.Close()
		out.merge(res)
		if err == nil {
			return out, nil
		}
		var se *streamError
		if !errors.As(err, &se) || ctx.Err() != nil {
			return out, err
		}
		if lines > done {
			done, failures = lines, 0 // progress was made: a fresh set of tries
		}
		if failures++; failures >= c.opts.MaxAttempts {
			return out, err
		}
		wait, _ := c.delay(failures, "") // no answer to say how long
		if err := c.opts.Sleep(ctx, wait); err != nil {
			return out, err
		}
	}
}

// readErrorFile reports what the OperationOutcomes in an export's error file say.
func (c *Client) readErrorFile(ctx context.Context, f ExportFile, say func(string, ...any)) (failed bool, err error) {
	u, err := url.Parse(f.URL) // checked with the manifest (fileURL)
	if err != nil {
		return false, err
	}
	body, err := c.openStream(ctx, u)
	if err != nil {
		return false, err
	}
	defer body.Close()
	br := bufio.NewReader(io.LimitReader(body, maxResponseSize))
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		line = bytes.TrimSpace(line)
		if s := outcomeText(line); s != "" {
			say("The server reported a problem with the export: %s", clip(c.redact(s)))
		}
		failed = failed || len(line) > 0 && !onlyWarnings(line)
		if err == io.EOF {
			return failed, nil
		}
		if err != nil {
			return failed, fmt.Errorf("line %d: %w", n, err)
		}
	}
}

// onlyWarnings says whether a line of an export's error file is an
// OperationOutcome of warnings or information only, which leaves nothing
// out of the export.
func onlyWarnings(line []byte) bool {
	issues, _ := outcomeIssues(line)
	return len(issues) > 0 && !slices.ContainsFunc(issues, func(is outcomeIssue) bool { return is.Severity != "warning" && is.Severity != "information" })
}

// ImportNDJSON stores the FHIR resources of newline-delimited JSON (one per
// line, as bulk export files hold them) read from r, batch resources per
// transaction (DefaultBulkBatch when batch <= 0), so memory does not grow with
// the size of the input. A line that does not read as a resource is kept aside
// as rejected, with its line number, and the rest are still stored. origin says
// where the lines came from (a file name or URL). The counts of all batches
// are summed; on an error, those of the batches already stored are returned.
// The batches are a bulk load (store.ImportBulk): search indexing and the
// marking of duplicates wait until every line is stored, then are done once
// (store.FinishBulkLoad); after an error, the next bulk load does them, or
// store.FinishStalledBulkLoad once the load has been quiet a while.
func ImportNDJSON(ctx context.Context, db *store.DB, opts store.ImportOptions, origin string, r io.Reader, batch int) (store.ImportResult, error) {
	res, _, err := importNDJSON(ctx, db, opts, origin, r, batch, 0, nil)
	if err != nil {
		return res.ImportResult, err // what is stored waits to be indexed (store.FinishStalledBulkLoad)
	}
	return res.ImportResult, db.FinishBulkLoad(ctx)
}

// ndjsonChunk is one batch of lines, read and ready to store.
type ndjsonChunk struct {
	prepared    []fhir.Prepared // the resources read for storing, on the reading side, so the writer runs only SQL
	rejected    []store.Rejected
	first, last int // line numbers
}

// resources are the chunk's resources as read, before preparing.
func (ch ndjsonChunk) resources() []fhir.Resource {
	out := make([]fhir.Resource, len(ch.prepared))
	for i, p := range ch.prepared {
		out[i] = p.Resource
	}
	return out
}

// streamError is a failure to read the input (rather than to store it): worth
// asking again for the rest of a file.
type streamError struct{ err error }

func (e *streamError) Error() string { return e.err.Error() }
func (e *streamError) Unwrap() error { return e.err }

// importNDJSON reads lines in one goroutine while storing the previous batch in
// this one, skipping the first skip lines (stored by an earlier attempt). It
// returns the counts and the number of the last line stored.
func importNDJSON(ctx context.Context, db *store.DB, opts store.ImportOptions, origin string, r io.Reader, batch, skip int, onBatch func(store.ImportResult)) (bulkResult, int, error) {
	if batch <= 0 {
		batch = DefaultBulkBatch
	}
	out := bulkResult{ImportResult: store.ImportResult{ByType: map[string]int{}}}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chunks := make(chan ndjsonChunk, 1) // one batch read ahead while one is stored
	readErr := make(chan error, 1)
	go func() {
		defer close(chunks)
		readErr <- readNDJSON(rctx, r, batch, skip, chunks)
	}()
	done := skip
	var storeErr error
	for ch := range chunks {
		if storeErr != nil {
			continue // drain, so the reader stops
		}
		where := fmt.Sprintf("%s lines %d-%d", origin, ch.first, ch.last)
		var res store.ImportResult
		var err error
		switch {
		case len(ch.rejected) > 0:
			// The rare batch with a bad line: stored with its rejects in one transaction.
			res, err = db.ApplyPage(ctx, store.PageUpdate{Source: opts.Source, SourceID: opts.SourceID, Origin: where, LinkSystems: opts.LinkSystems,
				Resources: ch.resources(), Prepared: ch.prepared, Rejected: ch.rejected, Bulk: true, NoteSeen: opts.NoteSeen})
		case len(ch.prepared) > 0:
			res, err = db.ImportBulk(ctx, opts, where, ch.prepared)
		}
		if err != nil {
			storeErr = fmt.Errorf("storing %s: %w", where, err)
			cancel()
			continue
		}
		out.add(origin, res)
		out.batches++
		out.readable += len(ch.prepared)
		for _, r := range ch.rejected {
			// A line that names a resource, or is too long to look at (a 65
			// MB photo), is NDJSON set aside (a Bundle on a line, one with
			// no id), not a sign-in page: a file of only those is no failure
			// of the export (a review: such a file failed every run for
			// ever). An OperationOutcome in place of the file's resources is
			// (a review of that fix: it marked the export complete).
			if r.Raw == nil || r.Type != "" && r.Type != "OperationOutcome" {
				out.readable++
			} else {
				out.unread++
			}
		}
		done = ch.last
		if onBatch != nil {
			onBatch(out.ImportResult)
		}
	}
	rerr := <-readErr
	switch {
	case storeErr != nil:
		return out, done, storeErr
	case ctx.Err() != nil:
		return out, done, ctx.Err()
	case rerr != nil:
		return out, done, rerr
	}
	return out, done, nil
}

// readNDJSON reads lines into batches, prepares them for storing on every
// core, and sends them on out. Lines may be longer than any buffer (up to
// maxNDJSONLine).
func readNDJSON(ctx context.Context, r io.Reader, batch, skip int, out chan<- ndjsonChunk) error {
	br := bufio.NewReaderSize(r, 256<<10)
	var lines ndjsonLines
	var ch ndjsonChunk
	send := func() error {
		if len(lines.ends) == 0 && len(ch.rejected) == 0 {
			return nil
		}
		lines.read(&ch)
		select {
		case out <- ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		ch = ndjsonChunk{}
		lines = ndjsonLines{}
		return nil
	}
	var long []byte // a line longer than the reader's buffer, gathered
	tooLong := false
	for n := 1; ; n++ {
		frag, err := br.ReadSlice('\n')
		for err == bufio.ErrBufferFull {
			if !tooLong {
				long = append(long, frag...)
				if len(long) > maxNDJSONLine {
					tooLong, long = true, nil
				}
			}
			frag, err = br.ReadSlice('\n')
		}
		if err != nil && err != io.EOF {
			return &streamError{fmt.Errorf("reading line %d: %w", n, err)}
		}
		line := frag
		if len(long) > 0 {
			long = append(long, frag...)
			line = long
		}
		if n > skip {
			if ch.first == 0 {
				ch.first = n
			}
			switch line = ndjsonLine(n, line); {
			case tooLong:
				ch.rejected = append(ch.rejected, store.Rejected{Error: fmt.Sprintf("line %d: longer than %d MB, not read", n, maxNDJSONLine>>20)})
			case len(line) > 0:
				lines.add(n, line)
			}
			ch.last = n
		}
		if cap(long) > 1<<20 {
			long = nil // do not keep a very long line's buffer for the rest of the file
		}
		long, tooLong = long[:0], false
		if err == io.EOF {
			return send()
		}
		if len(lines.ends)+len(ch.rejected) >= batch {
			if err := send(); err != nil {
				return err
			}
		}
	}
}

// ndjsonLines are a batch's lines, copied one after another into one buffer.
// ndjsonLine is line n of an NDJSON file as read: without the spaces around
// it, and the first without the byte order mark a UTF-8 file may begin with
// (a review: the first line, a Patient, was set aside for it, as "portal
// import" does not).
func ndjsonLine(n int, line []byte) []byte {
	if n == 1 {
		line = bytes.TrimPrefix(line, []byte{0xEF, 0xBB, 0xBF})
	}
	return bytes.TrimSpace(line)
}

type ndjsonLines struct {
	buf     []byte
	ends    []int // where each line ends in buf
	numbers []int // each line's number in the file
}

func (l *ndjsonLines) add(n int, line []byte) {
	l.buf = append(l.buf, line...)
	l.ends = append(l.ends, len(l.buf))
	l.numbers = append(l.numbers, n)
}

// read reads every line as a resource (fhir.ReadResource), spread over every
// core, and adds each to ch in order: a line that does not read as a
// resource is rejected, with its line number.
func (l *ndjsonLines) read(ch *ndjsonChunk) {
	type result struct {
		p   fhir.Prepared
		err error
	}
	res := make([]result, len(l.ends))
	line := func(i int) []byte {
		start := 0
		if i > 0 {
			start = l.ends[i-1]
		}
		return l.buf[start:l.ends[i]]
	}
	store.OnEveryCore(len(res), func(i int) {
		p, err := fhir.ReadResource(line(i))
		if err == nil && p.Type == "Bundle" {
			err = fhir.BundleOnALine(p.Raw)
		}
		if err == nil && p.ID == "" {
			err = fmt.Errorf("the %s has no id", p.Type)
		}
		res[i] = result{p, err}
	})
	ch.prepared = make([]fhir.Prepared, 0, len(res))
	for i, r := range res {
		if r.err != nil {
			typ, id := peek(line(i))
			// A line is one line of JSON: its place within it is the column alone.
			why := strings.TrimPrefix(r.err.Error(), "line 1, column ")
			if len(why) < len(r.err.Error()) {
				why = "column " + why
			}
			ch.rejected = append(ch.rejected, store.Rejected{Type: typ, ID: id, Error: fmt.Sprintf("line %d: %s", l.numbers[i], why), Raw: bytes.Clone(line(i))})
			continue
		}
		r.p.Place = "line " + strconv.Itoa(l.numbers[i]) // for a reason the store sets it aside
		ch.prepared = append(ch.prepared, r.p)
	}
}

// deleteNDJSON removes from the cache the resources named by the lines read
// from r, each a transaction Bundle of DELETE entries as a bulk export's
// deleted files hold them, through the store's own deletion (store.ApplyPage),
// batch resources per transaction, skipping the first skip lines (done by an
// earlier attempt: deleting again is harmless). A line or entry that does not
// say what was deleted is kept aside as rejected. It returns the counts and
// the number of the last line whose deletions are all stored.
func deleteNDJSON(ctx context.Context, db *store.DB, opts store.ImportOptions, origin string, r io.Reader, batch, skip int, deletedBy string) (bulkResult, int, error) {
	if batch <= 0 {
		batch = DefaultBulkBatch
	}
	out := bulkResult{ImportResult: store.ImportResult{ByType: map[string]int{}}}
	var refs []fhir.Resource
	var rejected []store.Rejected
	done, first, n := skip, 0, 0
	// flush stores the batch (from lines first to n) and notes every line up to upto done.
	flush := func(upto int) error {
		if len(refs)+len(rejected) > 0 {
			where := fmt.Sprintf("%s lines %d-%d", origin, first, n)
			res, err := db.ApplyPage(ctx, store.PageUpdate{Source: opts.Source, SourceID: opts.SourceID, Origin: where, Deleted: refs, Rejected: rejected, Bulk: true})
			if err != nil {
				return fmt.Errorf("storing %s: %w", where, err)
			}
			out.add(origin, res)
			out.listed += len(refs)
			out.batches++
			refs, rejected = nil, nil
		}
		done, first = upto, 0
		return nil
	}
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := readLine(br)
		n++
		switch {
		case errors.Is(err, errLineTooLong):
			return out, done, fmt.Errorf("line %d: %w", n, err)
		case err != nil && err != io.EOF:
			return out, done, &streamError{fmt.Errorf("reading line %d: %w", n, err)} // a line cut short is not read
		}
		if n > skip {
			if first == 0 {
				first = n
			}
			dels, rej := readDeletions(n, ndjsonLine(n, line))
			for i := range dels {
				dels[i].LastUpdated = deletedBy // at the latest
			}
			rejected = append(rejected, rej...)
			for len(dels) > 0 {
				k := min(max(batch-len(refs)-len(rejected), 0), len(dels))
				refs, dels = append(refs, dels[:k]...), dels[k:]
				if len(dels) > 0 { // a line naming more than a batch: stored in parts, all again if the file breaks off
					if err := flush(n - 1); err != nil {
						return out, done, err
					}
					first = n
				}
			}
		}
		if err == io.EOF {
			break
		}
		if len(refs)+len(rejected) >= batch {
			if err := flush(n); err != nil {
				return out, done, err
			}
		}
	}
	if err := flush(n); err != nil {
		return out, done, err
	}
	return out, done, nil
}

// errLineTooLong is a line of a deleted file longer than maxNDJSONLine.
var errLineTooLong = fmt.Errorf("longer than %d MB", maxNDJSONLine>>20)

// readLine reads one line, with its newline if it has one, up to maxNDJSONLine.
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		if len(line)+len(frag) > maxNDJSONLine {
			return nil, errLineTooLong
		}
		line = append(line, frag...)
		if err != bufio.ErrBufferFull {
			return line, err
		}
	}
}

// readDeletions reads which resources one line of a deleted file (a Bundle of
// DELETE entries) names, and what in it does not say.
func readDeletions(n int, line []byte) ([]fhir.Resource, []store.Rejected) {
	if len(line) == 0 {
		return nil, nil
	}
	var b struct {
		ResourceType string            `json:"resourceType"`
		Entry        []json.RawMessage `json:"entry"`
	}
	if err := json.Unmarshal(line, &b); err != nil || b.ResourceType != "Bundle" {
		msg := "not a Bundle of deletions"
		if err != nil {
			msg = "does not read: " + err.Error()
		}
		typ, id := peek(line)
		return nil, []store.Rejected{{Type: typ, ID: id, Error: fmt.Sprintf("line %d: %s", n, msg), Raw: bytes.Clone(line)}}
	}
	var refs []fhir.Resource
	var rejected []store.Rejected
	for i, raw := range b.Entry {
		var e struct {
			Request struct {
				Method string `json:"method"`
				URL    string `json:"url"`
			} `json:"request"`
		}
		var typ, id string
		if json.Unmarshal(raw, &e) == nil && strings.EqualFold(e.Request.Method, http.MethodDelete) {
			typ, id, _ = refParts(e.Request.URL)
		}
		if typ == "" || !validID(id) {
			rejected = append(rejected, store.Rejected{Error: fmt.Sprintf("line %d, entry %d: a deletion that does not say which resource was deleted", n, i+1),
				Raw: bytes.Clone(raw)})
			continue
		}
		refs = append(refs, fhir.Resource{Type: typ, ID: id})
	}
	return refs, rejected
}

// openStream GETs u (with the source's credentials only when under its base URL) and
// returns the body to read as it arrives, rather than held whole in memory like
// the Client's other answers. Until the answer starts it retries and counts
// towards the breaker as other calls do; the per-request timeout applies to
// waiting for the answer and to each wait for more of it, not to the whole
// download. A failure while reading is the caller's to retry.
func (c *Client) openStream(ctx context.Context, u *url.URL) (io.ReadCloser, error) {
	c.readHold(ctx)
	trial, err := c.admit(false)
	if err != nil {
		return nil, err
	}
	attempts := c.opts.MaxAttempts
	if trial {
		attempts = 1
	}
	refreshed := false
	for attempt := 1; ; attempt++ {
		body, resp, sentAuth, err := c.streamOnce(ctx, u)
		if err == nil {
			c.settle(trial, false, false)
			return body, nil
		}
		var ue *UpstreamError
		retryable := errors.As(err, &ue) && ue.Retryable
		if ctx.Err() != nil {
			c.settle(trial, false, true)
			return nil, ctx.Err()
		}
		if inv, ok := c.auth.(invalidator); ok && ue != nil && ue.Status == http.StatusUnauthorized && sentAuth != "" && !refreshed {
			// A cached token the server no longer accepts, as in retry: drop it and try once more at once.
			inv.invalidate(sentToken(sentAuth))
			refreshed = true
			attempt--
			continue
		}
		wait, tooLong := c.delay(attempt, waitAsked(resp, ue))
		if !retryable || attempt >= attempts || tooLong {
			// An export file's own storage (--files-from), whether the manifest
			// named it or a redirect led there, failing or asking to wait says
			// nothing of the source's FHIR server: only the source's own answers
			// hold it off or count towards its breaker.
			_, foreign := c.underBase(answeredBy(u, resp, err).String())
			ours := foreign == nil
			asked := retryable && tooLong && ours
			c.settle(trial, retryable && !asked, !ours)
			if asked {
				err = c.holdOff(err, wait)
			}
			return nil, err
		}
		if err := c.opts.Sleep(ctx, wait); err != nil {
			c.settle(trial, false, true)
			return nil, fmt.Errorf("stopped waiting to try again (%v): %w", ue, err)
		}
	}
}

// answeredBy is the address that gave the answer (resp) or failed to (err) to
// a request for u: the last one a redirect led to.
func answeredBy(u *url.URL, resp *http.Response, err error) *url.URL {
	if resp != nil && resp.Request != nil && resp.Request.URL != nil {
		return resp.Request.URL
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		if at, perr := url.Parse(ue.URL); perr == nil {
			return at
		}
	}
	return u
}

// streamOnce makes one attempt. The idle timer cancels the request when the
// server keeps us waiting longer than the per-request timeout. It returns the
// Authorization header it sent, so a refused token can be dropped.
func (c *Client) streamOnce(ctx context.Context, u *url.URL) (io.ReadCloser, *http.Response, string, error) {
	sctx, cancel := context.WithCancel(ctx)
	idle := &idleTimer{timeout: c.opts.Timeout}
	idle.t = time.AfterFunc(c.opts.Timeout, func() { idle.fired.Store(true); cancel() })
	sentAuth := ""
	fail := func(resp *http.Response, err error) (io.ReadCloser, *http.Response, string, error) {
		idle.t.Stop()
		cancel()
		return nil, resp, sentAuth, err
	}
	req, err := http.NewRequestWithContext(context.WithValue(sctx, exportFile{}, true), http.MethodGet, u.String(), nil)
	if err != nil {
		return fail(nil, errors.New("could not build the request"))
	}
	req.Header.Set("Accept", "application/fhir+ndjson")
	// The source's token goes only to the source: a file elsewhere (fileURL)
	// is one the manifest said needs none.
	if _, err := c.underBase(u.String()); err == nil {
		if err := c.auth.Authorize(sctx, req); err != nil {
			return fail(nil, err)
		}
		sentAuth = req.Header.Get("Authorization")
	}
	resp, err := c.opts.HTTPClient.Do(req)
	if err != nil {
		if idle.fired.Load() && ctx.Err() == nil {
			return fail(nil, &UpstreamError{Message: "could not reach the server: no answer within " + c.opts.Timeout.String(), Retryable: true, cause: err})
		}
		return fail(nil, c.networkError(sctx, "could not reach the server", err))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		return fail(resp, c.statusError(resp.StatusCode, body, sentAuth))
	}
	idle.t.Stop()
	return &idleReader{body: resp.Body, idle: idle, cancel: cancel, callerErr: ctx.Err}, resp, sentAuth, nil
}

// idleTimer runs only while waiting for the server.
type idleTimer struct {
	t       *time.Timer
	timeout time.Duration
	fired   atomic.Bool
}

// idleReader is a response body whose reads each get the per-request timeout.
type idleReader struct {
	body      io.ReadCloser
	idle      *idleTimer
	cancel    context.CancelFunc
	callerErr func() error // the caller's ctx.Err, to tell its cancellation from a stall
}

func (r *idleReader) Read(p []byte) (int, error) {
	r.idle.t.Reset(r.idle.timeout)
	n, err := r.body.Read(p)
	r.idle.t.Stop()
	if err != nil && err != io.EOF {
		switch {
		case r.callerErr() != nil:
			return n, r.callerErr()
		case r.idle.fired.Load():
			err = &UpstreamError{Message: "the answer stalled: nothing more for " + r.idle.timeout.String(), Retryable: true, cause: err}
		default:
			err = &UpstreamError{Message: "the answer was cut short: " + clip(networkReason(err)), Retryable: true, cause: err}
		}
	}
	return n, err
}

func (r *idleReader) Close() error {
	r.idle.t.Stop()
	err := r.body.Close()
	r.cancel()
	return err
}

package fhirsync

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// ErrCircuitOpen is wrapped by the errors of calls refused at once because the
// source has failed repeatedly and is being left alone for a while.
var ErrCircuitOpen = errors.New("the source has failed several times in a row, so calls to it are paused for a while")

// ErrAskedToWait is wrapped by the errors of calls the source asked, with a
// Retry-After longer than a call may wait (ClientOptions.MaxDelay), to wait
// for, and of every call to it until that time has passed: asking early would
// only be refused again, and a busy server is best left alone. It is wrapped
// too by the error of a call whose tries ran out on an answer asking to wait
// less than that: no call is refused for it, but whoever tries again later
// (the consent outbox, say) should not try sooner.
var ErrAskedToWait = errors.New("the source asked us to wait before calling it again")

// WaitError is the error of a call ended or refused by ErrAskedToWait: Until
// is when the source may be called again, and the error of the call that the
// source answered so, if this is that call. It unwraps to both, so
// errors.As still finds the *UpstreamError with the status.
type WaitError struct {
	Host  string
	Until time.Time
	Err   error // nil for a call refused before it was made
	// held says the source is held off till then (holdOff): the call ended
	// busy, not failing. A call whose tries ran out on shorter waits
	// (lastAnswer) raised no hold, and counts towards the breaker.
	held bool
}

func (e *WaitError) Error() string {
	s := fmt.Sprintf("%s asked not to be called again until %s", e.Host, e.Until.UTC().Format(time.RFC3339))
	if e.Err != nil {
		s = e.Err.Error() + "; " + s
	}
	return s
}

func (e *WaitError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrAskedToWait}
	}
	return []error{e.Err, ErrAskedToWait}
}

// HoldKeeper keeps a source's hold where every process sees it (store.DB does).
type HoldKeeper interface {
	HoldSource(ctx context.Context, sourceID int64, until time.Time) error
	SourceHeldUntil(ctx context.Context, sourceID int64) (time.Time, error)
}

// ErrForeignURL is wrapped by the errors of calls to a URL outside the source's
// base URL: the Client never sends a source's credentials anywhere else.
var ErrForeignURL = errors.New("the link is not under the source's base URL, so it was not followed")

// exportFile marks the context of a request for a bulk export file, whose
// redirects CheckRedirect keeps to the source and the origins FilesFrom names.
type exportFile struct{}

// ErrMalformedResource is wrapped when a resource arrived whole but does not
// read as the FHIR R4 its type says.
var ErrMalformedResource = errors.New("the resource does not read as FHIR R4")

// UpstreamError is a failed exchange with a server, in words a person can read.
type UpstreamError struct {
	Status    int    // the HTTP status, or 0 when no answer came
	Message   string // what went wrong: the server's OperationOutcome ("The server said: …"), else the status text or the network failure
	Retryable bool   // whether trying again later may work

	cause error
	// retryAfter is the Retry-After of an answer that came to no
	// *http.Response a caller sees: the SMART token endpoint's.
	retryAfter string
}

// Error says what the server answered.
func (e *UpstreamError) Error() string {
	switch {
	case e.Status == 0, e.Status >= 200 && e.Status <= 299:
		return e.Message // no answer, or an answer that said yes but arrived broken
	case e.Message == "" || e.Message == http.StatusText(e.Status):
		return "the server answered " + statusLine(e.Status)
	default:
		sep := ": "
		if r, _ := utf8.DecodeRuneInString(e.Message); unicode.IsUpper(r) {
			sep = ". "
		}
		return "the server answered " + statusLine(e.Status) + sep + e.Message
	}
}

// Unwrap gives the underlying network error, if any.
func (e *UpstreamError) Unwrap() error { return e.cause }

// ClientOptions tunes a Client. Zero values take the defaults.
type ClientOptions struct {
	Timeout          time.Duration // per request; default 20s
	MaxAttempts      int           // tries per call, the first included; default 5
	BaseDelay        time.Duration // first back-off; default 500ms; exponential with full jitter, capped at MaxDelay
	MaxDelay         time.Duration // default 30s; a Retry-After longer than this ends the call instead of waiting, and holds off calls until then
	BreakerThreshold int           // consecutive failed calls (after retries) that open the breaker; default 5
	BreakerCooldown  time.Duration // how long it stays open before one trial call; default 1 min
	HTTPClient       *http.Client
	Sleep            func(ctx context.Context, d time.Duration) error // for tests; default a real sleep honouring ctx
	Now              func() time.Time
	// FilesFrom are the origins (ParseOrigin), besides the source, that bulk
	// export files may come from when the manifest says they need no token
	// (fileURL), and that a redirect while fetching a file may go to. None by
	// default: a server must not be able to point the portal at any address
	// it likes, such as an internal one (portal sync --bulk --files-from).
	FilesFrom []string
	// Holds, when set, keeps the time a source asked not to be called
	// before (ErrAskedToWait), so that every process leaves it alone till
	// then; each call reads it first, so a hold heard by another process, or
	// lifted by an operator, counts at once.
	Holds HoldKeeper
	// Log hears what the client cannot tell its caller (a hold it could not
	// keep for other processes). Default: nowhere.
	Log *slog.Logger
}

// Client talks FHIR R4 REST to one source. It retries, backs off and trips a
// circuit breaker per source. It is safe for concurrent use.
type Client struct {
	base      *url.URL // no trailing slash
	auth      Auth
	opts      ClientOptions
	filesFrom map[string]bool                           // ClientOptions.FilesFrom, as originOf writes them
	jitter    func(ceiling time.Duration) time.Duration // tests replace it to see the ceilings

	mu         sync.Mutex // guards the breaker below
	failures   int        // consecutive failed calls
	open       bool
	openedAt   time.Time
	trial      bool      // a half-open trial call is in flight
	heldTill   time.Time // the source asked, with Retry-After, not to be called before this
	sourceID   int64     // the source's id in the store, for ClientOptions.Holds; set by Clients
	signIn     string    // the source's kind of authentication and its configuration when made, set by Clients
	unkeptTill time.Time // the latest hold heard here that ClientOptions.Holds does not keep yet, or could not: it stands whatever they say
	holdGen    uint64    // raised each time this process raises heldTill, so a read of Holds begun before does not undo it
}

// maxResponseSize bounds one answer held in memory, so a broken server cannot exhaust it.
const maxResponseSize = 256 << 20

// NewClient returns a Client for the FHIR server at baseURL (e.g. "https://fhir.example.org/r4").
// A nil auth sends no credentials.
func NewClient(baseURL string, auth Auth, opts ClientOptions) (*Client, error) {
	u, err := store.ParseBaseURL(baseURL)
	if err != nil {
		return nil, err
	}
	if auth == nil {
		auth = NoAuth()
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 20 * time.Second
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 5
	}
	if opts.BaseDelay <= 0 {
		opts.BaseDelay = 500 * time.Millisecond
	}
	if opts.MaxDelay <= 0 {
		opts.MaxDelay = 30 * time.Second
	}
	if opts.BreakerThreshold <= 0 {
		opts.BreakerThreshold = 5
	}
	if opts.BreakerCooldown <= 0 {
		opts.BreakerCooldown = time.Minute
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{}
	}
	if opts.Sleep == nil {
		opts.Sleep = sleep
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	c := &Client{base: u, auth: auth, opts: opts, filesFrom: map[string]bool{}, jitter: fullJitter}
	for _, o := range opts.FilesFrom {
		origin, err := ParseOrigin(o)
		if err != nil {
			return nil, fmt.Errorf("files from %q: %w", o, err)
		}
		c.filesFrom[origin] = true
	}
	// The source's token goes only to the source. Go's client keeps the
	// Authorization header on a redirect to the same host on another port,
	// or to a subdomain: a redirect is followed only under the base (or, for
	// an export file, to an origin named with --files-from, without the
	// token), and never from https down to http.
	hc := *opts.HTTPClient
	follow := hc.CheckRedirect
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		if via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
			return fmt.Errorf("refused a redirect from https to %s", req.URL.Scheme)
		}
		// A redirect may send us on only under the source's base URL, or, for
		// an export file, to another origin the operator named: a server must
		// not point the portal at its internal addresses by redirect.
		if _, err := c.underBase(req.URL.String()); err != nil {
			if req.Context().Value(exportFile{}) == nil {
				return fmt.Errorf("refused a redirect to %s, which is not under the source's address: %w", safeURL(req.URL), ErrForeignURL)
			}
			if !c.fileMayComeFrom(req.URL) {
				return fmt.Errorf("refused a redirect to %s: its host %s is not one allowed with --files-from: %w",
					safeURL(req.URL), clip(req.URL.Host), ErrForeignURL)
			}
			req.Header.Del("Authorization")
		}
		if follow != nil {
			return follow(req, via)
		}
		return nil
	}
	c.opts.HTTPClient = &hc
	return c, nil
}

// BaseURL returns the server's base URL, without a trailing slash.
func (c *Client) BaseURL() string { return c.base.String() }

// BreakerOpen reports whether the circuit breaker is open (or half-open,
// awaiting its trial call): the source has been failing.
func (c *Client) BreakerOpen() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.open
}

// Page is one searchset or history page.
type Page struct {
	Resources []fhir.Resource // entries that read, matches and includes alike
	Rejected  []Rejected      // entries kept aside with the reason; the rest of the page still counts
	Next      string          // absolute URL of the next page, or ""
	Total     int             // Bundle.total, or -1
	Deleted   []fhir.Resource // history entries whose request.method is DELETE: Type and ID (and VersionID, LastUpdated when given), no Raw
	Warnings  []string        // what OperationOutcome entries (search.mode "outcome") said, in words
	Served    time.Time       // the server's time when it answered (its Date header), or zero

	includes map[string]bool // "Type/id" of resources that came only as search.mode "include": no match, so not in Total
}

// includedOnly says r came in the page only as an include (search.mode
// "include"), not as a match of the search, which Bundle.total counts.
func (p *Page) includedOnly(r fhir.Resource) bool { return p.includes[r.Type+"/"+r.ID] }

// Rejected is a Bundle entry that could not be used, kept with the reason.
type Rejected struct {
	Type, ID string // as far as they could be read
	Error    string
	Raw      []byte // the entry's resource JSON, or the whole entry when it has none
}

// Search runs GET base/resourceType?params and reads the searchset page.
func (c *Client) Search(ctx context.Context, resourceType string, params url.Values) (Page, error) {
	if !validType(resourceType) {
		return Page{}, fmt.Errorf("searching: %q is not a FHIR resource type", resourceType)
	}
	u := c.base.JoinPath(resourceType)
	u.RawQuery = params.Encode()
	p, err := c.page(ctx, u)
	if err != nil {
		return Page{}, fmt.Errorf("searching %s: %w", resourceType, err)
	}
	return p, nil
}

// Next fetches the page a Page.Next link names. It refuses a URL not under the
// base URL (scheme, host and path prefix), so credentials never go elsewhere.
func (c *Client) Next(ctx context.Context, pageURL string) (Page, error) {
	u, err := c.underBase(pageURL)
	if err != nil {
		return Page{}, fmt.Errorf("fetching the next page: %w", err)
	}
	p, err := c.page(ctx, u)
	if err != nil {
		return Page{}, fmt.Errorf("fetching the next page: %w", err)
	}
	return p, nil
}

// nextUnseen is Next, refusing a link back to a page the search has read
// already (read notes each): a server's mistake that would have the sync
// read the same pages for ever, saying "Updating…" all the while (a review).
func (c *Client) nextUnseen(ctx context.Context, pageURL string, read map[string]bool) (Page, error) {
	if read[pageURL] {
		return Page{}, errors.New("the server's link to the next page leads back to a page already read, so the search cannot be finished")
	}
	read[pageURL] = true
	return c.Next(ctx, pageURL)
}

// History runs GET base/resourceType/_history?_since=since (base/_history when
// resourceType is ""; no _since when since is ""). Deletions come in Page.Deleted.
func (c *Client) History(ctx context.Context, resourceType, since string, count int) (Page, error) {
	var u *url.URL
	switch {
	case resourceType == "":
		u = c.base.JoinPath("_history")
	case validType(resourceType):
		u = c.base.JoinPath(resourceType, "_history")
	default:
		return Page{}, fmt.Errorf("reading history: %q is not a FHIR resource type", resourceType)
	}
	q := url.Values{}
	if count > 0 {
		q.Set("_count", strconv.Itoa(count))
	}
	if since != "" {
		q.Set("_since", since)
	}
	u.RawQuery = q.Encode()
	p, err := c.page(ctx, u)
	if err != nil {
		return Page{}, fmt.Errorf("reading %s history: %w", strings.TrimSpace(resourceType+" "), err)
	}
	return p, nil
}

// Read runs GET base/resourceType/id. When the resource arrives whole but does
// not read (fhir.Project fails), Read returns it together with an error wrapping
// ErrMalformedResource, so the caller can keep it aside.
func (c *Client) Read(ctx context.Context, resourceType, id string) (fhir.Resource, error) {
	if !validType(resourceType) || !validID(id) {
		return fhir.Resource{}, fmt.Errorf("reading: %q/%q is not a FHIR resource type and id", resourceType, id)
	}
	where := resourceType + "/" + id
	_, body, err := c.call(ctx, request{method: http.MethodGet, url: c.base.JoinPath(resourceType, id), auth: true, check: checkJSON})
	if err != nil {
		return fhir.Resource{}, fmt.Errorf("reading %s: %w", where, err)
	}
	r, err := fhir.ParseResource(body)
	if err != nil {
		return fhir.Resource{}, fmt.Errorf("reading %s: %w: %v", where, ErrMalformedResource, err)
	}
	if r.Type == "OperationOutcome" && resourceType != r.Type {
		return fhir.Resource{}, fmt.Errorf("reading %s: %w", where, &UpstreamError{Status: http.StatusOK, Message: "The server said: " + clip(c.redact(outcomeText(body)))})
	}
	if r.Type != resourceType || (r.ID != "" && r.ID != id) {
		return fhir.Resource{}, fmt.Errorf("reading %s: the server sent %s/%s instead", where, r.Type, r.ID)
	}
	if r.ID == "" {
		r.ID = id
	}
	if _, err := fhir.Project(r); err != nil {
		return r, fmt.Errorf("reading %s: %w: %v", where, ErrMalformedResource, err)
	}
	return r, nil
}

// Do sends method to path (relative to the base URL, may carry a query, or an
// absolute URL under it) with auth, retries and the breaker. A body goes as
// application/fhir+json unless header says otherwise. Retries repeat a POST, so
// a create should be conditional (If-None-Exist) or a PUT. The response's body
// is already read and returned; on a status outside 2xx the response and body
// come back with the *UpstreamError.
func (c *Client) Do(ctx context.Context, method, path string, body []byte, header http.Header) (*http.Response, []byte, error) {
	return c.do(ctx, request{method: method, body: body, header: header, auth: true}, path)
}

// do is Do of rq, to path.
func (c *Client) do(ctx context.Context, rq request, path string) (*http.Response, []byte, error) {
	method := rq.method
	if method == "" || strings.ContainsAny(method, " \t\r\n") {
		return nil, nil, fmt.Errorf("%q is not an HTTP method", method)
	}
	u, err := c.resolve(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", method, err)
	}
	rq.url = u
	resp, rbody, err := c.call(ctx, rq)
	if err != nil {
		return resp, rbody, fmt.Errorf("%s %s: %w", method, safeURL(u), err)
	}
	return resp, rbody, nil
}

// request is one call's worth of what to send.
type request struct {
	method string
	url    *url.URL
	body   []byte
	header http.Header
	auth   bool               // send the source's credentials
	check  func([]byte) error // an error means the answer is broken (e.g. cut short) and worth trying again
	// despiteHold sends it even while the source has asked not to be called
	// (ErrAskedToWait) or its breaker is open: only for a request the source
	// itself would want sent, one at a time, such as cancelling an export
	// (cancelExport).
	despiteHold bool
	// startsWork marks a request that starts work at the server, such as a
	// bulk export's kick-off: tried again only when it was answered 429 or
	// 503 with a Retry-After, which started nothing. After a timeout or any
	// other failure the work may have begun, and a second try would begin it
	// twice, the first never to be known or cancelled (a review).
	startsWork bool
}

// call runs one call through the breaker and the retries.
func (c *Client) call(ctx context.Context, rq request) (*http.Response, []byte, error) {
	if !rq.despiteHold {
		c.readHold(ctx)
	}
	trial, err := c.admit(rq.despiteHold)
	if err != nil {
		return nil, nil, err
	}
	resp, body, err := c.retry(ctx, rq, trial)
	var ue *UpstreamError
	// A source that asks us to wait longer than a call may is busy, not
	// failing: it answered, and is left alone till then (holdOff). Tries
	// that ran out on shorter waits count as failing, as any others do.
	var we *WaitError
	heldOff := errors.As(err, &we) && we.held
	failed := err != nil && errors.As(err, &ue) && ue.Retryable && !heldOff
	abandoned := err != nil && ctx.Err() != nil
	c.settle(trial, failed, abandoned)
	return resp, body, err
}

// admit lets a call through unless the source asked not to be called yet
// (unless despiteHold) or the breaker is open; after the cooldown it lets
// exactly one trial call through.
func (c *Client) admit(despiteHold bool) (trial bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if despiteHold {
		return false, nil // past the breaker too: one request, and one the source would want
	}
	if c.opts.Now().Before(c.heldTill) {
		return false, &WaitError{Host: c.base.Host, Until: c.heldTill, held: true}
	}
	if !c.open {
		return false, nil
	}
	if c.trial || c.opts.Now().Sub(c.openedAt) < c.opts.BreakerCooldown {
		return false, fmt.Errorf("%s: %w", c.base.Host, ErrCircuitOpen)
	}
	c.trial = true
	return true, nil
}

// settle records how a call went. A server that answers, even with a 404, is
// alive: only failures worth retrying count towards opening the breaker, and
// a call the caller abandoned counts for nothing.
func (c *Client) settle(trial, failed, abandoned bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if trial {
		c.trial = false
	}
	switch {
	case abandoned:
	case !failed:
		c.failures, c.open = 0, false
	default:
		c.failures++
		if trial || c.failures >= c.opts.BreakerThreshold {
			c.open, c.openedAt = true, c.opts.Now()
		}
	}
}

// retry tries rq up to MaxAttempts times (once for a half-open trial).
func (c *Client) retry(ctx context.Context, rq request, trial bool) (*http.Response, []byte, error) {
	attempts := c.opts.MaxAttempts
	if trial {
		attempts = 1
	}
	refreshed := false
	for attempt := 1; ; attempt++ {
		resp, body, sentAuth, err := c.once(ctx, rq)
		if err == nil {
			return resp, body, nil
		}
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		var ue *UpstreamError
		if !errors.As(err, &ue) {
			return resp, body, err
		}
		if resp != nil && ue.Status == http.StatusUnauthorized && rq.auth && !refreshed {
			// A cached token the server no longer accepts: drop it and try once more at once.
			if inv, ok := c.auth.(invalidator); ok {
				inv.invalidate(sentToken(sentAuth))
				refreshed = true
				attempt--
				continue
			}
		}
		if !ue.Retryable {
			return resp, body, err
		}
		asked := waitAsked(resp, ue)
		if rq.startsWork && (asked == "" || ue.Status != http.StatusTooManyRequests && ue.Status != http.StatusServiceUnavailable) {
			return resp, body, err
		}
		wait, tooLong := c.delay(attempt, asked)
		if tooLong {
			return resp, body, c.holdOff(err, wait)
		}
		if attempt >= attempts {
			return resp, body, c.lastAnswer(err, asked)
		}
		if err := c.opts.Sleep(ctx, wait); err != nil {
			return nil, nil, fmt.Errorf("stopped waiting to try again (%v): %w", ue, err)
		}
	}
}

// once makes one attempt within the per-request timeout. It returns the
// Authorization header it sent, so a refused token can be dropped.
func (c *Client) once(ctx context.Context, rq request) (*http.Response, []byte, string, error) {
	actx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	var rd io.Reader
	if rq.body != nil {
		rd = bytes.NewReader(rq.body)
	}
	req, err := http.NewRequestWithContext(actx, rq.method, rq.url.String(), rd)
	if err != nil {
		return nil, nil, "", errors.New("could not build the request")
	}
	for k, vs := range rq.header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/fhir+json")
	}
	if rq.body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	if rq.auth {
		if err := c.auth.Authorize(actx, req); err != nil {
			if ctx.Err() == nil && actx.Err() != nil {
				return nil, nil, "", &UpstreamError{Message: "getting credentials took longer than " + c.opts.Timeout.String(), Retryable: true, cause: err}
			}
			return nil, nil, "", err
		}
	} else {
		req.Header.Del("Authorization")
	}
	sentAuth := req.Header.Get("Authorization")
	resp, err := c.opts.HTTPClient.Do(req)
	if err != nil {
		return nil, nil, sentAuth, c.networkError(actx, "could not reach the server", err)
	}
	orig := resp.Body
	defer orig.Close()
	body, err := io.ReadAll(io.LimitReader(orig, maxResponseSize+1))
	if err != nil {
		return resp, nil, sentAuth, c.networkError(actx, "the answer was cut short", err)
	}
	if len(body) > maxResponseSize {
		return resp, nil, sentAuth, &UpstreamError{Status: resp.StatusCode, Message: fmt.Sprintf("the answer is larger than %d MB", maxResponseSize>>20)}
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp, body, sentAuth, c.statusError(resp.StatusCode, body, sentAuth)
	}
	if rq.check != nil {
		if err := rq.check(body); err != nil {
			return resp, body, sentAuth, &UpstreamError{Status: resp.StatusCode, Message: err.Error(), Retryable: true, cause: err}
		}
	}
	return resp, body, sentAuth, nil
}

// networkError describes a failure with no usable answer. All are worth
// retrying but a redirect refused, which would only be refused again.
func (c *Client) networkError(actx context.Context, what string, err error) error {
	reason := networkReason(err)
	if errors.Is(err, ErrForeignURL) {
		return &UpstreamError{Message: clip(c.redact(reason)), cause: err}
	}
	if errors.Is(actx.Err(), context.DeadlineExceeded) {
		reason = "no answer within " + c.opts.Timeout.String()
	}
	return &UpstreamError{Message: what + ": " + clip(c.redact(reason)), Retryable: true, cause: err}
}

// networkReason puts a transport error in words, without the URL.
func networkReason(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var dns *net.DNSError
	var ne net.Error
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "the connection closed before the answer was complete"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "the connection was refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "the connection was reset"
	case errors.As(err, &dns):
		return "the host name " + dns.Name + " could not be found"
	case errors.As(err, &ne) && ne.Timeout():
		return "no answer in time"
	}
	return err.Error()
}

// statusError reads a failed answer: its OperationOutcome in words, else the
// status text, without the credentials sent (sentAuth, the Authorization
// header): a token refreshed meanwhile is no longer among the auth's secrets,
// but may still be good for a minute.
func (c *Client) statusError(status int, body []byte, sentAuth string) *UpstreamError {
	msg := http.StatusText(status)
	if said := outcomeText(body); said != "" {
		msg = "The server said: " + said
	}
	if msg == "" {
		msg = "HTTP status " + strconv.Itoa(status)
	}
	msg = redact(c.redact(msg), sentAuth, sentToken(sentAuth))
	return &UpstreamError{Status: status, Message: clip(msg), Retryable: retryableStatus(status)}
}

// sentToken is the token of a bearer Authorization header.
func sentToken(sentAuth string) string {
	if len(sentAuth) > 7 && strings.EqualFold(sentAuth[:7], "Bearer ") {
		return sentAuth[7:]
	}
	return ""
}

// retryableStatus: timeouts, throttling and server errors, except those that
// say the server will never do it.
func retryableStatus(status int) bool {
	switch status {
	case http.StatusRequestTimeout, http.StatusTooManyRequests:
		return true
	case http.StatusNotImplemented, http.StatusHTTPVersionNotSupported:
		return false
	}
	return status >= 500
}

// delay is how long to wait before the next attempt: Retry-After when the
// server gave one, else exponential back-off with full jitter, capped at
// MaxDelay; and whether the server asked for longer than that, when the call
// gives up instead (holdOff).
func (c *Client) delay(attempt int, asked string) (wait time.Duration, tooLong bool) {
	if d, ok := retryAfter(asked, c.opts.Now()); ok {
		return d, d > c.opts.MaxDelay
	}
	ceiling := c.opts.BaseDelay
	for i := 1; i < attempt && ceiling < c.opts.MaxDelay; i++ {
		ceiling *= 2
	}
	return c.jitter(min(ceiling, c.opts.MaxDelay)), false
}

// holdOff ends a call the source asked to wait longer for than a call may
// (its error is err), and refuses every call to the source until the wait
// is over (admit): a later sync, or another person's, tries again then.
func (c *Client) holdOff(err error, wait time.Duration) error {
	// Noted as not kept yet in the same step: from now, not from when the
	// write starts, a read of the store (readHold) does not lower it.
	until := c.raiseHold(c.opts.Now().Add(wait), c.opts.Holds != nil && c.sourceID != 0)
	c.keepHold(until)
	return &WaitError{Host: c.base.Host, Until: until, Err: err, held: true}
}

// lastAnswer is the error of a call whose tries ran out on err, answered by
// resp. When that answer asked to wait (a Retry-After no longer than a call
// may wait, or holdOff would have ended the call), it is a *WaitError saying
// until when, so that whoever tries again later does not try sooner. No
// hold is raised: the source asked only what a call may wait anyway.
func (c *Client) lastAnswer(err error, asked string) error {
	wait, ok := retryAfter(asked, c.opts.Now())
	if !ok {
		return err
	}
	return &WaitError{Host: c.base.Host, Until: c.opts.Now().Add(wait), Err: err}
}

// keepHold keeps the hold for other processes (ClientOptions.Holds). Until
// that is done (holdOff notes it as not kept yet), and if it fails, this
// process's own hold stands whatever they say (readHold), until its own end.
func (c *Client) keepHold(until time.Time) {
	keeper := c.opts.Holds
	if keeper == nil || c.sourceID == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := keeper.HoldSource(ctx, c.sourceID, until); err != nil {
		c.opts.Log.Error("the source asked us to wait, and other processes could not be told: this one leaves it alone till then",
			"source", c.base.Host, "until", until, "err", err)
		return
	}
	c.mu.Lock()
	if !c.unkeptTill.After(until) {
		c.unkeptTill = time.Time{} // kept: the store's word stands now
	}
	c.mu.Unlock()
}

// readHold takes the source's hold from ClientOptions.Holds before a call:
// another process may have heard it ask to wait, or an operator may have
// lifted the hold (store.LiftHold). If the hold cannot be read, the one in
// memory stands; so does one heard here and not yet kept, and one this
// process raised while the hold was being read.
func (c *Client) readHold(ctx context.Context) {
	keeper := c.opts.Holds
	if keeper == nil || c.sourceID == 0 {
		return
	}
	c.mu.Lock()
	gen := c.holdGen
	c.mu.Unlock()
	until, err := keeper.SourceHeldUntil(ctx, c.sourceID)
	if err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.unkeptTill.After(until) {
		until = c.unkeptTill
	}
	if c.holdGen != gen && c.heldTill.After(until) {
		return // raised here meanwhile, after the read began
	}
	c.heldTill = until
}

// raiseHold refuses calls to the source until then, unless a later time
// stands already, and returns the time that stands; unkept notes it as a
// hold the store does not keep yet (keepHold).
func (c *Client) raiseHold(until time.Time, unkept bool) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if until.After(c.heldTill) {
		c.heldTill = until
		c.holdGen++
	}
	if unkept && until.After(c.unkeptTill) {
		c.unkeptTill = until
	}
	return c.heldTill
}

// fullJitter picks uniformly in [0, ceiling], so many clients retrying at once spread out.
func fullJitter(ceiling time.Duration) time.Duration {
	if ceiling <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(ceiling) + 1))
}

// waitAsked is the Retry-After of the answer resp, or, with none (the SMART
// token endpoint answered), of the error ue; "" when neither says.
func waitAsked(resp *http.Response, ue *UpstreamError) string {
	if resp != nil {
		return resp.Header.Get("Retry-After")
	}
	if ue != nil {
		return ue.retryAfter
	}
	return ""
}

// retryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	// A number of seconds too large to read is longer than the day it is cut to.
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(24*time.Hour/time.Second) {
			secs = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(t.Sub(now), 0), 24*time.Hour), true // a date far off is a day, as a number of seconds is
	}
	return 0, false
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// redact scrubs the Auth's secrets from text a server or the network produced.
func (c *Client) redact(s string) string {
	if sh, ok := c.auth.(secretHolder); ok {
		return redact(s, sh.secrets()...)
	}
	return s
}

// checkJSON catches an answer cut short: a broken connection often looks like that.
func checkJSON(body []byte) error {
	var v json.RawMessage
	if err := json.Unmarshal(body, &v); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return fmt.Errorf("the answer is not valid JSON at byte %d of %d; it may have been cut short", syn.Offset, len(body))
		}
		return errors.New("the answer is not valid JSON; it may have been cut short")
	}
	return nil
}

// page fetches and reads one Bundle page.
func (c *Client) page(ctx context.Context, u *url.URL) (Page, error) {
	resp, body, err := c.call(ctx, request{method: http.MethodGet, url: u, auth: true, check: checkJSON})
	if err != nil {
		return Page{}, err
	}
	p, err := parsePage(body, u)
	p.Served, _ = http.ParseTime(resp.Header.Get("Date"))
	// What the server says in words, in place of the Bundle or beside its
	// entries, is kept without secrets, as every answer's.
	var ue *UpstreamError
	if errors.As(err, &ue) {
		ue.Message = c.redact(ue.Message)
	}
	for i, w := range p.Warnings {
		p.Warnings[i] = c.redact(w)
	}
	return p, err
}

// parsePage reads a searchset or history Bundle leniently: one bad entry is
// kept aside and never spoils the rest.
func parsePage(body []byte, pageURL *url.URL) (Page, error) {
	var b struct {
		ResourceType string            `json:"resourceType"`
		Type         string            `json:"type"`
		Total        *int              `json:"total"`
		Link         []json.RawMessage `json:"link"`
		Entry        []json.RawMessage `json:"entry"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return Page{}, fmt.Errorf("the answer is not a FHIR Bundle: %v", err)
	}
	switch b.ResourceType {
	case "Bundle":
		if b.Type != "searchset" && b.Type != "history" && b.Type != "" {
			// Not results at all (a batch-response of failures, say): taken
			// for a page, it read as a search that found nothing (a review).
			return Page{}, &UpstreamError{Status: http.StatusOK, Message: badBundle(b.Type, b.Entry)}
		}
	case "OperationOutcome":
		return Page{}, &UpstreamError{Status: http.StatusOK, Message: "The server said: " + clip(outcomeText(body))}
	case "":
		return Page{}, errors.New("the answer is not a FHIR Bundle: it has no resourceType")
	default:
		return Page{}, fmt.Errorf("the answer is a %s, not a Bundle", clip(b.ResourceType))
	}
	p := Page{Total: -1}
	if b.Total != nil {
		p.Total = *b.Total
	}
	for _, raw := range b.Link {
		var l struct {
			Relation string `json:"relation"`
			URL      string `json:"url"`
		}
		if json.Unmarshal(raw, &l) != nil || l.Relation != "next" || l.URL == "" {
			continue
		}
		if next, err := pageURL.Parse(l.URL); err == nil {
			p.Next = next.String()
		}
	}
	for i, raw := range b.Entry {
		p.addEntry(i+1, raw)
	}
	return p, nil
}

// badBundle says in words a Bundle of type typ given for a search's or a
// history's page, with what its entries' outcomes say, if anything.
func badBundle(typ string, entries []json.RawMessage) string {
	msg := fmt.Sprintf("The server answered with a Bundle of type %s, not the results asked for.", clip(typ))
	var said []string
	for _, raw := range entries {
		var e struct {
			Response struct {
				Outcome json.RawMessage `json:"outcome"`
			} `json:"response"`
		}
		if json.Unmarshal(raw, &e) == nil && len(e.Response.Outcome) > 0 {
			if s := outcomeText(e.Response.Outcome); s != "" && !slices.Contains(said, s) {
				said = append(said, s)
			}
		}
	}
	if len(said) > 0 {
		msg += " It said: " + clip(strings.Join(said, "; "))
	}
	return msg
}

// addEntry sorts one Bundle entry into resources, deletions, warnings or rejects.
func (p *Page) addEntry(n int, raw json.RawMessage) {
	var e struct {
		FullURL  string          `json:"fullUrl"`
		Resource json.RawMessage `json:"resource"`
		Search   struct {
			Mode string `json:"mode"`
		} `json:"search"`
		Request struct {
			Method string `json:"method"`
			URL    string `json:"url"`
		} `json:"request"`
		Response struct {
			Etag         string `json:"etag"`
			LastModified string `json:"lastModified"`
		} `json:"response"`
	}
	reject := func(res json.RawMessage, msg string) {
		typ, id := peek(res)
		p.Rejected = append(p.Rejected, Rejected{Type: typ, ID: id, Error: fmt.Sprintf("entry %d: %s", n, msg), Raw: bytes.Clone(res)})
	}
	if err := json.Unmarshal(raw, &e); err != nil {
		if res, ok := rawField(raw, "resource"); ok {
			reject(res, "the entry does not read: "+err.Error())
		} else {
			reject(raw, "the entry does not read: "+err.Error())
		}
		return
	}
	hasResource := len(e.Resource) > 0 && string(e.Resource) != "null"
	if strings.EqualFold(e.Request.Method, http.MethodDelete) {
		typ, id, version := refParts(e.Request.URL)
		if typ == "" {
			typ, id, version = refParts(e.FullURL)
		}
		if typ == "" || !validID(id) {
			reject(raw, "a deletion that does not say which resource was deleted")
			return
		}
		if version == "" {
			version = etagVersion(e.Response.Etag)
		}
		p.Deleted = append(p.Deleted, fhir.Resource{Type: typ, ID: id, VersionID: version, LastUpdated: e.Response.LastModified, FullURL: e.FullURL})
		return
	}
	if !hasResource {
		reject(raw, "the entry has no resource")
		return
	}
	r, err := fhir.ParseResource(e.Resource)
	if err != nil {
		reject(e.Resource, err.Error())
		return
	}
	if r.Type == "OperationOutcome" {
		if said := outcomeText(e.Resource); said != "" {
			p.Warnings = append(p.Warnings, "The server said: "+clip(said))
		}
		return
	}
	if r.ID == "" {
		reject(e.Resource, "the "+r.Type+" has no id")
		return
	}
	r.FullURL = e.FullURL
	if _, err := fhir.Project(r); err != nil {
		reject(e.Resource, err.Error())
		return
	}
	key := r.Type + "/" + r.ID
	switch {
	case e.Search.Mode == "include" && !slices.ContainsFunc(p.Resources, func(m fhir.Resource) bool { return m.Type == r.Type && m.ID == r.ID }):
		if p.includes == nil {
			p.includes = map[string]bool{}
		}
		p.includes[key] = true
	case e.Search.Mode != "include":
		delete(p.includes, key) // a match too
	}
	p.Resources = append(p.Resources, r)
}

// rawField returns one member of a JSON object without reading the rest.
func rawField(raw json.RawMessage, name string) (json.RawMessage, bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil, false
	}
	v, ok := m[name]
	return v, ok && len(v) > 0 && string(v) != "null"
}

// peek reads what it can of a resource's type and id, for a rejected entry.
func peek(raw json.RawMessage) (typ, id string) {
	var h struct {
		ResourceType any `json:"resourceType"`
		ID           any `json:"id"`
	}
	if json.Unmarshal(raw, &h) != nil {
		return "", ""
	}
	typ, _ = h.ResourceType.(string)
	id, _ = h.ID.(string)
	return clip(typ), clip(id)
}

// refParts splits "Type/id", "Type/id/_history/v" or an absolute URL ending so.
func refParts(ref string) (typ, id, version string) {
	if u, err := url.Parse(ref); err == nil {
		ref = u.Path
	}
	parts := strings.Split(strings.Trim(ref, "/"), "/")
	if n := len(parts); n >= 4 && parts[n-2] == "_history" {
		version = parts[n-1]
		parts = parts[:n-2]
	}
	n := len(parts)
	if n < 2 || !validType(parts[n-2]) {
		return "", "", ""
	}
	return parts[n-2], parts[n-1], version
}

// etagVersion reads the version from an ETag such as W/"3".
func etagVersion(etag string) string {
	return strings.Trim(strings.TrimPrefix(strings.TrimSpace(etag), "W/"), `"`)
}

// outcomeIssue is one issue of an OperationOutcome, as the sync reads it.
type outcomeIssue struct {
	Severity    string `json:"severity"`
	Code        string `json:"code"`
	Diagnostics string `json:"diagnostics"`
	Details     struct {
		Text   string `json:"text"`
		Coding []struct {
			Display string `json:"display"`
		} `json:"coding"`
	} `json:"details"`
}

// words are what the issue says in words: its details' text, or else their
// codings' displays (NHS England's APIs give only those), and its diagnostics.
func (is outcomeIssue) words() []string {
	said := []string{is.Details.Text}
	if strings.TrimSpace(is.Details.Text) == "" {
		for _, c := range is.Details.Coding {
			said = append(said, c.Display)
		}
	}
	return append(said, is.Diagnostics)
}

// outcomeIssues reads an OperationOutcome's issues; ok is false if body is not one.
func outcomeIssues(body []byte) (issues []outcomeIssue, ok bool) {
	var oo struct {
		ResourceType string         `json:"resourceType"`
		Issue        []outcomeIssue `json:"issue"`
	}
	if json.Unmarshal(body, &oo) != nil || oo.ResourceType != "OperationOutcome" {
		return nil, false
	}
	return oo.Issue, true
}

// outcomeText reads an OperationOutcome's issues in words, or "" if body is not one.
func outcomeText(body []byte) string {
	issues, _ := outcomeIssues(body)
	var said []string
	seen := map[string]bool{}
	for _, is := range issues {
		for _, s := range is.words() {
			s = strings.TrimSpace(s)
			if s != "" && !seen[s] {
				seen[s] = true
				said = append(said, s)
			}
		}
	}
	return strings.Join(said, "; ")
}

// resolve turns a Do path into a URL under the base.
func (c *Client) resolve(p string) (*url.URL, error) {
	ref, err := url.Parse(p)
	if err != nil {
		return nil, errors.New("the path does not parse as a URL")
	}
	if ref.IsAbs() || ref.Host != "" {
		return c.underBase(p)
	}
	u := c.base.JoinPath(ref.Path)
	u.RawQuery = ref.RawQuery
	return c.underBase(u.String())
}

// underBase parses raw (absolute, or relative to the base URL) and refuses it
// unless it has the base's scheme and host and its path lies under the base path.
func (c *Client) underBase(raw string) (*url.URL, error) {
	ref, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("the URL does not parse: %w", ErrForeignURL)
	}
	u := c.base.JoinPath("/").ResolveReference(ref)
	clean := path.Clean("/" + u.Path)
	basePath := c.base.Path
	underPath := basePath == "" || clean == basePath || strings.HasPrefix(clean, basePath+"/")
	if u.User != nil || !sameOrigin(u, c.base) || !underPath {
		// Without the source's secrets, as all a server says (a review: a link
		// carrying the token in its path printed it).
		return nil, fmt.Errorf("refused %s: %w (%s)", c.redact(safeURL(u)), ErrForeignURL, c.base)
	}
	return u, nil
}

// sameOrigin compares scheme, host and port, with default ports filled in.
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Hostname(), b.Hostname()) && portOrDefault(a) == portOrDefault(b)
}

// portOrDefault is u's port, or its scheme's default.
func portOrDefault(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "https") {
		return "443"
	}
	return "80"
}

// originOf is u's scheme, host and port, in lower case and with the port
// always written, so two ways of writing one origin compare equal.
func originOf(u *url.URL) string {
	return strings.ToLower(u.Scheme) + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), portOrDefault(u))
}

// ParseOrigin reads an origin, the scheme, host and port of an address such
// as https://exports.example.nhs.uk, and returns it as originOf writes it. It
// refuses, in words, anything more or less: another scheme than http or
// https, no host, a user name or password, a path, query or fragment.
func ParseOrigin(s string) (string, error) {
	const example = "https://exports.example.nhs.uk"
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "", fmt.Errorf("not an address such as %s", example)
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("an origin starts with https:// (or http://), such as %s", example)
	case u.Hostname() == "":
		return "", fmt.Errorf("there is no host name, as in %s", example)
	case u.User != nil:
		return "", errors.New("an origin has no user name or password")
	case (u.Path != "" && u.Path != "/") || u.RawPath != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", fmt.Errorf("an origin is the scheme, host and port alone, with no path or query: write %s://%s", u.Scheme, u.Host)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("port %s is not a number from 1 to 65535", p)
		}
	}
	return originOf(u), nil
}

// fileMayComeFrom reports whether an export file, or a redirect while
// fetching one, may be fetched from u: under the base, or at an origin
// FilesFrom names, without a user name or password.
func (c *Client) fileMayComeFrom(u *url.URL) bool {
	if _, err := c.underBase(u.String()); err == nil {
		return true
	}
	return u.User == nil && c.filesFrom[originOf(u)]
}

// safeURL shows a URL without user info or query, which may carry things not to repeat.
func safeURL(u *url.URL) string {
	v := *u
	v.User, v.RawQuery, v.ForceQuery, v.Fragment = nil, "", false, ""
	return v.String()
}

// validType: a FHIR resource type name, so it cannot smuggle a path.
func validType(s string) bool {
	if s == "" || len(s) > 64 || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// validID: the FHIR id rule.
func validID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// statusLine is e.g. "404 Not Found".
func statusLine(status int) string {
	return strings.TrimSpace(strconv.Itoa(status) + " " + http.StatusText(status))
}

// clip keeps text from a server to one short line.
func clip(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	const most = 500
	if utf8.RuneCountInString(s) > most {
		s = string([]rune(s)[:most]) + "…"
	}
	return strings.TrimSpace(s)
}

package fhirsync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// Pusher sends people's consent decisions from the outbox to their upstream
// sources as FHIR Consent resources. A delivery is sent at least once and
// recorded upstream exactly once: a first delivery to a source is a
// conditional create (If-None-Exist on any Consent of the portal's for the
// patient), so sending it again after a crash finds the Consent already
// there, and one held up past its lease finds the newer one; later deliveries
// update that Consent with PUT, which is idempotent, and only while the
// source still holds the version last sent (If-Match), so a sender that lost
// its claim never puts back an older decision over a newer one. Outages,
// 5xx, 429 and timeouts are retried with back-off until delivered; a 4xx is
// recorded as refused, with the server's words, for the person to retry. No
// delivery is ever deleted.
type Pusher struct {
	DB     *store.DB
	Client func(src store.Source) (*Client, error) // one client per source, kept by the caller
	Log    *slog.Logger
	// Lease is how long a claimed delivery is left to its sender before it is
	// due again (the sender may have stopped), renewed as each is sent;
	// default 15 minutes, longer than a client's tries of the three calls a
	// delivery may make (5 tries of 20 s, 4 waits of at most 30 s, each).
	Lease time.Duration
	// BaseDelay and MaxDelay bound the back-off between tries of one delivery
	// (exponential with full jitter); defaults 15 seconds and 1 hour.
	BaseDelay, MaxDelay time.Duration
	Batch               int // deliveries claimed at a time; default 20
	Now                 func() time.Time
}

// PushSummary counts what one round of pushing did.
type PushSummary struct {
	Sent, Retrying, Refused int
}

func (p *Pusher) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Pusher) log() *slog.Logger {
	if p.Log != nil {
		return p.Log
	}
	return slog.New(slog.DiscardHandler)
}

// PushDue sends every delivery that is due, a batch at a time, until none is left.
func (p *Pusher) PushDue(ctx context.Context) (PushSummary, error) {
	var sum PushSummary
	lease, batch := p.lease(), p.Batch
	if batch <= 0 {
		batch = 20
	}
	for {
		items, err := p.DB.ClaimConsentOutbox(ctx, batch, lease)
		if err != nil {
			return sum, err
		}
		if len(items) == 0 {
			return sum, nil
		}
		for _, it := range items {
			if err := ctx.Err(); err != nil {
				return sum, err // the claimed ones fall due again when their lease ends
			}
			// A delivery behind slow ones in the batch may have outlived its
			// lease and been claimed by another sender: it is left to that one.
			if held, err := p.DB.RenewConsentClaim(ctx, it, lease); err != nil {
				return sum, err
			} else if !held {
				p.log().Warn("consent delivery left to another sender", "source", it.Source.Name, "decision", it.DecisionID)
				continue
			}
			if err := p.push(ctx, it, &sum); errors.Is(err, store.ErrClaimLost) {
				p.log().Warn("consent delivery claimed by another sender while this one sent it; its result is that sender's to record",
					"source", it.Source.Name, "decision", it.DecisionID)
			} else if err != nil {
				return sum, err
			}
		}
	}
}

// DefaultLease is Pusher.Lease when none is set.
const DefaultLease = 15 * time.Minute

// Run pushes due deliveries every interval until ctx ends.
func (p *Pusher) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	// Deliveries a killed process had claimed are sent now, not when their
	// lease ends: at the start, with those waiting out a back-off, which get
	// one try at once; in each round after, those of a process stopped since
	// (a portal outbox push).
	for waitingToo := true; ; waitingToo = false {
		if err := p.DB.ReleaseConsentClaims(ctx, waitingToo); err != nil && ctx.Err() == nil {
			p.log().Error("release consent deliveries", "err", err)
		}
		if sum, err := p.PushDue(ctx); err != nil && ctx.Err() == nil {
			p.log().Error("push consent decisions", "err", err)
		} else if sum != (PushSummary{}) {
			p.log().Info("pushed consent decisions", "sent", sum.Sent, "retrying", sum.Retrying, "refused", sum.Refused)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// push sends one delivery and records how it went.
func (p *Pusher) push(ctx context.Context, it store.OutboxItem, sum *PushSummary) error {
	id, version, err := p.send(ctx, it)
	if err == nil {
		sum.Sent++
		p.log().Info("consent delivered", "source", it.Source.Name, "decision", it.DecisionID, "consent", id, "version", version)
		return p.DB.ConsentDelivered(ctx, it, id, version)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	reason := sentence(err)
	var ue *UpstreamError
	if errors.Is(err, store.ErrClaimLost) {
		return err // another sender has it: nothing to record or count
	}
	// A refusal the source will give again (4xx, or a 501 for a request it
	// does not serve) is shown to the person, for them to send again; a
	// stale version (errChangedUpstream) is read again and sent once more.
	// So is an OperationOutcome in a 200 (a review: a read answered so went
	// round for ever, holding up every later change to the source).
	if errors.As(err, &ue) && !ue.Retryable && (ue.Status >= 400 || ue.Status == http.StatusOK) && !errors.Is(err, errChangedUpstream) {
		sum.Refused++
		p.log().Warn("consent refused", "source", it.Source.Name, "decision", it.DecisionID, "err", err)
		return p.DB.ConsentNotDelivered(ctx, it, reason, time.Time{})
	}
	// errChangedUpstream: the next try reads the Consent again and updates
	// the version the source holds then.
	sum.Retrying++
	retry := p.now().Add(p.backoff(it.Attempts))
	if we := (*WaitError)(nil); errors.As(err, &we) && we.Until.After(retry) {
		retry = we.Until // the source asked not to be asked before then
	}
	p.log().Warn("consent not delivered yet", "source", it.Source.Name, "decision", it.DecisionID, "attempt", it.Attempts, "retry_at", retry, "err", err)
	return p.DB.ConsentNotDelivered(ctx, it, reason, retry)
}

// backoff is the wait before the next try of a delivery tried attempts times.
func (p *Pusher) backoff(attempts int) time.Duration {
	base, most := p.BaseDelay, p.MaxDelay
	if base <= 0 {
		base = 15 * time.Second
	}
	if most <= 0 {
		most = time.Hour
	}
	ceiling := base
	for i := 1; i < attempts && ceiling < most; i++ {
		ceiling *= 2
	}
	ceiling = min(ceiling, most)
	// At least half the ceiling, so a delivery never spins; the rest is jitter, so many spread out.
	return ceiling/2 + time.Duration(rand.Int64N(int64(ceiling/2)+1))
}

// send delivers one Consent and returns its id and version at the source.
func (p *Pusher) send(ctx context.Context, it store.OutboxItem) (id, version string, err error) {
	c, err := p.Client(it.Source)
	if err != nil {
		return "", "", fmt.Errorf("connecting to %s: %w", it.Source.Label(), err)
	}
	if it.CurrentID != "" {
		match, read := it.CurrentVersion, false
		if it.Attempts > 1 {
			// An earlier try may have reached the source before the process
			// stopped: if the source's Consent is already this decision, it
			// is delivered. If not, it is updated as it stands now, with the
			// version just read (a 412 before means it changed at the source).
			id, version, ours, err := p.readConsent(ctx, c, it)
			var ue *UpstreamError
			switch {
			case err == nil && ours && !it.Refresh:
				return id, version, nil
			case err == nil && version != "":
				match = version
			case err == nil, errors.As(err, &ue) && (ue.Status == http.StatusNotFound || ue.Status == http.StatusGone):
				// No version given, or no read by id (or the Consent gone): the
				// PUT below carries the version sent last, and says which.
			default:
				return "", "", err
			}
			read = true
			// The read may have been slow: a sender whose claim another took
			// meanwhile must not put its older decision over what that one sent.
			if held, err := p.DB.RenewConsentClaim(ctx, it, p.lease()); err != nil {
				return "", "", err
			} else if !held {
				return "", "", store.ErrClaimLost
			}
		}
		id, version, err := p.put(ctx, c, it, match, read)
		var ue *UpstreamError
		if err == nil || !errors.As(err, &ue) || (ue.Status != http.StatusNotFound && ue.Status != http.StatusGone) {
			return id, version, err
		}
		// The Consent has gone from the source: record this decision afresh.
	}
	// Created only if the source holds no active Consent of the portal's for
	// the person's Patients there: not this decision's, sent before a crash,
	// nor another's (a review: a first create held up in the network past its
	// sender's lease made a second Consent after a newer choice had replaced
	// the first; a source removed and added again was given a second, after
	// a merge too). One the source withdrew (entered-in-error, inactive) is
	// left so. Two or more already there (made before this was so) cannot
	// say which to update: this decision's own is made, as before.
	// Under the portal's system, or, sent before that was its own, under
	// the URI system with one of the person's decisions' identifiers (never
	// any URI: another app's Consent is not the portal's): a review found a
	// Consent sent before the change left beside a second.
	own := url.Values{"identifier": {fhir.SystemConsentDecision + "|" + it.Identifier + "," + fhir.SystemURI + "|" + it.Identifier}}
	cond := own
	if len(it.PatientIDs) > 0 {
		refs := make([]string, len(it.PatientIDs))
		for i, id := range it.PatientIDs {
			refs[i] = "Patient/" + id
		}
		ids, err := p.DB.ConsentIdentifiers(ctx, it.PersonID, 50)
		if err != nil {
			return "", "", err
		}
		idents := []string{fhir.SystemConsentDecision + "|"}
		for _, id := range ids {
			idents = append(idents, fhir.SystemURI+"|"+id)
		}
		cond = url.Values{"patient": {strings.Join(refs, ",")}, "identifier": {strings.Join(idents, ",")}, "status": {"active"}}
	}
	resp, rbody, err := c.Do(ctx, http.MethodPost, "Consent", it.Body, http.Header{"If-None-Exist": {cond.Encode()}})
	var ue *UpstreamError
	if errors.As(err, &ue) && ue.Status == http.StatusPreconditionFailed && len(it.PatientIDs) > 0 {
		resp, rbody, err = c.Do(ctx, http.MethodPost, "Consent", it.Body, http.Header{"If-None-Exist": {own.Encode()}})
	}
	if err != nil {
		return "", "", err
	}
	if resp.StatusCode == http.StatusCreated {
		return p.stored(ctx, c, resp, rbody, "")
	}
	// One was there: this decision, sent before, is delivered; another is
	// updated with this, by a sender that still holds its claim. Read for
	// which, and its version, once.
	if it.CurrentID, _, err = resultOf(resp, rbody, ""); err != nil {
		return "", "", withoutSecrets(c, err)
	}
	id, version, ours, err := p.readConsent(ctx, c, it)
	if err != nil || ours && !it.Refresh {
		return id, version, err
	}
	if held, err := p.DB.RenewConsentClaim(ctx, it, p.lease()); err != nil {
		return "", "", err
	} else if !held {
		return "", "", store.ErrClaimLost
	}
	return p.put(ctx, c, it, version, true)
}

// stored is the id and version of the Consent the server says it holds
// (resultOf); when it gives no version, the Consent is read for it, so the
// next change's PUT still carries If-Match (a review: it went without).
func (p *Pusher) stored(ctx context.Context, c *Client, resp *http.Response, body []byte, fallbackID string) (string, string, error) {
	id, version, err := resultOf(resp, body, fallbackID)
	if err != nil || version != "" {
		return id, version, withoutSecrets(c, err)
	}
	if r, rerr := c.Read(ctx, "Consent", id); rerr == nil {
		version = r.VersionID
	}
	return id, version, nil
}

// withoutSecrets is err with what the server said kept without the source's secrets.
func withoutSecrets(c *Client, err error) error {
	if ue := (*UpstreamError)(nil); errors.As(err, &ue) {
		ue.Message = c.redact(ue.Message)
	}
	return err
}

// put updates the person's Consent at the source with this decision, only
// while it is the version match ("" when none is known). read says this try
// read the Consent first: then a 412 or 409 is no stale version to read
// again (it was just read, or cannot be), but a refusal, for the person to
// send again, so a delivery never goes round for ever.
func (p *Pusher) put(ctx context.Context, c *Client, it store.OutboxItem, match string, read bool) (id, version string, err error) {
	body, err := withID(it.Body, it.CurrentID)
	if err != nil {
		return "", "", err
	}
	var header http.Header
	if match != "" {
		header = http.Header{"If-Match": {`W/"` + match + `"`}}
	}
	resp, rbody, err := c.Do(ctx, http.MethodPut, "Consent/"+url.PathEscape(it.CurrentID), body, header)
	if err == nil {
		return p.stored(ctx, c, resp, rbody, it.CurrentID)
	}
	// 412 is R4's answer to a stale If-Match; HAPI and STU3-style servers
	// answer 409.
	var ue *UpstreamError
	if !errors.As(err, &ue) || header == nil || (ue.Status != http.StatusPreconditionFailed && ue.Status != http.StatusConflict) {
		return "", "", err
	}
	// The PUT may have been taken, and its answer lost: the client's retry
	// of it then found the version it had made (a review: a delivery the
	// source held was shown as refused). Read for this decision first.
	if id, version, ours, rerr := p.readConsent(ctx, c, it); rerr == nil && ours && !it.Refresh {
		return id, version, nil
	}
	if !read {
		return "", "", fmt.Errorf("%w: %w", errChangedUpstream, err)
	}
	return "", "", err
}

// lease is how long a claim lasts (Lease, or DefaultLease).
func (p *Pusher) lease() time.Duration {
	if p.Lease > 0 {
		return p.Lease
	}
	return DefaultLease
}

// errChangedUpstream is a PUT refused with 412 (or 409) as the Consent is no longer
// the version it updates: it changed at the source since this portal last
// sent it (by another sender of the portal's whose claim ran out, or by
// someone at the source). Tried again, as the person's latest decision.
var errChangedUpstream = errors.New("the Consent changed at the source since it was last sent, so it is read again and sent once more")

// readConsent reads the person's Consent at the source: its id and version
// ("" when it gives none), and whether it already carries this decision's
// identifier. It reads as any resource is read (Client.Read): an answer cut
// short or not JSON is tried again later; one that is another resource, or
// an OperationOutcome, is an error.
func (p *Pusher) readConsent(ctx context.Context, c *Client, it store.OutboxItem) (id, version string, ours bool, err error) {
	r, err := c.Read(ctx, "Consent", it.CurrentID)
	if err != nil && !errors.Is(err, ErrMalformedResource) {
		return "", "", false, err
	}
	var ids struct {
		Identifier []struct{ System, Value string }
	}
	if err := json.Unmarshal(r.Raw, &ids); err != nil {
		return "", "", false, fmt.Errorf("reading Consent/%s: %w", it.CurrentID, err)
	}
	for _, ident := range ids.Identifier {
		// This decision's own urn:uuid, under the portal's system or, sent
		// before that was so, the URI system.
		if (ident.System == fhir.SystemConsentDecision || ident.System == fhir.SystemURI) && ident.Value == it.Identifier {
			return r.ID, r.VersionID, true, nil
		}
	}
	return r.ID, r.VersionID, false, nil
}

// withID sets the resource id in a Consent's JSON.
func withID(body []byte, id string) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("consent body: %w", err)
	}
	m["id"], _ = json.Marshal(id)
	return json.Marshal(m)
}

// resultOf reads the id and version of the Consent the server holds, from
// the body it returned, else the Location and ETag headers. An
// OperationOutcome with an error in it, though in a 200, is the server
// refusing, in its words (a review: it was taken for the Consent stored).
func resultOf(resp *http.Response, body []byte, fallbackID string) (string, string, error) {
	var r struct {
		ResourceType string
		ID           string
		Meta         struct{ VersionID string }
	}
	if len(body) > 0 && json.Unmarshal(body, &r) == nil && r.ResourceType == "Consent" && r.ID != "" {
		return r.ID, r.Meta.VersionID, nil
	}
	if issues, ok := outcomeIssues(body); ok && slices.ContainsFunc(issues, func(is outcomeIssue) bool { return is.Severity == "error" || is.Severity == "fatal" }) {
		return "", "", &UpstreamError{Status: http.StatusOK, Message: "The server said: " + clip(outcomeText(body))}
	}
	id, version := fallbackID, ""
	if resp != nil {
		if _, lid, lver := refParts(locationPath(resp.Header.Get("Location"))); lid != "" {
			id, version = lid, lver
		}
		if version == "" {
			version = etagVersion(resp.Header.Get("ETag"))
		}
	}
	if id == "" {
		return "", "", errors.New("the server accepted the Consent but did not say where it keeps it")
	}
	return id, version, nil
}

// locationPath keeps the Type/id/_history/v end of a Location URL.
func locationPath(loc string) string {
	i := strings.Index(loc, "Consent/")
	if i < 0 {
		return ""
	}
	return loc[i:]
}

// sentence puts an error in words for the person: capitalised, without Go's prefixes.
func sentence(err error) string {
	var ue *UpstreamError
	s := err.Error()
	if errors.As(err, &ue) {
		s = ue.Error()
	}
	switch {
	case errors.Is(err, ErrAskedToWait):
		s = "the organisation's system is busy and asked us to wait before trying again"
	case errors.Is(err, ErrCircuitOpen):
		s = "the organisation's system has not been answering, so we are waiting before trying again"
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return "Something went wrong"
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

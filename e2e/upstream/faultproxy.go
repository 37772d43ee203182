package upstream

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fault is a kind of fault the FaultProxy injects.
type Fault int

const (
	// FaultDelay holds the request for Faults.Delay (default 1 s), then forwards it.
	FaultDelay Fault = iota
	// FaultDrop forwards the request, then closes the connection without a response (the
	// upstream did the work; the client never hears of it).
	FaultDrop
	// Fault500 answers 500 with an OperationOutcome, without forwarding.
	Fault500
	// Fault429 answers 429 with Retry-After (Faults.RetryAfter, or 1) and an OperationOutcome, without forwarding.
	Fault429
	// FaultTruncate forwards the request, sends the status, the headers (with the full
	// Content-Length) and the first half of the body, then closes the connection: the
	// client sees an unexpected EOF while reading the body.
	FaultTruncate
	// FaultCorrupt forwards the request and, if the response is a searchset Bundle with
	// entries, makes one entry's resource invalid FHIR (its "code" becomes the number 12,
	// and "status", "subject", "effectiveDateTime" and "name", where present, get
	// wrong-typed values) while keeping the Bundle valid JSON and the resource's
	// resourceType and id. Other responses pass unchanged and are not counted as faults.
	FaultCorrupt
)

// AllFaults lists every kind, the default for Faults.Kinds.
var AllFaults = []Fault{FaultDelay, FaultDrop, Fault500, Fault429, FaultTruncate, FaultCorrupt}

func (f Fault) String() string {
	switch f {
	case FaultDelay:
		return "delay"
	case FaultDrop:
		return "drop"
	case Fault500:
		return "500"
	case Fault429:
		return "429"
	case FaultTruncate:
		return "truncate"
	case FaultCorrupt:
		return "corrupt"
	}
	return "Fault(" + strconv.Itoa(int(f)) + ")"
}

// Faults says which faults a FaultProxy injects and how often.
type Faults struct {
	// Rate is the chance, 0 to 1, that a request gets a fault.
	Rate float64
	// Seed makes the choices deterministic: the same seed and the same sequence of
	// requests give the same faults.
	Seed int64
	// Kinds to choose from, uniformly; empty means AllFaults.
	Kinds []Fault
	// Delay for FaultDelay; 0 means 1 s.
	Delay time.Duration
	// RetryAfter is the Retry-After header of Fault429; "" means "1".
	RetryAfter string
	// LeaveOut names resources ("Type/id") that every searchset answer leaves out,
	// as offset pages read while upstream changes can: the resource is still there
	// to read by id.
	LeaveOut []string
	// Refuse names a resource type ("Consent") whose creates and updates
	// (POST or PUT) the proxy answers 422 with an OperationOutcome, without
	// forwarding, as a server that will not accept them. Not counted as faults.
	Refuse string
}

// FaultProxy is a reverse proxy in front of a server that injects faults at a given
// rate, deterministically from a seed. It rewrites the target's absolute URLs in
// response bodies and in Location/Content-Location headers (next links, fullUrls) to
// its own.
type FaultProxy struct {
	// URL is the proxy's equivalent of the target base URL (same path), no trailing slash.
	URL string

	target       *url.URL
	targetOrigin []byte
	proxyOrigin  []byte
	srv          *httptest.Server
	transport    *http.Transport

	mu        sync.Mutex
	faults    Faults
	rng       *rand.Rand
	requests  int
	injected  int
	byKind    map[Fault]int
	corrupted []string
}

// NewFaultProxy starts a proxy (an httptest.Server) in front of target, the base URL of
// a server, and closes it when the test ends.
func NewFaultProxy(tb testing.TB, target string, f Faults) *FaultProxy {
	tb.Helper()
	u, err := url.Parse(target)
	if err != nil || u.Scheme == "" || u.Host == "" {
		tb.Fatalf("upstream: fault proxy target %q is not an absolute URL", target)
	}
	p := &FaultProxy{
		target:       u,
		targetOrigin: []byte(u.Scheme + "://" + u.Host),
		transport:    &http.Transport{MaxIdleConnsPerHost: 16},
		byKind:       map[Fault]int{},
	}
	p.SetFaults(f)
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	p.proxyOrigin = []byte(p.srv.URL)
	p.URL = p.srv.URL + trimSlash(u.Path)
	tb.Cleanup(func() {
		p.srv.CloseClientConnections()
		p.srv.Close()
		p.transport.CloseIdleConnections()
	})
	return p
}

func trimSlash(s string) string {
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}

// SetFaults changes the faults from the next request on (for example Rate 0 to let a
// sync converge), restarting the random sequence from f.Seed.
func (p *FaultProxy) SetFaults(f Faults) {
	if len(f.Kinds) == 0 {
		f.Kinds = AllFaults
	}
	if f.Delay <= 0 {
		f.Delay = time.Second
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = f
	p.rng = rand.New(rand.NewPCG(uint64(f.Seed), 0x6d7963617265)) //nolint:gosec // deterministic on purpose
}

// Requests is how many requests the proxy has received.
func (p *FaultProxy) Requests() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests
}

// Injected is how many faults the proxy has injected.
func (p *FaultProxy) Injected() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.injected
}

// InjectedByKind is how many faults of each kind the proxy has injected.
func (p *FaultProxy) InjectedByKind() map[Fault]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[Fault]int, len(p.byKind))
	for k, v := range p.byKind {
		out[k] = v
	}
	return out
}

// Corrupted lists the resources ("Type/id") that FaultCorrupt made invalid, in order.
func (p *FaultProxy) Corrupted() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.corrupted...)
}

// choose draws whether this request gets a fault, and which.
func (p *FaultProxy) choose() (fault Fault, ok bool, delay time.Duration, pick uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests++
	f := p.faults
	pick = p.rng.Uint64()
	if f.Rate <= 0 || p.rng.Float64() >= f.Rate {
		return 0, false, 0, pick
	}
	return f.Kinds[p.rng.IntN(len(f.Kinds))], true, f.Delay, pick
}

// retryAfter is the Retry-After header Fault429 answers with, as last set.
func (p *FaultProxy) retryAfter() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.faults.RetryAfter
}

func (p *FaultProxy) count(f Fault, corrupted string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.injected++
	p.byKind[f]++
	if corrupted != "" {
		p.corrupted = append(p.corrupted, corrupted)
	}
}

var hopHeaders = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Te": true,
	"Trailer": true, "Transfer-Encoding": true, "Upgrade": true, "Content-Length": true,
}

func (p *FaultProxy) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	refuse := p.faults.Refuse
	p.mu.Unlock()
	if refuse != "" && (r.Method == http.MethodPost || r.Method == http.MethodPut) && p.resourceType(r) == refuse {
		writeOutcome(w, http.StatusUnprocessableEntity, "business-rule", "this server does not accept "+refuse+" resources")
		return
	}
	fault, faulty, delay, pick := p.choose()
	retryAfter := cmp.Or(p.retryAfter(), "1")
	if faulty {
		switch fault {
		case Fault500:
			p.count(fault, "")
			writeOutcome(w, http.StatusInternalServerError, "exception", "injected fault: internal server error")
			return
		case Fault429:
			p.count(fault, "")
			w.Header().Set("Retry-After", retryAfter)
			writeOutcome(w, http.StatusTooManyRequests, "throttled", "injected fault: too many requests")
			return
		case FaultDelay:
			p.count(fault, "")
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
	}

	resp, body, err := p.forward(r)
	if err != nil {
		writeOutcome(w, http.StatusBadGateway, "transient", "fault proxy: "+err.Error())
		return
	}
	body = bytes.ReplaceAll(body, p.targetOrigin, p.proxyOrigin)

	p.mu.Lock()
	leaveOut := p.faults.LeaveOut
	p.mu.Unlock()
	if len(leaveOut) > 0 {
		body = leaveOutOfSearchset(body, leaveOut)
	}

	if faulty && fault == FaultCorrupt {
		if out, which, ok := corruptSearchset(body, pick); ok {
			body = out
			p.count(fault, which)
		}
	}

	h := w.Header()
	for k, vs := range resp.Header {
		if hopHeaders[k] {
			continue
		}
		for _, v := range vs {
			if k == "Location" || k == "Content-Location" {
				v = string(bytes.ReplaceAll([]byte(v), p.targetOrigin, p.proxyOrigin))
			}
			h.Add(k, v)
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))

	if faulty && (fault == FaultDrop || fault == FaultTruncate) {
		hj, ok := w.(http.Hijacker)
		if !ok {
			panic("fault proxy: the ResponseWriter cannot be hijacked")
		}
		conn, buf, err := hj.Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		p.count(fault, "")
		if fault == FaultDrop {
			return
		}
		fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\n", resp.StatusCode, http.StatusText(resp.StatusCode))
		h.Write(buf) //nolint:errcheck
		buf.WriteString("\r\n")
		buf.Write(body[:len(body)/2])
		buf.Flush() //nolint:errcheck
		return
	}

	w.WriteHeader(resp.StatusCode)
	w.Write(body) //nolint:errcheck
}

// resourceType is the type a request's path names after the base URL ("Consent" for .../Consent/1).
func (p *FaultProxy) resourceType(r *http.Request) string {
	rest, ok := strings.CutPrefix(r.URL.Path, trimSlash(p.target.Path)+"/")
	if !ok {
		return ""
	}
	typ, _, _ := strings.Cut(rest, "/")
	return typ
}

func (p *FaultProxy) forward(r *http.Request) (*http.Response, []byte, error) {
	u := *p.target
	u.Path = r.URL.Path
	u.RawPath = r.URL.RawPath
	u.RawQuery = r.URL.RawQuery
	out, err := http.NewRequestWithContext(r.Context(), r.Method, u.String(), r.Body)
	if err != nil {
		return nil, nil, err
	}
	for k, vs := range r.Header {
		if hopHeaders[k] || k == "Accept-Encoding" {
			continue
		}
		out.Header[k] = vs
	}
	out.ContentLength = r.ContentLength
	resp, err := p.transport.RoundTrip(out)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	return resp, body, nil
}

func writeOutcome(w http.ResponseWriter, status int, code, text string) {
	body, _ := json.Marshal(map[string]any{
		"resourceType": "OperationOutcome",
		"issue":        []any{map[string]any{"severity": "error", "code": code, "diagnostics": text}},
	})
	w.Header().Set("Content-Type", "application/fhir+json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body) //nolint:errcheck
}

// leaveOutOfSearchset drops the entries of a searchset Bundle whose resource is
// one of those named ("Type/id"); any other answer is returned as it is.
func leaveOutOfSearchset(body []byte, names []string) []byte {
	var bundle map[string]json.RawMessage
	if json.Unmarshal(body, &bundle) != nil || string(bundle["type"]) != `"searchset"` {
		return body
	}
	var entries []json.RawMessage
	if json.Unmarshal(bundle["entry"], &entries) != nil {
		return body
	}
	kept := entries[:0]
	for _, e := range entries {
		var r struct {
			Resource struct {
				ResourceType string `json:"resourceType"`
				ID           string `json:"id"`
			} `json:"resource"`
		}
		if json.Unmarshal(e, &r) == nil && slices.Contains(names, r.Resource.ResourceType+"/"+r.Resource.ID) {
			continue
		}
		kept = append(kept, e)
	}
	bundle["entry"], _ = json.Marshal(kept)
	out, err := json.Marshal(bundle)
	if err != nil {
		return body
	}
	return out
}

// corruptSearchset makes one entry's resource of a searchset Bundle invalid FHIR, chosen
// by pick; it returns the new body and "Type/id" of that resource.
func corruptSearchset(body []byte, pick uint64) ([]byte, string, bool) {
	var bundle map[string]json.RawMessage
	if json.Unmarshal(body, &bundle) != nil {
		return nil, "", false
	}
	var rt, typ string
	json.Unmarshal(bundle["resourceType"], &rt) //nolint:errcheck
	json.Unmarshal(bundle["type"], &typ)        //nolint:errcheck
	if rt != "Bundle" || typ != "searchset" {
		return nil, "", false
	}
	var entries []map[string]json.RawMessage
	if json.Unmarshal(bundle["entry"], &entries) != nil || len(entries) == 0 {
		return nil, "", false
	}
	i := int(pick % uint64(len(entries)))
	var res map[string]json.RawMessage
	if json.Unmarshal(entries[i]["resource"], &res) != nil || res == nil {
		return nil, "", false
	}
	res["code"] = json.RawMessage(`12`)
	wrong := map[string]string{"status": `12`, "subject": `"Patient"`, "effectiveDateTime": `{"not":"a date"}`, "name": `false`}
	for k, v := range wrong {
		if _, ok := res[k]; ok {
			res[k] = json.RawMessage(v)
		}
	}
	var id string
	json.Unmarshal(res["resourceType"], &rt) //nolint:errcheck
	json.Unmarshal(res["id"], &id)           //nolint:errcheck
	var err error
	if entries[i]["resource"], err = json.Marshal(res); err != nil {
		return nil, "", false
	}
	if bundle["entry"], err = json.Marshal(entries); err != nil {
		return nil, "", false
	}
	out, err := json.Marshal(bundle)
	if err != nil {
		return nil, "", false
	}
	return out, rt + "/" + id, true
}

package fhirsync_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
)

// stubProxy stands in front of the real FHIR server to make it do what it
// cannot be made to do: answer some requests itself (answer returns true when
// it did) or change an answer on the way (rewrite). The server's own address
// in answers becomes the stub's, as a server's links name itself. It counts
// the requests to each path.
type stubProxy struct {
	URL    string // the FHIR base through the stub
	origin string // scheme and host of the stub

	mu       sync.Mutex
	requests map[string]int
}

func newStubProxy(t *testing.T, target string, answer func(w http.ResponseWriter, r *http.Request) bool, rewrite func(r *http.Request, body []byte) []byte) *stubProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	upstreamOrigin := u.Scheme + "://" + u.Host
	sp := &stubProxy{requests: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sp.mu.Lock()
		sp.requests[r.URL.Path]++
		sp.mu.Unlock()
		if answer != nil && answer(w, r) {
			return
		}
		req, err := http.NewRequestWithContext(r.Context(), r.Method, upstreamOrigin+r.URL.RequestURI(), r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		req.Header = r.Header.Clone()
		req.Header.Del("Accept-Encoding")
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		body = bytes.ReplaceAll(body, []byte(upstreamOrigin), []byte(sp.origin))
		if rewrite != nil {
			body = rewrite(r, body)
		}
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.WriteHeader(resp.StatusCode)
		w.Write(body) //nolint:errcheck
	}))
	t.Cleanup(srv.Close)
	sp.origin = srv.URL
	sp.URL = srv.URL + u.Path
	return sp
}

// Requests is how many requests the stub has had for the path (e.g. "/fhir/Observation").
func (sp *stubProxy) Requests(path string) int {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return sp.requests[path]
}

// refuse answers 403 with an OperationOutcome, as a server does to a client
// not allowed to read a resource type.
func refuse(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/fhir+json")
	w.WriteHeader(http.StatusForbidden)
	io.WriteString(w, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"forbidden","diagnostics":"not allowed"}]}`) //nolint:errcheck
}

// countingTransport counts the requests a client sends and the bytes that
// come back, and keeps the URLs, so a test can see what a sync asked for.
type countingTransport struct {
	mu       sync.Mutex
	requests int
	bytes    int64
	urls     []*url.URL
	sizes    []int // of each answer, as urls
}

func (ct *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	ct.mu.Lock()
	ct.requests++
	ct.bytes += int64(len(body))
	ct.urls = append(ct.urls, r.URL)
	ct.sizes = append(ct.sizes, len(body))
	ct.mu.Unlock()
	return resp, nil
}

// reset forgets what was counted.
func (ct *countingTransport) reset() {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	ct.requests, ct.bytes, ct.urls, ct.sizes = 0, 0, nil, nil
}

// sent returns the URLs requested since the last reset, and the size of each answer.
func (ct *countingTransport) sent() ([]*url.URL, []int) {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	return append([]*url.URL(nil), ct.urls...), append([]int(nil), ct.sizes...)
}

// writeOutcome answers with an OperationOutcome holding one error, as a
// FHIR server says why it refused.
func writeOutcome(w http.ResponseWriter, status int, code, diagnostics string) {
	w.Header().Set("Content-Type", "application/fhir+json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]any{"resourceType": "OperationOutcome",
		"issue": []any{map[string]any{"severity": "error", "code": code, "diagnostics": diagnostics}}})
	w.Write(b)
}

// holdOnce holds, once armed, the first request match takes, until release
// is closed; held is closed as it arrives: a request held up in the network.
type holdOnce struct {
	mu      sync.Mutex
	armed   bool
	match   func(*http.Request) bool
	held    chan struct{}
	release chan struct{}
}

func newHoldOnce(armed bool, match func(*http.Request) bool) *holdOnce {
	return &holdOnce{armed: armed, match: match, held: make(chan struct{}), release: make(chan struct{})}
}

// arm makes the next request match takes the one held.
func (h *holdOnce) arm() {
	h.mu.Lock()
	h.armed = true
	h.mu.Unlock()
}

// wait holds r if it is the one to hold.
func (h *holdOnce) wait(r *http.Request) {
	h.mu.Lock()
	hold := h.armed && h.match(r)
	if hold {
		h.armed = false
	}
	h.mu.Unlock()
	if hold {
		close(h.held)
		<-h.release
	}
}

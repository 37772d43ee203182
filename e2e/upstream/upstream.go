// Package upstream runs a real FHIR R4 server for tests, and a fault-injecting reverse
// proxy to put in front of it.
//
// The server is e2e/fhirserver/server.js: Medplum's FHIR router with its in-memory
// repository behind a small Node HTTP wrapper (see the comment at the top of that file
// for what it serves). It needs node (20.19 or later) and e2e/fhirserver/node_modules
// (`cd e2e/fhirserver && npm ci --no-audit --no-fund`).
//
//	srv := upstream.Start(t, upstream.SharedBundle(t, "Lawerence6_Baumbach677_ea8d2576-4a23-4906-c353-bfed5adb23bd.json"),
//		upstream.SharedBundle(t, upstream.HospitalBundle), upstream.SharedBundle(t, upstream.PractitionerBundle))
//	proxy := upstream.NewFaultProxy(t, srv.URL, upstream.Faults{Rate: 0.2, Seed: 1})
//	// point the code under test at proxy.URL
package upstream

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The two shared batch bundles (Organizations and Locations; Practitioners and
// PractitionerRoles) that the fhir-data-pipes patient bundles refer to with conditional
// references. Start loads batch bundles first whatever the order given.
const (
	HospitalBundle     = "hospitalInformation1633536936158.json"
	PractitionerBundle = "practitionerInformation1633536936158.json"
)

// BasePath is the path of the FHIR base on the test server, so that code under test
// must keep a base URL's path (as with real servers, e.g. https://host/fhir/R4).
const BasePath = "/fhir"

// startTimeout bounds how long the server may take to index and load before Start fails.
const startTimeout = 90 * time.Second

// Server is a running test FHIR server.
type Server struct {
	// URL is the FHIR base, without a trailing slash, e.g. http://127.0.0.1:41234/fhir.
	URL string
	// Startup is how long it took from starting node to the server answering,
	// including indexing the R4 definitions and loading the bundles.
	Startup time.Duration

	cmd    *exec.Cmd
	stderr *lockedBuffer
	client *http.Client
	done   chan struct{}
}

// RepoRoot returns the repository root: the nearest directory at or above the working
// directory that holds go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod found at or above the working directory")
		}
		dir = parent
	}
}

// SharedBundle returns the path of a bundle in ../shared/fhir/synthea (beside the
// repository root), failing the test if it is not there.
func SharedBundle(tb testing.TB, name string) string {
	tb.Helper()
	root, err := RepoRoot()
	if err != nil {
		tb.Fatalf("upstream: %v", err)
	}
	p := filepath.Join(root, "..", "shared", "fhir", "synthea", name)
	if _, err := os.Stat(p); err != nil {
		tb.Fatalf("upstream: shared test bundle missing: %v", err)
	}
	return filepath.Clean(p)
}

// StartWithPatient runs the server with the shared organisations and
// practitioners and one Synthea patient's bundle (a file in ../shared/fhir),
// and returns it with that patient's id.
func StartWithPatient(tb testing.TB, bundle string) (*Server, string) {
	tb.Helper()
	srv := Start(tb, SharedBundle(tb, HospitalBundle), SharedBundle(tb, PractitionerBundle), SharedBundle(tb, bundle))
	pts := srv.Resources(tb, "Patient", "")
	if len(pts) != 1 {
		tb.Fatalf("server holds %d patients, want 1", len(pts))
	}
	var pt struct{ ID string }
	if err := json.Unmarshal(pts[0], &pt); err != nil {
		tb.Fatal(err)
	}
	return srv, pt.ID
}

// Start runs `node e2e/fhirserver/server.js` with the named bundle files (batch bundles
// are loaded first, then the others in order; ids in the files are kept), waits until it
// listens, and stops it when the test ends. It fails the test with a clear message if
// node or e2e/fhirserver/node_modules is missing.
func Start(tb testing.TB, bundles ...string) *Server {
	tb.Helper()
	root, err := RepoRoot()
	if err != nil {
		tb.Fatalf("upstream: %v", err)
	}
	dir := filepath.Join(root, "e2e", "fhirserver")
	node, err := exec.LookPath("node")
	if err != nil {
		tb.Fatalf("upstream: node is not installed (need Node.js 20.19 or later on PATH): %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@medplum", "fhir-router", "package.json")); err != nil {
		tb.Fatalf("upstream: %s/node_modules is missing: run `cd e2e/fhirserver && npm ci --no-audit --no-fund` (make deps)", dir)
	}
	args := []string{filepath.Join(dir, "server.js")}
	for _, b := range bundles {
		abs, err := filepath.Abs(b)
		if err != nil {
			tb.Fatalf("upstream: bundle %s: %v", b, err)
		}
		if _, err := os.Stat(abs); err != nil {
			tb.Fatalf("upstream: bundle %s: %v", b, err)
		}
		args = append(args, abs)
	}

	begin := time.Now()
	cmd := exec.Command(node, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PORT=0", "BASE_PATH="+BasePath)
	cmd.SysProcAttr = sysProcAttr()
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatalf("upstream: %v", err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("upstream: starting node: %v", err)
	}
	s := &Server{
		cmd:    cmd,
		stderr: stderr,
		client: &http.Client{Timeout: 60 * time.Second},
		done:   make(chan struct{}),
	}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "listening on ") {
				lines <- strings.TrimPrefix(line, "listening on ")
			}
		}
		close(lines)
	}()
	go func() {
		cmd.Wait() //nolint:errcheck // the exit status is reported through stderr
		close(s.done)
	}()
	tb.Cleanup(s.stop)

	select {
	case origin, ok := <-lines:
		if !ok {
			<-s.done
			tb.Fatalf("upstream: the FHIR server exited before listening: %s\n%s", cmd.ProcessState, stderr.String())
		}
		s.URL = origin + BasePath
	case <-time.After(startTimeout):
		tb.Fatalf("upstream: the FHIR server did not listen within %s\n%s", startTimeout, stderr.String())
	}
	s.Startup = time.Since(begin)
	return s
}

func (s *Server) stop() {
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill() //nolint:errcheck
		<-s.done
	}
}

// Log is what the server wrote on stderr (timings, errors).
func (s *Server) Log() string { return s.stderr.String() }

// Do sends one request to the server: path is relative to the FHIR base ("Patient/1",
// "Observation?patient=…", "" for the base) or an absolute URL; body, if any, is sent as
// application/fhir+json. It fails the test on a transport error, not on an HTTP status.
func (s *Server) Do(tb testing.TB, method, path string, body []byte) (status int, respBody []byte) {
	tb.Helper()
	u := path
	if !strings.HasPrefix(path, "http://") && !strings.HasPrefix(path, "https://") {
		u = s.URL + "/" + strings.TrimPrefix(path, "/")
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		tb.Fatalf("upstream: %s %s: %v", method, u, err)
	}
	req.Header.Set("Accept", "application/fhir+json")
	if body != nil {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		tb.Fatalf("upstream: %s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	respBody, err = io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("upstream: %s %s: reading the response: %v", method, u, err)
	}
	return resp.StatusCode, respBody
}

// Bundle is the part of a FHIR Bundle the helpers read.
type Bundle struct {
	ResourceType string `json:"resourceType"`
	Type         string `json:"type"`
	Total        *int   `json:"total,omitempty"`
	Link         []struct {
		Relation string `json:"relation"`
		URL      string `json:"url"`
	} `json:"link"`
	Entry []struct {
		FullURL  string          `json:"fullUrl"`
		Resource json.RawMessage `json:"resource"`
		Request  *struct {
			Method string `json:"method"`
			URL    string `json:"url"`
		} `json:"request,omitempty"`
	} `json:"entry"`
}

// NextLink returns the Bundle's link with relation "next", or "".
func (b *Bundle) NextLink() string {
	for _, l := range b.Link {
		if l.Relation == "next" {
			return l.URL
		}
	}
	return ""
}

// Search sends one search (or history) request and decodes the Bundle, failing the test
// unless the status is 200.
func (s *Server) Search(tb testing.TB, pathOrURL string) *Bundle {
	tb.Helper()
	status, body := s.Do(tb, http.MethodGet, pathOrURL, nil)
	if status != http.StatusOK {
		tb.Fatalf("upstream: GET %s: status %d: %s", pathOrURL, status, truncate(body))
	}
	var b Bundle
	if err := json.Unmarshal(body, &b); err != nil {
		tb.Fatalf("upstream: GET %s: %v", pathOrURL, err)
	}
	if b.ResourceType != "Bundle" {
		tb.Fatalf("upstream: GET %s: not a Bundle: %s", pathOrURL, truncate(body))
	}
	return &b
}

// Resources returns the resources of every page of a type-level search
// (resourceType?query), following next links to the end.
func (s *Server) Resources(tb testing.TB, resourceType, query string) []json.RawMessage {
	tb.Helper()
	u := resourceType
	if query != "" {
		u += "?" + query
	}
	var out []json.RawMessage
	for pages := 0; u != ""; pages++ {
		if pages > 100000 {
			tb.Fatalf("upstream: %s?%s: more than 100000 pages", resourceType, query)
		}
		b := s.Search(tb, u)
		for _, e := range b.Entry {
			out = append(out, e.Resource)
		}
		u = b.NextLink()
	}
	return out
}

// Load stores a Bundle (transaction, batch or collection) keeping the ids in it, like the
// files given to Start; POST it to the base instead for standard FHIR semantics (POST
// entries then get new ids).
func (s *Server) Load(tb testing.TB, bundle []byte) {
	tb.Helper()
	status, body := s.Do(tb, http.MethodPost, "$load", bundle)
	if status != http.StatusOK {
		tb.Fatalf("upstream: $load: status %d: %s", status, truncate(body))
	}
}

func truncate(b []byte) string {
	if len(b) > 500 {
		return string(b[:500]) + "…"
	}
	return string(b)
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

package fhirsync_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhirsync"
)

const stubPatient = `{"resourceType":"Patient","id":"p1","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}],"name":[{"given":["Ann"],"family":"Smith"}],"birthDate":"1957-03-14"}`

// exportStub: base /fhir; status answered by status(w, n); files served from files by path.
type exportStub struct {
	*httptest.Server
	mu       sync.Mutex
	kickoffs []string // raw queries
	checks   int
	status   func(w http.ResponseWriter, n int, base string)
	files    map[string]string
}

func newExportStub(t *testing.T, status func(w http.ResponseWriter, n int, base string), files map[string]string) *exportStub {
	s := &exportStub{status: status, files: files}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/fhir/$export":
			s.mu.Lock()
			s.kickoffs = append(s.kickoffs, r.URL.RawQuery)
			s.mu.Unlock()
			w.Header().Set("Content-Location", s.URL+"/fhir/status")
			w.WriteHeader(http.StatusAccepted)
		case r.URL.Path == "/fhir/status" && r.Method == http.MethodDelete:
			w.WriteHeader(http.StatusAccepted)
		case r.URL.Path == "/fhir/status":
			s.mu.Lock()
			s.checks++
			n := s.checks
			s.mu.Unlock()
			s.status(w, n, s.URL+"/fhir")
		default:
			body, ok := s.files[r.URL.Path]
			if !ok {
				w.WriteHeader(http.StatusNotFound)
				return
			}
			w.Header().Set("Content-Type", "application/fhir+ndjson")
			fmt.Fprint(w, body)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

// A failed export: the status URL answers 500 with an OperationOutcome whose
// issue code is not "transient" (the Bulk Data spec's "Error Status"). The
// client stops and says what the server said, and does not check on it for
// a day (found by a review).
func TestBulkExportThatFailedEndsSayingWhy(t *testing.T) {
	srv := newExportStub(t, func(w http.ResponseWriter, n int, base string) {
		w.Header().Set("Content-Type", "application/fhir+json")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, `{"resourceType":"OperationOutcome","issue":[{"severity":"fatal","code":"exception","diagnostics":"Export job failed: disk full"}]}`)
	}, nil)
	clock := newSteppedClock()
	c, err := fhirsync.NewClient(srv.URL+"/fhir", nil, fhirsync.ClientOptions{MaxAttempts: 2, Now: clock.Now, Sleep: clock.Sleep})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.BulkExport(context.Background(), nil, "", nil)
	t.Logf("error: %v; %d status checks over %s of (simulated) waiting", err, srv.checks, clock.Now().Sub(newSteppedClock().Now()))
	if srv.checks > 2 {
		t.Errorf("a failed export (500 + non-transient OperationOutcome) was checked %d times", srv.checks)
	}
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("the error does not report the server's words: %v", err)
	}
}

// An export whose error file says resources were left out does not move on
// where the next export starts: asked only for what changed since, it would
// never bring them (found by a review). One that only warns does.
func TestBulkExportLeavingResourcesOutIsAskedForAgain(t *testing.T) {
	for _, tc := range []struct {
		severity string
		since    bool
	}{{"error", false}, {"fatal", false}, {"warning", true}} {
		t.Run(tc.severity, func(t *testing.T) {
			srv := newExportStub(t, func(w http.ResponseWriter, n int, base string) {
				fmt.Fprintf(w, `{"transactionTime":"2024-01-01T00:00:00Z","request":"x","requiresAccessToken":true,
"output":[{"type":"Patient","url":%q}],"error":[{"type":"OperationOutcome","url":%q}]}`, base+"/files/Patient.ndjson", base+"/files/err.ndjson")
			}, map[string]string{
				"/fhir/files/Patient.ndjson": stubPatient + "\n",
				"/fhir/files/err.ndjson": `{"resourceType":"OperationOutcome","issue":[{"severity":"` + tc.severity +
					`","code":"exception","diagnostics":"Observation export failed for 20000 resources"}]}` + "\n",
			})
			ctx := context.Background()
			db, _ := bulkDB(t)
			src, err := db.AddSource(ctx, store.Source{Name: "region", BaseURL: srv.URL + "/fhir"})
			if err != nil {
				t.Fatal(err)
			}
			clock := newSteppedClock()
			puller := &fhirsync.Puller{DB: db, Client: fhirsync.NewClients(func(string) string { return "" }, fhirsync.ClientOptions{Now: clock.Now, Sleep: clock.Sleep}).Get}
			for range 2 {
				if _, err := puller.PullBulk(ctx, src, nil); err != nil {
					t.Fatal(err)
				}
			}
			since, err := db.BulkSince(ctx, src.ID)
			if err != nil || (since != "") != tc.since || strings.Contains(srv.kickoffs[1], "_since") != tc.since {
				t.Errorf("after an export whose error file says %s: the next starts from %q (%v), asking %q; want from its time: %v", tc.severity, since, err, srv.kickoffs[1], tc.since)
			}
		})
	}
}

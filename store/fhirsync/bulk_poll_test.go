package fhirsync_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhirsync"
)

// steppedClock is a client's clock and sleep: time moves on only while the
// client waits, by as long as it waits, so a test sees every wait and a
// source's hold ends when it should.
type steppedClock struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
}

func newSteppedClock() *steppedClock {
	return &steppedClock{now: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
}

func (c *steppedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *steppedClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.slept = append(c.slept, d)
	c.now = c.now.Add(d)
	return ctx.Err()
}

func (c *steppedClock) waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.slept)
}

// exportCounts counts what an oneFileExport server was asked.
type exportCounts struct {
	mu              sync.Mutex
	checks, deletes int
	kickoffs        []string // each kick-off's query
}

func (c *exportCounts) get() (checks, deletes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.checks, c.deletes
}

// oneFileExport is a FHIR server (its base under /fhir) whose export has one
// file, of Patients, served by file. busy answers status check n (from 1)
// and says whether it did; once it does not, the manifest is the answer.
// A DELETE of the status URL is counted and accepted.
func oneFileExport(t *testing.T, busy func(w http.ResponseWriter, n int) bool, file http.HandlerFunc) (*httptest.Server, *exportCounts) {
	return exportWithErrors(t, busy, file, "")
}

// exportWithErrors is oneFileExport whose manifest lists an error file
// holding errorFile, when it is not "".
func exportWithErrors(t *testing.T, busy func(w http.ResponseWriter, n int) bool, file http.HandlerFunc, errorFile string) (*httptest.Server, *exportCounts) {
	t.Helper()
	var counts exportCounts
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/fhir/$export":
			counts.mu.Lock()
			counts.kickoffs = append(counts.kickoffs, r.URL.RawQuery)
			counts.mu.Unlock()
			w.Header().Set("Content-Location", srv.URL+"/fhir/$export-status/1")
			w.WriteHeader(http.StatusAccepted)
		case r.URL.Path == "/fhir/$export-status/1" && r.Method == http.MethodDelete:
			counts.mu.Lock()
			counts.deletes++
			counts.mu.Unlock()
			w.WriteHeader(http.StatusAccepted)
		case r.URL.Path == "/fhir/$export-status/1":
			counts.mu.Lock()
			counts.checks++
			n := counts.checks
			counts.mu.Unlock()
			if busy != nil && busy(w, n) {
				return
			}
			errors := "[]"
			if errorFile != "" {
				errors = fmt.Sprintf(`[{"type":"OperationOutcome","url":%q}]`, srv.URL+"/fhir/files/errors.ndjson")
			}
			fmt.Fprintf(w, `{"transactionTime":"2024-01-01T00:00:00Z","request":"x","requiresAccessToken":true,"output":[{"type":"Patient","url":%q}],"error":%s}`,
				srv.URL+"/fhir/files/Patient.ndjson", errors)
		case r.URL.Path == "/fhir/files/Patient.ndjson" && file != nil:
			file(w, r)
		case r.URL.Path == "/fhir/files/errors.ndjson" && errorFile != "":
			fmt.Fprint(w, errorFile)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &counts
}

// answer is a status check's answer: status, with Retry-After when it is not "".
func answer(w http.ResponseWriter, status int, retryAfter string) {
	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	w.WriteHeader(status)
}

// TestBulkExportWaitsOutABusyStatusCheck: an export can take hours, and a
// status check the server answers "busy" (429 or 503, with a Retry-After
// however long, or a 5xx the client's tries did not get past) does not end
// it: the export waits as asked, a status check's wait at most, and checks
// again, every wait counting towards the day an export may take.
func TestBulkExportWaitsOutABusyStatusCheck(t *testing.T) {
	tests := []struct {
		name       string
		busy       func(w http.ResponseWriter, n int) bool
		wantChecks int
		wantWaits  []time.Duration // nil: not checked (jittered back-off)
	}{
		{name: "429 asking for a minute", busy: func(w http.ResponseWriter, n int) bool {
			if n == 1 {
				answer(w, http.StatusTooManyRequests, "60")
			}
			return n == 1
		}, wantChecks: 2, wantWaits: []time.Duration{time.Minute}},
		// Ten minutes is waited out whole (a wait asked for is honoured up to an hour).
		{name: "503 asking for ten minutes", busy: func(w http.ResponseWriter, n int) bool {
			if n == 1 {
				answer(w, http.StatusServiceUnavailable, "600")
			}
			return n == 1
		}, wantChecks: 2, wantWaits: []time.Duration{10 * time.Minute}},
		// The client waits within the check, and its last try is answered so too: the export waits once more.
		{name: "503 asking for ten seconds on every try of a check", busy: func(w http.ResponseWriter, n int) bool {
			if n <= 2 {
				answer(w, http.StatusServiceUnavailable, "10")
			}
			return n <= 2
		}, wantChecks: 3, wantWaits: []time.Duration{10 * time.Second, 10 * time.Second}},
		{name: "500 for every try of a check", busy: func(w http.ResponseWriter, n int) bool {
			if n <= 2 {
				answer(w, http.StatusInternalServerError, "")
			}
			return n <= 2
		}, wantChecks: 3},
		{name: "still in progress after a 429", busy: func(w http.ResponseWriter, n int) bool {
			switch n {
			case 1:
				answer(w, http.StatusTooManyRequests, "45")
			case 2:
				answer(w, http.StatusAccepted, "2")
			}
			return n <= 2
		}, wantChecks: 3, wantWaits: []time.Duration{45 * time.Second, 2 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, counts := oneFileExport(t, tt.busy, nil)
			clock := newSteppedClock()
			c, err := fhirsync.NewClient(srv.URL+"/fhir", nil, fhirsync.ClientOptions{MaxAttempts: 2, Now: clock.Now, Sleep: clock.Sleep})
			if err != nil {
				t.Fatal(err)
			}
			m, err := c.BulkExport(context.Background(), nil, "", nil)
			checks, deletes := counts.get()
			if err != nil || len(m.Output) != 1 {
				t.Fatalf("got %+v, %v after %d status checks (waits %v); want the manifest", m, err, checks, clock.waits())
			}
			if checks != tt.wantChecks || deletes != 0 {
				t.Errorf("%d status checks and %d DELETEs, want %d and none", checks, deletes, tt.wantChecks)
			}
			if got := clock.waits(); tt.wantWaits != nil && !slices.Equal(got, tt.wantWaits) {
				t.Errorf("waited %v, want %v", got, tt.wantWaits)
			}
		})
	}
}

// TestBulkExportGivenUpWhileHeldIsCancelled: an export given up while the
// server has asked not to be called for an hour (the caller stopped, or the
// day an export may take ran out) is still cancelled at the server: the one
// DELETE is what the server would want, hold or no hold.
func TestBulkExportGivenUpWhileHeldIsCancelled(t *testing.T) {
	alwaysBusy := func(w http.ResponseWriter, n int) bool {
		answer(w, http.StatusTooManyRequests, "3600")
		return true
	}
	tests := []struct {
		name       string
		stop       bool // the caller stops at the first wait
		wantErr    string
		wantChecks int
	}{
		{name: "the caller stops", stop: true, wantErr: context.Canceled.Error(), wantChecks: 1},
		// Checked as each hour's hold ends, from the first check to the end of the day.
		{name: "a day runs out", wantErr: "not ready after 24h", wantChecks: 25},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, counts := oneFileExport(t, alwaysBusy, nil)
			clock := newSteppedClock()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			sleep := clock.Sleep
			if tt.stop {
				sleep = func(ctx context.Context, d time.Duration) error {
					cancel()
					return clock.Sleep(ctx, d)
				}
			}
			c, err := fhirsync.NewClient(srv.URL+"/fhir", nil, fhirsync.ClientOptions{Now: clock.Now, Sleep: sleep})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.BulkExport(ctx, nil, "", nil)
			checks, deletes := counts.get()
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got %v, want an error saying %q", err, tt.wantErr)
			}
			if checks != tt.wantChecks || deletes != 1 {
				t.Errorf("%d status checks and %d DELETEs, want %d and 1", checks, deletes, tt.wantChecks)
			}
		})
	}
}

// TestPullBulkCancelsTheExportHoweverItEnds: once the manifest has come, the
// export's job at the server is cancelled (its status URL DELETEd, as the
// Bulk Data spec asks) whether every file was stored, a file could not be
// had, or the caller stopped during a download.
func TestPullBulkCancelsTheExportHoweverItEnds(t *testing.T) {
	patient := `{"resourceType":"Patient","id":"p1","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}],"name":[{"given":["Ann"],"family":"Smith"}],"birthDate":"1957-03-14"}` + "\n"
	var cancel context.CancelFunc
	tests := []struct {
		name    string
		file    http.HandlerFunc
		wantErr string // "" for success; else what the error says
	}{
		{name: "every file stored", file: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/fhir+ndjson")
			fmt.Fprint(w, patient)
		}},
		{name: "a file answering 404", file: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNotFound)
		}, wantErr: "404 Not Found"},
		{name: "the caller stops during a download", file: func(w http.ResponseWriter, r *http.Request) {
			cancel()
			w.Header().Set("Content-Type", "application/fhir+ndjson")
			fmt.Fprint(w, patient)
		}, wantErr: context.Canceled.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, counts := oneFileExport(t, nil, tt.file)
			var ctx context.Context
			ctx, cancel = context.WithCancel(context.Background())
			defer cancel()
			db, _ := bulkDB(t)
			src, err := db.AddSource(ctx, store.Source{Name: "region", BaseURL: srv.URL + "/fhir"})
			if err != nil {
				t.Fatal(err)
			}
			var sleeps sleepRecorder
			puller := &fhirsync.Puller{DB: db, Client: fhirsync.NewClients(func(string) string { return "" }, fhirsync.ClientOptions{Sleep: sleeps.sleep}).Get}
			_, err = puller.PullBulk(ctx, src, nil)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatal(err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("got %v, want an error saying %q", err, tt.wantErr)
			}
			if _, deletes := counts.get(); deletes != 1 {
				t.Errorf("%d DELETEs of the status URL, want 1", deletes)
			}
		})
	}
}

// TestBulkExportOutlastsTheBreaker: a status URL busy for eight checks in a
// row (503 with Retry-After on every try, about six minutes) opens the
// source's breaker after five; the export waits for the breaker to let a
// check through, as for any busy answer, rather than ending an export that
// may take hours.
func TestBulkExportOutlastsTheBreaker(t *testing.T) {
	busy := func(w http.ResponseWriter, n int) bool {
		if n <= 8*5 { // 5 tries a check
			answer(w, http.StatusServiceUnavailable, "10")
			return true
		}
		return false
	}
	srv, counts := oneFileExport(t, busy, nil)
	clock := newSteppedClock()
	c, err := fhirsync.NewClient(srv.URL+"/fhir", nil, fhirsync.ClientOptions{Now: clock.Now, Sleep: clock.Sleep})
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.BulkExport(context.Background(), nil, "", nil)
	if checks, _ := counts.get(); err != nil || len(m.Output) != 1 {
		t.Errorf("export given up after %d tries of a busy status URL: %v", checks, err)
	}
}

// A kick-off answered 200 with an OperationOutcome, a server that cannot
// export saying why, fails with its words, not only its status (a review).
func TestBulkKickOffRefusedIn200SaysWhy(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/fhir+json")
		fmt.Fprint(w, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-supported","diagnostics":"System-level export is switched off"}]}`)
	}))
	t.Cleanup(srv.Close)
	c, err := fhirsync.NewClient(srv.URL+"/fhir", nil, fhirsync.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.BulkExport(context.Background(), nil, "", nil)
	if err == nil || !strings.Contains(err.Error(), "not 202 Accepted: it said: System-level export is switched off") {
		t.Errorf("kick-off answered 200 with an OperationOutcome: %v; want its words", err)
	}
}

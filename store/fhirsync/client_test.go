package fhirsync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
)

// fakeClock is a Now the test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)}
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeClock) Add(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.t = f.t.Add(d)
}

// sleeps records the back-off a Client asks for, without waiting.
type sleeps struct {
	mu sync.Mutex
	ds []time.Duration
}

func (s *sleeps) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ds = append(s.ds, d)
	return ctx.Err()
}

func (s *sleeps) got() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.ds)
}

// mustClient makes a Client whose back-off is its ceiling, so sleeps are predictable.
func mustClient(t *testing.T, base string, auth Auth, opts ClientOptions) *Client {
	t.Helper()
	c, err := NewClient(base, auth, opts)
	if err != nil {
		t.Fatal(err)
	}
	c.jitter = func(d time.Duration) time.Duration { return d }
	return c
}

// noKeepAlive makes every attempt use a new connection, so the transport's own
// silent retry on a reused connection cannot blur the count of attempts.
func noKeepAlive() *http.Client {
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
}

func observation(id string) string {
	return fmt.Sprintf(`{"resourceType":"Observation","id":%q,"meta":{"versionId":"1"},"status":"final","code":{"text":"HbA1c"},"valueQuantity":{"value":48,"unit":"mmol/mol"}}`, id)
}

// searchset builds a Bundle page from entry JSON.
func searchset(total int, next string, entries ...string) string {
	var links string
	if next != "" {
		links = fmt.Sprintf(`,"link":[{"relation":"self","url":"ignored"},{"relation":"next","url":%q}]`, next)
	}
	return fmt.Sprintf(`{"resourceType":"Bundle","type":"searchset","total":%d%s,"entry":[%s]}`, total, links, strings.Join(entries, ","))
}

func match(resource string) string {
	return `{"resource":` + resource + `,"search":{"mode":"match"}}`
}

func writeFHIR(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/fhir+json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func outcome(text string) string {
	return fmt.Sprintf(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"invalid","diagnostics":%q}]}`, text)
}

func TestSearchFollowsNextLinks(t *testing.T) {
	const all = 7
	var badAccept atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept") != "application/fhir+json" {
			badAccept.Add(1)
		}
		if r.URL.Path != "/fhir/Observation" || r.URL.Query().Get("patient") != "p1" {
			writeFHIR(w, http.StatusBadRequest, outcome("unexpected "+r.URL.String()))
			return
		}
		count, _ := strconv.Atoi(r.URL.Query().Get("_count"))
		offset, _ := strconv.Atoi(r.URL.Query().Get("_offset"))
		var entries []string
		for i := offset; i < min(offset+count, all); i++ {
			entries = append(entries, match(observation(fmt.Sprintf("o%d", i))))
		}
		next := ""
		if offset+count < all {
			q := r.URL.Query()
			q.Set("_offset", strconv.Itoa(offset+count))
			next = "http://" + r.Host + r.URL.Path + "?" + q.Encode()
		}
		writeFHIR(w, http.StatusOK, searchset(all, next, entries...))
	}))
	defer srv.Close()
	c := mustClient(t, srv.URL+"/fhir/", nil, ClientOptions{})
	ctx := context.Background()

	p, err := c.Search(ctx, "Observation", url.Values{"patient": {"p1"}, "_count": {"3"}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	pages := 1
	for {
		if p.Total != all {
			t.Errorf("page %d: total %d, want %d", pages, p.Total, all)
		}
		for _, r := range p.Resources {
			ids = append(ids, r.ID)
			if r.Type != "Observation" || r.VersionID != "1" || len(r.Raw) == 0 {
				t.Errorf("resource read as %+v", r)
			}
		}
		if p.Next == "" {
			break
		}
		if p, err = c.Next(ctx, p.Next); err != nil {
			t.Fatal(err)
		}
		pages++
	}
	want := []string{"o0", "o1", "o2", "o3", "o4", "o5", "o6"}
	if !slices.Equal(ids, want) || pages != 3 {
		t.Errorf("got %v over %d pages, want %v over 3", ids, pages, want)
	}
	if n := badAccept.Load(); n != 0 {
		t.Errorf("%d requests did not ask for application/fhir+json", n)
	}
}

func TestRetries(t *testing.T) {
	clock := newFakeClock()
	ok := func(w http.ResponseWriter, r *http.Request) {
		writeFHIR(w, http.StatusOK, searchset(1, "", match(observation("o1"))))
	}
	status := func(code int, retryAfter, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			writeFHIR(w, code, body)
		}
	}
	cutShort := func(w http.ResponseWriter, r *http.Request) {
		full := searchset(1, "", match(observation("o1")))
		writeFHIR(w, http.StatusOK, full[:len(full)/2])
	}
	dropMidBody := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "5000")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, `{"resourceType":"Bundle","type":"searchset","entry":[`)
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // the server drops the connection
	}
	dropBeforeAnswer := func(w http.ResponseWriter, r *http.Request) {
		panic(http.ErrAbortHandler)
	}
	slow := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}
	const maxDelay = 2 * time.Second
	tests := []struct {
		name          string
		steps         []http.HandlerFunc // the last repeats
		wantRequests  int
		wantSleeps    []time.Duration
		wantErr       string // "" for success
		wantStatus    int
		wantRetryable bool
	}{
		{name: "500 then success", steps: []http.HandlerFunc{status(500, "", "oops"), ok}, wantRequests: 2, wantSleeps: []time.Duration{100 * time.Millisecond}},
		{name: "429 then success honours Retry-After seconds", steps: []http.HandlerFunc{status(429, "1", ""), ok}, wantRequests: 2, wantSleeps: []time.Duration{time.Second}},
		{name: "503 honours Retry-After as an HTTP date", steps: []http.HandlerFunc{status(503, clock.Now().Add(2*time.Second).Format(http.TimeFormat), ""), ok},
			wantRequests: 2, wantSleeps: []time.Duration{2 * time.Second}},
		{name: "Retry-After beyond MaxDelay ends the call rather than ask again early", steps: []http.HandlerFunc{status(429, "3600", ""), ok}, wantRequests: 1,
			wantErr: "429 Too Many Requests", wantStatus: 429, wantRetryable: true},
		{name: "408 then success", steps: []http.HandlerFunc{status(408, "", ""), ok}, wantRequests: 2, wantSleeps: []time.Duration{100 * time.Millisecond}},
		{name: "truncated JSON is retried", steps: []http.HandlerFunc{cutShort, ok}, wantRequests: 2, wantSleeps: []time.Duration{100 * time.Millisecond}},
		{name: "connection dropped mid-body is retried", steps: []http.HandlerFunc{dropMidBody, ok}, wantRequests: 2, wantSleeps: []time.Duration{100 * time.Millisecond}},
		{name: "connection dropped before an answer is retried", steps: []http.HandlerFunc{dropBeforeAnswer, ok}, wantRequests: 2, wantSleeps: []time.Duration{100 * time.Millisecond}},
		{name: "a slow answer times out and is retried", steps: []http.HandlerFunc{slow, ok}, wantRequests: 2, wantSleeps: []time.Duration{100 * time.Millisecond}},
		{name: "404 is not retried and its OperationOutcome is read", steps: []http.HandlerFunc{status(404, "", outcome("Unknown resource type Observaton"))},
			wantRequests: 1, wantErr: "The server said: Unknown resource type Observaton", wantStatus: 404},
		{name: "400 without an OperationOutcome gives the status text", steps: []http.HandlerFunc{status(400, "", "<html>no</html>")},
			wantRequests: 1, wantErr: "the server answered 400 Bad Request", wantStatus: 400},
		{name: "501 is not retried", steps: []http.HandlerFunc{status(501, "", "")}, wantRequests: 1, wantErr: "501 Not Implemented", wantStatus: 501},
		{name: "500 every time gives up after MaxAttempts", steps: []http.HandlerFunc{status(500, "", outcome("database is down"))}, wantRequests: 4,
			wantSleeps: []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond},
			wantErr:    "500 Internal Server Error. The server said: database is down", wantStatus: 500, wantRetryable: true},
		{name: "invalid JSON every time gives up", steps: []http.HandlerFunc{cutShort}, wantRequests: 4,
			wantSleeps: []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond},
			wantErr:    "not valid JSON", wantStatus: 200, wantRetryable: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				i := int(n.Add(1)) - 1
				tt.steps[min(i, len(tt.steps)-1)](w, r)
			}))
			defer srv.Close()
			var sl sleeps
			c := mustClient(t, srv.URL, nil, ClientOptions{Timeout: 200 * time.Millisecond, MaxAttempts: 4, BaseDelay: 100 * time.Millisecond, MaxDelay: maxDelay,
				HTTPClient: noKeepAlive(), Sleep: sl.Sleep, Now: clock.Now})

			p, err := c.Search(context.Background(), "Observation", url.Values{"patient": {"p1"}})
			if err != nil {
				t.Log(err)
			}
			if got := int(n.Load()); got != tt.wantRequests {
				t.Errorf("got %d requests, want %d", got, tt.wantRequests)
			}
			if got := sl.got(); !slices.Equal(got, tt.wantSleeps) {
				t.Errorf("slept %v, want %v", got, tt.wantSleeps)
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if len(p.Resources) != 1 || p.Resources[0].ID != "o1" {
					t.Errorf("got %+v", p)
				}
				return
			}
			var ue *UpstreamError
			if !errors.As(err, &ue) {
				t.Fatalf("got %v, want an *UpstreamError", err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got %q, want it to say %q", err, tt.wantErr)
			}
			if ue.Status != tt.wantStatus || ue.Retryable != tt.wantRetryable {
				t.Errorf("got status %d retryable %v, want %d %v", ue.Status, ue.Retryable, tt.wantStatus, tt.wantRetryable)
			}
		})
	}
}

// A source that asks, with Retry-After, for a longer wait than a call may
// make is not called again, by this sync or any other, until that time.
func TestLongRetryAfterHoldsOffTheSource(t *testing.T) {
	for _, tt := range []struct {
		name        string
		retryAfter  func(now time.Time) string
		maxAttempts int
		held        time.Duration // how long the source is left alone
	}{
		{"in seconds", func(time.Time) string { return "3600" }, 4, time.Hour},
		{"as an HTTP date", func(now time.Time) string { return now.Add(time.Hour).Format(http.TimeFormat) }, 4, time.Hour},
		{"on the last attempt", func(time.Time) string { return "3600" }, 1, time.Hour},
		// Never more than a day, however far off the date: a consent delivery waits for it.
		{"a date centuries off", func(time.Time) string { return "Fri, 31 Dec 9999 23:59:59 GMT" }, 4, 24 * time.Hour},
		{"days of seconds", func(time.Time) string { return "864000" }, 4, 24 * time.Hour},
		// Found by a review: too many digits to read was no wait at all.
		{"more seconds than a number holds", func(time.Time) string { return "99999999999999999999" }, 4, 24 * time.Hour},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			var n atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if n.Add(1) == 1 {
					w.Header().Set("Retry-After", tt.retryAfter(clock.Now()))
					writeFHIR(w, http.StatusTooManyRequests, "")
					return
				}
				writeFHIR(w, http.StatusOK, searchset(1, "", match(observation("o1"))))
			}))
			defer srv.Close()
			var sl sleeps
			// A breaker that opens at the first failure: a source that asks to wait is not failing.
			c := mustClient(t, srv.URL, nil, ClientOptions{MaxAttempts: tt.maxAttempts, MaxDelay: 30 * time.Second, Sleep: sl.Sleep, Now: clock.Now, BreakerThreshold: 1})
			search := func() error {
				_, err := c.Search(context.Background(), "Observation", url.Values{"patient": {"p1"}})
				return err
			}
			until := clock.Now().Add(tt.held)

			err := search()
			var we *WaitError
			var ue *UpstreamError
			if !errors.As(err, &we) || !we.Until.Equal(until) || !errors.As(err, &ue) || ue.Status != 429 || !errors.Is(err, ErrAskedToWait) {
				t.Fatalf("got %v, want a 429 that holds calls off until %v", err, until)
			}
			if got := sl.got(); len(got) != 0 {
				t.Errorf("slept %v, want no wait: the call ends", got)
			}
			clock.Add(tt.held - time.Second)
			err = search()
			if !errors.As(err, &we) || we.Err != nil || !we.Until.Equal(until) {
				t.Errorf("a call a second before the time got %v, want it refused without asking", err)
			}
			if got := n.Load(); got != 1 {
				t.Errorf("%d requests reached the source before the time, want 1", got)
			}
			if c.BreakerOpen() {
				t.Error("the breaker opened: a source that asks to wait is not failing")
			}
			clock.Add(time.Second)
			if err := search(); err != nil {
				t.Errorf("at the time: %v", err)
			}
			if got := n.Load(); got != 2 {
				t.Errorf("%d requests, want 2", got)
			}
		})
	}
}

// TestLastAnswerAskingToWaitSaysUntilWhen: when a call's tries run out on an
// answer with a Retry-After a call may wait, the error says until when (a
// *WaitError, with the status still found inside), so that whoever tries
// again later does not try sooner. The source is not held, as for a longer
// wait: the next call goes out at once. And tries that ran out count as a
// failure towards the breaker, as they do without a Retry-After.
func TestLastAnswerAskingToWaitSaysUntilWhen(t *testing.T) {
	for _, tt := range []struct {
		name       string
		retryAfter string
		wantWait   time.Duration // 0: a plain *UpstreamError, no time asked for
	}{
		{"in seconds", "5", 5 * time.Second},
		{"none", "", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			var n atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n.Add(1)
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				writeFHIR(w, http.StatusServiceUnavailable, "")
			}))
			defer srv.Close()
			var sl sleeps
			c := mustClient(t, srv.URL, nil, ClientOptions{MaxAttempts: 2, MaxDelay: 30 * time.Second, BreakerThreshold: 2, Sleep: sl.Sleep, Now: clock.Now})
			search := func() error {
				_, err := c.Search(context.Background(), "Observation", url.Values{"patient": {"p1"}})
				return err
			}

			err := search()
			var we *WaitError
			var ue *UpstreamError
			if !errors.As(err, &ue) || ue.Status != http.StatusServiceUnavailable || !ue.Retryable {
				t.Fatalf("got %v, want the 503 found inside", err)
			}
			if asked := errors.As(err, &we); asked != (tt.wantWait != 0) || asked && (!we.Until.Equal(clock.Now().Add(tt.wantWait)) || !errors.Is(err, ErrAskedToWait)) {
				t.Errorf("got %v, want a wait of %v", err, tt.wantWait)
			}
			if c.BreakerOpen() {
				t.Fatal("the breaker opened after one failed call of two")
			}
			if err := search(); !errors.As(err, &ue) || ue.Status != http.StatusServiceUnavailable {
				t.Fatalf("second call: %v, want the source's answer", err)
			}
			if got := n.Load(); got != 4 {
				t.Errorf("%d requests, want 4: no call is held off", got)
			}
			if !c.BreakerOpen() {
				t.Error("two calls whose tries ran out did not open the breaker")
			}
		})
	}
}

func TestBackoffGrowsAndIsCapped(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeFHIR(w, http.StatusServiceUnavailable, "")
	}))
	defer srv.Close()
	var sl sleeps
	c := mustClient(t, srv.URL, nil, ClientOptions{MaxAttempts: 7, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second, Sleep: sl.Sleep})
	if _, err := c.Read(context.Background(), "Patient", "p1"); err == nil {
		t.Fatal("want an error")
	}
	ms := time.Millisecond
	want := []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, time.Second, time.Second}
	if got := sl.got(); !slices.Equal(got, want) {
		t.Errorf("back-off ceilings %v, want %v", got, want)
	}

	t.Run("full jitter stays under the ceiling and spreads", func(t *testing.T) {
		var low, high int
		for range 2000 {
			d := fullJitter(time.Second)
			if d < 0 || d > time.Second {
				t.Fatalf("jitter %v outside [0, 1s]", d)
			}
			if d < 250*ms {
				low++
			}
			if d > 750*ms {
				high++
			}
		}
		if low < 300 || high < 300 {
			t.Errorf("jitter is not spread: %d below 250ms, %d above 750ms of 2000", low, high)
		}
	})
}

func TestCircuitBreaker(t *testing.T) {
	var mode atomic.Value // "fail", "ok" or "block"
	mode.Store("fail")
	var requests atomic.Int32
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		switch mode.Load() {
		case "fail":
			writeFHIR(w, http.StatusBadGateway, "")
			return
		case "block":
			arrived <- struct{}{}
			<-release
		case "notfound":
			writeFHIR(w, http.StatusNotFound, outcome("no such patient"))
			return
		}
		writeFHIR(w, http.StatusOK, searchset(0, ""))
	}))
	defer srv.Close()
	clock := newFakeClock()
	var sl sleeps
	c := mustClient(t, srv.URL, nil, ClientOptions{MaxAttempts: 2, BreakerThreshold: 3, BreakerCooldown: time.Minute, Sleep: sl.Sleep, Now: clock.Now})
	ctx := context.Background()
	search := func() error {
		_, err := c.Search(ctx, "Condition", url.Values{"patient": {"p1"}})
		return err
	}

	for i := 1; i <= 3; i++ {
		if err := search(); err == nil || errors.Is(err, ErrCircuitOpen) {
			t.Fatalf("call %d: got %v, want the upstream failure", i, err)
		}
		if got, want := c.BreakerOpen(), i == 3; got != want {
			t.Fatalf("after %d failed calls BreakerOpen is %v", i, got)
		}
	}
	if got := requests.Load(); got != 6 {
		t.Errorf("3 calls of 2 attempts made %d requests, want 6", got)
	}

	steps := []struct {
		name         string
		advance      time.Duration
		mode         string
		wantOpenErr  bool
		wantRequests int32 // made by this step
		wantOpen     bool  // after the step
	}{
		{name: "open: refused at once", wantOpenErr: true, wantOpen: true},
		{name: "still cooling down", advance: 59 * time.Second, wantOpenErr: true, wantOpen: true},
		{name: "half-open trial fails: one request, open again", advance: 2 * time.Second, wantRequests: 1, wantOpen: true},
		{name: "the cooldown starts again", advance: 30 * time.Second, wantOpenErr: true, wantOpen: true},
		{name: "half-open trial succeeds: closed", advance: 31 * time.Second, mode: "ok", wantRequests: 1},
		{name: "closed: calls go through", mode: "ok", wantRequests: 1},
	}
	for _, st := range steps {
		clock.Add(st.advance)
		if st.mode != "" {
			mode.Store(st.mode)
		}
		before := requests.Load()
		err := search()
		if got := errors.Is(err, ErrCircuitOpen); got != st.wantOpenErr {
			t.Errorf("%s: got %v, want ErrCircuitOpen %v", st.name, err, st.wantOpenErr)
		}
		if got := requests.Load() - before; got != st.wantRequests {
			t.Errorf("%s: made %d requests, want %d", st.name, got, st.wantRequests)
		}
		if got := c.BreakerOpen(); got != st.wantOpen {
			t.Errorf("%s: BreakerOpen %v, want %v", st.name, got, st.wantOpen)
		}
	}
	if err := search(); err != nil && errors.Is(err, ErrCircuitOpen) {
		t.Fatalf("closed breaker refused: %v", err)
	}

	t.Run("only one trial at a time", func(t *testing.T) {
		mode.Store("fail")
		for range 3 {
			search()
		}
		if !c.BreakerOpen() {
			t.Fatal("breaker should be open")
		}
		clock.Add(2 * time.Minute)
		mode.Store("block")
		trial := make(chan error, 1)
		go func() { trial <- search() }()
		<-arrived
		if err := search(); !errors.Is(err, ErrCircuitOpen) {
			t.Errorf("a second call during the trial got %v, want ErrCircuitOpen", err)
		}
		close(release)
		if err := <-trial; err != nil {
			t.Errorf("trial: %v", err)
		}
		if c.BreakerOpen() {
			t.Error("a successful trial should close the breaker")
		}
	})

	t.Run("answers like 404 do not open it", func(t *testing.T) {
		mode.Store("notfound")
		for range 5 {
			if err := search(); err == nil || errors.Is(err, ErrCircuitOpen) {
				t.Fatalf("got %v, want the 404", err)
			}
		}
		if c.BreakerOpen() {
			t.Error("a server that answers 404 is alive; the breaker should stay closed")
		}
	})
}

func TestLenientBundle(t *testing.T) {
	page := searchset(9, "",
		match(observation("o1")),
		match(`{"resourceType":"Observation","id":"o2","status":"final","code":"HbA1c"}`),
		match(`{"resourceType":"Condition","code":{"text":"Asthma"}}`),
		match(`{"resourceType":"Observation","id":"bad id!","status":"final"}`),
		`{"resource":"not an object","search":{"mode":"match"}}`,
		`{"resource":`+observation("o6")+`,"search":5}`,
		`{"resource":{"resourceType":"Organization","id":"org1","name":"Leeds GP"},"search":{"mode":"include"}}`,
		`{"resource":`+outcome("Some results were withheld")+`,"search":{"mode":"outcome"}}`,
		match(`{"resourceType":"Claim","id":"claim1","status":"active"}`),
		`{"search":{"mode":"match"}}`,
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeFHIR(w, http.StatusOK, page)
	}))
	defer srv.Close()
	c := mustClient(t, srv.URL, nil, ClientOptions{})
	p, err := c.Search(context.Background(), "Observation", nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range p.Resources {
		ids = append(ids, r.Type+"/"+r.ID)
	}
	if want := []string{"Observation/o1", "Organization/org1", "Claim/claim1"}; !slices.Equal(ids, want) {
		t.Errorf("kept %v, want %v", ids, want)
	}
	want := []struct{ typ, id, says string }{
		{"Observation", "o2", "entry 2: Observation/o2:"},
		{"Condition", "", "entry 3: the Condition has no id"},
		{"Observation", "bad id!", "entry 4: the Observation id"},
		{"", "", "entry 5:"},
		{"Observation", "o6", "entry 6: the entry does not read"},
		{"", "", "entry 10: the entry has no resource"},
	}
	if len(p.Rejected) != len(want) {
		t.Fatalf("got %d rejected, want %d: %+v", len(p.Rejected), len(want), p.Rejected)
	}
	for i, w := range want {
		got := p.Rejected[i]
		if got.Type != w.typ || got.ID != w.id || !strings.HasPrefix(got.Error, w.says) || len(got.Raw) == 0 {
			t.Errorf("rejected %d: got %s/%s %q (%d bytes), want %s/%s %q…", i, got.Type, got.ID, got.Error, len(got.Raw), w.typ, w.id, w.says)
		}
	}
	if !json.Valid(p.Rejected[0].Raw) || !strings.Contains(string(p.Rejected[0].Raw), `"code":"HbA1c"`) {
		t.Errorf("the rejected resource's JSON should be kept as sent: %s", p.Rejected[0].Raw)
	}
	if want := []string{"The server said: Some results were withheld"}; !slices.Equal(p.Warnings, want) {
		t.Errorf("warnings %q, want %q", p.Warnings, want)
	}

	t.Run("a body that is not a Bundle is an error", func(t *testing.T) {
		for _, body := range []string{`{"resourceType":"Patient","id":"p"}`, `{"resourceType":"Bundle","entry":{}}`, `[1,2]`} {
			page = body
			if _, err := c.Search(context.Background(), "Observation", nil); err == nil {
				t.Errorf("%s: want an error", body)
			}
		}
	})
}

func TestHistory(t *testing.T) {
	var gotPath, gotSince, gotCount string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath, gotSince, gotCount = r.URL.Path, r.URL.Query().Get("_since"), r.URL.Query().Get("_count")
		writeFHIR(w, http.StatusOK, `{"resourceType":"Bundle","type":"history","entry":[
{"fullUrl":"`+"http://"+r.Host+`/fhir/Observation/o1","resource":`+observation("o1")+`,"request":{"method":"PUT","url":"Observation/o1"},"response":{"status":"200"}},
{"request":{"method":"DELETE","url":"Observation/o3"},"response":{"status":"204","etag":"W/\"4\"","lastModified":"2026-04-30T09:00:00Z"}},
{"request":{"method":"DELETE","url":"Observation/o4/_history/7"}},
{"fullUrl":"http://x.example/fhir/Observation/o5","request":{"method":"DELETE"}},
{"request":{"method":"DELETE","url":"nonsense"}}]}`)
	}))
	defer srv.Close()
	c := mustClient(t, srv.URL+"/fhir", nil, ClientOptions{})
	p, err := c.History(context.Background(), "Observation", "2026-04-01T00:00:00Z", 500)
	if err != nil {
		t.Fatal(err)
	}
	if gotPath != "/fhir/Observation/_history" || gotSince != "2026-04-01T00:00:00Z" || gotCount != "500" {
		t.Errorf("asked for %s?_since=%s&_count=%s", gotPath, gotSince, gotCount)
	}
	if len(p.Resources) != 1 || p.Resources[0].ID != "o1" || p.Total != -1 {
		t.Errorf("resources %+v total %d", p.Resources, p.Total)
	}
	type del struct{ typ, id, version, updated string }
	var got []del
	for _, d := range p.Deleted {
		got = append(got, del{d.Type, d.ID, d.VersionID, d.LastUpdated})
		if d.Raw != nil {
			t.Errorf("a deletion has no body, got %s", d.Raw)
		}
	}
	want := []del{{"Observation", "o3", "4", "2026-04-30T09:00:00Z"}, {"Observation", "o4", "7", ""}, {"Observation", "o5", "", ""}}
	if !slices.Equal(got, want) {
		t.Errorf("deleted %+v, want %+v", got, want)
	}
	if len(p.Rejected) != 1 {
		t.Errorf("a deletion naming nothing should be rejected: %+v", p.Rejected)
	}

	if _, err := c.History(context.Background(), "", "", 0); err != nil || gotPath != "/fhir/_history" || gotSince != "" || gotCount != "" {
		t.Errorf("system history: %v at %s since %q", err, gotPath, gotSince)
	}
}

func TestNextRefusesOtherPlaces(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		writeFHIR(w, http.StatusOK, searchset(0, ""))
	}))
	defer other.Close()
	var home atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		home.Add(1)
		writeFHIR(w, http.StatusOK, searchset(0, other.URL+"/fhir/Observation?page=2"))
	}))
	defer srv.Close()
	c := mustClient(t, srv.URL+"/fhir", BearerAuth("s3cret-bearer-token-123"), ClientOptions{})
	ctx := context.Background()
	host := strings.TrimPrefix(srv.URL, "http://")
	otherHost := strings.TrimPrefix(other.URL, "http://")

	refused := []struct{ name, url string }{
		{"another host and port", other.URL + "/fhir/Observation?page=2"},
		{"scheme-relative to another port", "//" + otherHost + "/fhir/Observation"},
		{"another host name", "http://fhir.evil.example/fhir/Observation"},
		{"another scheme", "https://" + host + "/fhir/Observation"},
		{"a path that only starts like the base", "http://" + host + "/fhirevil/Observation"},
		{"a path that climbs out of the base", "http://" + host + "/fhir/../admin/Observation"},
		{"an escaped climb out of the base", "http://" + host + "/fhir/%2e%2e/admin"},
		{"user info", "http://user:pw@" + host + "/fhir/Observation"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Next(ctx, tt.url)
			if !errors.Is(err, ErrForeignURL) {
				t.Errorf("got %v, want ErrForeignURL", err)
			}
			if err != nil && strings.Contains(err.Error(), "pw@") {
				t.Errorf("the error repeats the password: %v", err)
			}
		})
	}
	if home.Load() != 0 || elsewhere.Load() != 0 {
		t.Fatalf("refused links still made requests: %d home, %d elsewhere", home.Load(), elsewhere.Load())
	}

	for _, ok := range []string{"http://" + host + "/fhir?_getpages=abc&_offset=10", "http://" + strings.ToUpper(host) + "/fhir/Observation?page=2", "/fhir/Observation?page=3"} {
		if _, err := c.Next(ctx, ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}

	t.Run("a page whose next link leads away", func(t *testing.T) {
		p, err := c.Search(ctx, "Observation", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Next(ctx, p.Next); !errors.Is(err, ErrForeignURL) {
			t.Errorf("got %v, want ErrForeignURL", err)
		}
		if elsewhere.Load() != 0 {
			t.Error("the credentials went to another server")
		}
	})
}

func TestBearerAuth(t *testing.T) {
	const token = "s3cret-bearer-token-123"
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.Path+" "+r.Header.Get("Authorization"))
		mu.Unlock()
		switch r.URL.Path {
		case "/fhir/Patient/p1":
			writeFHIR(w, http.StatusOK, `{"resourceType":"Patient","id":"p1"}`)
		case "/fhir/Observation":
			writeFHIR(w, http.StatusOK, outcome("token "+token+" may not search"))
		case "/fhir/Condition":
			writeFHIR(w, http.StatusOK, `{"resourceType":"Bundle","type":"searchset","entry":[{"search":{"mode":"outcome"},"resource":`+
				outcome("results withheld from token "+token)+`}]}`)
		default:
			writeFHIR(w, http.StatusForbidden, outcome("token "+token+" may not read "+r.URL.Path))
		}
	}))
	defer srv.Close()
	c := mustClient(t, srv.URL+"/fhir", BearerAuth(token), ClientOptions{})
	ctx := context.Background()

	if _, err := c.Read(ctx, "Patient", "p1"); err != nil {
		t.Fatal(err)
	}
	_, err := c.Read(ctx, "Patient", "p2")
	if err == nil || strings.Contains(err.Error(), token) || !strings.Contains(err.Error(), "[redacted] may not read") {
		t.Errorf("got %v; want the 403 in words without the token", err)
	}
	// An OperationOutcome in place of a search's Bundle, with a 200.
	if _, err := c.Search(ctx, "Observation", nil); err == nil || strings.Contains(err.Error(), token) || !strings.Contains(err.Error(), "[redacted] may not search") {
		t.Errorf("got %v; want the outcome in words without the token", err)
	}
	if p, err := c.Search(ctx, "Condition", nil); err != nil || len(p.Warnings) != 1 || strings.Contains(p.Warnings[0], token) {
		t.Errorf("got %q, %v; want the warning without the token", p.Warnings, err)
	}
	want := []string{"/fhir/Patient/p1 Bearer " + token, "/fhir/Patient/p2 Bearer " + token, "/fhir/Observation Bearer " + token, "/fhir/Condition Bearer " + token}
	if !slices.Equal(seen, want) {
		t.Errorf("server saw %q, want %q", seen, want)
	}
}

func TestRead(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/Observation/o1":
			writeFHIR(w, http.StatusOK, observation("o1"))
		case "/Observation/gone":
			writeFHIR(w, http.StatusGone, outcome("Observation/gone was deleted"))
		case "/Observation/odd":
			writeFHIR(w, http.StatusOK, `{"resourceType":"Observation","id":"odd","code":"HbA1c"}`)
		case "/Observation/other":
			writeFHIR(w, http.StatusOK, observation("o9"))
		default:
			t.Errorf("unexpected request %s", r.URL)
		}
	}))
	defer srv.Close()
	c := mustClient(t, srv.URL, nil, ClientOptions{})
	ctx := context.Background()
	tests := []struct {
		name, typ, id string
		wantErr       string
		wantResource  bool
		wantMalformed bool
	}{
		{name: "reads", typ: "Observation", id: "o1", wantResource: true},
		{name: "gone", typ: "Observation", id: "gone", wantErr: "410 Gone. The server said: Observation/gone was deleted"},
		{name: "wrong shape comes back with the error", typ: "Observation", id: "odd", wantErr: "does not read", wantResource: true, wantMalformed: true},
		{name: "another resource than asked", typ: "Observation", id: "other", wantErr: "sent Observation/o9 instead"},
		{name: "a bad id is refused before asking", typ: "Observation", id: "../Patient", wantErr: "is not a FHIR resource type and id"},
		{name: "a bad type is refused before asking", typ: "observation/x", id: "o1", wantErr: "is not a FHIR resource type and id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := c.Read(ctx, tt.typ, tt.id)
			if tt.wantErr == "" && err != nil {
				t.Fatal(err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("got %v, want it to say %q", err, tt.wantErr)
			}
			if got := r.ID == tt.id && len(r.Raw) > 0; got != tt.wantResource {
				t.Errorf("got resource %+v", r)
			}
			if got := errors.Is(err, ErrMalformedResource); got != tt.wantMalformed {
				t.Errorf("ErrMalformedResource %v, want %v", got, tt.wantMalformed)
			}
		})
	}
}

func TestDo(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch {
		case r.URL.Path == "/fhir/Consent" && r.Method == http.MethodPost:
			if n.Add(1) == 1 {
				writeFHIR(w, http.StatusServiceUnavailable, "")
				return
			}
			if r.Header.Get("Content-Type") != "application/fhir+json" || r.Header.Get("If-None-Exist") != "identifier=urn:x|1" ||
				r.Header.Get("Authorization") != "Bearer tok-abcdef" || string(body) != `{"resourceType":"Consent"}` {
				writeFHIR(w, http.StatusBadRequest, outcome(fmt.Sprintf("bad request %v %s", r.Header, body)))
				return
			}
			w.Header().Set("Location", "http://"+r.Host+"/fhir/Consent/c1/_history/1")
			writeFHIR(w, http.StatusCreated, `{"resourceType":"Consent","id":"c1"}`)
		case r.URL.Path == "/fhir/Consent" && r.Method == http.MethodPut && r.URL.Query().Get("identifier") == "urn:x|2":
			writeFHIR(w, http.StatusPreconditionFailed, outcome("more than one Consent matches"))
		default:
			writeFHIR(w, http.StatusNotFound, outcome(r.Method+" "+r.URL.String()))
		}
	}))
	defer srv.Close()
	var sl sleeps
	c := mustClient(t, srv.URL+"/fhir", BearerAuth("tok-abcdef"), ClientOptions{Sleep: sl.Sleep})
	ctx := context.Background()

	resp, body, err := c.Do(ctx, http.MethodPost, "Consent", []byte(`{"resourceType":"Consent"}`), http.Header{"If-None-Exist": {"identifier=urn:x|1"}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusCreated || !strings.HasSuffix(resp.Header.Get("Location"), "/fhir/Consent/c1/_history/1") || string(body) != `{"resourceType":"Consent","id":"c1"}` {
		t.Errorf("got %d %s %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	if len(sl.got()) != 1 {
		t.Errorf("the 503 should have been retried once, slept %v", sl.got())
	}

	resp, body, err = c.Do(ctx, http.MethodPut, "Consent?identifier=urn:x|2", []byte(`{}`), nil)
	var ue *UpstreamError
	if !errors.As(err, &ue) || ue.Status != http.StatusPreconditionFailed || resp == nil || resp.StatusCode != 412 || !strings.Contains(string(body), "more than one") {
		t.Errorf("got %v, %v, %s; want the 412 with its response", err, resp, body)
	}
	if !strings.Contains(err.Error(), "The server said: more than one Consent matches") {
		t.Errorf("got %q", err)
	}
	if _, _, err := c.Do(ctx, http.MethodGet, "http://elsewhere.example/fhir/Consent", nil, nil); !errors.Is(err, ErrForeignURL) {
		t.Errorf("got %v, want ErrForeignURL", err)
	}
	if _, _, err := c.Do(ctx, http.MethodGet, "../admin", nil, nil); !errors.Is(err, ErrForeignURL) {
		t.Errorf("got %v, want ErrForeignURL", err)
	}
}

func TestNewClientRefuses(t *testing.T) {
	for _, base := range []string{"", "fhir.example.org/r4", "ftp://fhir.example.org", "https://user:hunter22@fhir.example.org/r4", "https://fhir.example.org/r4?x=1",
		"https://fhir.example.org/r4?key=hunter22", "https://fhir.example.org/r4#hunter22", "https://fhir.example.org/r4?", "https://fhir.example.org:99999/r4", "https://fhir.example.org:0/r4"} {
		_, err := NewClient(base, nil, ClientOptions{})
		if err == nil {
			t.Errorf("%q: want an error", base)
			continue
		}
		if strings.Contains(err.Error(), "hunter22") {
			t.Errorf("%q: the error repeats the password: %v", base, err)
		}
	}
}

func TestCancelledCallStopsWaiting(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "10")
		writeFHIR(w, http.StatusTooManyRequests, "")
	}))
	defer srv.Close()
	c := mustClient(t, srv.URL, nil, ClientOptions{BreakerThreshold: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Search(ctx, "Observation", nil)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Errorf("got %v after %v; want the caller's deadline, at once", err, time.Since(start))
	}
	if c.BreakerOpen() {
		t.Error("a call the caller gave up on should not count against the source")
	}
}

// A hold is the source's, not one process's: a client already made leaves
// the source alone as soon as another process hears it ask to wait, and
// calls it again as soon as an operator lifts the hold.
func TestHoldsAreSharedAndCanBeLifted(t *testing.T) {
	ctx := context.Background()
	db := tempStore(t)
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		writeFHIR(w, http.StatusOK, searchset(1, "", match(observation("o1"))))
	}))
	defer srv.Close()
	src, err := db.AddSource(ctx, store.Source{Name: "gp", BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewClients(func(string) string { return "" }, ClientOptions{Holds: db}).Get(src)
	if err != nil {
		t.Fatal(err)
	}
	search := func() error {
		_, err := c.Search(ctx, "Observation", url.Values{"patient": {"p1"}})
		return err
	}
	if err := search(); err != nil || n.Load() != 1 {
		t.Fatalf("first search: %v, %d requests", err, n.Load())
	}
	until := time.Now().Add(time.Hour).UTC()
	if err := db.HoldSource(ctx, src.ID, until); err != nil { // as another process does
		t.Fatal(err)
	}
	var we *WaitError
	if err := search(); !errors.As(err, &we) || !we.Until.Equal(until) || n.Load() != 1 {
		t.Fatalf("after another process heard the source ask to wait: %v, %d requests; want it refused without asking", err, n.Load())
	}
	if held, err := db.LiftHold(ctx, "gp"); err != nil || !held.Equal(until) {
		t.Fatalf("LiftHold: %v, %v; want the hold until %v", held, err, until)
	}
	if err := search(); err != nil || n.Load() != 2 {
		t.Errorf("after the hold was lifted: %v, %d requests; want the source called", err, n.Load())
	}
}

// A hold that cannot be kept for other processes is logged, and this
// process leaves the source alone all the same.
func TestHoldNotKeptIsLoggedAndStands(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "portal.db"))
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Retry-After", "3600")
		writeFHIR(w, http.StatusTooManyRequests, "")
	}))
	defer srv.Close()
	src, err := db.AddSource(ctx, store.Source{Name: "gp", BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	var logged strings.Builder
	c, err := NewClients(func(string) string { return "" }, ClientOptions{Holds: db, Log: slog.New(slog.NewTextHandler(&logged, nil))}).Get(src)
	if err != nil {
		t.Fatal(err)
	}
	db.Close() // the hold cannot be written, nor read
	for i := 1; i <= 2; i++ {
		if _, err := c.Search(ctx, "Observation", url.Values{"patient": {"p1"}}); !errors.Is(err, ErrAskedToWait) {
			t.Errorf("search %d: %v, want the source left alone", i, err)
		}
	}
	if n.Load() != 1 {
		t.Errorf("%d requests, want 1: the hold stands in this process", n.Load())
	}
	if !strings.Contains(logged.String(), "other processes could not be told") {
		t.Errorf("log: %q, want the hold that could not be kept", logged.String())
	}
}

// gatedHolds are the store's holds with what a test needs around them: its
// writes fail while failWrites is set, and afterRead, when set, runs after
// each read of the hold, before the client has it.
type gatedHolds struct {
	*store.DB
	failWrites atomic.Bool
	afterRead  func()
}

func (g *gatedHolds) HoldSource(ctx context.Context, sourceID int64, until time.Time) error {
	if g.failWrites.Load() {
		return errors.New("database is locked")
	}
	return g.DB.HoldSource(ctx, sourceID, until)
}

func (g *gatedHolds) SourceHeldUntil(ctx context.Context, sourceID int64) (time.Time, error) {
	until, err := g.DB.SourceHeldUntil(ctx, sourceID)
	if g.afterRead != nil {
		g.afterRead()
	}
	return until, err
}

// heldSource is a store with the source "gp", a client for it whose holds go
// through g, a search through that client, and how many requests reached
// the source, whose first answer asks to wait an hour.
func heldSource(t *testing.T, clock *fakeClock) (*gatedHolds, store.Source, func() error, *atomic.Int32) {
	t.Helper()
	n := new(atomic.Int32)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("Retry-After", "3600")
			writeFHIR(w, http.StatusTooManyRequests, "")
			return
		}
		writeFHIR(w, http.StatusOK, searchset(1, "", match(observation("o1"))))
	}))
	t.Cleanup(srv.Close)
	g := &gatedHolds{DB: tempStore(t)}
	g.SetClock(clock.Now)
	src, err := g.AddSource(t.Context(), store.Source{Name: "gp", BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewClients(func(string) string { return "" }, ClientOptions{Holds: g, Now: clock.Now, MaxAttempts: 1}).Get(src)
	if err != nil {
		t.Fatal(err)
	}
	return g, src, func() error {
		_, err := c.Search(t.Context(), "Observation", url.Values{"patient": {"p1"}})
		return err
	}, n
}

// A hold this process could not keep stands only until its own end: a later
// hold heard by another process, once lifted, no longer holds it off.
func TestHoldNotKeptEndsWithItsTime(t *testing.T) {
	ctx := t.Context()
	clock := newFakeClock()
	g, src, search, n := heldSource(t, clock)
	g.failWrites.Store(true)
	if err := search(); !errors.Is(err, ErrAskedToWait) {
		t.Fatalf("first search: %v, want the source asking to wait", err)
	}
	g.failWrites.Store(false)
	clock.Add(2 * time.Hour)                                                      // the hold not kept is over
	if err := g.HoldSource(ctx, src.ID, clock.Now().Add(time.Hour)); err != nil { // as another process does
		t.Fatal(err)
	}
	if err := search(); !errors.Is(err, ErrAskedToWait) {
		t.Errorf("while another process's hold stands: %v, want it refused", err)
	}
	if _, err := g.LiftHold(ctx, "gp"); err != nil {
		t.Fatal(err)
	}
	if err := search(); err != nil || n.Load() != 2 {
		t.Errorf("after the hold was lifted: %v, %d requests; want the source called", err, n.Load())
	}
}

// A read of the hold that began before another call here heard the source
// ask to wait does not undo that hold.
func TestStaleReadOfTheHoldKeepsANewOne(t *testing.T) {
	clock := newFakeClock()
	g, _, search, n := heldSource(t, clock)
	read, proceed := make(chan struct{}), make(chan struct{})
	var reads atomic.Int32
	g.afterRead = func() {
		if reads.Add(1) == 1 {
			close(read) // the first call has read "no hold"...
			<-proceed   // ...and waits while the second hears the source ask to wait
		}
	}
	done := make(chan error, 1)
	go func() { done <- search() }()
	<-read
	if err := search(); !errors.Is(err, ErrAskedToWait) {
		t.Fatalf("second call: %v, want the source asking to wait", err)
	}
	close(proceed)
	if err := <-done; !errors.Is(err, ErrAskedToWait) || n.Load() != 1 {
		t.Errorf("the call whose read began before the hold: %v, %d requests; want it refused without asking", err, n.Load())
	}
}

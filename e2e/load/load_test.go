// Package load drives the real portal binary with many signed-in sessions
// and reports throughput, latency, errors and memory. `make load` runs it;
// `go test` on its own skips it, because it takes minutes.
package load

import (
	"bufio"
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mycarerecord/portal/e2e/passkeytest"
	"github.com/mycarerecord/portal/e2e/upstream"
	"github.com/mycarerecord/portal/store/demo"
	"github.com/mycarerecord/portal/store/fhir"
)

// settings are read from the environment so `make load` can change them.
type settings struct {
	Persons  int           // people in the generated population (LOAD_PERSONS)
	Large    int           // resources in the one large record (LOAD_LARGE)
	Sessions int           // signed-in sessions (LOAD_SESSIONS)
	Duration time.Duration // how long the session mix runs (LOAD_DURATION)
	Think    time.Duration // mean pause between a session's requests (LOAD_THINK)
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func TestLoad(t *testing.T) {
	if os.Getenv("PORTAL_LOAD") == "" {
		t.Skip("the load test runs with `make load`")
	}
	cfg := settings{
		Persons:  envInt("LOAD_PERSONS", 10000),
		Large:    envInt("LOAD_LARGE", 10000),
		Sessions: envInt("LOAD_SESSIONS", 200),
		Duration: envDuration("LOAD_DURATION", 60*time.Second),
		Think:    envDuration("LOAD_THINK", time.Second),
	}
	bin := os.Getenv("PORTAL_BIN")
	if bin == "" {
		t.Fatal("PORTAL_BIN must name the built portal binary")
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "portal.db")
	port := freePort(t)
	base := fmt.Sprintf("http://localhost:%d", port)

	// The population: one GP practice's records for cfg.Persons people, and one person with a long record.
	start := time.Now()
	people := demo.Populace(cfg.Persons)
	var files []string
	for i, src := range demo.Population(people, 1000) {
		f := filepath.Join(dir, fmt.Sprintf("population-%02d.json", i))
		if err := os.WriteFile(f, src.Bundle, 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	run(t, bin, append([]string{"import", "--db", db, "--source", "population", "--org", "Meanwood Group Practice"}, files...)...)
	large := demo.Large(cfg.Large)
	lf := filepath.Join(dir, "large.json")
	if err := os.WriteFile(lf, large.Bundle, 0o600); err != nil {
		t.Fatal(err)
	}
	run(t, bin, "import", "--db", db, "--source", "large", "--org", large.OrgName, lf)
	t.Logf("population: %d people and one record of %d resources, imported in %s", cfg.Persons, cfg.Large, time.Since(start).Round(time.Second))

	// A real FHIR server as a second source, synced in the background all the while.
	srv := upstream.Start(t, upstream.SharedBundle(t, upstream.HospitalBundle), upstream.SharedBundle(t, upstream.PractitionerBundle),
		upstream.SharedBundle(t, "Lawerence6_Baumbach677_ea8d2576-4a23-4906-c353-bfed5adb23bd.json"))
	run(t, bin, "source", "add", "lth", srv.URL, "--db", db, "--org", "Leeds Teaching Hospitals")
	var pt struct{ ID string }
	if err := json.Unmarshal(srv.Resources(t, "Patient", "")[0], &pt); err != nil {
		t.Fatal(err)
	}

	// One enrolment code for each session's person: the large record first.
	invitees := append([]demo.Person{demo.LargePerson()}, people[:cfg.Sessions-1]...)
	codes := make([]string, len(invitees))
	for i, p := range invitees {
		out := run(t, bin, "invite", "--db", db, "--nhs-number", p.NHSNumber, "--origin", base)
		m := regexp.MustCompile(`\(code (\S+),`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("invite printed no code: %s", out)
		}
		codes[i] = m[1]
	}

	server := serve(t, bin, db, port, base)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// Sessions enrol a passkey and then sign in with it, as people would, 16 at a time.
	sessions := make([]*session, len(invitees))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	var enrolErr error
	var mu sync.Mutex
	start = time.Now()
	for i := range invitees {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			s, err := signUp(base, i+1, invitees[i], codes[i])
			mu.Lock()
			defer mu.Unlock()
			if err != nil && enrolErr == nil {
				enrolErr = fmt.Errorf("%s: %w", invitees[i].Name(), err)
			}
			sessions[i] = s
		}()
	}
	wg.Wait()
	if enrolErr != nil {
		t.Fatal(enrolErr)
	}
	t.Logf("%d sessions enrolled a passkey and signed in with it in %s", len(sessions), time.Since(start).Round(100*time.Millisecond))

	// Background sync: the hospital's patient is synced in full every few seconds while the sessions run.
	syncs := 0
	syncDone := make(chan struct{})
	go func() {
		defer close(syncDone)
		for ctx.Err() == nil {
			cmd := exec.CommandContext(ctx, bin, "sync", "--db", db, "--source", "lth", "--identifier", "https://github.com/synthetichealth/synthea|"+pt.ID, "--full")
			if out, err := cmd.CombinedOutput(); err != nil && ctx.Err() == nil {
				t.Errorf("background sync: %v\n%s", err, out)
				return
			}
			syncs++
			select { // a sync of this person every few seconds, as a region's worker would keep up
			case <-ctx.Done():
			case <-time.After(3 * time.Second):
			}
		}
	}()

	targets := discover(t, sessions[0])
	t.Logf("mix: %s", strings.Join(targets.names(), ", "))

	// The session mix: every session makes requests with a pause between them.
	rec := newRecorder()
	mixEnd := time.Now().Add(cfg.Duration)
	for i, s := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(i), 42))
			time.Sleep(time.Duration(r.Int64N(int64(cfg.Think))))
			for time.Now().Before(mixEnd) {
				kind, path := targets.pick(r)
				if kind == "trend" && len(s.trends) > 0 {
					path = s.trends[r.IntN(len(s.trends))]
				} else if kind == "trend" {
					path = "/record/results"
				}
				rec.do(s, kind, path)
				time.Sleep(time.Duration(r.ExpFloat64() * float64(cfg.Think)))
			}
		}()
	}
	wg.Wait()
	mix := rec.report(cfg.Duration)

	// Throughput: the summary page against a static file, each with 16 requests in flight.
	tput := func(path string) float64 {
		r := newRecorder()
		end := time.Now().Add(5 * time.Second)
		var wg sync.WaitGroup
		for w := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := sessions[w%len(sessions)]
				for time.Now().Before(end) {
					r.do(s, "x", path)
				}
			}()
		}
		wg.Wait()
		return float64(r.count()) / 5
	}
	static := tput(targets.static)
	summary := tput("/record")
	cancel()
	<-syncDone

	rss := server.peakRSS()
	fmt.Printf("\nLoad: %d people, one record of %d resources, %d sessions (mean pause %s), %s, background syncs of a %s record: %d\n",
		cfg.Persons, cfg.Large, cfg.Sessions, cfg.Think, cfg.Duration, "Synthea", syncs)
	fmt.Print(mix.String())
	fmt.Printf("throughput with 16 in flight: summary page %.0f req/s, static file %.0f req/s, ratio %.2f\n", summary, static, summary/static)
	fmt.Printf("server peak memory (VmHWM): %.0f MB\n", float64(rss)/(1<<20))
	if mix.errors > 0 {
		t.Errorf("%d requests failed; first: %s", mix.errors, mix.firstError)
	}
	if p99 := mix.all.quantile(0.99); p99 > 50*time.Millisecond {
		t.Errorf("p99 latency %s, target under 50ms", p99)
	}
	if rss > 200<<20 {
		t.Errorf("peak memory %d MB, target under 200 MB", rss>>20)
	}
}

// run runs the portal binary and returns its output, failing the test if it fails.
func run(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("portal %s: %v\n%s", args[0], err, out)
	}
	return string(out)
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// server is the running portal process.
type server struct{ pid int }

// peakRSS is the process's peak resident memory in bytes, from /proc.
func (s server) peakRSS() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

func serve(t *testing.T, bin, db string, port int, base string) server {
	cmd := exec.Command(bin, "serve", "--db", db, "--addr", fmt.Sprintf("127.0.0.1:%d", port), "--origin", base)
	key := make([]byte, 32)
	_, _ = crand.Read(key)
	cmd.Env = append(os.Environ(), "PORTAL_SESSION_KEY="+hex.EncodeToString(key))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("portal stderr:\n%s", stderr.String())
		}
	})
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "My Care Record is serving on ") {
			go func() { _, _ = io.Copy(io.Discard, stdout) }()
			return server{pid: cmd.Process.Pid}
		}
	}
	t.Fatalf("portal did not start: %s", stderr.String())
	return server{}
}

// session is a signed-in load-test session and its person's result trend pages.
type session struct {
	*passkeytest.Session
	trends []string
}

// signUp enrols a passkey for the person with their code, then signs in
// afresh with that passkey in a new session, as people do.
func signUp(base string, n int, p demo.Person, code string) (*session, error) {
	// Each session comes from its own loopback address, as each person has their own.
	ip := net.IPv4(127, 1, byte(n>>8), byte(n))
	key, err := passkeytest.NewSessionFrom(base, ip).Enrol(code, p.BirthDate)
	if err != nil {
		return nil, err
	}
	s := &session{Session: passkeytest.NewSessionFrom(base, ip)}
	if err := s.SignIn(key); err != nil {
		return nil, err
	}
	status, b, err := s.Get("/record/results")
	if err != nil || status != http.StatusOK {
		return nil, fmt.Errorf("results: %d %v", status, err)
	}
	for _, l := range trendLink.FindAllSubmatch(b, -1) {
		s.trends = append(s.trends, string(l[1]))
	}
	return s, nil
}

// mix is what a session asks for, and how often.
type mix struct {
	kinds   []string
	weights []int
	paths   map[string][]string
	static  string
}

func (m mix) names() []string {
	var out []string
	for i, k := range m.kinds {
		out = append(out, fmt.Sprintf("%s %d%% (%d pages)", k, m.weights[i], len(m.paths[k])))
	}
	return out
}

func (m mix) pick(r *rand.Rand) (string, string) {
	n := r.IntN(100)
	for i, w := range m.weights {
		if n < w {
			ps := m.paths[m.kinds[i]]
			return m.kinds[i], ps[r.IntN(len(ps))]
		}
		n -= w
	}
	ps := m.paths[m.kinds[0]]
	return m.kinds[0], ps[0]
}

var (
	trendLink  = regexp.MustCompile(`href="(/record/results/[^"?#]+)"`)
	staticLink = regexp.MustCompile(`src="(/(?:static|assets)/[^"]+\.js)"`)
)

// discover finds the pages of the mix from the large record's own pages.
func discover(t *testing.T, s *session) mix {
	get := func(path string) []byte {
		status, b, err := s.Get(path)
		if err != nil || status != http.StatusOK {
			t.Fatalf("GET %s: %d %v", path, status, err)
		}
		return b
	}
	m := mix{paths: map[string][]string{"summary": {"/record"}}}
	for _, sec := range fhir.Sections() {
		m.paths["section"] = append(m.paths["section"], "/record/"+sec.Slug)
	}
	m.paths["trend"] = []string{"/record/results/"} // replaced by one of the session's own tests
	m.paths["search"] = []string{"/record/search?q=metformin", "/record/search?q=blood+pressure", "/record/search?q=penicillin", "/record/search?q=flu"}
	if status, _, _ := s.Get("/choices"); status == http.StatusOK {
		m.paths["choices"] = []string{"/choices", "/choices/history"}
	}
	sl := staticLink.FindSubmatch(get("/record")) // the portal's own script: a small static file
	if sl == nil {
		t.Fatal("no script on the summary page")
	}
	m.static = string(sl[1])
	for _, k := range []struct {
		name   string
		weight int
	}{{"summary", 30}, {"section", 30}, {"trend", 15}, {"search", 15}, {"choices", 10}} {
		if len(m.paths[k.name]) > 0 {
			m.kinds = append(m.kinds, k.name)
			m.weights = append(m.weights, k.weight)
		}
	}
	return m
}

// recorder keeps every request's latency by kind.
type recorder struct {
	mu         sync.Mutex
	byKind     map[string]*latencies
	errors     int
	firstError string
}

type latencies []time.Duration

func (l latencies) quantile(q float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	s := slices.Clone(l)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

func newRecorder() *recorder { return &recorder{byKind: map[string]*latencies{}} }

func (r *recorder) do(s *session, kind, path string) {
	start := time.Now()
	status, _, err := s.Get(path)
	d := time.Since(start)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil || status != http.StatusOK {
		r.errors++
		if r.firstError == "" {
			r.firstError = fmt.Sprintf("GET %s: %d %v", path, status, err)
		}
		return
	}
	l := r.byKind[kind]
	if l == nil {
		l = &latencies{}
		r.byKind[kind] = l
	}
	*l = append(*l, d)
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, l := range r.byKind {
		n += len(*l)
	}
	return n
}

type mixReport struct {
	kinds      []string
	byKind     map[string]latencies
	all        latencies
	errors     int
	firstError string
	seconds    float64
}

func (r *recorder) report(d time.Duration) mixReport {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := mixReport{byKind: map[string]latencies{}, errors: r.errors, firstError: r.firstError, seconds: d.Seconds()}
	for k, l := range r.byKind {
		out.kinds = append(out.kinds, k)
		out.byKind[k] = *l
		out.all = append(out.all, *l...)
	}
	slices.Sort(out.kinds)
	return out
}

func (m mixReport) String() string {
	var b strings.Builder
	line := func(name string, l latencies) {
		fmt.Fprintf(&b, "  %-8s %7d requests %7.1f req/s  p50 %6.1f ms  p95 %6.1f ms  p99 %6.1f ms\n", name, len(l), float64(len(l))/m.seconds,
			ms(l.quantile(0.5)), ms(l.quantile(0.95)), ms(l.quantile(0.99)))
	}
	for _, k := range m.kinds {
		line(k, m.byKind[k])
	}
	line("all", m.all)
	fmt.Fprintf(&b, "  errors: %d\n", m.errors)
	return b.String()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

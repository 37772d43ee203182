package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/mycarerecord/portal/e2e/passkeytest"
)

// slowUpstream is a FHIR server that knows Jane and gives her Observations one
// a page, slowly, for ever: a sync of her record is always mid-search.
type slowUpstream struct {
	pages atomic.Int64 // Observation pages served
}

func (u *slowUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/fhir+json")
	typ := strings.TrimPrefix(r.URL.Path, "/fhir/")
	bundle := map[string]any{"resourceType": "Bundle", "type": "searchset"}
	switch typ {
	case "Patient":
		bundle["entry"] = []any{map[string]any{"resource": map[string]any{
			"resourceType": "Patient", "id": "up-jane", "birthDate": "1957-03-14",
			"identifier": []any{map[string]any{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765919"}},
			"name":       []any{map[string]any{"use": "official", "given": []string{"Jane"}, "family": "Example"}},
		}}}
	case "Observation":
		if r.URL.Query().Has("_elements") || r.URL.Query().Has("_id") {
			break
		}
		n, _ := strconv.Atoi(r.URL.Query().Get("page"))
		if n == 0 {
			n = 1
		}
		select {
		case <-time.After(150 * time.Millisecond):
		case <-r.Context().Done():
			return
		}
		bundle["entry"] = []any{map[string]any{"resource": map[string]any{
			"resourceType": "Observation", "id": fmt.Sprintf("obs-%d", n), "status": "final",
			"meta":              map[string]any{"lastUpdated": fmt.Sprintf("2025-01-01T00:00:%02d.%03dZ", n/1000%60, n%1000)},
			"subject":           map[string]any{"reference": "Patient/up-jane"},
			"code":              map[string]any{"text": fmt.Sprintf("Blood pressure reading %d", n)},
			"valueQuantity":     map[string]any{"value": 120 + n%20, "unit": "mmHg"},
			"effectiveDateTime": "2025-01-01",
		}}}
		bundle["link"] = []any{map[string]any{"relation": "next", "url": fmt.Sprintf("http://%s/fhir/Observation?patient=up-jane&page=%d", r.Host, n+1)}}
		u.pages.Add(1)
	}
	_ = json.NewEncoder(w).Encode(bundle)
}

// TestGracefulShutdown starts the real binary with a sync in progress and a
// request half sent, then sends SIGTERM as a service manager would: the
// request is answered in full, the process exits 0, the database passes its
// integrity check, the sync stopped at a page boundary with its checkpoint
// (every stored page counted, nothing half-written), and it is not left
// marked as running.
func TestGracefulShutdown(t *testing.T) {
	upstream := &slowUpstream{}
	ups := &http.Server{Handler: upstream}
	uln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go ups.Serve(uln)
	t.Cleanup(func() { ups.Close() })

	dir := t.TempDir()
	db := filepath.Join(dir, "portal.db")
	if out, err := exec.Command(suite.portalBin, "source", "add", "slow", "http://"+uln.Addr().String()+"/fhir", "--org", "Slow Hospital", "--db", db).CombinedOutput(); err != nil {
		t.Fatalf("source add: %v\n%s", err, out)
	}
	port := freePort(t)
	base := fmt.Sprintf("http://localhost:%d", port)
	cmd := exec.Command(suite.portalBin, "serve", "--db", db, "--addr", fmt.Sprintf("127.0.0.1:%d", port), "--origin", base, "--demo")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TMPDIR="+dir)
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var waitErr error
	invites := map[string]invite{}
	serving := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := inviteLine.FindStringSubmatch(sc.Text()); m != nil {
				born, _ := time.Parse("2 January 2006", m[3])
				invites[m[1]] = invite{Name: m[1], BirthDate: born, Code: m[5]}
			}
			if strings.HasPrefix(sc.Text(), servingPrefix) {
				close(serving)
			}
		}
		waitErr = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			_ = cmd.Process.Kill() // only the process this test started
			<-exited
		}
		if t.Failed() {
			t.Logf("portal stderr:\n%s", stderr.String())
		}
	})
	select {
	case <-serving:
	case <-exited:
		t.Fatalf("portal exited early: %v\n%s", waitErr, stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatal("portal did not start within 60s")
	}
	waitHealthy(t, base, exited)
	var jane, amir invite
	for name, inv := range invites {
		switch {
		case strings.Contains(name, "Jane Example"):
			jane = inv
		case strings.Contains(name, "Amir"):
			amir = inv
		}
	}
	if jane.Code == "" || amir.Code == "" {
		t.Fatalf("demo invitations for Jane and Amir not printed: %v", invites)
	}

	// Jane enrols with a passkey; that queues a sync of her record from the slow source.
	if _, err := passkeytest.NewSession(base).Enrol(jane.Code, jane.BirthDate.Format("2006-01-02")); err != nil {
		t.Fatalf("enrol Jane: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for upstream.pages.Load() < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("the sync did not start: %d pages served", upstream.pages.Load())
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Amir's enrolment form, sent by hand over a raw connection: headers and half the body.
	cookie, csrf := anonymousSession(t, base)
	body := url.Values{"csrf": {csrf}, "code": {amir.Code}, "day": {strconv.Itoa(amir.BirthDate.Day())},
		"month": {strconv.Itoa(int(amir.BirthDate.Month()))}, "year": {strconv.Itoa(amir.BirthDate.Year())}}.Encode()
	conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /enrol HTTP/1.1\r\nHost: localhost:%d\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\nCookie: %s\r\n\r\n%s",
		port, len(body), cookie, body[:len(body)/2])
	time.Sleep(200 * time.Millisecond) // the server is now inside the request, waiting for the rest

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	select {
	case <-exited:
		t.Fatalf("the portal exited with a request in flight: %v", waitErr)
	default:
	}
	if _, err := io.WriteString(conn, body[len(body)/2:]); err != nil {
		t.Fatalf("finish the request: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("the in-flight request got no answer: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/enrol/passkey" {
		t.Fatalf("in-flight enrolment: %d to %q, want 303 to /enrol/passkey", resp.StatusCode, resp.Header.Get("Location"))
	}
	select {
	case <-exited:
	case <-time.After(20 * time.Second):
		t.Fatal("the portal did not exit within 20s of SIGTERM")
	}
	if waitErr != nil {
		t.Fatalf("exit: %v (want status 0)\n%s", waitErr, stderr.String())
	}
	pagesServed := upstream.pages.Load()

	raw := intactDB(t, db)
	var used int
	if err := raw.QueryRow(`SELECT count(*) FROM enrolment_codes c JOIN sessions s ON s.enrol_person_id = c.person_id WHERE c.used_at IS NOT NULL`).Scan(&used); err != nil || used == 0 {
		t.Errorf("the enrolment answered during shutdown is not stored (%d, %v)", used, err)
	}
	var nextURL, running string
	var stored int
	err = raw.QueryRow(`SELECT c.next_url, s.running_since, (SELECT count(*) FROM resources r WHERE r.source_id = c.source_id AND r.type = 'Observation')
		FROM sync_checkpoints c JOIN sync_status s USING (source_id, person_id) JOIN sources src ON src.id = c.source_id
		WHERE src.name = 'slow' AND c.resource_type = 'Observation'`).Scan(&nextURL, &running, &stored)
	if err != nil {
		t.Fatalf("the sync left no checkpoint: %v", err)
	}
	m := regexp.MustCompile(`page=(\d+)`).FindStringSubmatch(nextURL)
	if m == nil {
		t.Fatalf("checkpoint next URL %q is not mid-search", nextURL)
	}
	next, _ := strconv.Atoi(m[1])
	if stored != next-1 {
		t.Errorf("%d Observations stored but the checkpoint resumes at page %d: data and checkpoint disagree", stored, next)
	}
	if running != "" {
		t.Errorf("the sync is still marked running since %s", running)
	}
	if int64(stored) > pagesServed || int64(stored) < pagesServed-2 {
		t.Errorf("%d pages served, %d stored: more than the page in flight was lost", pagesServed, stored)
	}
	t.Logf("SIGTERM with a request in flight and a sync at page %d: request answered 303, exit 0, integrity ok, checkpoint at page %d with %d pages stored",
		pagesServed, next, stored)
}

var csrfMeta = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)"`)

// anonymousSession opens the enrolment page as a new visitor and returns the
// session cookie (name=value) and the page's CSRF token.
func anonymousSession(t *testing.T, base string) (cookie, csrf string) {
	t.Helper()
	resp, err := http.Get(base + "/enrol")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	for _, c := range resp.Cookies() {
		if c.Name == "mcr_session" {
			cookie = c.Name + "=" + c.Value
		}
	}
	m := csrfMeta.FindSubmatch(page)
	if cookie == "" || m == nil {
		t.Fatalf("GET /enrol: %d, no session cookie or CSRF token", resp.StatusCode)
	}
	return cookie, string(m[1])
}

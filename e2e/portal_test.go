package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// invite is one demo enrolment line that `portal serve --demo` prints.
type invite struct {
	Name      string    // "Mrs Jane Example"
	NHSNumber string    // "943 476 5919", empty when the person has none
	BirthDate time.Time // at midnight UTC
	URL       string    // the enrolment link
	Code      string    // the one-time code in the link
}

// portal is one running portal with its own database.
type portal struct {
	BaseURL string // http://localhost:PORT, the origin passkeys are bound to
	Invites []invite
	DB      string // its SQLite file, for the portal's own commands while it runs
	Secret  []byte // its PORTAL_SESSION_KEY, so a test can read a tab's session id from its cookie (sessionIDOf)
	// Stop interrupts the portal, as an operator would, and waits for it to
	// exit; it runs at the end of the test if the test has not called it.
	Stop func()
}

// Enrol http://localhost:PORT/enrol?... lines, e.g.
// Enrol Mrs Jane Example (NHS 943 476 5919, born 14 March 1957): http://localhost:1234/enrol?code=ABCD-EFGH-JKMN (code ABCD-EFGH-JKMN, valid until ...)
var inviteLine = regexp.MustCompile(`^Enrol (.+?) \((?:NHS ([0-9 ]+), )?born ([0-9]{1,2} [A-Za-z]+ [0-9]{4})\): (\S+) \(code (\S+), valid until .+\)$`)

const servingPrefix = "My Care Record is serving on "

// lockedBuffer collects a process's stderr while the test reads it.
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

// startPortal runs the built binary with demo data on a free port and a fresh
// database, waits until it is healthy, and stops it when the test ends. The
// server's output is logged when the test fails.
func startPortal(t *testing.T) *portal {
	t.Helper()
	return startPortalIn(t, t.TempDir())
}

// startPortalIn is startPortal with the database in dir, and any more
// arguments for `portal serve`.
func startPortalIn(t *testing.T, dir string, args ...string) *portal {
	t.Helper()
	return startPortalWith(t, dir, true, args...)
}

// startPortalWith is startPortalIn, with the FHIR server source that does
// not answer only when deadSource: without it the portal is the demo as
// `make run` serves it.
func startPortalWith(t *testing.T, dir string, deadSource bool, args ...string) *portal {
	t.Helper()
	port := freePort(t)
	base := fmt.Sprintf("http://localhost:%d", port)

	// A FHIR server source that does not answer: signing in queues a background
	// sync that fails, so every record page shows its "not up to date" warning
	// (or "Updating…" while it retries), and axe checks that markup too.
	db := filepath.Join(dir, "portal.db")
	if deadSource {
		if out, err := exec.Command(suite.portalBin, "source", "add", "community", "http://127.0.0.1:1/fhir",
			"--org", "Leeds Community Healthcare", "--db", db).CombinedOutput(); err != nil {
			t.Fatalf("source add: %v\n%s", err, out)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, suite.portalBin, append([]string{"serve",
		"--db", db,
		"--addr", fmt.Sprintf("127.0.0.1:%d", port),
		"--origin", base,
		"--demo"}, args...)...)
	cmd.Dir = dir
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		t.Fatal(err)
	}
	cmd.Env = append(os.Environ(), "TMPDIR="+dir, "PORTAL_SESSION_KEY="+hex.EncodeToString(secret))
	// Stop it as an operator would, so that graceful shutdown runs too.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	// An io.Pipe rather than StdoutPipe: Wait then waits for the copy, and
	// the reader below ends when the writer is closed after Wait.
	stdout, stdoutW := io.Pipe()
	cmd.Stdout = stdoutW
	var stdoutLog lockedBuffer
	if err := cmd.Start(); err != nil {
		cancel()
		stdoutW.Close()
		t.Fatalf("start portal: %v", err)
	}
	// exited closes when the process has ended; waitErr is then its exit error.
	exited := make(chan struct{})
	var waitErr error
	lines := make(chan string, 256)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			fmt.Fprintln(&stdoutLog, sc.Text())
			select {
			case lines <- sc.Text():
			default: // nobody reads any more once the server is up
			}
		}
		close(lines)
	}()
	go func() {
		waitErr = cmd.Wait()
		stdoutW.Close()
		close(exited)
	}()

	stop := sync.OnceFunc(func() {
		cancel()
		select {
		case <-exited:
			// After the interrupt, exec reports a clean exit as context.Canceled.
			if waitErr != nil && !errors.Is(waitErr, context.Canceled) {
				// A clean shutdown exits 0; anything else is worth a look.
				t.Logf("portal exited: %v", waitErr)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("portal did not stop within 15s of an interrupt")
		}
	})
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("portal stdout:\n%s", stdoutLog.String())
			t.Logf("portal stderr:\n%s", stderr.String())
		}
	})

	p := &portal{BaseURL: base, DB: db, Secret: secret, Stop: stop}
	deadline := time.After(60 * time.Second)
	serving := false
	for !serving {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("portal closed its output before it said it was serving; stderr:\n%s", stderr.String())
			}
			if m := inviteLine.FindStringSubmatch(line); m != nil {
				born, err := time.Parse("2 January 2006", m[3])
				if err != nil {
					t.Fatalf("enrolment line %q: birth date: %v", line, err)
				}
				p.Invites = append(p.Invites, invite{Name: m[1], NHSNumber: m[2], BirthDate: born, URL: m[4], Code: m[5]})
			} else if strings.HasPrefix(line, "Enrol ") {
				t.Errorf("enrolment line not in the expected format: %q", line)
			}
			if strings.HasPrefix(line, servingPrefix) {
				if got := strings.TrimSpace(strings.TrimPrefix(line, servingPrefix)); got != base {
					t.Errorf("portal says it serves on %q, want %q", got, base)
				}
				serving = true
			}
		case <-exited:
			t.Fatalf("portal exited early (%v); stderr:\n%s", waitErr, stderr.String())
		case <-deadline:
			t.Fatalf("portal did not say it was serving within 60s; stdout:\n%s\nstderr:\n%s", stdoutLog.String(), stderr.String())
		}
	}
	if len(p.Invites) == 0 {
		t.Fatalf("portal printed no demo enrolment links; stdout:\n%s", stdoutLog.String())
	}
	for _, inv := range p.Invites {
		if !strings.HasPrefix(inv.URL, base+"/enrol?code=") {
			t.Errorf("enrolment link %q does not start with %s/enrol?code=", inv.URL, base)
		}
	}
	waitHealthy(t, base, exited)
	// Health records are for the portal's user alone: no file it made may be
	// read by another user of the machine.
	for _, name := range []string{db, db + "-wal", db + "-shm", db + "-access-spool"} {
		if fi, err := os.Stat(name); err != nil {
			if !strings.HasSuffix(name, "-access-spool") || !os.IsNotExist(err) { // the spool may be elsewhere (--access-spool)
				t.Errorf("%v", err)
			}
		} else if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v: others may read it", filepath.Base(name), fi.Mode().Perm())
		}
	}
	return p
}

// waitHealthy polls /healthz until it answers 200.
func waitHealthy(t *testing.T, base string, exited <-chan struct{}) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(20 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		resp, err := client.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-exited:
			t.Fatalf("portal exited while waiting for /healthz")
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Fatalf("GET /healthz did not answer 200 within 20s; last: %s", last)
}

// freePort asks the kernel for a port nobody is using now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

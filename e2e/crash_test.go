package e2e

import (
	"bufio"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mycarerecord/portal/e2e/passkeytest"
	"github.com/mycarerecord/portal/e2e/upstream"
)

// crashIterations is how many times TestCrashRecovery kills the portal (CRASH_ITERATIONS).
func crashIterations() int {
	if n, err := strconv.Atoi(os.Getenv("CRASH_ITERATIONS")); err == nil && n > 0 {
		return n
	}
	return 50
}

// TestCrashRecovery kills the real portal with SIGKILL at random moments,
// again and again, while a person changes their choices and invites carers
// and a sync from a real FHIR server runs beside it. After every kill the
// database passes SQLite's integrity check; at the end every change the
// person saw confirmed is there, the outbox has delivered each choice to the
// upstream server exactly once, and the access log's hash chain holds.
func TestCrashRecovery(t *testing.T) {
	const nhs = "9434765919" // Mrs Jane Example in the demo data
	srv := upstream.Start(t, upstream.SharedBundle(t, upstream.HospitalBundle), upstream.SharedBundle(t, upstream.PractitionerBundle),
		upstream.SharedBundle(t, largestBundle))
	// Jane is known to the regional record too, so her choices are sent there.
	srv.Load(t, []byte(`{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient","id":"jane-yh",
"identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"`+nhs+`"}],"name":[{"given":["Jane"],"family":"Example"}],"birthDate":"1957-03-14"},
"request":{"method":"PUT","url":"Patient/jane-yh"}}]}`))
	var synthea struct{ ID string }
	for _, raw := range srv.Resources(t, "Patient", "") {
		if err := json.Unmarshal(raw, &synthea); err != nil {
			t.Fatal(err)
		}
		if synthea.ID != "jane-yh" {
			break
		}
	}

	dir := t.TempDir()
	db := filepath.Join(dir, "portal.db")
	if out, err := portalCmd(t, "source", "add", "yh", srv.URL, "--db", db, "--org", "Yorkshire and Humber Care Record"); err != nil {
		t.Fatalf("source add: %v\n%s", err, out)
	}
	key := make([]byte, 32)
	_, _ = crand.Read(key)
	c := &crashPortal{t: t, db: db, port: freePort(t), sessionKey: hex.EncodeToString(key)}
	base := c.base()

	// First start: the demo data, Jane's passkey, and her link to the regional record.
	invites := c.start(true)
	var jane invite
	for _, inv := range invites {
		if strings.ReplaceAll(inv.NHSNumber, " ", "") == nhs {
			jane = inv
		}
	}
	passkey, err := passkeytest.NewSession(base).Enrol(jane.Code, jane.BirthDate.Format("2006-01-02"))
	if err != nil {
		t.Fatal(err)
	}
	c.kill()
	if out, err := portalCmd(t, "sync", "--db", db, "--source", "yh", "--nhs-number", nhs); err != nil {
		t.Fatalf("link Jane to the regional record: %v\n%s", err, out)
	}

	rng := rand.New(rand.NewPCG(11, 12))
	var mu sync.Mutex
	var confirmedChoices []int64 // decision ids the person was shown as done
	var confirmedInvites []string
	killsDuringSync := 0
	for i := range crashIterations() {
		c.start(false)
		s := passkeytest.NewSession(base)
		if err := s.SignIn(passkey); err != nil {
			t.Fatalf("iteration %d: sign in after restart: %v", i, err)
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		// Choices: research yes, no, yes, … each through "Check your change" and confirm.
		wg.Add(1)
		go func() {
			defer wg.Done()
			cs := passkeytest.NewSession(base)
			if cs.SignIn(passkey) != nil {
				return
			}
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				answer := []string{"yes", "no"}[(i+n)%2]
				if status, _, err := cs.PostForm("/choices/research", url.Values{"for": {"self"}, "answer": {answer}}); err != nil || status != http.StatusOK {
					return
				}
				status, loc, err := cs.PostFormLocation("/choices/research/confirm", url.Values{"for": {"self"}, "answer": {answer}})
				if err != nil || status != http.StatusSeeOther {
					return
				}
				id, err := strconv.ParseInt(strings.TrimPrefix(loc, "/choices/done/"), 10, 64)
				if err != nil {
					t.Errorf("confirmation at %q", loc)
					return
				}
				mu.Lock()
				confirmedChoices = append(confirmedChoices, id)
				mu.Unlock()
			}
		}()
		// Carers: invitations, each shown with its code once saved.
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("Carer %d-%d", i, n)
				status, body, err := s.PostForm("/carers/invite/confirm", url.Values{"name": {name}, "relationship": {"friend"}, "scope": {"medicines"}, "ends": {"12m"}})
				if err != nil || status != http.StatusOK || !strings.Contains(string(body), "Invitation for") {
					return
				}
				mu.Lock()
				confirmedInvites = append(confirmedInvites, name)
				mu.Unlock()
			}
		}()
		// A sync of a long record from the same server, in its own process.
		sync := exec.Command(suite.portalBin, "sync", "--db", db, "--source", "yh", "--identifier", syntheaSystem+"|"+synthea.ID, "--full")
		if err := sync.Start(); err != nil {
			t.Fatal(err)
		}
		syncDone := make(chan error, 1)
		go func() { syncDone <- sync.Wait() }()

		time.Sleep(time.Duration(150+rng.IntN(900)) * time.Millisecond)
		c.kill()
		select {
		case <-syncDone:
		default:
			_ = sync.Process.Kill()
			<-syncDone
			killsDuringSync++
		}
		close(stop)
		wg.Wait()
		intactDB(t, db).Close()
	}
	if len(confirmedChoices) == 0 || len(confirmedInvites) == 0 || killsDuringSync == 0 {
		t.Fatalf("%d choices and %d invitations confirmed, %d kills during a sync: the test proved nothing", len(confirmedChoices), len(confirmedInvites), killsDuringSync)
	}

	// A last start, left running until the outbox is empty.
	c.start(false)
	conn := intactDB(t, db)
	waitFor(t, 90*time.Second, "the outbox to deliver every choice", func() bool {
		var waiting int
		if err := conn.QueryRow(`SELECT count(*) FROM consent_outbox WHERE status != 'sent'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		return waiting == 0
	})

	for _, id := range confirmedChoices {
		var n int
		if err := conn.QueryRow(`SELECT count(*) FROM consent_decisions WHERE id = ?`, id).Scan(&n); err != nil || n != 1 {
			t.Errorf("confirmed choice %d is not in the history (%v)", id, err)
		}
	}
	for _, name := range confirmedInvites {
		var n int
		if err := conn.QueryRow(`SELECT count(*) FROM carer_grants WHERE carer_name = ?`, name).Scan(&n); err != nil || n != 1 {
			t.Errorf("confirmed invitation for %s: %d rows (%v)", name, n, err)
		}
	}
	// Each decision reached upstream exactly once: the regional record keeps one
	// Consent for Jane, updated by each decision, so every version in its history
	// is one decision, and no decision is there twice.
	rows, err := conn.Query(`SELECT d.identifier, o.upstream_id FROM consent_decisions d JOIN consent_outbox o ON o.decision_id = d.id`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	consents := map[string]bool{}
	for rows.Next() {
		var id, upstreamID string
		if err := rows.Scan(&id, &upstreamID); err != nil {
			t.Fatal(err)
		}
		want[id] = true
		consents[upstreamID] = true
	}
	rows.Close()
	count := map[string]int{}
	for consent := range consents {
		for next := "Consent/" + consent + "/_history?_count=100"; next != ""; {
			b := srv.Search(t, next)
			for _, e := range b.Entry {
				var c struct {
					Identifier []struct{ System, Value string }
				}
				if err := json.Unmarshal(e.Resource, &c); err != nil {
					t.Fatal(err)
				}
				for _, id := range c.Identifier {
					count[id.Value]++
				}
			}
			next = b.NextLink()
		}
	}
	for id := range want {
		if count[id] != 1 {
			t.Errorf("decision %s is upstream %d times, want exactly once", id, count[id])
		}
	}
	ids := want
	if out, err := portalCmd(t, "audit", "verify", "--db", db); err != nil {
		t.Fatalf("audit verify after %d kills: %v\n%s", crashIterations(), err, out)
	}
	t.Logf("%d kills (%d during a sync): %d confirmed choices, %d confirmed invitations, %d Consents delivered once each; integrity and audit chain intact",
		crashIterations(), killsDuringSync, len(confirmedChoices), len(confirmedInvites), len(ids))
}

// crashPortal is a portal process started and killed again and again on one
// database and port, with one session key, so passkeys and cookies outlive it.
type crashPortal struct {
	t          *testing.T
	db         string
	port       int
	sessionKey string
	cmd        *exec.Cmd
}

func (c *crashPortal) base() string { return fmt.Sprintf("http://localhost:%d", c.port) }

// start runs the portal and waits until it answers; with demo it loads the
// demo data and returns the enrolment links it prints.
func (c *crashPortal) start(demo bool) []invite {
	t := c.t
	t.Helper()
	args := []string{"serve", "--db", c.db, "--addr", fmt.Sprintf("127.0.0.1:%d", c.port), "--origin", c.base()}
	if demo {
		args = append(args, "--demo")
	}
	c.cmd = exec.Command(suite.portalBin, args...)
	c.cmd.Env = append(os.Environ(), "PORTAL_SESSION_KEY="+c.sessionKey)
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c.cmd.Stderr = io.Discard
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.kill)
	var invites []invite
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if m := inviteLine.FindStringSubmatch(sc.Text()); m != nil {
			born, _ := time.Parse("2 January 2006", m[3])
			invites = append(invites, invite{Name: m[1], NHSNumber: m[2], BirthDate: born, URL: m[4], Code: m[5]})
		}
		if strings.HasPrefix(sc.Text(), servingPrefix) {
			go func() { _, _ = io.Copy(io.Discard, stdout) }()
			waitHealthy(t, c.base(), nil)
			return invites
		}
	}
	t.Fatalf("portal did not start")
	return nil
}

// kill ends the portal with SIGKILL: no shutdown, no last checkpoint.
func (c *crashPortal) kill() {
	if c.cmd == nil || c.cmd.Process == nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	_ = c.cmd.Wait()
	c.cmd = nil
}

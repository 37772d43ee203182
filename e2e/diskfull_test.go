package e2e

import (
	"database/sql"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mycarerecord/portal/e2e/passkeytest"
)

// TestDiskFull runs the portal on a small disk of its own (a tmpfs, so the
// test needs the right to mount one, as root in CI has) and fills it while
// a person is signed in: their record still opens, every look is still on
// the access log, signing in still works, a change is refused with a page
// that says why, and once space returns changes are accepted again. Nothing
// stored is lost and the database stays whole.
func TestDiskFull(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=64m"); err != nil {
		if errors.Is(err, syscall.EPERM) {
			t.Skip("mounting a small disk for this test needs the right to mount (root, outside a container that forbids it; CI runs as root)")
		}
		t.Fatalf("mount a 64 MB tmpfs: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })

	p := startPortalIn(t, dir)
	jane := p.Invites[0]
	s := passkeytest.NewSession(p.BaseURL)
	key, err := s.Enrol(jane.Code, jane.BirthDate.Format("2006-01-02"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "portal.db-reserve")); err != nil {
		t.Fatalf("no disk space reserve beside the database: %v", err)
	}
	// Another demo person in the browser, to meet the refusal as a page.
	tb, _ := enrolledTab(t, p, p.Invites[1])

	// Fill the disk to the last byte.
	filler, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 1<<20)
	for {
		if _, err := filler.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill the disk: %v", err)
			}
			break
		}
	}
	for len(chunk) > 1 { // and the last partial megabyte
		chunk = chunk[:len(chunk)/2]
		for {
			if _, err := filler.Write(chunk); err != nil {
				break
			}
		}
	}
	filler.Close()

	// The portal notices within its check interval, or at the first write that fails.
	refused := func() bool {
		status, body, err := s.PostForm("/account/sessions/signout-others", url.Values{})
		if err != nil {
			t.Fatal(err)
		}
		if status == http.StatusServiceUnavailable {
			if !strings.Contains(string(body), "cannot save changes") || !strings.Contains(string(body), "nhsuk-") {
				t.Fatalf("refused without saying why in an NHS page:\n%s", body)
			}
			return true
		}
		return false
	}
	waitFor(t, 10*time.Second, "the portal to refuse changes while the disk is full", refused)
	cannotSave(tb, p)

	// Reads go on, and are logged.
	before := accessCount(t, p.DB)
	for _, path := range []string{"/record", "/record/medicines", "/record/results", "/record/search?q=metformin"} {
		if status, body, err := s.Get(path); err != nil || status != http.StatusOK {
			t.Fatalf("GET %s with the disk full: %d %v\n%s", path, status, err, body)
		}
	}
	// Each look was written to the access log spool before its page was sent,
	// and moves into the database's access log a moment later.
	waitFor(t, 5*time.Second, "four more entries in the access log", func() bool { return accessCount(t, p.DB) >= before+4 })
	// Signing in works (a new session is written in the reserve's room).
	other := passkeytest.NewSession(p.BaseURL)
	if err := other.SignIn(key); err != nil {
		t.Fatalf("sign in with the disk full: %v", err)
	}

	// Space returns: changes are accepted again.
	if err := os.Remove(filepath.Join(dir, "filler")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "the portal to accept changes once space returns", func() bool { return !refused() })
	if _, err := os.Stat(filepath.Join(dir, "portal.db-reserve")); err != nil {
		t.Fatalf("the reserve was not taken back: %v", err)
	}
	if out, err := portalCmd(t, "audit", "verify", "--db", p.DB); err != nil {
		t.Fatalf("audit verify after the disk was full: %v\n%s", err, out)
	}
	intactDB(t, p.DB)
}

func waitFor(t *testing.T, within time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", within, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func accessCount(t *testing.T, db string) int {
	t.Helper()
	conn, err := sql.Open("sqlite3", "file:"+db+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var n int
	if err := conn.QueryRow(`SELECT count(*) FROM access_log`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// intactDB opens the database file read-only for checks, closed when the test
// ends, and fails the test unless SQLite finds it whole.
func intactDB(t *testing.T, db string) *sql.DB {
	t.Helper()
	conn, err := sql.Open("sqlite3", "file:"+db+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	var check string
	if err := conn.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity check: %q, %v", check, err)
	}
	return conn
}

// cannotSave invites a carer in the tab, a change the portal must refuse now
// its disk cannot take it, and checks with axe the page that says so.
func cannotSave(tb *tab, p *portal) {
	tb.t.Helper()
	resp := tb.navigate(p.BaseURL + "/carers/invite")
	wantPage(tb, "/carers/invite", resp.Status)
	tb.do("fill in the invitation",
		chromedp.SetValue(chromedp.CSS("#carer-name"), "Sam Example"),
		chromedp.SetValue(chromedp.CSS("#relationship"), "son"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#scope-medicines').checked = true`),
	)
	// A full disk refuses every change at once, the answers' check too; a
	// read-only one is found out only by the write sending them makes.
	tb.allow("the server responded with a status of 503")
	resp = tb.follow("continue to check the answers", chromedp.Click(chromedp.CSS(`form[action="/carers/invite"] button[type=submit]`)))
	if resp.Status == http.StatusOK {
		resp = tb.follow("send the invitation", chromedp.Click(chromedp.CSS(`form[action="/carers/invite/confirm"] button[type=submit]`)))
	}
	if resp.Status != http.StatusServiceUnavailable {
		tb.t.Errorf("a change the disk cannot take answered %d, want 503 (page says: %.300s)", resp.Status, tb.text())
	}
	if h1 := eval[string](tb, `document.querySelector('h1')?.innerText ?? ''`); !strings.Contains(h1, "cannot save changes") {
		tb.t.Errorf("the refusal's heading is %q", h1)
	}
	tb.checkPage()
}

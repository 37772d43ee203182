package e2e

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mycarerecord/portal/e2e/passkeytest"
)

// TestReadOnlyDatabase runs the portal with its database on a small ext4
// disk of its own (a loop device, mounted errors=remount-ro, as root in CI
// may) and its access log spool on another disk. It then makes the kernel
// take the database's disk read-only, as it does after a disk error
// (ext4's trigger_fs_error). Record pages still open, and every look is
// still logged, in the spool; a change is refused with a page that says
// why; the access log page says its newest entries are waiting. Then, as
// an operator would: the portal is stopped, the disk repaired (unmounted,
// e2fsck, mounted again) and the portal started: every look is in the
// access log, whose chain verifies, and the database is whole.
func TestReadOnlyDatabase(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a disk for this test needs root (CI runs as root)")
	}
	if _, err := os.Stat("/dev/loop-control"); err != nil {
		t.Skip("this machine has no loop devices to make a disk of a file")
	}
	dir := t.TempDir()
	img, mnt, spool := filepath.Join(dir, "disk.img"), filepath.Join(dir, "db"), filepath.Join(dir, "spool")
	for _, d := range []string{mnt, spool} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	sh(t, "truncate", "-s", "64M", img)
	sh(t, "mkfs.ext4", "-q", "-F", img)
	mount := func() {
		sh(t, "mount", "-o", "loop,errors=remount-ro", img, mnt)
	}
	mount()
	t.Cleanup(func() { exec.Command("umount", "-l", mnt).Run() })

	p := startPortalIn(t, mnt, "--access-spool", spool)
	spoolFile := filepath.Join(spool, "portal.db-access-spool")
	jane := p.Invites[0]
	s := passkeytest.NewSession(p.BaseURL)
	if _, err := s.Enrol(jane.Code, jane.BirthDate.Format("2006-01-02")); err != nil {
		t.Fatal(err)
	}
	reads := []string{"/record", "/record/medicines", "/record/results", "/record/search?q=metformin"}
	for _, path := range reads {
		if status, body, err := s.Get(path); err != nil || status != http.StatusOK {
			t.Fatalf("GET %s: %d %v\n%s", path, status, err, body)
		}
	}
	waitFor(t, 5*time.Second, "the first four looks to reach the access log", func() bool { return accessCount(t, p.DB) >= 4 })
	// Another demo person in the browser, to meet the refusal as a page.
	tb, _ := enrolledTab(t, p, p.Invites[1])

	// The disk fails: the kernel remounts it read-only.
	trigger := "/sys/fs/ext4/" + filepath.Base(mountDevice(t, mnt)) + "/trigger_fs_error"
	if _, err := os.Stat(trigger); err != nil {
		t.Skipf("this kernel cannot be told to fail an ext4 disk (%v)", err)
	}
	if err := os.WriteFile(trigger, []byte("1"), 0o200); err != nil {
		t.Fatalf("make the kernel take %s read-only: %v", mnt, err)
	}
	if f, err := os.Create(filepath.Join(mnt, "probe")); err == nil {
		f.Close()
		t.Fatalf("the disk at %s still takes writes after the error", mnt)
	}

	// Reads go on, each logged in the spool before its page is sent.
	for _, path := range reads {
		if status, body, err := s.Get(path); err != nil || status != http.StatusOK {
			t.Fatalf("GET %s with the database read-only: %d %v\n%s", path, status, err, body)
		}
	}
	if n := spoolLines(t, spoolFile); n < len(reads) {
		t.Fatalf("the spool holds %d entries after %d looks with the database read-only", n, len(reads))
	}
	// The person's access log says its newest entries are waiting.
	status, body, err := s.Get("/record/access-log")
	if err != nil || status != http.StatusOK || !strings.Contains(string(body), "Recent entries are not listed yet") {
		t.Fatalf("access log page with the database read-only: %d %v\n%s", status, err, body)
	}
	// A change is refused, in words.
	status, body, err = s.PostForm("/carers/invite/confirm", url.Values{"name": {"Sam Example"}, "relationship": {"son"}, "scope": {"medicines"}, "ends": {"12m"}})
	if err != nil || status != http.StatusServiceUnavailable || !strings.Contains(string(body), "cannot save changes") || !strings.Contains(string(body), "nhsuk-") {
		t.Fatalf("a change with the database read-only: %d %v\n%s", status, err, body)
	}
	cannotSave(tb, p)
	waiting := spoolLines(t, spoolFile)

	// The operator stops the portal, repairs the disk and starts it again.
	p.Stop()
	if n := spoolLines(t, spoolFile); n < waiting {
		t.Fatalf("the spool went from %d to %d entries at shutdown with the database read-only", waiting, n)
	}
	sh(t, "umount", mnt)
	if out, err := exec.Command("e2fsck", "-f", "-y", img).CombinedOutput(); err != nil {
		// 1: errors corrected; anything more is a disk e2fsck could not mend.
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() > 1 {
			t.Fatalf("e2fsck: %v\n%s", err, out)
		}
	}
	mount()
	serveBriefly(t, p.DB, spool)

	if n := spoolLines(t, spoolFile); n != 0 {
		t.Fatalf("%d entries still in the spool after a start with the database writable", n)
	}
	if got, want := accessCount(t, p.DB), 4+waiting; got < want {
		t.Fatalf("access log has %d entries after the restart, want at least %d (4 before the error, %d spooled)", got, want, waiting)
	}
	if out, err := portalCmd(t, "audit", "verify", "--db", p.DB); err != nil {
		t.Fatalf("audit verify after the read-only spell: %v\n%s", err, out)
	}
	intactDB(t, p.DB)
}

// sh runs a command the test needs, failing the test with its output if it fails.
func sh(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// mountDevice is the device mounted at dir, from /proc/mounts.
func mountDevice(t *testing.T, dir string) string {
	t.Helper()
	mounts, err := os.ReadFile("/proc/mounts")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(mounts), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[1] == dir {
			return f[0]
		}
	}
	t.Fatalf("nothing mounted at %s", dir)
	return ""
}

// spoolLines is how many access log entries wait in the spool file.
func spoolLines(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(data, []byte{'\n'})
}

// serveBriefly starts the portal on db until it says it is serving, then
// interrupts it and waits for it to exit cleanly.
func serveBriefly(t *testing.T, db, spool string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, suite.portalBin, "serve", "--db", db, "--access-spool", spool, "--addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "PORTAL_SESSION_KEY="+strings.Repeat("ab", 32))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() && !strings.HasPrefix(sc.Text(), servingPrefix) {
	}
	go io.Copy(io.Discard, out)
	cmd.Process.Signal(os.Interrupt)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("portal after the repair: %v\n%s", err, stderr.String())
	}
}

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

const chromiumPath = "/usr/bin/chromium"

// suite is what TestMain sets up once for every test of the binary: the
// portal binary, axe-core's source, and one browser that each test opens its
// own tab in. TestMain fills it before any test runs and nothing changes it
// afterwards.
var suite struct {
	portalBin string
	axeSource string
	browser   context.Context
}

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

// runMain is TestMain's body, so that its deferred clean-ups run before os.Exit.
func runMain(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "portal-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(tmp)

	axe, err := os.ReadFile(filepath.Join("..", "static", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: axe-core is missing (run `make deps` to install static/node_modules): %v\n", err)
		return 1
	}
	suite.axeSource = string(axe)

	if _, err := os.Stat(chromiumPath); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %s is missing (run `make tools` to install Chromium): %v\n", chromiumPath, err)
		return 1
	}

	start := time.Now()
	suite.portalBin = filepath.Join(tmp, "portal")
	build := exec.Command("go", "build", "-tags", "sqlite_fts5", "-o", suite.portalBin, "./cmd/portal")
	build.Dir = ".."
	build.Env = append(os.Environ(), "GOTOOLCHAIN=local", "CGO_ENABLED=1")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: build the portal: %v\n%s", err, out)
		return 1
	}
	fmt.Fprintf(os.Stderr, "e2e: built the portal in %s\n", time.Since(start).Round(time.Millisecond))

	browser, closeBrowser, err := startBrowser(tmp)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer closeBrowser()
	suite.browser = browser

	return m.Run()
}

// startBrowser starts the one headless Chromium that every test shares. Its
// profile and its temporary files live under dir, so nothing is left in /tmp.
func startBrowser(dir string) (context.Context, func(), error) {
	profile := filepath.Join(dir, "chromium-profile")
	browserTmp := filepath.Join(dir, "chromium-tmp")
	for _, d := range []string{profile, browserTmp} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, nil, err
		}
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.WindowSize(1280, 1024),
		chromedp.UserDataDir(profile),
		chromedp.Env("TMPDIR=" + browserTmp),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	stop := func() {
		cancelBrowser()
		cancelAlloc() // waits for the browser process to end
	}
	// The first Do starts the browser; this context has no deadline, so the
	// browser lives until stop.
	if err := chromedp.Do(browserCtx); err != nil {
		stop()
		return nil, nil, fmt.Errorf("start %s: %w", chromiumPath, err)
	}
	return browserCtx, stop, nil
}

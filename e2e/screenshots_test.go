package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestScreenshots photographs the summary, a result trend and the passkey page
// for the README. `make screenshots` keeps them in e2e/screenshots
// (SCREENSHOTS_DIR); otherwise they go to a temporary folder, so make test
// still proves the pages can be taken.
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("SCREENSHOTS_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// The demo as `make run` serves it, whose sources are files: no sync runs.
	p, tb, _ := signedInTo(t, startPortalWith(t, t.TempDir(), false))
	tb.do("set a laptop-sized window", chromedp.EmulateViewport(1100, 800))
	shot := func(name string) {
		t.Helper()
		tb.checkPage()
		ctx, cancel := tb.step()
		defer cancel()
		img, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), img, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	tb.navigate(p.BaseURL + "/record")
	shot("summary.png")

	tb.navigate(p.BaseURL + "/record/results")
	trend := eval[string](tb, `[...document.querySelectorAll('main a[href^="/record/results/"]')].find(a => /HbA1c|haemoglobin/i.test(a.textContent))?.getAttribute('href') ?? ''`)
	if trend == "" {
		t.Fatal("the results page links to no HbA1c trend")
	}
	resp := tb.navigate(p.BaseURL + trend)
	wantPage(tb, trend, resp.Status)
	if !strings.Contains(tb.text(), "HbA1c") {
		t.Errorf("the trend page does not name the test: %.200s", tb.text())
	}
	shot("trend.png")

	tb.navigate(p.BaseURL + "/account")
	shot("passkeys.png")
}

package e2e

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
)

// exhaustLimit asks for path from this machine, as the browser's own address
// (web/ratelimit.go keys a client on its address), until the portal refuses
// with 429: the client's bucket is then empty. It returns how many requests
// the portal let through first.
func exhaustLimit(t *testing.T, base, path string) int {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	var allowed, refused atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200 && refused.Load() == 0; i++ {
				resp, err := client.Get(base + path)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				switch resp.StatusCode {
				case http.StatusOK:
					allowed.Add(1)
				case http.StatusTooManyRequests:
					refused.Add(1)
				default:
					t.Errorf("GET %s: %s", path, resp.Status)
					return
				}
			}
		}()
	}
	wg.Wait()
	if refused.Load() == 0 {
		t.Fatalf("GET %s was never refused after %d requests", path, allowed.Load())
	}
	return int(allowed.Load())
}

// header is a response header by name, whatever its case.
func header(resp *network.Response, name string) string {
	for k, v := range resp.Headers {
		if strings.EqualFold(k, name) {
			s, _ := v.(string)
			return s
		}
	}
	return ""
}

// TestTooManyTries opens the sign-in page more often than the portal allows
// one client (web/ratelimit.go: 120 at once, then one a second), and then in
// the browser: the refusal is the NHS "Too many tries" page, in plain words
// and the portal's own layout, with a way back and no accessibility
// violation, answered 429 with a Retry-After.
func TestTooManyTries(t *testing.T) {
	p := startPortal(t)
	tb := newTab(t)
	tb.allow("the server responded with a status of 429")

	// A token may come back between the last refusal and the browser's
	// request (one a second): empty the bucket again then.
	var resp *network.Response
	for try := 1; ; try++ {
		allowed := exhaustLimit(t, p.BaseURL, "/signin")
		t.Logf("GET /signin let through %d requests, then refused", allowed)
		resp = tb.navigate(p.BaseURL + "/signin")
		if resp.Status == http.StatusTooManyRequests || try == 3 {
			break
		}
	}
	if resp.Status != http.StatusTooManyRequests {
		t.Fatalf("the browser's GET /signin answered %d after the limit was used up, want 429", resp.Status)
	}
	if s, err := strconv.Atoi(header(resp, "Retry-After")); err != nil || s < 1 {
		t.Errorf("429 with Retry-After %q, want a number of seconds", header(resp, "Retry-After"))
	}

	type page struct {
		H1s     []string `json:"h1s"`
		Title   string   `json:"title"`
		Main    string   `json:"main"`
		Layout  []string `json:"layout"` // the NHS.UK frame's parts that are missing
		Styled  bool     `json:"styled"` // the NHS.UK style sheet applies: the header is NHS blue
		Homeref bool     `json:"homeref"`
	}
	got := eval[page](tb, `(() => {
		const parts = ['a.nhsuk-skip-link[href="#maincontent"]', 'header.nhsuk-header', 'main#maincontent', 'footer.nhsuk-footer'];
		const header = document.querySelector('header.nhsuk-header');
		return {
			h1s: [...document.querySelectorAll('h1')].map(h => h.innerText.trim()),
			title: document.title,
			main: document.querySelector('main')?.innerText.trim().replace(/\s+/g, ' ') ?? '',
			layout: parts.filter(s => !document.querySelector(s)),
			styled: !!header && getComputedStyle(header).backgroundColor === 'rgb(0, 94, 184)',
			homeref: !!document.querySelector('main a[href="/"]'),
		};
	})()`)
	if len(got.H1s) != 1 || got.H1s[0] != "Too many tries" {
		t.Errorf("the 429 page's h1s are %q, want one, \"Too many tries\"", got.H1s)
	}
	if got.Title != "Too many tries – My Care Record" {
		t.Errorf("the 429 page's title is %q", got.Title)
	}
	if len(got.Layout) > 0 || !got.Styled {
		t.Errorf("the 429 page is not in the NHS.UK layout: missing %q, styled %v", got.Layout, got.Styled)
	}
	if !strings.Contains(got.Main, "Wait a minute, then try again.") || !got.Homeref {
		t.Errorf("the 429 page does not say what to do, or has no way back: %q", got.Main)
	}
	for _, jargon := range []string{"429", "Too Many Requests", "rate limit", "error"} {
		if strings.Contains(strings.ToLower(got.Main), strings.ToLower(jargon)) {
			t.Errorf("the 429 page says %q: %q", jargon, got.Main)
		}
	}
	tb.checkPage()

	// The way back: the homepage is not limited.
	status := tb.press("go to the homepage", `main a[href="/"]`)
	wantOn(tb, "/", status)
}

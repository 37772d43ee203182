package static_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/static"
)

func mustNew(t *testing.T) *static.Assets {
	t.Helper()
	a, err := static.New()
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestURL(t *testing.T) {
	a := mustNew(t)
	tests := []struct {
		name string
		want *regexp.Regexp
	}{
		{"nhsuk.css", regexp.MustCompile(`^/static/nhsuk\.[0-9a-f]{10}\.css$`)},
		{"nhsuk.js", regexp.MustCompile(`^/static/nhsuk\.[0-9a-f]{10}\.js$`)},
		{"portal.css", regexp.MustCompile(`^/static/portal\.[0-9a-f]{10}\.css$`)},
		{"portal.js", regexp.MustCompile(`^/static/portal\.[0-9a-f]{10}\.js$`)},
		{"passkey.js", regexp.MustCompile(`^/static/passkey\.[0-9a-f]{10}\.js$`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := a.URL(tt.name); !tt.want.MatchString(got) {
				t.Fatalf("URL(%q) = %q, want match for %s", tt.name, got, tt.want)
			}
		})
	}
	for _, name := range []string{"", "nope.js", "nhsuk-frontend.min.css", "../embed.go"} {
		if got := a.URL(name); got != "" {
			t.Errorf("URL(%q) = %q, want empty", name, got)
		}
	}
}

func TestServeHTTP(t *testing.T) {
	a := mustNew(t)
	tests := []struct {
		name       string
		method     string
		path       string
		wantStatus int
		wantType   string
		wantCache  string
		wantBody   string // a substring; "" skips the check
	}{
		{"NHS CSS", "GET", a.URL("nhsuk.css"), 200, "text/css; charset=utf-8", "public, max-age=31536000, immutable", ".nhsuk-header"},
		{"NHS JS", "GET", a.URL("nhsuk.js"), 200, "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", "initAll"},
		{"portal CSS", "GET", a.URL("portal.css"), 200, "text/css; charset=utf-8", "public, max-age=31536000, immutable", ".mcr-demo-banner"},
		{"portal JS", "GET", a.URL("portal.js"), 200, "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", "nhsuk-frontend-supported"},
		{"passkey JS", "GET", a.URL("passkey.js"), 200, "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", "parseCreationOptionsFromJSON"},
		{"HEAD", "HEAD", a.URL("portal.css"), 200, "text/css; charset=utf-8", "public, max-age=31536000, immutable", ""},
		{"NHS image the CSS refers to", "GET", "/assets/images/nhsuk-icon-cross.svg", 200, "image/svg+xml", "public, max-age=86400", "<svg"},
		{"favicon", "GET", "/assets/images/favicon.ico", 200, "image/x-icon", "public, max-age=86400", ""},
		{"web manifest", "GET", "/assets/manifest.json", 200, "application/manifest+json", "public, max-age=86400", "icons"},
		{"unhashed name", "GET", "/static/portal.css", 404, "", "", ""},
		{"wrong hash", "GET", "/static/portal.0000000000.css", 404, "", "", ""},
		{"source file", "GET", "/static/embed.go", 404, "", "", ""},
		{"package.json", "GET", "/static/package.json", 404, "", "", ""},
		{"node_modules path", "GET", "/static/node_modules/nhsuk-frontend/package.json", 404, "", "", ""},
		{"escape from assets", "GET", "/assets/../embed.go", 404, "", "", ""},
		{"asset directory", "GET", "/assets/images", 404, "", "", ""},
		{"POST", "POST", a.URL("portal.css"), 405, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			a.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			resp := rec.Result()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("%s %s: status %d, want %d", tt.method, tt.path, resp.StatusCode, tt.wantStatus)
			}
			if tt.wantStatus != 200 {
				return
			}
			if got := resp.Header.Get("Content-Type"); got != tt.wantType {
				t.Errorf("Content-Type %q, want %q", got, tt.wantType)
			}
			if got := resp.Header.Get("Cache-Control"); got != tt.wantCache {
				t.Errorf("Cache-Control %q, want %q", got, tt.wantCache)
			}
			if resp.Header.Get("ETag") == "" {
				t.Error("no ETag")
			}
			body, _ := io.ReadAll(resp.Body)
			if tt.method == "HEAD" && len(body) != 0 {
				t.Errorf("HEAD sent a body of %d bytes", len(body))
			}
			if tt.wantBody != "" && !strings.Contains(string(body), tt.wantBody) {
				t.Errorf("body lacks %q", tt.wantBody)
			}
		})
	}
}

func TestConditionalGet(t *testing.T) {
	a := mustNew(t)
	rec := httptest.NewRecorder()
	a.ServeHTTP(rec, httptest.NewRequest("GET", a.URL("nhsuk.css"), nil))
	etag := rec.Header().Get("ETag")
	req := httptest.NewRequest("GET", a.URL("nhsuk.css"), nil)
	req.Header.Set("If-None-Match", etag)
	rec = httptest.NewRecorder()
	a.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
		t.Fatalf("If-None-Match %s: status %d with %d bytes, want 304 and none", etag, rec.Code, rec.Body.Len())
	}
}

// The portal makes no third-party requests: the NHS fonts' @font-face rules
// (which load from assets.nhs.uk) are cut from the CSS it serves.
func TestNHSCSSMakesNoThirdPartyRequests(t *testing.T) {
	a := mustNew(t)
	rec := httptest.NewRecorder()
	a.ServeHTTP(rec, httptest.NewRequest("GET", a.URL("nhsuk.css"), nil))
	css := rec.Body.String()
	for _, bad := range []string{"@font-face", "https://", "http://", "sourceMappingURL"} {
		if strings.Contains(css, bad) {
			t.Errorf("served CSS contains %q", bad)
		}
	}
	// Every url(...) the CSS uses is served here.
	for _, m := range regexp.MustCompile(`url\(([^)]*)\)`).FindAllStringSubmatch(css, -1) {
		u := strings.Trim(m[1], `"'`)
		if strings.HasPrefix(u, "data:") || strings.HasPrefix(u, "#") {
			continue
		}
		rec := httptest.NewRecorder()
		a.ServeHTTP(rec, httptest.NewRequest("GET", u, nil))
		if rec.Code != 200 {
			t.Errorf("CSS refers to %s, which is %d", u, rec.Code)
		}
	}
}

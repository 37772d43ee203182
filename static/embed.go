// Package static holds the files browsers load beside the pages: the NHS.UK
// frontend (installed by npm into node_modules), the portal's own CSS and its
// passkey script. It serves them under content-hashed names so they can be
// cached for a year, and serves the NHS.UK images at /assets/.
package static

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"strings"
)

// files is everything the portal serves. node_modules must be installed
// (`make deps`, or `cd static && npm ci`) before the package builds.
//
//go:embed node_modules/nhsuk-frontend/dist/nhsuk/nhsuk-frontend.min.css
//go:embed node_modules/nhsuk-frontend/dist/nhsuk/nhsuk-frontend.min.js
//go:embed node_modules/nhsuk-frontend/dist/nhsuk/assets
//go:embed css/portal.css
//go:embed js/portal.js
//go:embed js/passkey.js
var files embed.FS

const nhsukDir = "node_modules/nhsuk-frontend/dist/nhsuk"

// sources maps each name pages ask for to the embedded file behind it.
// nhsuk.js is a library of ES module exports; portal.js imports it and starts it.
func sources() []struct{ name, file string } {
	return []struct{ name, file string }{
		{"nhsuk.css", nhsukDir + "/nhsuk-frontend.min.css"},
		{"nhsuk.js", nhsukDir + "/nhsuk-frontend.min.js"},
		{"portal.css", "css/portal.css"},
		{"portal.js", "js/portal.js"},
		{"passkey.js", "js/passkey.js"},
	}
}

const (
	immutable = "public, max-age=31536000, immutable"
	daily     = "public, max-age=86400"
)

// file is one response, worked out once when the server starts.
type file struct {
	body        []byte
	contentType string
	etag        string
	cache       string
}

// Assets serves the portal's static files. Build it with New; it is safe for
// concurrent use because nothing changes after New returns.
type Assets struct {
	urls  map[string]string // name, e.g. "nhsuk.css" → "/static/nhsuk.1a2b3c4d5e.css"
	files map[string]file   // request path → response
}

// fontFace matches the NHS.UK CSS's @font-face rules. They load Frutiger from
// assets.nhs.uk; the portal makes no third-party requests (CSP font-src 'self'),
// so they are cut out and pages use the Arial fallback the stylesheet names.
var fontFace = regexp.MustCompile(`@font-face\{[^}]*\}`)

// sourceMap matches the comment pointing at a .map file we do not serve.
var sourceMap = regexp.MustCompile(`\n?(/\*# sourceMappingURL=[^*]*\*/|//# sourceMappingURL=\S*)\s*$`)

// New reads and hashes every file once.
func New() (*Assets, error) {
	a := &Assets{urls: map[string]string{}, files: map[string]file{}}
	for _, s := range sources() {
		body, err := files.ReadFile(s.file)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", s.file, err)
		}
		body = sourceMap.ReplaceAll(body, nil)
		if s.name == "nhsuk.css" {
			body = fontFace.ReplaceAll(body, nil)
		}
		sum := sha256.Sum256(body)
		hash := hex.EncodeToString(sum[:])[:10]
		ext := path.Ext(s.name)
		url := "/static/" + strings.TrimSuffix(s.name, ext) + "." + hash + ext
		a.urls[s.name] = url
		a.files[url] = file{body: body, contentType: contentType(ext), etag: `"` + hash + `"`, cache: immutable}
	}
	root := nhsukDir + "/assets"
	err := fs.WalkDir(files, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		a.files["/assets"+strings.TrimPrefix(p, root)] = file{
			body:        body,
			contentType: contentType(path.Ext(p)),
			etag:        `"` + hex.EncodeToString(sum[:])[:16] + `"`,
			cache:       daily,
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read NHS.UK assets: %w", err)
	}
	return a, nil
}

// URL returns the hashed address of a named file: one of "nhsuk.css",
// "nhsuk.js", "portal.css", "portal.js" or "passkey.js". It returns "" for any
// other name, so a page asking for a file that does not exist links to nothing.
func (a *Assets) URL(name string) string {
	return a.urls[name]
}

// ServeHTTP serves /static/<hashed name> (cached for a year: the name changes
// when the content does) and /assets/<path> from the NHS.UK frontend (cached for
// a day). Anything else is 404; methods other than GET and HEAD are 405.
func (a *Assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f, ok := a.files[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	h.Set("Cache-Control", f.cache)
	h.Set("ETag", f.etag)
	h.Set("Content-Type", f.contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	if etagMatches(r.Header.Get("If-None-Match"), f.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", fmt.Sprint(len(f.body)))
	if r.Method == http.MethodHead {
		return
	}
	_, _ = bytes.NewReader(f.body).WriteTo(w)
}

func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(t), "W/"))
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

// contentType is set by hand rather than from the system's MIME table, which
// differs between machines.
func contentType(ext string) string {
	switch ext {
	case ".css":
		return "text/css; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".ico":
		return "image/x-icon"
	case ".json":
		return "application/manifest+json"
	default:
		return "application/octet-stream"
	}
}

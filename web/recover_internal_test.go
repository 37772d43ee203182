package web

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/mattn/go-sqlite3"

	"github.com/mycarerecord/portal/store"
)

// A handler that panics gives the person the service's error page with a
// 500, with the security headers, and the server goes on serving.
func TestPanicBecomesErrorPage(t *testing.T) {
	s := newBareServer(t)
	s.echo.GET("/panics", func(echo.Context) error { panic("a bug") })
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/panics", nil))
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), "Sorry, there is a problem with the service") {
		t.Fatalf("panic gave %d:\n%s", rec.Code, rec.Body.String())
	}
	if rec.Header().Get("Content-Security-Policy") == "" {
		t.Error("the error page after a panic has no CSP")
	}
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("after a panic /healthz gave %d", rec.Code)
	}
}

// A change refused because another process held the database longer than
// the busy timeout (a large portal import) was a 500 "problem with the
// service". It is the 503 "cannot save changes at the moment" page, saying
// nothing was lost, with Retry-After.
func TestBusyDatabaseIsCannotSaveNow(t *testing.T) {
	s := newBareServer(t)
	s.echo.GET("/busy", func(echo.Context) error { return fmt.Errorf("save: %w", sqlite3.Error{Code: sqlite3.ErrBusy}) })
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/busy", nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), cantSaveTitle) || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("a busy database gave %d, Retry-After %q:\n%s", rec.Code, rec.Header().Get("Retry-After"), rec.Body.String())
	}
}

// newBareServer is a server on a fresh database, for handlers added by a test.
func newBareServer(t *testing.T) *Server {
	t.Helper()
	db, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "portal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	key := []byte(strings.Repeat("k", 32))
	s, err := New(Config{Origin: "http://localhost:8080", HashKey: key, BlockKey: key}, db, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

package upstream

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// Stalled is a server that takes every request and answers none of them
// until the client gives up or the test ends, as an upstream that has
// stalled does. It notes the identifier each Patient search asked for.
type Stalled struct {
	URL   string // its FHIR base
	mu    sync.Mutex
	asked []string
}

// StartStalled starts a Stalled server, stopped when the test ends.
func StartStalled(t testing.TB) *Stalled {
	t.Helper()
	s := &Stalled{}
	quit := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.asked = append(s.asked, r.URL.Query().Get("identifier"))
		s.mu.Unlock()
		select {
		case <-r.Context().Done():
		case <-quit:
		}
	}))
	t.Cleanup(func() { close(quit); srv.Close() })
	s.URL = srv.URL + "/fhir"
	return s
}

// AskedAbout reports whether a request asked about the identifier's value
// (an NHS number, say).
func (s *Stalled) AskedAbout(value string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range s.asked {
		if strings.HasSuffix(id, "|"+value) {
			return true
		}
	}
	return false
}

package passkeytest

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"sync"
	"time"
)

// Session is one browser's cookies and CSRF token, kept by hand: the
// portal's cookie is Secure, which Go's cookie jar will not send to
// http://localhost. Redirects are not followed, so callers see them.
type Session struct {
	Base   string
	client *http.Client
	mu     sync.Mutex
	cookie string
	csrf   string
}

var transport = &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 512, IdleConnTimeout: time.Minute}

// NewSession starts a session with no cookie against the portal at base.
func NewSession(base string) *Session { return newSession(base, transport) }

// NewSessionFrom is NewSession for a browser at another loopback address
// (127.0.0.2 and so on), so that many sessions in one test look like many
// people to the portal's per-client limits, as they would be.
func NewSessionFrom(base string, ip net.IP) *Session {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 10 * time.Second}
	return newSession(base, &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 16, IdleConnTimeout: time.Minute})
}

func newSession(base string, rt http.RoundTripper) *Session {
	return &Session{Base: base, client: &http.Client{
		Transport:     rt,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

var csrfField = regexp.MustCompile(`name="csrf(?:-token)?" (?:value|content)="([^"]+)"`)

// CSRF is the token the last page carried.
func (s *Session) CSRF() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.csrf
}

// Do sends a request with the session's cookie and CSRF token (as the
// X-CSRF-Token header), keeping any new cookie and the token of the page it gets back.
func (s *Session) Do(method, path, contentType string, body []byte) (int, []byte, error) {
	req, err := http.NewRequest(method, s.Base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	s.mu.Lock()
	if s.cookie != "" {
		req.Header.Set("Cookie", s.cookie)
	}
	if s.csrf != "" {
		req.Header.Set("X-CSRF-Token", s.csrf)
	}
	s.mu.Unlock()
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	s.mu.Lock()
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 {
			s.cookie = ""
		} else {
			s.cookie = c.Name + "=" + c.Value
		}
	}
	if m := csrfField.FindSubmatch(b); m != nil {
		s.csrf = string(m[1])
	}
	s.mu.Unlock()
	return resp.StatusCode, b, err
}

// Get fetches a page.
func (s *Session) Get(path string) (int, []byte, error) { return s.Do(http.MethodGet, path, "", nil) }

// PostForm posts a form with the session's CSRF token in it.
func (s *Session) PostForm(path string, form url.Values) (int, []byte, error) {
	form.Set("csrf", s.CSRF())
	return s.Do(http.MethodPost, path, "application/x-www-form-urlencoded", []byte(form.Encode()))
}

// PostFormLocation posts a form and returns the status and the Location it redirects to.
func (s *Session) PostFormLocation(path string, form url.Values) (int, string, error) {
	form.Set("csrf", s.CSRF())
	req, err := http.NewRequest(http.MethodPost, s.Base+path, bytes.NewReader([]byte(form.Encode())))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	s.mu.Lock()
	req.Header.Set("Cookie", s.cookie)
	s.mu.Unlock()
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location"), nil
}

// ceremony posts JSON to a passkey endpoint and returns the JSON answer.
func (s *Session) ceremony(path string, body []byte) ([]byte, error) {
	status, b, err := s.Do(http.MethodPost, path, "application/json", body)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("POST %s: %d %s", path, status, b)
	}
	return b, nil
}

// Enrol redeems an enrolment code with the person's date of birth
// (YYYY-MM-DD) and makes a passkey, as a person would in a browser; the
// session is then signed in. It returns the passkey.
func (s *Session) Enrol(code, birthDate string) (*Key, error) {
	if status, _, err := s.Get("/enrol?code=" + url.QueryEscape(code)); err != nil || status != http.StatusOK {
		return nil, fmt.Errorf("enrol page: %d %v", status, err)
	}
	born, err := time.Parse("2006-01-02", birthDate)
	if err != nil {
		return nil, err
	}
	form := url.Values{"code": {code}, "day": {strconv.Itoa(born.Day())}, "month": {strconv.Itoa(int(born.Month()))}, "year": {strconv.Itoa(born.Year())}}
	if status, b, err := s.PostForm("/enrol", form); err != nil || status != http.StatusSeeOther {
		return nil, fmt.Errorf("enrol: %d %v %s", status, err, b)
	}
	// The page the answer leads to, as a browser follows it: the session has a
	// new id and CSRF token now the code has proved who it is.
	if status, _, err := s.Get("/enrol/passkey"); err != nil || status != http.StatusOK {
		return nil, fmt.Errorf("enrol passkey page: %d %v", status, err)
	}
	opts, err := s.ceremony("/enrol/passkey/begin", nil)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(s.Base)
	if err != nil {
		return nil, err
	}
	key, err := New(s.Base, u.Hostname())
	if err != nil {
		return nil, err
	}
	resp, err := key.Create(opts)
	if err != nil {
		return nil, err
	}
	if _, err := s.ceremony("/enrol/passkey/finish", resp); err != nil {
		return nil, err
	}
	return key, s.landed()
}

// SignIn signs the session in with the passkey, as the sign-in page's button does.
func (s *Session) SignIn(key *Key) error {
	if status, _, err := s.Get("/signin"); err != nil || status != http.StatusOK {
		return fmt.Errorf("sign-in page: %d %v", status, err)
	}
	opts, err := s.ceremony("/signin/begin", nil)
	if err != nil {
		return err
	}
	resp, err := key.Get(opts)
	if err != nil {
		return err
	}
	if _, err := s.ceremony("/signin/finish", resp); err != nil {
		return err
	}
	return s.landed()
}

// landed loads the record, as the browser does after a ceremony, picking up the new session's CSRF token.
func (s *Session) landed() error {
	if status, _, err := s.Get("/record"); err != nil || status != http.StatusOK {
		return fmt.Errorf("record after signing in: %d %v", status, err)
	}
	return nil
}

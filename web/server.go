// Package web is the portal's HTTP server: routes, middleware and handlers.
package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/a-h/templ"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"github.com/mycarerecord/portal/static"
	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/views"
)

// Config is what the server needs to know about where it runs.
type Config struct {
	Origin        string // the address people use, e.g. "https://mycarerecord.example.nhs.uk"
	RPID          string // WebAuthn relying party id; the origin's host when empty
	Demo          bool   // serving made-up data: every page says so
	HashKey       []byte // signs the session cookie (32 or 64 bytes): CookieKeys
	BlockKey      []byte // encrypts the session cookie (32 bytes)
	SessionPolicy store.SessionPolicy
	PerPage       int // record items per page
	Sync          SyncQueue
	// TrustedProxies are the proxies in front of the portal (TLS ends there)
	// whose X-Forwarded-For is believed, so rate limits count each client
	// rather than the proxy. Empty: the connection's address is the client.
	TrustedProxies []netip.Prefix
}

// SyncQueue takes requests to bring a person's record up to date in the
// background; a request never waits for upstream.
type SyncQueue interface {
	EnqueueIfStale(ctx context.Context, personID int64)
}

// Server holds the portal's dependencies; its methods are the handlers.
type Server struct {
	cfg      Config
	db       *store.DB
	assets   *static.Assets
	webauthn *webauthn.WebAuthn
	cookies  *sessions.CookieStore
	log      *slog.Logger
	echo     *echo.Echo
	secure   bool // origin is https: HSTS and Secure cookies
	// pages are the buffers record pages are made in before they are sent
	// (render), reused: a page to print of a large record is half a megabyte.
	pages sync.Pool
}

// ceremonyTimeout is how long a passkey challenge may be answered.
const ceremonyTimeout = 10 * time.Minute

// New builds a server over db.
func New(cfg Config, db *store.DB, log *slog.Logger) (*Server, error) {
	origin, err := url.Parse(cfg.Origin)
	if err != nil || origin.Host == "" || (origin.Scheme != "http" && origin.Scheme != "https") {
		return nil, fmt.Errorf("origin %q must be an http or https address such as https://example.org", cfg.Origin)
	}
	if cfg.RPID == "" {
		cfg.RPID = origin.Hostname()
	}
	if !RPIDFits(origin.Hostname(), cfg.RPID) {
		return nil, fmt.Errorf("passkey relying party id %q must be the origin's host %q or a domain it is under", cfg.RPID, origin.Hostname())
	}
	if cfg.SessionPolicy == (store.SessionPolicy{}) {
		cfg.SessionPolicy = store.DefaultSessionPolicy()
	}
	if cfg.PerPage <= 0 {
		cfg.PerPage = 25
	}
	if len(cfg.HashKey) < 32 || len(cfg.BlockKey) != 32 {
		return nil, errors.New("session keys missing: need a 32-byte hash key and a 32-byte block key")
	}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:          cfg.RPID,
		RPDisplayName: "My Care Record",
		RPOrigins:     []string{origin.Scheme + "://" + origin.Host},
		// A challenge is good for ten minutes, here as in the browser: one
		// left in a session is never answered hours later.
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Enforce: true, Timeout: ceremonyTimeout, TimeoutUVD: ceremonyTimeout},
			Registration: webauthn.TimeoutConfig{Enforce: true, Timeout: ceremonyTimeout, TimeoutUVD: ceremonyTimeout},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("webauthn: %w", err)
	}
	assets, err := static.New()
	if err != nil {
		return nil, fmt.Errorf("static files: %w", err)
	}
	s := &Server{cfg: cfg, db: db, assets: assets, webauthn: wa, log: log, secure: origin.Scheme == "https"}
	s.cookies = sessions.NewCookieStore(cfg.HashKey, cfg.BlockKey)
	s.cookies.Options = &sessions.Options{
		Path: "/",
		// No Max-Age: the cookie ends when the browser closes, so on a shared
		// computer the next person does not find the record open; the session
		// on the server ends sooner still (30 minutes idle, 12 hours in all).
		HttpOnly: true,
		// Chromium and Firefox accept Secure cookies from http://localhost (and
		// its subdomains); serve refuses plain http on any other host.
		Secure:   s.secure || origin.Hostname() == "localhost" || strings.HasSuffix(origin.Hostname(), ".localhost") || origin.Hostname() == "127.0.0.1",
		SameSite: http.SameSiteLaxMode,
	}
	s.echo = echo.New()
	s.echo.HideBanner = true
	s.echo.HidePort = true
	s.echo.HTTPErrorHandler = s.handleError
	s.routes()
	return s, nil
}

// ServeHTTP makes the server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.echo.ServeHTTP(w, r) }

// render writes a templ component as the response with the given status.
func (s *Server) render(c echo.Context, status int, page templ.Component) error {
	ctx := c.Request().Context()
	look := pendingLook(c)
	if look == nil {
		c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
		c.Response().WriteHeader(status)
		return page.Render(ctx, c.Response().Writer)
	}
	// A page of the record: every read it needs done, it is made whole,
	// then its look is logged (synced to disk), then it is sent. A page
	// nobody waits for any more is not shown, so not logged: one left while
	// it was made too (a review: logging it while it was made logged those).
	buf, _ := s.pages.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	defer s.pages.Put(buf)
	buf.Reset()
	if err := page.Render(ctx, buf); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.db.LogAccess(context.WithoutCancel(ctx), *look); err != nil {
		return err // the look could not be logged: the page is not shown
	}
	c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
	c.Response().WriteHeader(status)
	_, err := c.Response().Write(buf.Bytes())
	return err
}

// page fills in what the layout of every page needs.
func (s *Server) page(c echo.Context, title string) views.Page {
	p := views.Page{Title: title, Demo: s.cfg.Demo, Assets: s.assets, Path: c.Request().URL.Path, Query: c.Request().URL.RawQuery, Now: time.Now()}
	if sess := sessionOf(c); sess != nil {
		p.CSRF = sess.CSRFToken
	}
	if acct, ok := c.Get(ctxAccount).(store.Account); ok {
		p.SignedIn = true
		s.sessionTimes(c, &p)
		p.AccountName = acct.DisplayName
		p.Acting = actingView(c) // web/actor.go: the "You are acting for" banner
		p.For = subject(c)
		p.OwnRecord = acct.PersonID != 0
		p.HelpsOthers = p.Acting != nil // acting for someone: they may switch
		if !p.HelpsOthers {
			// Someone on their own record who also helps others needs a way back to them.
			grants, err := s.db.ActiveGrantsForAccount(c.Request().Context(), acct.ID)
			p.HelpsOthers = err == nil && len(grants) > 0
		}
	}
	return p
}

// sessionTimes gives p how long the session has, for the warning before it
// ends (views sessionTimeout).
func (s *Server) sessionTimes(c echo.Context, p *views.Page) {
	if sess := sessionOf(c); sess != nil {
		p.SessionIdle = s.cfg.SessionPolicy.Idle
		idleLeft, absoluteLeft := s.timesLeft(sess.Session)
		p.SessionLeft, p.SessionFinal, p.SessionEnd = min(idleLeft, absoluteLeft), absoluteLeft < idleLeft, absoluteLeft
	}
}

// timesLeft is how long the session has until it ends for want of use, and
// until its absolute end, as stored.
func (s *Server) timesLeft(sess store.Session) (idleLeft, absoluteLeft time.Duration) {
	return time.Until(sess.LastSeenAt.Add(s.cfg.SessionPolicy.Idle)), time.Until(sess.ExpiresAt)
}

// settingUpPage is the page where someone signed in to nobody sets up a
// passkey with the code (enrolment or invitation) their session holds: it
// warns before the session stops, in words for that (WCAG 2.2.1; a review:
// nothing warned, and then the warning came on every page the session saw).
func (s *Server) settingUpPage(c echo.Context, title, code string) views.Page {
	p := s.page(c, title)
	if !p.SignedIn {
		p.SettingUp = code
		s.sessionTimes(c, &p)
	}
	return p
}

// handleError turns any error into an NHS-styled page (or JSON for the passkey
// endpoints), logging only what is internal: people never see internals.
func (s *Server) handleError(err error, c echo.Context) {
	pendingLook(c) // the page of the record was not shown: no look
	if c.Response().Committed {
		return
	}
	status, title, message := http.StatusInternalServerError, "Sorry, there is a problem with the service", "Try again later."
	var he *echo.HTTPError
	switch {
	case errors.As(err, &he):
		status = he.Code
		switch he.Code {
		case http.StatusNotFound:
			title, message = "Page not found", "If you typed the web address, check it is correct. If you pasted the web address, check you copied the entire address."
		case http.StatusMethodNotAllowed:
			title, message = "Page not found", "This page cannot be used in that way."
		case http.StatusForbidden:
			title, message = "You cannot do that", fmt.Sprint(he.Message)
		case http.StatusRequestEntityTooLarge:
			title, message = "What you sent is too large", "Try again with less."
		case http.StatusTooManyRequests:
			title, message = "Too many tries", fmt.Sprint(he.Message) // how long to wait (waitWords)
		case http.StatusServiceUnavailable:
			title, message = cantSaveTitle, fmt.Sprint(he.Message)
		default:
			if he.Code >= 500 {
				s.log.Error("request failed", "method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
			} else {
				title, message = "There is a problem", fmt.Sprint(he.Message)
			}
		}
	case store.IsBusy(err):
		// Another process (a large portal import) held the database longer
		// than the busy timeout: nothing was changed, and it will pass.
		s.log.Warn("the database was busy", "method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
		c.Response().Header().Set("Retry-After", "30")
		status, title, message = http.StatusServiceUnavailable, cantSaveTitle, cantSaveMessage
	case store.IsNoSpace(err) || store.IsReadOnly(err):
		// Reads go on; this change could not be saved, and nothing already stored is lost.
		s.db.WriteFailed(err)
		s.log.Error("could not write to the database", "method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
		status, title, message = http.StatusServiceUnavailable, cantSaveTitle, cantSaveMessage
	default:
		switch store.ErrorCode(err) {
		case store.ENOTFOUND:
			status, title, message = http.StatusNotFound, "Page not found", store.ErrorMessage(err)
		case store.EFORBIDDEN:
			status, title, message = http.StatusForbidden, "You cannot do that", store.ErrorMessage(err)
		case store.EINVALID, store.EEXPIRED, store.ELOCKED:
			status, title, message = http.StatusBadRequest, "There is a problem", store.ErrorMessage(err)
		case store.ECONFLICT:
			status, title, message = http.StatusConflict, "There is a problem", store.ErrorMessage(err)
		default:
			if errors.Is(err, context.Canceled) {
				return
			}
			s.log.Error("request failed", "method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
		}
	}
	if wantsJSON(c) {
		// The page's error box already has a heading: send only what to do.
		_ = c.JSON(status, map[string]string{"error": message})
		return
	}
	if rerr := s.render(c, status, views.ErrorPage(s.page(c, title), title, message)); rerr != nil {
		s.log.Error("render error page", "err", rerr)
	}
}

func wantsJSON(c echo.Context) bool {
	return c.Request().Header.Get(echo.HeaderContentType) == echo.MIMEApplicationJSON
}

// RPIDFits says whether browsers let a page on host use passkeys for the
// relying party id rpid: the host itself, or a domain it is under.
func RPIDFits(host, rpid string) bool {
	host, rpid = strings.ToLower(host), strings.ToLower(rpid)
	return rpid != "" && (host == rpid || strings.HasSuffix(host, "."+rpid))
}

// CookieKeys derives the session cookie's signing and encryption keys
// (Config.HashKey, Config.BlockKey) from the server's secret.
func CookieKeys(secret []byte) (hashKey, blockKey []byte) {
	h := sha512.Sum512(append([]byte("mcr cookie hash key\x00"), secret...))
	b := sha256.Sum256(append([]byte("mcr cookie block key\x00"), secret...))
	return h[:], b[:]
}

package web

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"runtime/debug"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/views"
)

// Keys for values middleware leaves on the request.
const (
	ctxSession = "session"
	ctxAccount = "account"
	ctxLogging = "logging" // *store.Access: the look logView noted, for render to log (web/record.go)
	// ctxSignedOut: the request's cookie is for a signed-in session that has
	// ended (timed out, or signed out elsewhere), so a form it sends is
	// answered by the "You have been signed out" page (csrf).
	ctxSignedOut = "signed-out"
)

// cookieSignedIn is the cookie value that says its session was signed in,
// which the session itself, once ended, can no longer say.
const cookieSignedIn = "in"

// cookieName is the session cookie's name: on https with the __Host-
// prefix, which a browser takes only from this host, for every path and
// marked Secure, so no other host under the same domain can plant a session
// of its own in a browser for this one (say for /enrol only, which the
// browser would send first).
func (s *Server) cookieName() string {
	if s.secure {
		return "__Host-mcr_session"
	}
	return "mcr_session"
}

// requestSession is the signed-in (or anonymous) session and its id.
type requestSession struct {
	store.Session
	ID string
}

func sessionOf(c echo.Context) *requestSession {
	s, _ := c.Get(ctxSession).(*requestSession)
	return s
}

// contentSecurityPolicy allows only the portal's own files: no inline script or style, no framing.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
	"connect-src 'self'; manifest-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// securityHeaders sets the headers every response carries.
func (s *Server) securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		// Enrolment links carry a code in the address, so no page ever sends it on.
		// same-origin, not no-referrer: with no-referrer Chromium sends "Origin: null" on form posts,
		// which the CSRF origin check must refuse. Other sites still get no referrer.
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
		if s.secure {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		// Health records must not linger in shared caches or the back-button
		// cache after sign-out. Every answer is no-store unless it is a file
		// the assets handler found, which says how long it keeps: not judged
		// by the address, which the router reads still encoded (a review:
		// "/%73tatic/x.css", a signed-in 404 page, went out with none).
		h.Set("Cache-Control", "no-store")
		return next(c)
	}
}

// loadSession finds the request's server-side session, if it has a live one,
// and the signed-in account, if any.
func (s *Server) loadSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		cookie, err := s.cookies.Get(c.Request(), s.cookieName())
		if err != nil {
			// A cookie we cannot read (old key, tampering) is treated as no session.
			cookie, _ = s.cookies.New(c.Request(), s.cookieName())
		}
		id, _ := cookie.Values["id"].(string)
		if id == "" {
			return next(c)
		}
		sess, err := s.db.Session(c.Request().Context(), id, s.cfg.SessionPolicy)
		if store.ErrorCode(err) == store.ENOTFOUND {
			if in, _ := cookie.Values[cookieSignedIn].(bool); in {
				c.Set(ctxSignedOut, true)
			}
			return next(c)
		}
		if err != nil {
			return err
		}
		c.Set(ctxSession, &requestSession{Session: sess, ID: id})
		// How long the session has now, as stored (marking it seen may have
		// waited for a busy database): a page's own requests (passkey.js)
		// tell its time-out warning so, rather than guess (a review).
		idleLeft, absoluteLeft := s.timesLeft(sess)
		c.Response().Header().Set("X-Session-Left", views.SecondsLeft(max(min(idleLeft, absoluteLeft), 0)))
		if sess.AccountID != 0 {
			acct, err := s.db.Account(c.Request().Context(), sess.AccountID)
			if err != nil {
				return err
			}
			c.Set(ctxAccount, acct)
		}
		return next(c)
	}
}

// ensureSession gives the request a session, starting an anonymous one if it has none,
// so that the page it renders can carry a CSRF token.
func (s *Server) ensureSession(c echo.Context) (*requestSession, error) {
	if sess := sessionOf(c); sess != nil {
		return sess, nil
	}
	id, sess, err := s.db.CreateSession(c.Request().Context(), 0, s.cfg.SessionPolicy)
	if err != nil {
		return nil, err
	}
	return s.useSession(c, id, sess)
}

// useSession puts the session on the request and its id in the cookie.
func (s *Server) useSession(c echo.Context, id string, sess store.Session) (*requestSession, error) {
	cookie, _ := s.cookies.New(c.Request(), s.cookieName())
	cookie.Values["id"] = id
	cookie.Values[cookieSignedIn] = sess.AccountID != 0
	if err := s.cookies.Save(c.Request(), c.Response(), cookie); err != nil {
		return nil, err
	}
	rs := &requestSession{Session: sess, ID: id}
	c.Set(ctxSession, rs)
	return rs, nil
}

// signedOut is the session as a code proved in it leaves it (store's
// renewSessionID): nobody signed in, acting for nobody.
func signedOut(s store.Session) store.Session {
	s.AccountID, s.ActingGrantID = 0, 0
	return s
}

// clearSessionCookie tells the browser to forget the session cookie.
func (s *Server) clearSessionCookie(c echo.Context) {
	cookie, _ := s.cookies.New(c.Request(), s.cookieName())
	opts := *s.cookies.Options
	opts.MaxAge = -1
	cookie.Options = &opts
	_ = s.cookies.Save(c.Request(), c.Response(), cookie)
}

// csrf refuses any state-changing request that does not carry its session's
// token (form field "csrf" in the body, or header X-CSRF-Token) or that comes from another origin.
func (s *Server) csrf(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		switch c.Request().Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return next(c)
		}
		if o := c.Request().Header.Get("Origin"); o != "" && o != strings.TrimSuffix(s.cfg.Origin, "/") {
			return echo.NewHTTPError(http.StatusForbidden, "This request came from another website, so we did not act on it.")
		}
		// A form larger than limitBody allows cannot be read, token and all:
		// that is what to say, not that the session timed out, nor (with the
		// token in a header) what the handler makes of the part it read.
		var tooLarge *http.MaxBytesError
		if _, err := c.FormParams(); errors.As(err, &tooLarge) {
			return echo.NewHTTPError(http.StatusRequestEntityTooLarge)
		}
		sess := sessionOf(c)
		token := c.Request().Header.Get("X-CSRF-Token")
		if token == "" {
			// The body's only: a token in the address goes into history,
			// logs and Referer, and makes a change one link (a review).
			token = c.Request().PostFormValue("csrf")
		}
		if sess == nil && c.Get(ctxSignedOut) == true {
			return s.signedOutByTimeout(c)
		}
		if sess == nil || token == "" || subtle.ConstantTimeCompare([]byte(token), []byte(sess.CSRFToken)) != 1 {
			return echo.NewHTTPError(http.StatusForbidden, "Your session may have timed out. Go back, reload the page and try again.")
		}
		return next(c)
	}
}

// signedOutByTimeout answers a form sent from a signed-in session that has
// since ended (NHS pattern for a session that timed out): nothing was
// saved, and the way on is to sign in again. 403, as portal.js expects of a
// session that has ended; the passkey pages' script reads the JSON.
func (s *Server) signedOutByTimeout(c echo.Context) error {
	s.clearSessionCookie(c)
	if wantsJSON(c) {
		return c.JSON(http.StatusForbidden, map[string]string{"error": "For your security, we signed you out. Sign in again."})
	}
	return s.render(c, http.StatusForbidden, views.SignedOutByTimeout(s.page(c, views.SignedOutByTimeoutTitle)))
}

// safeNext is raw, a page to go on to after signing in, when it is one of
// the signed-in pages of this site: a path under one of nextPrefixes, with
// no scheme, host or backslash, so a link can never send someone elsewhere
// (an open redirect); "" otherwise, and for the summary, where signing in
// goes anyway.
func safeNext(raw string) string {
	if len(raw) > 512 || !strings.HasPrefix(raw, "/") || strings.HasPrefix(raw, "//") || strings.ContainsAny(raw, "\\\r\n") {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Fragment != "" || path.Clean(u.Path) != u.Path || u.Path == "/record" && u.RawQuery == "" {
		return ""
	}
	if u.Path == "/account/removed" || strings.HasPrefix(u.Path, "/carers/accept") || strings.HasPrefix(u.Path, "/account/confirm") {
		return "" // a page for the signed out, or a ceremony (a review: "You have removed your passkey" after signing in)
	}
	if u.Path == "/record/download" || u.Path == "/record/print" || strings.Contains(u.Path, "/attachment/") {
		// Each asks, when another site sent someone there, before it opens
		// (fromThisSite): after signing in, the request is this site's (a review).
		return ""
	}
	// Nor a confirmation: "done" is shown only after this site's own
	// request, which the page after signing in is (doneOf; a review: a link
	// said a passkey had been removed).
	q := u.Query()
	q.Del("done")
	q.Del("grant")
	u.RawQuery = q.Encode()
	for _, p := range nextPrefixes {
		if u.Path == p || strings.HasPrefix(u.Path, p+"/") {
			if u.Path == "/record" && u.RawQuery == "" {
				return ""
			}
			return u.RequestURI()
		}
	}
	return ""
}

// nextPrefixes are where signing in may go on to (safeNext): pages that
// show something, never an action or a ceremony.
var nextPrefixes = []string{"/record", "/choices", "/carers", "/caring", "/account", "/acting-for"}

// requireSignIn sends anyone not signed in to the sign-in page.
func (s *Server) requireSignIn(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, ok := c.Get(ctxAccount).(store.Account); !ok {
			if c.Request().Method == http.MethodGet {
				// Back to the page asked for once signed in: a bookmark, or a
				// page open when the session ended (a product review: every
				// sign-in went to the record's summary).
				if next := safeNext(c.Request().URL.RequestURI()); next != "" {
					return c.Redirect(http.StatusSeeOther, "/signin?next="+url.QueryEscape(next))
				}
				return c.Redirect(http.StatusSeeOther, "/signin")
			}
			return echo.NewHTTPError(http.StatusForbidden, "You need to sign in first.")
		}
		return next(c)
	}
}

// requireSignInOrSettingUp lets through a signed-in session, or one that
// holds an enrolment or invitation code and is setting up a passkey: both
// are warned before they end, and may be kept going (views sessionTimeout).
func (s *Server) requireSignInOrSettingUp(next echo.HandlerFunc) echo.HandlerFunc {
	signedIn := s.requireSignIn(next)
	return func(c echo.Context) error {
		if sess := sessionOf(c); sess != nil && c.Get(ctxAccount) == nil {
			if sess.EnrolPersonID != 0 {
				// Not past the code's own end: more time would only lead to "expired".
				// Refused as a session that has ended is, so the warning's script
				// says setting up has stopped, and what to do (a review: it said
				// the site could not be reached).
				var expired *store.Error
				switch err := s.db.EnrolmentInDate(c.Request().Context(), sess.EnrolPersonID); {
				case errors.As(err, &expired) && expired.Code == store.EEXPIRED:
					return &store.Error{Code: store.EFORBIDDEN, Message: expired.Message}
				case err != nil:
					return err
				}
				return next(c)
			}
			if _, err := s.db.HeldInvitation(c.Request().Context(), sess.ID); err == nil {
				return next(c)
			}
		}
		return signedIn(c)
	}
}

// fromThisSite lets through a request to download or print a record, or
// download a document of it (what: "download", "print" or "document"), only
// when the person asked for it here, or typed or bookmarked its address
// (Fetch Metadata's Sec-Fetch-Site: same-origin, none, or not sent by an
// older browser). One
// another website started is asked about first (views.FromAnotherSite):
// the SameSite=Lax cookie goes with a top-level navigation, and the record
// was saved to the device's downloads, and the look written to the access
// log, without the person asking (a review).
func (s *Server) fromThisSite(what string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			switch c.Request().Header.Get("Sec-Fetch-Site") {
			case "", "same-origin", "none":
				return next(c)
			}
			return s.render(c, http.StatusOK, views.FromAnotherSite(s.page(c, "Another website sent you here"), what, c.Request().URL.RequestURI()))
		}
	}
}

// doneOf is what the page is to confirm was just done (the "done" query
// parameter a form's redirect adds), only when the browser came here from
// this site: a redirect after one of its forms is same-origin. From a link
// in a message or on another site (Sec-Fetch-Site none or cross-site) it
// confirms nothing: a carer could send "You have removed the passkey" or
// "You have changed John's access" when nothing was done (a review). An
// older browser that sends no Fetch Metadata is taken at its word.
func doneOf(c echo.Context) string {
	switch c.Request().Header.Get("Sec-Fetch-Site") {
	case "", "same-origin":
		return c.QueryParam("done")
	}
	return ""
}

// limitBody caps request bodies: nothing the portal accepts is large.
func limitBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Request().Body = http.MaxBytesReader(c.Response(), c.Request().Body, 64<<10)
		return next(c)
	}
}

// recoverPanics turns a handler's panic into the error page, logged with its
// stack, instead of a dropped connection. http.ErrAbortHandler still aborts.
func (s *Server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			r := recover()
			if r == nil {
				return
			}
			if r == http.ErrAbortHandler {
				panic(r)
			}
			s.log.Error("handler panicked", "method", c.Request().Method, "path", c.Request().URL.Path, "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", r)
		}()
		return next(c)
	}
}

package web

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// routes is the map of the portal: every route, grouped by the guard in front of it.
func (s *Server) routes() {
	e := s.echo
	e.Pre(s.securityHeaders)

	// Static files: no session needed.
	e.GET("/static/*", echo.WrapHandler(s.assets))
	e.GET("/assets/*", echo.WrapHandler(s.assets))
	e.GET("/healthz", s.healthz)

	// Everything else knows its session and checks CSRF on every state-changing request.
	app := e.Group("", limitBody, s.loadSession, s.csrf)

	// Public.
	app.GET("/", s.start)
	app.GET("/signin", s.signInPage)
	app.POST("/signin/begin", s.signInBegin)
	app.POST("/signin/finish", s.signInFinish)
	app.GET("/enrol", s.enrolPage)
	app.POST("/enrol", s.enrolSubmit)
	app.GET("/enrol/passkey", s.enrolPasskeyPage)
	app.POST("/enrol/passkey/begin", s.enrolPasskeyBegin)
	app.POST("/enrol/passkey/finish", s.enrolPasskeyFinish)
	app.GET("/signed-out", s.signedOut)
	app.POST("/signout", s.signOut)

	// Signed in: the account's own record.
	signedIn := app.Group("", s.requireSignIn)
	signedIn.GET("/record", s.recordSummary)
	signedIn.GET("/record/:section", s.recordSection)
}

func (s *Server) healthz(c echo.Context) error {
	if err := s.db.Ping(c.Request().Context()); err != nil {
		return c.String(http.StatusServiceUnavailable, "database unavailable\n")
	}
	return c.String(http.StatusOK, "ok\n")
}

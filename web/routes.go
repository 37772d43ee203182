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

	// Everything else knows its session, checks CSRF on every state-changing request,
	// and refuses changes while the disk is full (web/space.go).
	app := e.Group("", limitBody, s.loadSession, s.csrf, s.refuseWhenFull)

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
	app.GET("/account/removed", s.passkeysRemoved) // signed out by removing the last passkey
	app.GET("/accessibility", s.accessibility)

	// Signed in: the account's own record.
	signedIn := app.Group("", s.requireSignIn)
	signedIn.GET("/record", s.recordSummary)
	signedIn.GET("/record/:section", s.recordSection)
	signedIn.GET("/record/item/:id", s.recordEntry)
	signedIn.GET("/record/item/:id/attachment/:n", s.recordAttachment)
	signedIn.GET("/record/search", s.recordSearch)       // web/search.go
	signedIn.GET("/record/results", s.resultTests)       // web/results.go: results grouped by test, before /record/:section
	signedIn.GET("/record/results/:code", s.resultTrend) // one test's results, charted

	// Taking the record away, the account's passkeys and sessions (web/export.go, web/account.go).
	signedIn.GET("/record/download", s.recordDownload)
	signedIn.GET("/record/print", s.recordPrint)
	signedIn.GET("/account", s.accountPage)
	signedIn.POST("/account/passkeys/begin", s.addPasskeyBegin)
	signedIn.POST("/account/passkeys/finish", s.addPasskeyFinish)
	signedIn.GET("/account/passkeys/:id/rename", s.renamePasskeyPage)
	signedIn.POST("/account/passkeys/:id/rename", s.renamePasskey)
	signedIn.GET("/account/passkeys/:id/remove", s.removeLastPasskeyPage)
	signedIn.POST("/account/passkeys/:id/remove", s.removePasskey)
	signedIn.POST("/account/sessions/signout-others", s.signOutOthers)
}

func (s *Server) healthz(c echo.Context) error {
	if err := s.db.Ping(c.Request().Context()); err != nil {
		return c.String(http.StatusServiceUnavailable, "database unavailable\n")
	}
	return c.String(http.StatusOK, "ok\n")
}

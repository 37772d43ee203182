package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// routes is the map of the portal: every route, grouped by the guard in front of it.
func (s *Server) routes() {
	e := s.echo
	e.Pre(s.securityHeaders)
	e.Use(s.recoverPanics)

	// Static files: no session needed.
	e.GET("/static/*", echo.WrapHandler(s.assets))
	e.GET("/assets/*", echo.WrapHandler(s.assets))
	e.GET("/healthz", s.healthz)

	// Everything else knows its session, checks CSRF on every state-changing request,
	// and refuses changes while the disk is full (web/space.go).
	app := e.Group("", limitBody, s.loadSession, s.csrf, s.refuseWhenFull)

	// Rate limits (web/ratelimit.go): per client, and per code where one is typed.
	// Enrolment and invitation codes share one limit: both are one-time secrets to guess.
	limit := defaultLimits()
	codeLimit := s.rateLimit(limit.enrolCode, "code", limit.perCode)
	signInLimit := s.rateLimit(limit.signIn, "", RateLimit{})
	setupLimit := s.rateLimit(limit.enrolSetup, "", RateLimit{})
	sessionLimit := s.rateLimit(limit.sessionGet, "", RateLimit{}) // pages that start a session for their form's CSRF token

	// Public.
	app.GET("/", s.start)
	app.GET("/signin", s.signInPage, sessionLimit)
	app.POST("/signin/begin", s.signInBegin, signInLimit)
	app.POST("/signin/finish", s.signInFinish, signInLimit)
	app.GET("/enrol", s.enrolPage, sessionLimit)
	app.POST("/enrol", s.enrolSubmit, codeLimit)
	app.GET("/enrol/passkey", s.enrolPasskeyPage)
	app.POST("/enrol/passkey/begin", s.enrolPasskeyBegin, setupLimit)
	app.POST("/enrol/passkey/finish", s.enrolPasskeyFinish, setupLimit)
	app.POST("/enrol/link/begin", s.enrolLinkBegin, setupLimit) // the record added to an account that helps others (store.LinkEnrolment)
	app.POST("/enrol/link/finish", s.enrolLinkFinish, setupLimit)
	app.GET("/enrol/link", s.enrolLinkPage) // "Add your record to your account?", naming it
	app.POST("/enrol/link", s.enrolLinkConfirm, setupLimit)
	app.GET("/signed-out", s.signedOut)
	app.POST("/signout", s.signOut)
	app.GET("/account/removed", s.passkeysRemoved) // signed out by removing the last passkey
	app.GET("/accessibility", s.accessibility)
	app.GET("/help", s.help)

	// Accepting a carer's invitation: before sign-in, the code and the inviter's date of birth (web/carers.go).
	app.GET("/carers/accept", s.acceptPage, sessionLimit)
	app.POST("/carers/accept", s.acceptSubmit, codeLimit)
	app.GET("/carers/accept/confirm", s.acceptConfirmPage)
	app.POST("/carers/accept/signin/begin", s.acceptSignInBegin, signInLimit)
	app.POST("/carers/accept/signin/finish", s.acceptSignInFinish, signInLimit)
	app.POST("/carers/accept/passkey/begin", s.acceptPasskeyBegin, setupLimit)
	app.POST("/carers/accept/passkey/finish", s.acceptPasskeyFinish, setupLimit)

	// Staying signed in when warned the session is ending (views.sessionTimeout): for the
	// session, whoever's record the page was for; or going on setting up a passkey, with a code held.
	app.POST("/session/extend", s.extendSession, s.requireSignInOrSettingUp)

	// Signed in: the account's own record, or the record of someone it acts for (web/actor.go).
	// Each record route names what a carer's grant must cover; the grant is read afresh on every request.
	signedIn := app.Group("", s.requireSignIn, s.loadActing)
	signedIn.GET("/record", s.recordSummary, s.mayAny())                                                        // only granted sections shown
	signedIn.GET("/record/:section", s.recordSection, s.maySection())                                           // the section in the address
	signedIn.GET("/record/item/:id", s.recordEntry, s.mayItem())                                                // the item's section
	signedIn.GET("/record/item/:id/attachment/:n", s.recordAttachment, s.mayItem(), s.fromThisSite("document")) // the item's section
	signedIn.GET("/record/search", s.recordSearch, s.maySearch())                                               // web/search.go: granted sections' hits only
	signedIn.GET("/record/results", s.resultTests, s.may(fhir.SectionResults))                                  // web/results.go: before /record/:section
	signedIn.GET("/record/results/:code", s.resultTrend, s.may(fhir.SectionResults))                            // one test's results, charted

	// Taking the record away, the account's passkeys and sessions (web/export.go, web/account.go).
	// Not when another website sent them: it could leave the record in the device's downloads (fromThisSite).
	signedIn.GET("/record/download", s.recordDownload, s.may(store.ScopeDownload), s.fromThisSite("download"))
	signedIn.GET("/record/print", s.recordPrint, s.may(store.ScopeDownload), s.fromThisSite("print"))
	signedIn.GET("/account", s.accountPage)
	signedIn.POST("/account/passkeys/begin", s.addPasskeyBegin)
	signedIn.POST("/account/passkeys/finish", s.addPasskeyFinish)
	signedIn.GET("/account/passkeys/:id/rename", s.renamePasskeyPage)
	signedIn.POST("/account/passkeys/:id/rename", s.renamePasskey)
	signedIn.GET("/account/passkeys/:id/remove", s.removePasskeyPage)
	signedIn.POST("/account/passkeys/:id/remove", s.removePasskey)
	signedIn.POST("/account/sessions/signout-others", s.signOutOthers)
	signedIn.GET("/account/confirm", s.confirmPage)                      // "Confirm it's you" before changing passkeys
	signedIn.POST("/account/confirm/begin", s.confirmBegin, signInLimit) // the account's own passkeys only
	signedIn.POST("/account/confirm/finish", s.confirmFinish, signInLimit)

	// The person's choices about who may use their record (web/consent.go): one question a page,
	// "Check your change", then a confirmation. A carer needs the "choices" scope.
	signedIn.GET("/choices", s.choicesPage, s.may(store.ScopeChoices))
	signedIn.GET("/choices/history", s.choicesHistory, s.may(store.ScopeChoices))
	signedIn.GET("/choices/done/:id", s.choiceDone, s.may(store.ScopeChoices))
	signedIn.POST("/choices/deliveries/:id/retry", s.choiceRetry, s.may(store.ScopeChoices))
	signedIn.GET("/choices/entry", s.choiceQuestion, s.may(store.ScopeChoices), s.mayItem()) // ?item=<id> from an entry's page, or ?key= to share again
	signedIn.POST("/choices/entry", s.choiceCheck, s.may(store.ScopeChoices))
	signedIn.POST("/choices/entry/confirm", s.choiceConfirm, s.may(store.ScopeChoices))
	signedIn.GET("/choices/:question", s.choiceQuestion, s.may(store.ScopeChoices))
	signedIn.POST("/choices/:question", s.choiceCheck, s.may(store.ScopeChoices))
	signedIn.POST("/choices/:question/confirm", s.choiceConfirm, s.may(store.ScopeChoices))

	// Who has looked at the record (web/access.go): the person's own, never a carer's to read.
	signedIn.GET("/record/access-log", s.accessLog, s.ownOnly)

	// Carers (web/carers.go). The person's own carers: never while acting for someone else.
	signedIn.GET("/carers", s.carersPage, s.ownOnly)
	signedIn.GET("/carers/invite", s.invitePage, s.ownOnly)
	signedIn.POST("/carers/invite", s.inviteCheck, s.ownOnly)          // "Check your answers before sending the invitation"
	signedIn.POST("/carers/invite/confirm", s.inviteSubmit, s.ownOnly) // makes the invitation, once
	signedIn.GET("/carers/:id", s.grantPage, s.ownOnly)
	signedIn.POST("/carers/:id", s.grantChange, s.ownOnly)
	signedIn.GET("/carers/:id/revoke", s.revokePage, s.ownOnly)
	signedIn.POST("/carers/:id/revoke", s.revokeSubmit, s.ownOnly)
	signedIn.POST("/carers/accept/confirm", s.acceptConfirmSubmit)
	// The carer's side: whom to act for, and the people they help.
	signedIn.GET("/acting-for", s.actingForPage)
	signedIn.POST("/acting-for", s.actingForSubmit)
	signedIn.GET("/caring", s.caringPage)
	signedIn.GET("/caring/:id/give-up", s.giveUpPage)
	signedIn.POST("/caring/:id/give-up", s.giveUpSubmit)
}

func (s *Server) healthz(c echo.Context) error {
	if err := s.db.Ping(c.Request().Context()); err != nil {
		return c.String(http.StatusServiceUnavailable, "database unavailable\n")
	}
	return c.String(http.StatusOK, "ok\n")
}

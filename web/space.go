package web

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

const (
	cantSaveTitle   = "Sorry, we cannot save changes at the moment"
	cantSaveMessage = "You can still read the record. Nothing saved before has been lost. Try again later."
)

// refuseWhenFull turns away changes while the disk is full, with a page that
// says so, so that the space left keeps the access log and sign-ins going.
// Reading the record, signing in and signing out still work.
func (s *Server) refuseWhenFull(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Method == http.MethodGet || r.Method == http.MethodHead || !s.db.LowSpace() ||
			strings.HasPrefix(r.URL.Path, "/signin/") || r.URL.Path == "/signout" {
			return next(c)
		}
		return echo.NewHTTPError(http.StatusServiceUnavailable, cantSaveMessage)
	}
}

package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/views"
)

// resultsPerPage is how many results a test's page lists; the chart above
// the table always shows every one.
const resultsPerPage = 25

// resultTests shows the person's results grouped by test.
func (s *Server) resultTests(c echo.Context) error {
	person, err := s.recordPerson(c)
	if err != nil {
		return err
	}
	tests, err := s.db.ResultTests(c.Request().Context(), person.ID)
	if err != nil {
		return err
	}
	s.logView(c, person, "results")
	p, err := s.recordPage(c, "Test results", person)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.ResultTests(p, person, tests))
}

// resultTrend shows every result of one test: how it changed, as a chart, a
// sentence and a table.
func (s *Server) resultTrend(c echo.Context) error {
	person, err := s.recordPerson(c)
	if err != nil {
		return err
	}
	page, err := pageParam(c, "this test's results")
	if err != nil {
		return err
	}
	key := c.Param("code")
	if len(key) > 100 {
		return store.Errorf(store.ENOTFOUND, "There is no test like that in these results.")
	}
	tr, err := s.db.ResultTrend(c.Request().Context(), person.ID, key, page, resultsPerPage)
	if err != nil {
		return err // nothing was shown: nothing to log
	}
	s.logView(c, person, "results:"+key)
	p, err := s.recordPage(c, pagedTitle(views.TrendTitle(tr.Test), tr.Page, tr.Pages()), person)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.ResultTrend(p, person, tr))
}

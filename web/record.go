package web

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/views"
)

// recordPerson (web/actor.go) is the person whose record the account is using: its own, or one it acts for.

func (s *Server) recordSummary(c echo.Context) error {
	person, err := s.recordPerson(c)
	if err != nil {
		return err
	}
	sum, err := s.db.RecordSummary(c.Request().Context(), person.ID)
	if err != nil {
		return err
	}
	s.logView(c, person, "summary")
	p, err := s.recordPage(c, "", person)
	if err != nil {
		return err
	}
	p.Title = p.Whose() + " health record" // a carer's: "Mrs Jane Example's health record"
	return s.render(c, http.StatusOK, views.RecordSummary(p, person, sum))
}

func (s *Server) recordSection(c echo.Context) error {
	person, err := s.recordPerson(c)
	if err != nil {
		return err
	}
	page, err := pageParam(c, "your record")
	if err != nil {
		return err
	}
	sp, err := s.db.RecordSection(c.Request().Context(), person.ID, c.Param("section"), page, s.cfg.PerPage)
	if err != nil {
		return err
	}
	if page > sp.Pages() {
		return store.Errorf(store.ENOTFOUND, "There is no such page of this record.")
	}
	s.logView(c, person, sp.Section.Slug)
	p, err := s.recordPage(c, pagedTitle(sp.Section.Title, page, sp.Pages()), person)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.RecordSection(p, person, sp))
}

// pagedTitle is the title of one page of a list that has several: "Medicines
// (page 2 of 5)", so each page of it is told apart in tabs and history.
func pagedTitle(title string, page, pages int) string {
	if pages <= 1 {
		return title
	}
	return fmt.Sprintf("%s (page %d of %d)", title, page, pages)
}

// recordPage is a page of the person's record, saying how up to date each
// source is. To a carer, its title says whose record it is, as its heading
// does: "Medicines – Mrs Jane Example's record".
func (s *Server) recordPage(c echo.Context, title string, person store.Person) (views.Page, error) {
	p := s.page(c, title)
	if p.Acting != nil && title != "" {
		p.Title = title + " – " + p.Record()
	}
	var err error
	p.Sync, err = s.db.SyncStatuses(c.Request().Context(), person.ID)
	return p, err
}

// logView notes a look at the person's record, which render writes to the
// access log once the page is made and before it is sent: no page is sent
// until its look is on the disk, one that cannot be logged is not sent at
// all, and a page that fails, or that nobody is waiting for any more, is not
// logged as a look (a review: a look was logged as the handler began, and
// stayed when a read after it failed). Only for handlers that answer with
// render.
func (s *Server) logView(c echo.Context, person store.Person, what string) {
	s.logOnShow(c, person, "view", what)
}

// logOnShow is logView for any use of the record that render shows.
func (s *Server) logOnShow(c echo.Context, person store.Person, action, what string) {
	a := s.accessEntry(c, person, action, what)
	c.Set(ctxLogging, &a)
}

// pendingLook is the look logView noted and render has yet to log, and
// forgets it: an error page shows nothing of the record (handleError).
func pendingLook(c echo.Context) *store.Access {
	a, _ := c.Get(ctxLogging).(*store.Access)
	c.Set(ctxLogging, nil)
	return a
}

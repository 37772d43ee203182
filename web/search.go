package web

import (
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
	"github.com/mycarerecord/portal/views"
)

// searchPerSection is how many matches the search page shows from each section
// before offering "See all"; the one-section pages show this many a page too.
const searchPerSection = 20

// recordSearch searches the signed-in person's own record: GET /record/search?q=…,
// optionally narrowed to one section (&section=slug&page=n) for the "See all" pages.
// It works as a plain GET form, without JavaScript.
func (s *Server) recordSearch(c echo.Context) error {
	person, err := s.recordPerson(c)
	if err != nil {
		return err
	}
	form := views.SearchForm{Query: strings.TrimSpace(c.QueryParam(views.FieldSearch)), Section: c.QueryParam("section")}
	if form.Section != "" {
		if _, ok := fhir.SectionBySlug(form.Section); !ok {
			return store.Errorf(store.ENOTFOUND, "There is no part of the record called %q.", form.Section)
		}
	}
	page, err := pageParam(c, "search results")
	if err != nil {
		return err
	}
	if c.QueryParam("page") != "" && form.Section == "" {
		return store.Errorf(store.ENOTFOUND, "There is no such page of search results.") // pages are per section
	}
	if form.Query == "" {
		// Nothing is read from the record, so there is nothing to log: the page is the box
		// alone, saying what to do when the search was sent empty.
		status := http.StatusOK
		if _, sent := c.QueryParams()[views.FieldSearch]; sent {
			status, form.Errors = http.StatusBadRequest, []views.FieldError{{Field: views.FieldSearch, Message: "Enter what you want to find"}}
		}
		return s.render(c, status, views.RecordSearch(s.searchPage(c), person, form, store.SearchResults{}, searchPerSection))
	}
	if utf8.RuneCountInString(form.Query) > store.MaxSearchLength {
		form.Errors = []views.FieldError{{Field: views.FieldSearch, Message: "Your search must be " + strconv.Itoa(store.MaxSearchLength) + " characters or fewer"}}
		return s.render(c, http.StatusBadRequest, views.RecordSearch(s.searchPage(c), person, form, store.SearchResults{}, searchPerSection))
	}
	res, err := s.db.SearchRecord(c.Request().Context(), person.ID, form.Query,
		store.SearchOptions{Section: form.Section, PerSection: searchPerSection, Page: page})
	if err != nil {
		return err
	}
	res = grantedResults(c, res) // web/actor.go: a carer finds only what their grant covers
	if page > 1 && len(res.Sections) == 0 {
		return store.Errorf(store.ENOTFOUND, "There is no such page of search results.")
	}
	// The access log records that the record was searched, never what for: a
	// search can say more than the record does ("HIV", "termination"), and the
	// log is shown to carers and kept for good. A page past the last shows
	// nothing of the record, and logs nothing.
	s.logView(c, person, "search")
	title := "Search results for ‘" + form.Query + "’"
	if sec, ok := fhir.SectionBySlug(form.Section); ok {
		title += " in " + strings.ToLower(sec.Title)
		if n := len(res.Sections); n == 1 {
			title = pagedTitle(title, page, (res.Sections[0].Total+searchPerSection-1)/searchPerSection)
		}
	}
	p, err := s.recordPage(c, title, person)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.RecordSearch(p, person, form, res, searchPerSection))
}

// searchPage is the page of the search box alone: "Search your record", or,
// for a carer, "Search Mrs Jane Example's record".
func (s *Server) searchPage(c echo.Context) views.Page {
	p := s.page(c, "")
	p.Title = "Search " + p.Record()
	return p
}

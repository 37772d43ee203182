package web

import (
	"bufio"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/text/unicode/norm"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
	"github.com/mycarerecord/portal/views"
)

// recordDownload sends the whole cached record as a FHIR Bundle file.
func (s *Server) recordDownload(c echo.Context) error {
	person, err := s.recordPerson(c)
	if err != nil {
		return err
	}
	// Logged before a byte of the record leaves: a download that fails half way is still on the log.
	if err := s.logRecordUse(c, person, "download", "whole record (FHIR)"); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "application/fhir+json")
	h.Set(echo.HeaderContentDisposition, `attachment; filename="`+downloadName(person, time.Now())+`"`)
	c.Response().WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(c.Response(), 64<<10)
	if _, err := s.db.WriteBundle(c.Request().Context(), person.ID, bw); err != nil {
		// The status has gone: all that can be done is to stop, leaving a file no FHIR tool will read as whole.
		s.log.Error("record download failed part way", "err", err)
		return nil
	}
	if err := bw.Flush(); err != nil {
		s.log.Info("record download not finished", "err", err)
	}
	return nil
}

// printPerPage is how many items the print page reads at a time.
const printPerPage = 500

// recordPrint shows the whole record on one page, laid out to print.
func (s *Server) recordPrint(c echo.Context) error {
	ctx := c.Request().Context()
	person, err := s.recordPerson(c)
	if err != nil {
		return err
	}
	var sections []store.SectionPage
	for _, sec := range fhir.Sections() {
		all := store.SectionPage{Section: sec}
		for page := 1; ; page++ {
			sp, err := s.db.RecordSection(ctx, person.ID, sec.Slug, page, printPerPage)
			if err != nil {
				return err
			}
			all.Items = append(all.Items, sp.Items...)
			all.Total = sp.Total
			if page >= sp.Pages() {
				break
			}
		}
		all.Page, all.PerPage = 1, len(all.Items)
		sections = append(sections, all)
	}
	s.logOnShow(c, person, "print", "whole record")
	p, err := s.recordPage(c, "", person)
	if err != nil {
		return err
	}
	p.Title = p.Whose() + " health record to print"
	died, err := s.db.Died(ctx, person.ID)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.RecordPrint(p, person, died, sections))
}

// downloadName is the file a record downloads as, named by the person's
// given name and the day, "my-care-record-jane-2026-11-29.json", so a parent's
// own record and their child's are two files (a product review: every
// download was my-care-record-DATE.json). Letters with accents lose them;
// what is not a letter or digit of the basic Latin alphabet is left out.
func downloadName(p store.Person, now time.Time) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(strings.ToLower(firstWord(p.Given))) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	name := b.String()
	if len(name) > 30 {
		name = name[:30]
	}
	if name != "" {
		name += "-"
	}
	return "my-care-record-" + name + now.In(store.UKZone()).Format("2006-01-02") + ".json"
}

// firstWord is s's first word, "" for none.
func firstWord(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return ""
}

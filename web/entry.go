package web

import (
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/views"
)

// idParam reads a positive number from the path, or says in words that there is no such thing.
func idParam(c echo.Context, name, notFound string) (int64, error) {
	n, err := strconv.ParseInt(c.Param(name), 10, 64)
	if err != nil || n <= 0 {
		return 0, store.Errorf(store.ENOTFOUND, "%s", notFound)
	}
	return n, nil
}

// pageParam reads ?page= (1 when absent), or says there is no such page of what.
func pageParam(c echo.Context, what string) (int, error) {
	q := c.QueryParam("page")
	if q == "" {
		return 1, nil
	}
	page, err := strconv.Atoi(q)
	if err != nil || page < 1 || page > 100000 {
		return 0, store.Errorf(store.ENOTFOUND, "There is no such page of %s.", what)
	}
	return page, nil
}

// recordEntry shows one fact with every source's report of it and what it relates to.
func (s *Server) recordEntry(c echo.Context) error {
	person, err := s.recordPerson(c)
	if err != nil {
		return err
	}
	id, err := idParam(c, "id", "There is no such entry in this record.")
	if err != nil {
		return err
	}
	e, err := s.db.RecordEntry(c.Request().Context(), person.ID, id)
	if err != nil {
		return err
	}
	e.Related = grantedItems(c, e.Related) // web/actor.go: a carer sees only related items their grant covers
	s.logView(c, person, fmt.Sprintf("%s entry %d", e.Item.Section, id))
	p, err := s.recordPage(c, views.EntryTitle(e.Item), person)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.RecordEntry(p, person, e))
}

// recordAttachment sends a document's content as a download, never as a page:
// nothing from upstream may run script in the portal's origin.
func (s *Server) recordAttachment(c echo.Context) error {
	person, err := s.recordPerson(c)
	if err != nil {
		return err
	}
	id, err := idParam(c, "id", "There is no such entry in this record.")
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(c.Param("n"))
	if err != nil {
		return store.Errorf(store.ENOTFOUND, "There is no such document in this record.")
	}
	a, data, err := s.db.AttachmentData(c.Request().Context(), person.ID, id, n)
	if err != nil {
		return err
	}
	if err := s.logRecordUse(c, person, "view", fmt.Sprintf("download document %d/%d", id, n)); err != nil {
		return err
	}
	h := c.Response().Header()
	// Sandboxed, no sources at all: even a browser that ignored the attachment
	// disposition would run nothing and load nothing.
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": attachmentName(a, id, n)}))
	return c.Blob(http.StatusOK, safeContentType(a.ContentType), data)
}

// safeContentType keeps PDFs, images and plain text as they are and sends
// anything else, HTML included, as bytes to save.
func safeContentType(ct string) string {
	mt, _, err := mime.ParseMediaType(ct)
	switch {
	case err != nil:
		return "application/octet-stream"
	case mt == "text/plain":
		return "text/plain; charset=utf-8"
	case mt == "application/pdf", mt == "image/png", mt == "image/jpeg":
		return mt
	}
	return "application/octet-stream"
}

func attachmentName(a store.Attachment, id int64, n int) string {
	ext := ".bin"
	if mt, _, err := mime.ParseMediaType(a.ContentType); err == nil {
		switch mt {
		case "text/plain":
			ext = ".txt"
		case "text/html":
			ext = ".html"
		case "application/pdf":
			ext = ".pdf"
		case "image/png":
			ext = ".png"
		case "image/jpeg":
			ext = ".jpg"
		}
	}
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, strings.TrimSpace(a.Title))
	if name == "" {
		name = fmt.Sprintf("document-%d-%d", id, n)
	}
	return name + ext
}

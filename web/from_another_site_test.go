package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store/fhir"
)

// A page on another website navigates the signed-in person's browser to
// their record's download, print view or a document (a link, window.location,
// a form sent by GET): the SameSite=Lax cookie goes with it. Nothing is sent
// or logged; a page asks whether they meant it, and its button (a request
// from this site) does it (a review: the record was saved to the device's
// downloads and "Downloaded" written to the access log).
func TestAnotherWebsiteCannotDownloadTheRecord(t *testing.T) {
	f := newFixture(t)
	jane := f.signIn(t, f.jane)
	get := func(path, site string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.AddCookie(jane)
		if site != "" {
			req.Header.Set("Sec-Fetch-Site", site)
			req.Header.Set("Sec-Fetch-Mode", "navigate")
		}
		rec := httptest.NewRecorder()
		f.handler.ServeHTTP(rec, req)
		return rec
	}
	addSodiumAndLetter(t, f) // a letter, whose text is a document to open
	docs, err := f.db.RecordSection(context.Background(), f.jane.ID, fhir.SectionDocuments, 1, 10)
	if err != nil || len(docs.Items) == 0 {
		t.Fatalf("Jane's documents: %v", err)
	}
	for _, path := range []string{"/record/download", "/record/print", "/record/item/" + itoa(docs.Items[0].ID) + "/attachment/0"} {
		before := len(accessLog(t, f, f.jane))
		for _, site := range []string{"cross-site", "same-site"} {
			rec := get(path, site)
			d := docOf(t, rec.Body.String())
			if rec.Header().Get("Content-Disposition") != "" || d.Find("h1").Text() != "Another website sent you here" {
				t.Errorf("%s from %s: %d %q, h1 %q; want the page asking", path, site, rec.Code, rec.Header().Get("Content-Disposition"), d.Find("h1").Text())
			}
			if href, _ := d.Find("main a.nhsuk-button").Attr("href"); href != path {
				t.Errorf("%s from %s: the button goes to %q", path, site, href)
			}
		}
		if added := accessLog(t, f, f.jane)[before:]; len(added) > 0 {
			t.Errorf("%s from another website logged %q", path, added)
		}
		for _, site := range []string{"same-origin", "none", ""} {
			rec := get(path, site)
			if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), "Another website sent you here") {
				t.Errorf("%s asked for here (Sec-Fetch-Site %q): %d, asked again", path, site, rec.Code)
			}
		}
	}
}

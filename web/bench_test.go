package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/demo"
	"github.com/mycarerecord/portal/store/fhir"
)

// BenchmarkRecordPages renders record pages for a person with 10,000+ resources,
// and a static file as the reference measured in the same run; "x-static" is how
// many times dearer the page is than the cheapest response the server makes.
func BenchmarkRecordPages(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	src := demo.Large(10000)
	res, err := fhir.ParseBundle(src.Bundle)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := f.db.ImportResources(ctx, store.ImportOptions{Source: src.Name, OrgName: src.OrgName}, "large", res); err != nil {
		b.Fatal(err)
	}
	p, err := f.db.PersonByNHSNumber(ctx, demo.LargePerson().NHSNumber)
	if err != nil {
		b.Fatal(err)
	}
	cookie := f.signIn(b, p)
	home := f.get(b, "/", nil)
	body, _ := io.ReadAll(home.Body)
	css := regexp.MustCompile(`/static/[^"]+\.css`).Find(body)
	if css == nil {
		b.Fatal("no stylesheet link on the start page")
	}
	run := func(path string, c *http.Cookie) float64 {
		var ns float64
		b.Run(path, func(b *testing.B) {
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, path, nil)
				if c != nil {
					req.AddCookie(c)
				}
				rec := httptest.NewRecorder()
				f.handler.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("%s: status %d", path, rec.Code)
				}
			}
			ns = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		})
		return ns
	}
	ref := run(string(css), nil)
	for _, path := range []string{"/record", "/record/results", "/record/encounters?page=10"} {
		ns := run(path, cookie)
		b.Logf("%s: %.2f ms a page, %.0fx the static file (%.3f ms)", path, ns/1e6, ns/ref, ref/1e6)
	}
}

package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"testing"
	"time"

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
	// 10,000 resources from three sources. Each source sends the same record, so
	// every fact has three reports: the most work one entry per fact can take.
	src := demo.Large(3334)
	res, err := fhir.ParseBundle(src.Bundle)
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{"meanwood-gp", "leeds-hospitals", "leeds-community"} {
		if _, err := f.db.ImportResources(ctx, store.ImportOptions{Source: name, OrgName: name}, "large", res); err != nil {
			b.Fatal(err)
		}
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
	// run reports the median time of one request: the target is a
	// median, and a median is not moved by the odd WAL checkpoint.
	run := func(path string, c *http.Cookie) float64 {
		var median float64
		b.Run(path, func(b *testing.B) {
			var took []time.Duration
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, path, nil)
				if c != nil {
					req.AddCookie(c)
				}
				rec := httptest.NewRecorder()
				start := time.Now()
				f.handler.ServeHTTP(rec, req)
				took = append(took, time.Since(start))
				if rec.Code != http.StatusOK {
					b.Fatalf("%s: status %d", path, rec.Code)
				}
			}
			slices.Sort(took)
			median = float64(took[len(took)/2].Nanoseconds())
			b.ReportMetric(median/1e6, "median-ms")
		})
		return median
	}
	ref := run(string(css), nil)
	paths := []string{"/record"}
	for _, sec := range fhir.Sections() {
		paths = append(paths, "/record/"+sec.Slug)
	}
	paths = append(paths, "/record/encounters?page=10")
	for _, path := range paths {
		ns := run(path, cookie)
		b.Logf("%s: %.2f ms a page (median), %.0fx the static file (%.3f ms)", path, ns/1e6, ns/ref, ref/1e6)
	}
}

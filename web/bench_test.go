package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/demo"
	"github.com/mycarerecord/portal/store/fhir"
)

// benchRecord is a server over a real SQLite file holding a person with
// 10,000 resources from three sources, signed in, with a static file to
// measure against in the same run. Each source sends the same record, so every
// fact has three reports: the most work one entry per fact can take.
type benchRecord struct {
	f      *fixture
	cookie *http.Cookie
	ref    float64 // median ns of the static file
}

func newBenchRecord(b *testing.B) *benchRecord {
	f := newFixture(b)
	ctx := context.Background()
	// As portal serve does: looks go to the access log spool, moved into the
	// database every quarter of a second.
	if err := f.db.OpenAccessSpool(store.SpoolPath(filepath.Join(b.TempDir(), "portal.db"), "")); err != nil {
		b.Fatal(err)
	}
	moveCtx, stopMoving := context.WithCancel(ctx)
	moved := make(chan struct{})
	go func() {
		defer close(moved)
		f.db.MoveAccessSpoolEvery(moveCtx, 250*time.Millisecond, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}()
	b.Cleanup(func() { stopMoving(); <-moved })
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
	r := &benchRecord{f: f, cookie: f.signIn(b, p)}
	body, _ := io.ReadAll(f.get(b, "/", nil).Body)
	css := regexp.MustCompile(`/static/[^"]+\.css`).Find(body)
	if css == nil {
		b.Fatal("no stylesheet link on the start page")
	}
	r.ref = r.median(b, "static", string(css), false)
	return r
}

// median serves the path b.N times and reports the median time of one request:
// the targets are medians, and a median is not moved by the odd WAL checkpoint.
func (r *benchRecord) median(b *testing.B, name, path string, signedIn bool) float64 {
	var median float64
	b.Run(name, func(b *testing.B) {
		var took []time.Duration
		for b.Loop() {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			if signedIn {
				req.AddCookie(r.cookie)
			}
			rec := httptest.NewRecorder()
			start := time.Now()
			r.f.handler.ServeHTTP(rec, req)
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

// page measures a signed-in page and logs it against the static file.
func (r *benchRecord) page(b *testing.B, name, path string) {
	ns := r.median(b, name, path, true)
	b.Logf("%-28s %s: %.2f ms a page (median), %.0fx the static file (%.3f ms)", name, path, ns/1e6, ns/r.ref, r.ref/1e6)
}

// BenchmarkRecordPages renders the summary and every section page.
func BenchmarkRecordPages(b *testing.B) {
	r := newBenchRecord(b)
	r.page(b, "summary", "/record")
	for _, sec := range fhir.Sections() {
		r.page(b, sec.Slug, "/record/"+sec.Slug)
	}
	r.page(b, "encounters page 10", "/record/encounters?page=10")
}

package web

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/a-h/templ"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// TestAPageLeftWhileMadeIsNotLogged: a page of the record the browser goes
// away from while it is made is not sent, so not logged as a look (a
// review: logging it alongside the making logged those).
func TestAPageLeftWhileMadeIsNotLogged(t *testing.T) {
	s := newBareServer(t)
	ctx := context.Background()
	r, err := fhir.ParseResource([]byte(`{"resourceType":"Patient","id":"p1","identifier":[{"system":"` + fhir.NHSNumberSystem + `","value":"9434765919"}],"birthDate":"1957-03-14"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ImportResources(ctx, store.ImportOptions{Source: "gp"}, "test", []fhir.Resource{r}); err != nil {
		t.Fatal(err)
	}
	person, err := s.db.PersonByNHSNumber(ctx, "9434765919")
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	rec := httptest.NewRecorder()
	c := s.echo.NewContext(httptest.NewRequest(http.MethodGet, "/record/medicines", nil).WithContext(rctx), rec)
	c.Set(ctxLogging, &store.Access{PersonID: person.ID, Action: "view", What: "medicines", ActorKind: store.ActorOperator, ActorName: "test"})
	page := templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		io.WriteString(w, "<p>half a page")
		cancel() // the browser goes away while the page is made
		return ctx.Err()
	})
	if err := s.render(c, http.StatusOK, page); err == nil || rec.Body.Len() != 0 {
		t.Fatalf("render of a page left while made: %v, sent %q", err, rec.Body.String())
	}
	if log, err := s.db.AccessLog(ctx, person.ID, 100); err != nil || len(log) != 0 {
		t.Errorf("a page nobody received was logged as a look: %+v (%v)", log, err)
	}
}

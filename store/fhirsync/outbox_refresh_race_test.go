package fhirsync_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhirsync"
)

// TestRefreshWhileTheFirstSendIsInFlight: the GP's first Consent is being
// created when a sync stores the GP's own report of the kept-out entry and
// another sender's claim resets the row. The first sender's POST lands with
// the old body and its result is dropped (claim lost); the row, tried once,
// goes again as a refresh, updating the Consent upstream to name the GP's
// report (a review: it was taken as delivered, the old body upstream).
func TestRefreshWhileTheFirstSendIsInFlight(t *testing.T) {
	ctx := context.Background()
	var f *pushFixture
	var once sync.Once
	var hookErr error
	f = newPushFixtureVia(t, func(upstreamURL string) string {
		u, _ := url.Parse(upstreamURL)
		rp := httputil.NewSingleHostReverseProxy(u)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/Consent") {
				once.Do(func() {
					// Meanwhile: a sync stores the GP's report, and another
					// sender claims (and then stops, its lease 0).
					puller := &fhirsync.Puller{DB: f.db, Client: fhirsync.NewClients(func(string) string { return "" }, fastClient).Get}
					if _, err := puller.PullPerson(ctx, f.src, f.person.ID, nil); err != nil {
						hookErr = err
						return
					}
					_, hookErr = f.db.ClaimConsentOutbox(ctx, 10, 0)
				})
			}
			rp.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	})
	key := clinicDiagnosisKey(t, f)
	// The GP's own report is on the server, not yet synced.
	made := serverReport(t, f)
	f.change(t, store.WithholdItemQuestion(key), "yes")
	for i := 0; i < 3; i++ {
		if _, err := f.pusher().PushDue(ctx); err != nil {
			t.Fatal(err)
		}
		f.advance(3 * time.Minute)
	}
	if hookErr != nil {
		t.Fatal(hookErr)
	}
	if n, err := f.db.ConsentOutboxCounts(ctx); err != nil || n["waiting"] != 0 || n["sent"] != 1 {
		t.Fatalf("outbox %v %v; want the one delivery sent", n, err)
	}
	all := f.consents(t)
	if len(all) != 1 {
		t.Fatalf("%d Consents upstream; want 1", len(all))
	}
	for _, raw := range all {
		if !strings.Contains(string(raw), "Condition/"+made) {
			t.Errorf("the GP's Consent does not name its own report Condition/%s, though the outbox says delivered:\n%s", made, raw)
		}
	}
}

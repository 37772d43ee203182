package fhirsync_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
	"github.com/mycarerecord/portal/store/fhirsync"
)

// TestNoTotalIsListedNotReadTwice: from a server that gives no Bundle.total,
// an ordinary sync that brings two pages of new Observations reads them once
// and lists the type, as running the search again could show no more; with a
// total it reads them once and lists nothing (a review: read twice, then
// listed).
func TestNoTotalIsListedNotReadTwice(t *testing.T) {
	for _, noTotal := range []bool{false, true} {
		ctx := context.Background()
		srv, patientID := serverWithJane(t)
		var searches, listings atomic.Int32
		count := func(w http.ResponseWriter, r *http.Request) bool {
			if strings.HasSuffix(r.URL.Path, "/Observation") || strings.Contains(r.URL.RawQuery, "Observation") {
				if strings.Contains(r.URL.RawQuery, "_elements=id%2Cmeta") || strings.Contains(r.URL.RawQuery, "_elements=id,meta") {
					listings.Add(1)
				} else {
					searches.Add(1)
				}
			}
			return false
		}
		var rw func(*http.Request, []byte) []byte
		if noTotal {
			rw = withoutTotal
		}
		proxy := newStubProxy(t, srv.URL, count, rw)
		db := openDB(t)
		src, _ := db.AddSource(ctx, store.Source{Name: "lth", BaseURL: proxy.URL})
		puller := &fhirsync.Puller{DB: db, Client: fhirsync.NewClients(func(string) string { return "" }, fastClient).Get, PageSize: 10, Overlap: time.Millisecond}
		person, err := puller.FindPerson(ctx, src, fhir.NHSNumberSystem, janeNHS)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := puller.PullPerson(ctx, src, person.ID, nil); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1100 * time.Millisecond)
		addObservations(t, srv, patientID, 15)
		time.Sleep(1100 * time.Millisecond)
		searches.Store(0)
		listings.Store(0)
		if _, err := puller.PullPerson(ctx, src, person.ID, nil); err != nil {
			t.Fatal(err)
		}
		wantListings := map[bool]int32{false: 0, true: 1}[noTotal]
		if searches.Load() != 2 || listings.Load() != wantListings {
			t.Errorf("no total %v: %d Observation search pages, %d listing pages; want 2 and %d", noTotal, searches.Load(), listings.Load(), wantListings)
		}
	}
}

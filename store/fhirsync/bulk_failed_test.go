package fhirsync_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhirsync"
)

// A failed export: the status URL answers 500 with an OperationOutcome whose
// issue code is not "transient" (the Bulk Data spec's "Error Status"). The
// client stops and says what the server said, and does not check on it for
// a day (found by a review).
func TestBulkExportThatFailedEndsSayingWhy(t *testing.T) {
	srv, counts := oneFileExport(t, func(w http.ResponseWriter, n int) bool {
		w.Header().Set("Content-Type", "application/fhir+json")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, `{"resourceType":"OperationOutcome","issue":[{"severity":"fatal","code":"exception","diagnostics":"Export job failed: disk full"}]}`)
		return true
	}, nil)
	clock := newSteppedClock()
	c, err := fhirsync.NewClient(srv.URL+"/fhir", nil, fhirsync.ClientOptions{MaxAttempts: 2, Now: clock.Now, Sleep: clock.Sleep})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.BulkExport(context.Background(), nil, "", nil)
	if checks, _ := counts.get(); checks > 2 {
		t.Errorf("a failed export (500 + non-transient OperationOutcome) was checked %d times", checks)
	}
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("the error does not report the server's words: %v", err)
	}
}

// An export whose error file says resources were left out does not move on
// where the next export starts: asked only for what changed since, it would
// never bring them (found by a review). One that only warns does.
func TestBulkExportLeavingResourcesOutIsAskedForAgain(t *testing.T) {
	for _, tc := range []struct {
		severity string
		since    bool
	}{{"error", false}, {"fatal", false}, {"warning", true}} {
		t.Run(tc.severity, func(t *testing.T) {
			srv, counts := exportWithErrors(t, nil, func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprintln(w, `{"resourceType":"Patient","id":"p1","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}],"birthDate":"1957-03-14"}`)
			},
				`{"resourceType":"OperationOutcome","issue":[{"severity":"`+tc.severity+`","code":"exception","diagnostics":"Observation export failed for 20000 resources"}]}`+"\n")
			ctx := context.Background()
			db, _ := bulkDB(t)
			src, err := db.AddSource(ctx, store.Source{Name: "region", BaseURL: srv.URL + "/fhir"})
			if err != nil {
				t.Fatal(err)
			}
			clock := newSteppedClock()
			puller := &fhirsync.Puller{DB: db, Client: fhirsync.NewClients(func(string) string { return "" }, fhirsync.ClientOptions{Now: clock.Now, Sleep: clock.Sleep}).Get}
			for range 2 {
				if _, err := puller.PullBulk(ctx, src, nil); err != nil {
					t.Fatal(err)
				}
			}
			since, err := db.BulkSince(ctx, src.ID)
			counts.mu.Lock()
			next := counts.kickoffs[1]
			counts.mu.Unlock()
			if err != nil || (since != "") != tc.since || strings.Contains(next, "_since") != tc.since {
				t.Errorf("after an export whose error file says %s: the next starts from %q (%v), asking %q; want from its time: %v", tc.severity, since, err, next, tc.since)
			}
		})
	}
}

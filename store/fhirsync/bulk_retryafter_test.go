package fhirsync_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store/fhirsync"
)

// A status check answered "202, Retry-After: 600" is made again no sooner
// than 10 minutes later (a review: after 5).
func TestExportInProgressIsCheckedNoSoonerThanAsked(t *testing.T) {
	srv, counts := oneFileExport(t, func(w http.ResponseWriter, n int) bool {
		if n == 1 {
			answer(w, http.StatusAccepted, "600")
		}
		return n == 1
	}, nil)
	clock := newSteppedClock()
	c, err := fhirsync.NewClient(srv.URL+"/fhir", nil, fhirsync.ClientOptions{Now: clock.Now, Sleep: clock.Sleep})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.BulkExport(context.Background(), nil, "", nil); err != nil {
		t.Fatal(err)
	}
	checks, _ := counts.get()
	if waits := clock.waits(); len(waits) == 0 || waits[0] < 10*time.Minute {
		t.Errorf("the server said to check again in 10 minutes; the client waited %v before its next check (%d checks)", waits, checks)
	}
}

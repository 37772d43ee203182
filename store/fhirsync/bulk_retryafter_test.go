package fhirsync_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store/fhirsync"
)

// A status check answered "202, Retry-After: 600" is made again no sooner
// than 10 minutes later (a review: after 5); one asking for two hours, after
// an hour (the longest wait, within the day an export may take).
func TestExportInProgressIsCheckedNoSoonerThanAsked(t *testing.T) {
	for _, tc := range []struct {
		after string
		want  time.Duration
	}{{"600", 10 * time.Minute}, {"7200", time.Hour}} {
		srv, counts := oneFileExport(t, func(w http.ResponseWriter, n int) bool {
			if n == 1 {
				answer(w, http.StatusAccepted, tc.after)
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
		if waits := clock.waits(); len(waits) == 0 || waits[0] != tc.want {
			t.Errorf("Retry-After: %s; the client waited %v before its next check (%d checks), want %s first", tc.after, waits, checks, tc.want)
		}
	}
}

package fhirsync_test

import (
	"context"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store/fhirsync"
)

// An update skipped by a search whose pages shifted even when it ran again
// (one resource amended while each run was read) is passed by the
// watermark; the listing that follows compares versions, and fetches it
// (a review: it found it cached, an older version, and left it).
func TestAnUpdateSkippedWhenTheSearchShiftsTwiceIsFetched(t *testing.T) {
	ctx := context.Background()
	srv, patientID := serverWithJane(t)
	ids := addObservations(t, srv, patientID, 11)
	db, src, puller, person := janeFound(t, srv.URL)
	time.Sleep(1100 * time.Millisecond)
	if _, err := puller.PullPerson(ctx, src, person.ID, nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	for _, id := range ids {
		amend(t, srv, id)
	}
	time.Sleep(1100 * time.Millisecond)
	pages := 0
	progress := func(pr fhirsync.Progress) {
		if pr.ResourceType != "Observation" {
			return
		}
		pages++
		switch pages {
		case 1:
			amend(t, srv, ids[0])
		case 2:
			amend(t, srv, ids[5])
			time.Sleep(1100 * time.Millisecond)
		case 3:
			amend(t, srv, ids[1])
			time.Sleep(1100 * time.Millisecond)
		}
	}
	if _, err := puller.PullPerson(ctx, src, person.ID, progress); err != nil {
		t.Fatal(err)
	}
	if pages < 4 {
		t.Fatalf("%d Observation pages; the test shows nothing", pages)
	}
	for range 2 {
		if _, err := puller.PullPerson(ctx, src, person.ID, nil); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("ids[5] is Observation/%s", ids[5])
	sameCopy(t, upstreamCopy(t, srv, patientID), localCopy(t, db, person.ID))
}

package fhirsync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

func TestNotAfter(t *testing.T) {
	served := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name, t string
		served  time.Time
		want    string
	}{
		{"before the answer", "2026-11-26T11:59:59.5Z", served, "2026-11-26T11:59:59.5Z"},
		{"stamped in the future", "2099-01-01T00:00:00Z", served, "2026-11-26T12:00:00Z"},
		{"in the future, in another zone", "2026-11-26T13:30:00+01:00", served, "2026-11-26T12:00:00Z"},
		{"no Date header", "2099-01-01T00:00:00Z", time.Time{}, "2099-01-01T00:00:00Z"},
		{"nothing seen", "", served, ""},
	} {
		if got := notAfter(tt.t, tt.served); got != tt.want {
			t.Errorf("%s: notAfter(%q) = %q, want %q", tt.name, tt.t, got, tt.want)
		}
	}
}

// Explain tells a patient what happened in a plain sentence, never the
// server's own words or a status code.
func TestExplain(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{&UpstreamError{Status: 403, Message: "The server said: token abc123 may not read"}, "Their system would not let us read the record. We will try again soon."},
		{&UpstreamError{Status: 503, Message: "The server said: down", Retryable: true}, "Their system did not answer. We will try again soon."},
		{&UpstreamError{Message: "the connection was reset", Retryable: true}, "Their system did not answer. We will try again soon."},
		{&UpstreamError{Status: 422, Message: "The server said: Observation.code is required"}, "Their system sent an answer we could not read. We will try again soon."},
		{fmt.Errorf("lth: %w", ErrCircuitOpen), "Their system has not been answering. We will try again soon."},
		{&WaitError{Host: "lth", Err: &UpstreamError{Status: 429, Message: "429 Too Many Requests", Retryable: true}}, "Their system is busy and asked us to wait. We will try again later."},
		{&WaitError{Host: "lth"}, "Their system is busy and asked us to wait. We will try again later."},
		{context.DeadlineExceeded, "Their system has not been answering. We will try again soon."},
		{ErrNoRecord, "This organisation has no record of this person."},
		{fmt.Errorf("Observation: the next page could not be read: %w", ErrForeignURL), "Their system sent an answer we could not follow. We will try again soon."},
		{errors.New("the answer has no access_token"), "Something went wrong while we were getting the record. We will try again soon."},
	} {
		if got := Explain(tt.err); got != tt.want {
			t.Errorf("Explain(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

// Resources kept aside are read again in turn: with 200 that stay
// unreadable upstream, one later in order, only damaged on the way, is read
// again by the next sync, and those still unreadable wait an hour.
func TestRetryRejectedTakesTurns(t *testing.T) {
	ctx := t.Context()
	db, srcs, person := personWithSources(t, "lth")
	var mu sync.Mutex
	asked := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked[r.URL.Path]++
		mu.Unlock()
		w.Header().Set("Content-Type", "application/fhir+json")
		if r.URL.Path == "/fhir/Observation/zz" {
			io.WriteString(w, `{"resourceType":"Observation","id":"zz","status":"final","code":{"text":"HbA1c"},"subject":{"reference":"Patient/p1"}}`)
			return
		}
		io.WriteString(w, `{"resourceType":"Observation","id":"`+strings.TrimPrefix(r.URL.Path, "/fhir/Observation/")+`","status":5}`)
	}))
	defer srv.Close()
	var rejected []store.Rejected
	for i := range 200 {
		rejected = append(rejected, store.Rejected{Type: "Observation", ID: fmt.Sprintf("a%03d", i), Error: "status should be text"})
	}
	rejected = append(rejected, store.Rejected{Type: "Observation", ID: "zz", Error: "cut short on the way"})
	if _, err := db.ApplyPage(ctx, store.PageUpdate{Source: "lth", PersonID: person.ID, ResourceType: "Observation", Origin: "test", Rejected: rejected}); err != nil {
		t.Fatal(err)
	}
	c, err := NewClient(srv.URL+"/fhir", nil, ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	db.SetClock(func() time.Time { return start })
	if err := db.SyncStarted(ctx, srcs[0].ID, person.ID, store.RunnerID("portal sync")); err != nil {
		t.Fatal(err)
	}
	later := start.Add(9 * time.Minute)
	db.SetClock(func() time.Time { return later })
	p := &Puller{DB: db}
	for range 3 { // three syncs
		var sum Summary
		if err := p.retryRejected(ctx, c, srcs[0], person.ID, &sum); err != nil {
			t.Fatal(err)
		}
	}
	if asked["/fhir/Observation/zz"] != 1 || asked["/fhir/Observation/a000"] != 1 {
		t.Errorf("read again: Observation/zz %d times, Observation/a000 %d times; want each once in 3 syncs",
			asked["/fhir/Observation/zz"], asked["/fhir/Observation/a000"])
	}
	if left, err := db.RetryDue(ctx, srcs[0].ID, 0, 1000); err != nil || len(left) != 0 {
		t.Errorf("left to read again within the hour: %d (%v), want none", len(left), err)
	}
	// Reading them again, which stores nothing, keeps the sync marked running.
	if sts, err := db.SyncStatuses(ctx, person.ID); err != nil || len(sts) == 0 || sts[0].RunningSince == "" || !sts[0].Running(later.Add(store.RunningMarkLife-time.Second)) {
		t.Errorf("after reading kept-aside resources again: %+v, %v; want the sync marked running since %v", sts, err, later)
	}
	db.SetClock(func() time.Time { return later.Add(store.RetryRejectedAfter + time.Minute) })
	if left, err := db.RetryDue(ctx, srcs[0].ID, 0, 1000); err != nil || len(left) != 200 {
		t.Errorf("left to read again an hour later: %d (%v), want the 200 still unreadable", len(left), err)
	}
}

// obsVersion is a version of Observation o1, filed under patient.
func obsVersion(t *testing.T, vid, updated, patient, when string) fhir.Resource {
	t.Helper()
	raw := `{"resourceType":"Observation","id":"o1","meta":{"versionId":"` + vid + `","lastUpdated":"` + updated + `"},"status":"final",` +
		`"code":{"text":"Weight"},"subject":{"reference":"Patient/` + patient + `"},"effectiveDateTime":"` + when + `","valueQuantity":{"value":70,"unit":"kg"}}`
	r, err := fhir.ParseResource([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// What a type's history shows of a resource cached about Jane's Patient is
// judged by its newest version, pages apart or not: the latest, or at the
// same time the higher versionId, in whatever order the history lists them;
// one that cannot be read says nothing; one filed under another of her
// Patient ids is still hers (all found by reviews).
func TestRefilingJudgesByTheNewestVersion(t *testing.T) {
	for _, tc := range []struct {
		name  string
		pages [][]fhir.Resource
		moved int
	}{
		{"moved", [][]fhir.Resource{{obsVersion(t, "2", "2026-11-26T10:01:00Z", "other", "2026-11-01")}}, 1},
		{"moved and back", [][]fhir.Resource{{
			obsVersion(t, "3", "2026-11-26T10:02:00Z", "jane", "2026-11-01"),
			obsVersion(t, "2", "2026-11-26T10:01:00Z", "other", "2026-11-01")}}, 0},
		{"moved and back, pages apart", [][]fhir.Resource{
			{obsVersion(t, "3", "2026-11-26T10:02:00Z", "jane", "2026-11-01")},
			{obsVersion(t, "2", "2026-11-26T10:01:00Z", "other", "2026-11-01")}}, 0},
		{"through her second Patient to another's, pages apart", [][]fhir.Resource{
			{obsVersion(t, "3", "2026-11-26T10:02:00Z", "other", "2026-11-01")},
			{obsVersion(t, "2", "2026-11-26T10:01:00Z", "jane-2", "2026-11-01")}}, 1},
		{"the newest unreadable", [][]fhir.Resource{{
			obsVersion(t, "3", "2026-11-26T10:02:00Z", "jane", "yesterday"),
			obsVersion(t, "2", "2026-11-26T10:01:00Z", "other", "2026-11-01")}}, 0},
		{"the same time, oldest first", [][]fhir.Resource{{
			obsVersion(t, "2", "2026-11-26T10:01:00Z", "other", "2026-11-01"),
			obsVersion(t, "3", "2026-11-26T10:01:00Z", "jane", "2026-11-01")}}, 0},
		{"to her second Patient id", [][]fhir.Resource{{obsVersion(t, "2", "2026-11-26T10:01:00Z", "jane-2", "2026-11-01")}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, cached := range []bool{true, false} { // not cached about Jane: another's, whatever its history says
				r := &refiling{ours: map[string]bool{"jane": true, "jane-2": true}, cached: map[string]bool{"o1": cached}, newest: map[string]fhir.Resource{}}
				for _, page := range tc.pages {
					r.note(page, "Observation")
				}
				want := tc.moved
				if !cached {
					want = 0
				}
				if moved := r.moved(); len(moved) != want {
					t.Errorf("cached about Jane %v: moved %+v; want %d", cached, moved, want)
				}
			}
		})
	}
}

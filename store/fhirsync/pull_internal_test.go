package fhirsync

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
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

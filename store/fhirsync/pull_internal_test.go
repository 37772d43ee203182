package fhirsync

import (
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

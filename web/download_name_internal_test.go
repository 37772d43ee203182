package web

import (
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
)

// TestDownloadName: a record downloads as a file named by the person's given
// name and the day in the UK, so a parent's own record and their child's are
// two files; a name is kept to plain letters and digits.
func TestDownloadName(t *testing.T) {
	at := time.Date(2026, time.November, 28, 23, 30, 0, 0, time.UTC) // 28 November in the UK too (GMT)
	for _, tc := range []struct {
		given, want string
	}{
		{"Jane", "my-care-record-jane-2026-11-28.json"},
		{"Mary Ann", "my-care-record-mary-2026-11-28.json"},
		{"Zoë", "my-care-record-zoe-2026-11-28.json"},
		{"Şahin", "my-care-record-sahin-2026-11-28.json"},
		{`J"a/ne`, "my-care-record-jane-2026-11-28.json"},
		{"李", "my-care-record-2026-11-28.json"},
		{"", "my-care-record-2026-11-28.json"},
	} {
		if got := downloadName(store.Person{Given: tc.given, Family: "Example"}, at); got != tc.want {
			t.Errorf("given name %q: %q, want %q", tc.given, got, tc.want)
		}
	}
}

package web_test

import (
	"strings"
	"testing"
)

// Sections are named in plain English wherever people see them: in the page's
// title and heading, in the section links, and on the summary. Their
// addresses stay as they were, so bookmarks still work.
func TestSectionsHavePlainNames(t *testing.T) {
	f := newFixture(t)
	jane := f.signIn(t, f.jane)
	tests := []struct {
		path, want, old string
	}{
		{"/record/immunisations", "Vaccinations", "Immunisations"},
		{"/record/encounters", "Appointments and visits", "Encounters and appointments"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			d := doc(t, f.get(t, tt.path, jane))
			if got := strings.TrimSpace(d.Find("h1").First().Text()); got != tt.want {
				t.Errorf("heading %q, want %q", got, tt.want)
			}
			if got := d.Find("title").Text(); !strings.HasPrefix(got, tt.want) {
				t.Errorf("title %q, want it to start with %q", got, tt.want)
			}
			if got := d.Find(`a[href="` + tt.path + `"]`).Text(); !strings.Contains(got, tt.want) {
				t.Errorf("the section's own link reads %q, want %q", got, tt.want)
			}
		})
	}
	summary := doc(t, f.get(t, "/record", jane)).Text()
	for _, tt := range tests {
		if !strings.Contains(summary, tt.want) || strings.Contains(summary, tt.old) {
			t.Errorf("the summary does not name %q as %q", tt.old, tt.want)
		}
	}
}

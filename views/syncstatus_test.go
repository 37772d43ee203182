package views

import (
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/mycarerecord/portal/store"
)

// However many sources are failing, the page warns once, under one heading,
// naming each source, so no two headings say the same (WCAG 2.4.6).
func TestSyncStatusWarnsOnce(t *testing.T) {
	now := time.Now()
	failing := func(org string) store.SyncStatus {
		return store.SyncStatus{Source: store.Source{OrgName: org}, LastError: "Their system did not answer."}
	}
	running := store.SyncStatus{Source: store.Source{OrgName: "Meanwood Group Practice"}, RunningSince: now.UTC().Format(time.RFC3339Nano)}
	tests := []struct {
		name     string
		sync     []store.SyncStatus
		warnings []string // the organisations the warning names, in order
		lines    int      // paragraphs outside the warning
	}{
		{"none failing", []store.SyncStatus{running}, nil, 2},
		{"one failing", []store.SyncStatus{failing("Leeds Teaching Hospitals NHS Trust"), running}, []string{"Leeds Teaching Hospitals NHS Trust"}, 2},
		{"three failing", []store.SyncStatus{
			failing("Leeds Teaching Hospitals NHS Trust"), running, failing("Leeds Community Healthcare"), failing("Yorkshire Ambulance Service"),
		}, []string{"Leeds Teaching Hospitals NHS Trust", "Leeds Community Healthcare", "Yorkshire Ambulance Service"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := syncStatus(Page{Now: now, Path: "/record", Sync: tt.sync}).Render(t.Context(), &b); err != nil {
				t.Fatal(err)
			}
			d, err := goquery.NewDocumentFromReader(strings.NewReader(b.String()))
			if err != nil {
				t.Fatal(err)
			}
			var headings []string
			d.Find("h2").Each(func(_ int, s *goquery.Selection) { headings = append(headings, s.Text()) })
			wantHeadings := 0
			if len(tt.warnings) > 0 {
				wantHeadings = 1
			}
			if len(headings) != wantHeadings || d.Find(".nhsuk-warning-callout").Length() != wantHeadings {
				t.Errorf("headings %q; want %d warning", headings, wantHeadings)
			}
			var got []string
			d.Find(".nhsuk-warning-callout p").Each(func(i int, s *goquery.Selection) {
				if i < len(tt.warnings) && !strings.Contains(s.Text(), "from "+tt.warnings[i]+" yet.") {
					t.Errorf("warning %d reads %q; want it to name %s", i+1, s.Text(), tt.warnings[i])
				}
				got = append(got, s.Text())
			})
			if len(got) != len(tt.warnings) {
				t.Errorf("the warning says %q; want one paragraph for each of %q", got, tt.warnings)
			}
			if n := d.Find(".mcr-sync-status > p").Length(); n != tt.lines {
				t.Errorf("%d lines beside the warning, want %d (the update running and its link)", n, tt.lines)
			}
		})
	}
}

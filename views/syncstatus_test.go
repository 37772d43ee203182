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

// TestSyncStatusWarnsOfASourceThatHasBeenFailing: a source whose last sync
// failed is warned of when it has been failing a while, when what it sent is
// an hour old, or when it sent nothing; one failure beside data brought
// minutes ago is not, and its line says when it was last updated (a
// review: a few seconds' blip upstream put the warning on every page).
func TestSyncStatusWarnsOfASourceThatHasBeenFailing(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 42, 0, 0, time.UTC)
	stamp := func(d time.Duration) string { return now.Add(-d).Format(time.RFC3339Nano) }
	const why = "Their system did not answer. We will try again soon."
	tests := []struct {
		name         string
		brought      time.Duration // 0: never
		failingSince time.Duration
		warn         bool
		line         string
	}{
		{"failed a minute ago, brought 16 minutes ago", 16 * time.Minute, time.Minute, false, "Updated from Leeds Teaching Hospitals 16 minutes ago."},
		{"failing 20 minutes, brought 50 minutes ago", 50 * time.Minute, 20 * time.Minute, true, "You are seeing what it sent 50 minutes ago."},
		{"failed a minute ago, brought 2 hours ago", 2 * time.Hour, time.Minute, true, "You are seeing what it sent 2 hours ago."},
		{"failed a minute ago, never brought", 0, time.Minute, true, "We could not get your record from Leeds Teaching Hospitals yet."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := store.SyncStatus{Source: store.Source{Name: "lth", OrgName: "Leeds Teaching Hospitals"},
				LastAttemptAt: stamp(tt.failingSince), LastError: why, FailingSince: stamp(tt.failingSince)}
			if tt.brought != 0 {
				st.LastSuccessAt = stamp(tt.brought)
			}
			var b strings.Builder
			if err := syncStatus(Page{Now: now, Path: "/record", Sync: []store.SyncStatus{st}}).Render(t.Context(), &b); err != nil {
				t.Fatal(err)
			}
			text := strings.Join(strings.Fields(b.String()), " ")
			if strings.Contains(b.String(), "nhsuk-warning-callout") != tt.warn || !strings.Contains(text, tt.line) {
				t.Errorf("got %s\nwant a warning %v, and %q", text, tt.warn, tt.line)
			}
		})
	}
}

// TestSyncStatusToACarerOfSourcesUnnamed: two sources a carer is not told
// the names of, both failing, are one sentence, not the same sentence twice,
// which read as one organisation said twice (a review); one syncing, when
// nothing else is, says the record is being updated (a review: nothing was
// said of a first sync under way).
func TestSyncStatusToACarerOfSourcesUnnamed(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 42, 0, 0, time.UTC)
	failing := store.SyncStatus{Unnamed: true, LastError: "Their system did not answer. We will try again soon."}
	busy := store.SyncStatus{Unnamed: true, LastError: "Their system is busy and asked us to wait. We will try again later."}
	running := store.SyncStatus{Unnamed: true, RunningSince: now.Add(-time.Minute).Format(time.RFC3339Nano)}
	named := store.SyncStatus{Source: store.Source{OrgName: "Meanwood Group Practice"}, RunningSince: now.Add(-time.Minute).Format(time.RFC3339Nano)}
	tests := []struct {
		name string
		sync []store.SyncStatus
		want []string
	}{
		{"two failing alike", []store.SyncStatus{failing, failing},
			[]string{"We could not get all of Mrs Jane Example's record from 2 of the organisations that hold it. Their system did not answer. We will try again soon."}},
		{"two failing otherwise", []store.SyncStatus{failing, busy},
			[]string{"We could not get all of Mrs Jane Example's record from 2 of the organisations that hold it. Their system did not answer. We will try again soon. Their system is busy and asked us to wait. We will try again later."}},
		{"one syncing", []store.SyncStatus{running}, []string{"Updating Mrs Jane Example's record…"}},
		{"one syncing beside one named", []store.SyncStatus{named, running}, []string{"Updating from Meanwood Group Practice…"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, l := range syncLines(Page{Now: now, Path: "/record", Acting: &Acting{Name: "Mrs Jane Example"}, Sync: tt.sync}) {
				got = append(got, l.Text)
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got %q\nwant %q", got, tt.want)
			}
		})
	}
}

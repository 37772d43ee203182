package views

import (
	"strings"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
)

func TestSyncLines(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 42, 0, 0, time.UTC)
	stamp := func(d time.Duration) string { return now.Add(-d).Format("2006-01-02T15:04:05.000000000Z") }
	lth := store.Source{Name: "lth", OrgName: "Leeds Teaching Hospitals"}
	tests := []struct {
		name        string
		st          store.SyncStatus
		want        string
		warn, again bool
	}{
		{"updated", store.SyncStatus{Source: lth, LastSuccessAt: stamp(4 * time.Minute)}, "Updated from Leeds Teaching Hospitals 4 minutes ago.", false, false},
		{"running", store.SyncStatus{Source: lth, RunningSince: stamp(time.Minute), LastSuccessAt: stamp(time.Hour)}, "Updating from Leeds Teaching Hospitals… Last updated 1 hour ago.", false, true},
		{"running the first time", store.SyncStatus{Source: lth, RunningSince: stamp(time.Minute)}, "Updating from Leeds Teaching Hospitals…", false, true},
		// Tried again: the warning stands (a review: a retry against a hanging
		// server hid it, and when the record was last updated, for minutes).
		{"failing, being tried again", store.SyncStatus{Source: lth, RunningSince: stamp(30 * time.Second), LastSuccessAt: stamp(5 * time.Hour),
			LastError: "Their system did not answer. We will try again soon.", FailingSince: stamp(4 * time.Hour)},
			"We could not update your record from Leeds Teaching Hospitals. Their system did not answer. We will try again soon. You are seeing what it sent 5 hours ago. | Trying again to update from Leeds Teaching Hospitals…", true, true},
		{"never reached, being tried again", store.SyncStatus{Source: lth, RunningSince: stamp(30 * time.Second), LastError: "Their system did not answer."},
			"We could not get your record from Leeds Teaching Hospitals yet. Their system did not answer. | Trying again to update from Leeds Teaching Hospitals…", true, true},
		{"running mark left by a stopped process", store.SyncStatus{Source: lth, RunningSince: stamp(time.Hour), LastSuccessAt: stamp(2 * time.Hour)}, "Updated from Leeds Teaching Hospitals 2 hours ago.", false, false},
		{"failing with data", store.SyncStatus{Source: lth, LastSuccessAt: stamp(26 * time.Hour), LastError: "Their system did not answer. We will try again soon.", FailingSince: stamp(time.Hour)},
			"We could not update your record from Leeds Teaching Hospitals. Their system did not answer. We will try again soon. You are seeing what it sent on 24 November 2026.", true, false},
		// A part failed, the rest came (a review: the page said the record was weeks old).
		{"failing in part", store.SyncStatus{Source: lth, LastSuccessAt: stamp(4 * time.Minute), LastError: "Their system would not let us read the record.", FailingSince: stamp(time.Hour), Partial: true},
			"We could not update all of your record from Leeds Teaching Hospitals. Their system would not let us read the record. The rest was updated 4 minutes ago.", true, false},
		{"never reached", store.SyncStatus{Source: lth, LastError: "their system has not been answering"}, "We could not get your record from Leeds Teaching Hospitals yet. Their system has not been answering.", true, false},
		{"not tried yet", store.SyncStatus{Source: lth}, "Waiting to update from Leeds Teaching Hospitals.", false, false},
		{"no record there", store.SyncStatus{Source: lth, LastSuccessAt: stamp(time.Minute), NoRecord: true}, "", false, false},
		// With no other source to show the person's record, asking again and failing are said.
		{"no record there, asking again", store.SyncStatus{Source: lth, RunningSince: stamp(time.Second), LastSuccessAt: stamp(time.Hour), NoRecord: true}, "Updating from Leeds Teaching Hospitals…", false, true},
		{"no record there, failing since", store.SyncStatus{Source: lth, LastSuccessAt: stamp(3 * time.Hour), LastError: "Their system did not answer.", FailingSince: stamp(time.Hour), NoRecord: true},
			"We could not get your record from Leeds Teaching Hospitals yet. Their system did not answer.", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines := syncLines(Page{Now: now, Sync: []store.SyncStatus{tt.st}})
			if tt.want == "" {
				if len(lines) != 0 {
					t.Errorf("got %+v, want no line", lines)
				}
				return
			}
			var texts []string
			warned := false
			for _, l := range lines {
				texts = append(texts, l.Text)
				warned = warned || l.Warning
			}
			if got := strings.Join(texts, " | "); got != tt.want || warned != tt.warn || anyRunning(lines) != tt.again {
				t.Errorf("got %+v\nwant %q warning=%v running=%v", lines, tt.want, tt.warn, tt.again)
			}
		})
	}
}

// TestSyncLinesBesideARecord: beside a source that sent the person's record,
// one that holds none says nothing, whether it is asked again or failing.
func TestSyncLinesBesideARecord(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 42, 0, 0, time.UTC)
	stamp := func(d time.Duration) string { return now.Add(-d).Format("2006-01-02T15:04:05.000000000Z") }
	lth := store.SyncStatus{Source: store.Source{Name: "lth", OrgName: "Leeds Teaching Hospitals"}, LastSuccessAt: stamp(4 * time.Minute)}
	gp := store.Source{Name: "gp", OrgName: "Chapel Allerton Surgery"}
	for _, st := range []store.SyncStatus{
		{Source: gp, LastSuccessAt: stamp(time.Hour), NoRecord: true},
		{Source: gp, RunningSince: stamp(time.Second), LastSuccessAt: stamp(time.Hour), NoRecord: true},
		{Source: gp, LastSuccessAt: stamp(3 * time.Hour), LastError: "Their system did not answer.", FailingSince: stamp(time.Hour), NoRecord: true},
	} {
		lines := syncLines(Page{Now: now, Sync: []store.SyncStatus{lth, st}})
		if len(lines) != 1 || lines[0].Text != "Updated from Leeds Teaching Hospitals 4 minutes ago." {
			t.Errorf("%+v beside a record: lines %+v", st, lines)
		}
	}
}

func TestSyncStatusMarkup(t *testing.T) {
	now := time.Now()
	p := Page{Title: "Search", Now: now, Path: "/record/search", Query: "q=metformin&section=medicines", Sync: []store.SyncStatus{
		{Source: store.Source{OrgName: "Leeds Teaching Hospitals"}, LastError: "The server said: down for maintenance."},
		{Source: store.Source{OrgName: "Meanwood Group Practice"}, RunningSince: now.UTC().Format(time.RFC3339Nano)},
	}}
	var b strings.Builder
	if err := syncStatus(p).Render(t.Context(), &b); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	for _, want := range []string{"nhsuk-warning-callout", "down for maintenance", "Updating from Meanwood Group Practice", `href="/record/search?q=metformin&amp;section=medicines"`} {
		if !strings.Contains(html, want) {
			t.Errorf("markup lacks %q:\n%s", want, html)
		}
	}
}

// A source failing that a carer hears of without its name (store
// SyncStatus.Unnamed) is a warning naming no organisation.
func TestSyncLinesOfAnUnnamedSource(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 42, 0, 0, time.UTC)
	p := Page{Now: now, Acting: &Acting{Name: "Mrs Jane Example"}, Sync: []store.SyncStatus{{Unnamed: true, LastError: "Their system has not been answering. We will try again soon."}}}
	lines := syncLines(p)
	if len(lines) != 1 || !lines[0].Warning || lines[0].Text != "We could not get all of Mrs Jane Example's record from one of the organisations that hold it. Their system has not been answering. We will try again soon." {
		t.Errorf("a carer reads %+v", lines)
	}
}

// A carer's pages say whose record could not be updated: the person's, not "your".
func TestSyncLinesForACarer(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 42, 0, 0, time.UTC)
	lth := store.Source{Name: "lth", OrgName: "Leeds Teaching Hospitals"}
	p := Page{Now: now, Acting: &Acting{Name: "Mrs Jane Example"}, Sync: []store.SyncStatus{{Source: lth, LastError: "Their system did not answer."}}}
	lines := syncLines(p)
	if len(lines) != 1 || lines[0].Text != "We could not get Mrs Jane Example's record from Leeds Teaching Hospitals yet. Their system did not answer." {
		t.Errorf("a carer reads %+v", lines)
	}
}

func TestCapitalise(t *testing.T) {
	for in, want := range map[string]string{"": "", "heart rate": "Heart rate", "état": "État", "ß": "ß", "1st": "1st"} {
		if got := capitalise(in); got != want {
			t.Errorf("capitalise(%q) = %q, want %q", in, got, want)
		}
	}
}

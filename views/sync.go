package views

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mycarerecord/portal/store"
)

// syncLine is one source's state in words, and whether it is a warning.
type syncLine struct {
	Text    string
	Warning bool
	Running bool
}

func syncLines(p Page) []syncLine {
	var out []syncLine
	// Whether another source has sent the person's record: then one that held
	// nothing about them when last asked has nothing to say. Without one, its
	// asking again and its failing are all the page can say.
	recordElsewhere := false
	for _, st := range p.Sync {
		recordElsewhere = recordElsewhere || (!st.NoRecord && st.LastSuccessAt != "")
	}
	var unnamedWhy []string // why each source a carer is not told the name of is failing
	unnamedRunning := false
	// On paper, read later, "4 minutes ago" and "Updating…" say nothing: a
	// printout gives the time, and what stood when it was printed (a review).
	ago, printed := ago, p.Path == "/record/print"
	if printed {
		ago = func(_, t time.Time) string { return "at " + t.In(ukZone()).Format("15:04 on 2 January 2006") }
	}
	for _, st := range p.Sync {
		org := st.Source.Label()
		var l syncLine
		success, okSuccess := parseStamp(st.LastSuccessAt)
		running := st.Running(p.Now) && !printed
		failing := st.LastError != "" && failingLong(p.Now, st, success, okSuccess)
		switch {
		case st.Unnamed && failing && !st.NoRecord:
			unnamedWhy = append(unnamedWhy, sentence(st.LastError))
			continue
		case st.Unnamed:
			unnamedRunning = unnamedRunning || running
			continue
		case st.NoRecord && recordElsewhere:
			continue
		case running && !failing:
			l = syncLine{Text: "Updating from " + org + "…", Running: true}
			if okSuccess && !st.NoRecord {
				l.Text += " Last updated " + ago(p.Now, success) + "."
			}
		case failing && st.Partial && okSuccess && !st.NoRecord:
			l = syncLine{Text: fmt.Sprintf("We could not update all of %s from %s. %s The rest was updated %s.", p.Record(), org, sentence(st.LastError), ago(p.Now, success)), Warning: true}
		case failing && okSuccess && !st.NoRecord: // "what it sent" is nothing when it had no record
			l = syncLine{Text: fmt.Sprintf("We could not update %s from %s. %s You are seeing what it sent %s.", p.Record(), org, sentence(st.LastError), ago(p.Now, success)), Warning: true}
		case failing:
			l = syncLine{Text: fmt.Sprintf("We could not get %s from %s yet. %s", p.Record(), org, sentence(st.LastError)), Warning: true}
		case st.NoRecord:
			continue // it has no record of the person: nothing to say
		case okSuccess:
			l = syncLine{Text: "Updated from " + org + " " + ago(p.Now, success) + "."}
		default:
			l = syncLine{Text: "Waiting to update from " + org + "."}
		}
		out = append(out, l)
		if running && l.Warning {
			// Trying again: the warning stands until it works (a review: a
			// retry against a hanging server hid it for minutes at a time).
			out = append(out, syncLine{Text: "Trying again to update from " + org + "…", Running: true})
		}
	}
	return append(out, unnamedLines(p, unnamedWhy, unnamedRunning && !anyRunning(out))...)
}

// unnamedLines are what a carer is told of the sources whose names they are
// not told (store.SyncStatus.Unnamed): one warning for all that are failing,
// as two of the same sentence read as one organisation said twice (a
// review), and that the record is being updated, when one is and nothing
// else says so (a review: the carer's page said nothing of a first sync
// under way, and "No medicines have been recorded").
func unnamedLines(p Page, why []string, running bool) []syncLine {
	var out []syncLine
	switch len(why) {
	case 0:
	case 1:
		out = append(out, syncLine{Text: fmt.Sprintf("We could not get all of %s from one of the organisations that hold it. %s", p.Record(), why[0]), Warning: true})
	default:
		slices.Sort(why)
		out = append(out, syncLine{Text: fmt.Sprintf("We could not get all of %s from %d of the organisations that hold it. %s", p.Record(), len(why), strings.Join(slices.Compact(why), " ")), Warning: true})
	}
	if running && len(why) == 0 {
		out = append(out, syncLine{Text: "Updating " + p.Record() + "…", Running: true})
	}
	return out
}

// failingLong says whether a source whose last sync failed has been failing
// long enough to warn of: when there is nothing good of it to show, when it
// has failed for warnFailingAfter, or when what it sent is an hour old. A
// single failure beside data brought minutes ago, which the next sync may
// well bring, is not warned of (a review: a few seconds' blip upstream put
// "Not up to date" on every page): its pages say when it was last updated.
func failingLong(now time.Time, st store.SyncStatus, success time.Time, okSuccess bool) bool {
	if !okSuccess || st.NoRecord || now.Sub(success) >= time.Hour {
		return true
	}
	since, ok := parseStamp(st.FailingSince)
	return !ok || now.Sub(since) >= warnFailingAfter
}

// warnFailingAfter is how long a source with good data of the person, an
// hour old or less, fails before its pages warn of it: the freshness after
// which a sign-in syncs again, by default.
const warnFailingAfter = 15 * time.Minute

// sentence is s as a sentence: a capital first and a full stop last.
func sentence(s string) string {
	s = capitalise(strings.TrimSpace(s))
	if s != "" && !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

func anyRunning(lines []syncLine) bool {
	for _, l := range lines {
		if l.Running {
			return true
		}
	}
	return false
}

func parseStamp(s string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil && s != ""
}

// ago says how long ago t was, in the words people use.
func ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < 2*time.Minute:
		return "1 minute ago"
	case d < time.Hour:
		return fmt.Sprintf("%d minutes ago", int(d/time.Minute))
	case d < 2*time.Hour:
		return "1 hour ago"
	case d < 24*time.Hour:
		return fmt.Sprintf("%d hours ago", int(d/time.Hour))
	}
	return "on " + t.In(ukZone()).Format("2 January 2006")
}

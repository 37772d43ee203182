package views

import (
	"fmt"
	"strings"
	"time"
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
	for _, st := range p.Sync {
		org := st.Source.Label()
		var l syncLine
		success, okSuccess := parseStamp(st.LastSuccessAt)
		running := st.Running(p.Now)
		switch {
		case st.Unnamed:
			l = syncLine{Text: fmt.Sprintf("We could not get all of %s from one of the organisations that hold it. %s", p.Record(), sentence(st.LastError)), Warning: true}
			out = append(out, l)
			continue
		case st.NoRecord && recordElsewhere:
			continue
		case running && st.LastError == "":
			l = syncLine{Text: "Updating from " + org + "…", Running: true}
			if okSuccess && !st.NoRecord {
				l.Text += " Last updated " + ago(p.Now, success) + "."
			}
		case st.LastError != "" && st.Partial && okSuccess && !st.NoRecord:
			l = syncLine{Text: fmt.Sprintf("We could not update all of %s from %s. %s The rest was updated %s.", p.Record(), org, sentence(st.LastError), ago(p.Now, success)), Warning: true}
		case st.LastError != "" && okSuccess && !st.NoRecord: // "what it sent" is nothing when it had no record
			l = syncLine{Text: fmt.Sprintf("We could not update %s from %s. %s You are seeing what it sent %s.", p.Record(), org, sentence(st.LastError), ago(p.Now, success)), Warning: true}
		case st.LastError != "":
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
	return out
}

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

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/mycarerecord/portal/store"
)

const personsUsage = `Usage: portal persons [--db PATH]

List each person in the cache: their id (for --person), name, date of birth,
NHS number (when known) and the sources holding their records. Each person
listed has it on their access log, as a look by someone who runs the portal.
A person whose records a source merged into another person's holds nothing
now, and names that person: "- (merged into 12)".
`

// runPersons is "portal persons": the people in the cache, so an operator
// can find the id to name one by.
func runPersons(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg Config
	fs := flag.NewFlagSet("persons", flag.ContinueOnError)
	commonFlags(fs, &cfg, getenv)
	fs.Usage = usageWith(fs, personsUsage)
	rest, err := parseFlags(fs, args, stdout, stderr)
	if err != nil {
		return err
	}
	if err := unexpectedArgs("persons", rest); err != nil {
		return err
	}
	db, err := openExisting(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	var listed []store.PersonListing
	if err := db.EachPerson(ctx, 0, func(p store.PersonListing) error { listed = append(listed, p); return nil }); err != nil {
		return fmt.Errorf("persons: %w", err)
	}
	// Logged before a line is printed, as an export is: which organisations
	// hold someone's record can say as much as the record (a review: a
	// sexual health clinic's name was listed, and no log said so).
	looks := make([]store.Access, 0, len(listed))
	for _, p := range listed {
		looks = append(looks, store.Access{PersonID: p.ID, Action: "view", What: store.PersonsListed, Device: store.OperatorDevice,
			ActorKind: store.ActorOperator, ActorName: operatorName(getenv)})
	}
	if err := db.LogAccesses(ctx, looks); err != nil {
		return fmt.Errorf("persons: %w", err)
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	n := 0
	for _, p := range listed {
		if n == 0 {
			fmt.Fprintln(w, "ID\tNAME\tBORN\tNHS NUMBER\tSOURCES")
		}
		n++
		nhs := p.FormattedNHSNumber()
		if nhs == "" {
			nhs = "-"
		}
		sources := strings.Join(p.Sources, ", ")
		switch {
		case sources == "" && p.MergedInto != 0:
			// Left holding nothing, under their id for the access log.
			sources = fmt.Sprintf("- (merged into %d)", p.MergedInto)
		case sources == "":
			sources = "-"
		}
		if _, err := fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\n", p.ID, printable(p.Name()), printable(p.BirthDate), printable(nhs), printable(sources)); err != nil {
			return err
		}
	}
	if n == 0 {
		fmt.Fprintf(stdout, "No people in %s yet: import files with portal import, or add a FHIR server with portal source add and run portal sync.\n", cfg.DB)
		return nil
	}
	return w.Flush()
}

// printable is text from a record made safe to print in a line or a table:
// control characters (a tab, a new line, a terminal's escape) and those that
// turn text's direction (unprintable) as spaces.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unprintable(r) {
			return ' '
		}
		return r
	}, s)
}

// unprintable reports whether r is a control character or one that turns
// the direction of the text after it (U+202E and its kind): printed, either
// changes what a terminal shows, "Leeds \u202e latipsoH" reading "Leeds
// Hospital" backwards round (an operator review). Joiners, which some
// scripts' names need, are kept.
func unprintable(r rune) bool {
	switch {
	case unicode.IsControl(r):
		return true
	case r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069', r == '\u200e', r == '\u200f', r == '\u061c':
		return true
	}
	return false
}

// describePerson names a person as an operator's lines do, e.g.
// "Mrs Jane Example (NHS 943 476 5919, born 14 March 1957)".
func describePerson(p store.Person) string {
	born := p.BirthDate
	if t, err := time.Parse("2006-01-02", p.BirthDate); err == nil {
		born = t.Format("2 January 2006")
	}
	who := p.Name()
	if p.NHSNumber != "" {
		who += " (NHS " + p.FormattedNHSNumber() + ", born " + born + ")"
	} else {
		who += " (born " + born + ")"
	}
	return printable(who)
}

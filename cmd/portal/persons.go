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
NHS number (when known) and the sources holding their records. It only reads.
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
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	n := 0
	err = db.EachPerson(ctx, 0, func(p store.PersonListing) error {
		if n == 0 {
			fmt.Fprintln(w, "ID\tNAME\tBORN\tNHS NUMBER\tSOURCES")
		}
		n++
		nhs := p.FormattedNHSNumber()
		if nhs == "" {
			nhs = "-"
		}
		sources := strings.Join(p.Sources, ", ")
		if sources == "" {
			sources = "-"
		}
		_, err := fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\n", p.ID, printable(p.Name()), printable(p.BirthDate), printable(nhs), printable(sources))
		return err
	})
	if err != nil {
		return fmt.Errorf("persons: %w", err)
	}
	if n == 0 {
		fmt.Fprintf(stdout, "No people in %s yet: import files with portal import, or add a FHIR server with portal source add and run portal sync.\n", cfg.DB)
		return nil
	}
	return w.Flush()
}

// printable is text from a record made safe to print in a line or a table:
// control characters (a tab, a new line, a terminal's escape) as spaces.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
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

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhirsync"
)

const outboxUsage = `Usage: portal outbox [status|push] [--db PATH]

status  count people's consent decisions waiting, sent and not accepted (the default)
push    send every decision that is due to its FHIR server now, then print the counts
`

// runOutbox is "portal outbox": how people's consent decisions stand on
// their way upstream, and a push now (as "portal serve" does every few seconds).
func runOutbox(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg Config
	fs := flag.NewFlagSet("outbox", flag.ContinueOnError)
	commonFlags(fs, &cfg, getenv)
	fs.Usage = usageWith(fs, outboxUsage)
	verb, args := splitVerb(fs, args)
	if verb == "" {
		verb = "status"
	}
	if verb != "status" && verb != "push" {
		fmt.Fprint(stderr, outboxUsage)
		return fmt.Errorf("outbox: unknown subcommand %q", verb)
	}
	rest, err := parseFlags(fs, args, stdout, stderr)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("outbox %s: unexpected argument %q", verb, rest[0])
	}
	db, err := openExisting(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	if verb == "push" {
		log := slog.New(slog.NewTextHandler(stderr, nil))
		p := &fhirsync.Pusher{DB: db, Client: fhirsync.NewClients(getenv, fhirsync.ClientOptions{Holds: db, Log: log}).Get, Log: log}
		sum, err := p.PushDue(ctx)
		if err != nil {
			return fmt.Errorf("outbox push: %w", err)
		}
		fmt.Fprintf(stdout, "sent %d, to try again later %d, not accepted %d\n", sum.Sent, sum.Retrying, sum.Refused)
	}
	counts, err := db.ConsentOutboxCounts(ctx)
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	fmt.Fprintf(stdout, "waiting %d, sent %d, not accepted %d", counts[store.DeliveryWaiting], counts[store.DeliverySent], counts[store.DeliveryFailed])
	if n := counts[store.DeliveryOrphaned]; n > 0 {
		fmt.Fprintf(stdout, ", never to be sent (their source removed) %d", n)
	}
	fmt.Fprintln(stdout)
	return nil
}

// Command portal runs My Care Record: the web portal and the commands operators use.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"syscall"
	_ "time/tzdata" // UK time (store.UKZone) whatever zone data the machine has
)

func main() {
	// Everything the portal makes (the database, its WAL files, the access
	// log spool, exports) holds health records: for this user alone.
	syscall.Umask(0o077)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "portal:", err)
		os.Exit(exitStatus(err))
	}
}

const usage = `Usage: portal [command] [flags] [arguments]

Commands:
  serve     serve the portal (the default)
  import    load FHIR R4 Bundle or NDJSON files into the cache
  source    add, list, mark as social care, release, accept-nhs-number or remove the FHIR servers records come from
  sync      bring records up to date from FHIR server sources
  persons   list the people in the cache: id, name, birth date, NHS number, sources
  export    write a person's cached record as a FHIR R4 Bundle
  invite    print a one-time enrolment code and link for a person
  migrate   create or update the database, then stop
  audit     audit verify: check the access log's hash chain is unbroken; audit head: print its newest entry, to keep elsewhere
  outbox    how people's consent decisions stand on their way upstream; push sends the due ones now

Every command takes --db PATH (or PORTAL_DB). Run "portal COMMAND -h" for its flags.
`

// commands are the names run knows, so serve can tell a command written after its flags from a stray word.
var commands = []string{"serve", "import", "source", "sync", "persons", "export", "invite", "migrate", "audit", "outbox", "help"}

// unexpectedArgs refuses the first of the words a command was given but does not use.
func unexpectedArgs(cmd string, rest []string) error {
	if len(rest) == 0 {
		return nil
	}
	return fmt.Errorf("%s: unexpected argument %q", cmd, rest[0])
}

// run is the whole program, with its inputs and outputs passed in so tests can call it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	err := runCommand(ctx, args, getenv, stdout, stderr)
	if errors.Is(err, errHelp) {
		// The help asked for is printed: that is success.
		return nil
	}
	return err
}

func runCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	switch {
	case len(args) > 0 && slices.Contains(helpFlags, args[0]):
		cmd = "help"
	case len(args) > 0 && args[0] != "" && args[0][0] != '-':
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return runServe(ctx, args, getenv, stdout, stderr)
	case "import":
		return runImport(ctx, args, getenv, stdout, stderr)
	case "source":
		return runSource(ctx, args, getenv, stdout, stderr)
	case "sync":
		return runSync(ctx, args, getenv, stdout, stderr)
	case "persons":
		return runPersons(ctx, args, getenv, stdout, stderr)
	case "export":
		return runExport(ctx, args, getenv, stdout, stderr)
	case "invite":
		return runInvite(ctx, args, getenv, stdout, stderr)
	case "migrate":
		return runMigrate(ctx, args, getenv, stdout, stderr)
	case "audit":
		return runAudit(ctx, args, getenv, stdout, stderr)
	case "outbox":
		return runOutbox(ctx, args, getenv, stdout, stderr)
	case "help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}

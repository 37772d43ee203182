package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/mycarerecord/portal/store"
)

// errAccessLogBroken is the exit status of a verify that found tampering: the
// details are already printed.
var errAccessLogBroken = errors.New("audit verify: the access log has been changed")

const auditUsage = `Usage: portal audit verify [--db PATH] [--access-spool DIR] [--head N:HASH]
       portal audit head [--db PATH]

verify  recompute the access log's hash chain and report the first entry that does not match.
        Removing the newest entries leaves a shorter chain that still verifies: with
        --head N:HASH, as audit head printed it, verify also checks the log still holds
        entry N with that hash. It also fails while lines of the access log spool that
        could not be read are kept aside (the looks they record are not in the log), and
        says how many looks wait in the spool to be added
head    verify, then print the newest entry as N:HASH (its number and hash), to keep
        where those who can change the database cannot, for verify --head later
`

// runAudit is "portal audit verify" and "portal audit head": verify
// recomputes the access log's hash chain and exits 1 at the first broken
// link; head prints the newest entry for keeping elsewhere.
func runAudit(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg Config
	var head string
	flags := func(name string) *flag.FlagSet {
		fs := flag.NewFlagSet(name, flag.ContinueOnError)
		commonFlags(fs, &cfg, getenv)
		fs.StringVar(&cfg.AccessSpool, "access-spool", getenv("PORTAL_ACCESS_SPOOL"), "verify: the folder of the access log spool, as given to serve (PORTAL_ACCESS_SPOOL; default beside the database)")
		fs.StringVar(&head, "head", "", "verify: the newest entry as audit head printed it, `N:HASH`, kept elsewhere: verify fails unless the log still holds entry N with that hash")
		fs.Usage = usageWith(fs, auditUsage)
		return fs
	}
	fs := flags("audit")
	verb, args := splitVerb(fs, args)
	if verb != "verify" && verb != "head" {
		// Help, or a bad flag, is answered as such.
		if _, err := parseFlags(fs, args, stdout, stderr); err != nil {
			return err
		}
		fmt.Fprint(stderr, auditUsage)
		if verb == "" {
			return errors.New("audit: name a subcommand: verify or head")
		}
		return fmt.Errorf("audit: unknown subcommand %q", verb)
	}
	fs = flags("audit " + verb)
	rest, err := parseFlags(fs, args, stdout, stderr)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("audit %s: unexpected argument %q", verb, rest[0])
	}
	if err := checkSpoolFolder("audit "+verb, cfg.AccessSpool, whence(fs, "access-spool", "PORTAL_ACCESS_SPOOL", getenv), verb == "verify"); err != nil {
		return err
	}
	var kept headEntry
	switch {
	case verb == "head" && head != "":
		return errors.New("audit head: --head goes with audit verify")
	case head != "":
		if kept, err = parseHead(head); err != nil {
			return fmt.Errorf("audit verify: --head %q: write it as N:HASH, as portal audit head prints it, e.g. 42:3f1a9c07…", head)
		}
	}
	db, err := openExisting(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	check, err := db.CheckAccessLog(ctx)
	if err != nil {
		return err
	}
	if !check.Intact() {
		fmt.Fprintf(stdout, "access log broken at entry %d (at %s): %s\n", check.BrokenID, check.BrokenAt, check.Reason)
		return errAccessLogBroken
	}
	if verb == "head" {
		if check.Entries == 0 {
			return errors.New("audit head: the access log has no entries yet: nothing to record")
		}
		fmt.Fprintf(stdout, "%d:%s\n", check.LastID, hex.EncodeToString(check.LastHash))
		return nil
	}
	if head != "" {
		broken, err := kept.missing(ctx, db, check)
		if err != nil {
			return fmt.Errorf("audit verify: %w", err)
		}
		if broken != "" {
			fmt.Fprintln(stdout, broken)
			return errAccessLogBroken
		}
	}
	spool := store.SpoolPath(cfg.DB, cfg.AccessSpool)
	aside, err := linesIn(store.DamagedSpoolPath(spool))
	if err != nil {
		return fmt.Errorf("audit verify: %w", err)
	}
	waiting, err := db.SpoolWaiting(ctx, spool)
	if err != nil {
		return fmt.Errorf("audit verify: %w", err)
	}
	if aside > 0 {
		// Looks that happened, written to the spool, that no longer read: the
		// chain is whole but the log misses them (found by a review).
		fmt.Fprintf(stdout, "access log incomplete: %s written to the access log spool could not be read, so %s not in the log; kept, as written, in %s (move it away once examined)\n",
			plural(aside, "look", "looks"), map[bool]string{true: "it is", false: "they are"}[aside == 1], store.DamagedSpoolPath(spool))
		return errAccessLogBroken
	}
	fmt.Fprintf(stdout, "access log intact: %d entries\n", check.Entries)
	if check.Entries > 0 {
		// Removing the newest entries leaves a shorter chain that still verifies; a copy of
		// this line kept elsewhere shows it.
		fmt.Fprintf(stdout, "newest entry %d has hash %s\n", check.LastID, hex.EncodeToString(check.LastHash))
	}
	if waiting > 0 {
		fmt.Fprintf(stdout, "%s in the access log spool %s, to be added by portal serve\n", plural(waiting, "more look waits", "more looks wait"), spool)
	}
	return nil
}

// linesIn counts the lines of the file at path; no file is none.
func linesIn(path string) (int, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	return bytes.Count(b, []byte{'\n'}), err
}

// headEntry is an access log entry as audit head printed it: its number and hash.
type headEntry struct {
	id   int64
	hash []byte
}

// parseHead reads N:HASH, HASH being a SHA-256 in hex.
func parseHead(s string) (headEntry, error) {
	n, h, ok := strings.Cut(strings.TrimSpace(s), ":")
	id, err := strconv.ParseInt(n, 10, 64)
	if !ok || err != nil || id < 1 {
		return headEntry{}, errors.New("not N:HASH")
	}
	hash, err := hex.DecodeString(h)
	if err != nil || len(hash) != 32 {
		return headEntry{}, errors.New("not N:HASH")
	}
	return headEntry{id: id, hash: hash}, nil
}

// missing says how the intact log check, of db, no longer holds the entry
// kept, or "" when it does.
func (e headEntry) missing(ctx context.Context, db *store.DB, check store.AccessLogCheck) (string, error) {
	if int64(check.Entries) < e.id || check.LastID < e.id {
		return fmt.Sprintf("access log broken: it has %d entries, and entry %d recorded with --head is gone: the newest entries were removed", check.Entries, e.id), nil
	}
	hash := check.LastHash
	if e.id != check.LastID {
		var err error
		if hash, err = db.AccessLogHash(ctx, e.id); err != nil {
			return "", err
		}
	}
	if !bytes.Equal(hash, e.hash) {
		return fmt.Sprintf("access log broken at entry %d: its hash is not the one recorded with --head: the log was rewritten up to it, or --head is another database's", e.id), nil
	}
	return "", nil
}

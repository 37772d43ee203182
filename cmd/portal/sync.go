package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
	"github.com/mycarerecord/portal/store/fhirsync"
)

const sourceUsage = `Usage: portal source add|auth|org|list|social-care|release|accept-nhs-number|remove [flags] [arguments]

add NAME URL             add a FHIR server records come from
auth NAME --auth KIND    change how the portal signs in to a source (a new key, client id, scope or
                         token), keeping everything cached from it; give every flag of the kind again
org NAME "ORGANISATION"  change the organisation people see a source as, keeping everything cached from it
list                     list the sources: organisation, address, authentication, social care
social-care NAME yes|no  say whether a source is a social care service
release NAME             call a source again now that asked us to wait (see list)
accept-nhs-number NAME PATIENT_ID
                         accept the new NHS number of a Patient the source corrected, which was set aside
                         as the number was not the one held for it, with what waited on it
remove NAME              remove a source and everything cached from it (refused while changes to
                         sharing choices wait to be sent to it, unless --even-if-waiting)
`

// sourceFlags adds the flags of "source VERB" to fs.
func sourceFlags(fs *flag.FlagSet, verb string, cfg *Config, src *store.Source, evenIfWaiting *bool, getenv func(string) string) {
	commonFlags(fs, cfg, getenv)
	fs.Usage = usageWith(fs, sourceUsage)
	if verb == "remove" {
		fs.BoolVar(evenIfWaiting, "even-if-waiting", false, "remove the source though changes to sharing choices are still waiting to be sent to it (they never will be)")
	}
	if verb != "add" && verb != "auth" {
		return
	}
	if verb == "add" {
		fs.BoolVar(&src.SocialCare, "social-care", false, "a social care service: everything it sends counts as social care, which people may keep out of sharing")
		fs.StringVar(&src.OrgName, "org", "", "organisation people see, e.g. \"Leeds Teaching Hospitals\"")
	}
	fs.StringVar(&src.AuthKind, "auth", store.AuthNone, "none, bearer or smart-backend")
	for _, f := range []struct{ name, usage string }{
		{"token-file", "bearer: file holding the token"},
		{"token-env", "bearer: environment variable holding the token"},
		{"client-id", "smart-backend: the client id registered with the server"},
		{"token-url", "smart-backend: the token endpoint (default: the one the server names in .well-known/smart-configuration)"},
		{"key-file", "smart-backend: PEM file with the private key (RSA for RS384, EC P-384 for ES384)"},
		{"key-id", "smart-backend: the key's kid"},
		{"alg", "smart-backend: RS384 or ES384 (default from the key)"},
		{"scope", "smart-backend: scopes to ask for (default " + fhirsync.DefaultSMARTScope + ": Consent is written to send people's sharing choices)"},
	} {
		fs.Func(f.name, f.usage, func(v string) error { src.AuthConfig[f.name] = v; return nil })
	}
}

// authFlags are the flags of each kind of authentication, in the order --help lists them.
var authFlags = map[string][]string{
	store.AuthBearer:       {"token-file", "token-env"},
	store.AuthSMARTBackend: {"client-id", "token-url", "key-file", "key-id", "alg", "scope"},
}

// checkAuthFlags refuses a flag that is not for the source's kind of
// authentication (it would be stored and never used), and makes files'
// names absolute: sync and serve may run from another folder.
func checkAuthFlags(src *store.Source) error {
	for _, kind := range []string{store.AuthBearer, store.AuthSMARTBackend} {
		for _, name := range authFlags[kind] {
			if _, given := src.AuthConfig[name]; given && src.AuthKind != kind {
				return fmt.Errorf("--%s is only for --auth %s", name, kind)
			}
		}
	}
	if src.AuthConfig["token-file"] != "" && src.AuthConfig["token-env"] != "" {
		return errors.New("give one of --token-file or --token-env, not both")
	}
	for _, name := range []string{"token-file", "key-file"} {
		if f := src.AuthConfig[name]; f != "" {
			abs, err := filepath.Abs(f)
			if err != nil {
				// Not the name given: it may be the secret, given in its place.
				return fmt.Errorf("--%s: %w", name, err)
			}
			src.AuthConfig[name] = abs
		}
	}
	return nil
}

// checkAuth checks the source's authentication as add and auth take it:
// the flags for its kind, the token endpoint found when not given (returned,
// to be printed), the default scope saved, and each secret read once.
func checkAuth(ctx context.Context, src *store.Source, getenv func(string) string) (discovered string, err error) {
	if err := checkAuthFlags(src); err != nil {
		return "", err
	}
	c := src.AuthConfig
	if src.AuthKind == store.AuthSMARTBackend && c["token-url"] == "" && c["client-id"] != "" && c["key-file"] != "" && c["key-id"] != "" {
		// As SMART Backend Services has a client find it (a review).
		tokenURL, err := fhirsync.DiscoverTokenURL(ctx, src.BaseURL)
		if err != nil {
			return "", fmt.Errorf("no --token-url, and %w", err)
		}
		c["token-url"] = tokenURL
		discovered = tokenURL
	}
	if src.AuthKind == store.AuthSMARTBackend && c["scope"] == "" {
		// Saved with the source, so sources added before this default keep
		// the scope they were added with (a review: asked for more on an
		// upgrade, a client let only read had every sync refused).
		c["scope"] = fhirsync.DefaultSMARTScope
	}
	if _, err := fhirsync.AuthFor(*src, getenv); err != nil {
		return "", err
	}
	return discovered, fhirsync.CheckSecretFiles(*src)
}

// runSource adds, lists and removes FHIR server sources.
func runSource(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	// Every verb's flags, to find the verb among them.
	var cfg Config
	var evenIfWaiting bool
	var discovered string // the token endpoint found in the server's SMART configuration
	src := store.Source{AuthConfig: map[string]string{}}
	all := flag.NewFlagSet("source", flag.ContinueOnError)
	sourceFlags(all, "add", &cfg, &src, &evenIfWaiting, getenv)
	verb, args := splitVerb(all, args)
	if verb == "" {
		// Help, or a bad flag, is answered as such.
		if _, err := parseFlags(all, args, stdout, stderr); err != nil {
			return err
		}
		return errors.New("source: say add, auth, org, list, social-care, release, accept-nhs-number or remove, e.g. portal source list")
	}
	if !slices.Contains([]string{"add", "auth", "org", "list", "social-care", "release", "accept-nhs-number", "remove"}, verb) {
		return fmt.Errorf("source: unknown action %q: say add, auth, org, list, social-care, release, accept-nhs-number or remove", verb)
	}
	cfg, src = Config{}, store.Source{AuthConfig: map[string]string{}}
	fs := flag.NewFlagSet("source "+verb, flag.ContinueOnError)
	sourceFlags(fs, verb, &cfg, &src, &evenIfWaiting, getenv)
	rest, err := parseFlags(fs, args, stdout, stderr)
	if err != nil {
		return err
	}
	if verb == "list" {
		if err := unexpectedArgs("source list", rest); err != nil {
			return err
		}
	}
	if verb == "add" {
		// All before the database is made: a source refused leaves no file
		// behind, which later commands would open as if set up (a review).
		if len(rest) != 2 {
			return errors.New("source add: give a name and the FHIR server's address, e.g. portal source add lth https://fhir.lth.example/r4 --org \"Leeds Teaching Hospitals\"")
		}
		src.Name, src.BaseURL = rest[0], rest[1]
		if err := store.CheckSource(src); err != nil { // the name, and the address as each sync will check it
			return fmt.Errorf("source add: %w", err)
		}
		if discovered, err = checkAuth(ctx, &src, getenv); err != nil {
			return fmt.Errorf("source add: %w", err)
		}
	}
	if verb == "auth" {
		given := false
		fs.Visit(func(f *flag.Flag) { given = given || f.Name == "auth" })
		if len(rest) != 1 || !given {
			// --auth is never left to its default here, which would sign in to the source with nothing.
			return errors.New("source auth: give the source's name and --auth with its flags, e.g. portal source auth lth --auth bearer --token-file /etc/portal/lth-token")
		}
	}
	// Only adding a source may make the database; the rest need one there.
	open := openExisting
	if verb == "add" {
		open = openDB
	}
	db, err := open(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	switch verb {
	case "auth":
		was, err := db.SourceByName(ctx, rest[0])
		if err != nil {
			return fmt.Errorf("source auth: %w", err)
		}
		if was.BaseURL == "" {
			return fmt.Errorf("source auth: %s is a source of imported files, not a FHIR server: the portal never signs in to it", was.Name)
		}
		src.Name, src.BaseURL = was.Name, was.BaseURL
		if discovered, err = checkAuth(ctx, &src, getenv); err != nil {
			return fmt.Errorf("source auth: %w", err)
		}
		if err := db.SetSourceAuth(ctx, src.Name, src.AuthKind, src.AuthConfig); err != nil {
			return fmt.Errorf("source auth: %w", err)
		}
		fmt.Fprintf(stdout, "Source %s now signs in with %s; everything cached from it is kept. A serve running uses it from its next call to the source.\n", src.Name, src.AuthKind)
		if discovered != "" {
			fmt.Fprintf(stdout, "Its token endpoint, from its SMART configuration: %s\n", discovered)
		}
	case "add":
		if src, err = db.AddSource(ctx, src); err != nil {
			return fmt.Errorf("source add: %w", err)
		}
		fmt.Fprintf(stdout, "Added source %s (%s).\n", src.Name, src.BaseURL)
		if src.OrgName == "" {
			// Pages name a source by its organisation: without one, patients
			// read "Updated from lth" (a sync review).
			fmt.Fprintf(stdout, "People will see it as %q until you name the organisation, e.g. portal source org %s \"Leeds Teaching Hospitals\"\n", src.Name, src.Name)
		}
		if discovered != "" {
			fmt.Fprintf(stdout, "Its token endpoint, from its SMART configuration: %s\n", discovered)
		}
	case "org":
		// For a source made by `portal import` too.
		if len(rest) != 2 || strings.TrimSpace(rest[1]) == "" {
			return errors.New("source org: give the source's name and the organisation people see it as, e.g. portal source org lth \"Leeds Teaching Hospitals\"")
		}
		if strings.ContainsFunc(rest[1], unprintable) {
			return errors.New("source org: the organisation holds a control character, such as a new line, a tab, an escape or one that turns the text's direction: give it without")
		}
		org := strings.Join(strings.Fields(rest[1]), " ")
		if err := db.SetSourceOrg(ctx, rest[0], org); err != nil {
			return fmt.Errorf("source org: %w", err)
		}
		fmt.Fprintf(stdout, "People now see source %s as %q; everything cached from it is kept.\n", rest[0], org)
	case "social-care":
		// For a source made by `portal import` too, which has no add of its own.
		if len(rest) != 2 || (rest[1] != "yes" && rest[1] != "no") {
			return errors.New("source social-care: give the source's name and yes or no, e.g. portal source social-care leeds-adult-care yes")
		}
		if err := db.SetSourceSocialCare(ctx, rest[0], rest[1] == "yes"); err != nil {
			return fmt.Errorf("source social-care: %w", err)
		}
		// Which report stands for each fact the source shares is worked out again now, a
		// part per transaction (a bulk load still running does it at its end).
		if _, err := db.FinishStalledBulkLoad(ctx, false); err != nil {
			return fmt.Errorf("source social-care: %w", err)
		}
		fmt.Fprintf(stdout, "Source %s %s a social care service.\n", rest[0], map[bool]string{true: "is now", false: "is no longer"}[rest[1] == "yes"])
	case "list":
		srcs, err := db.Sources(ctx)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "NAME\tORGANISATION\tADDRESS\tAUTH\tSOCIAL CARE")
		for _, s := range srcs {
			addr := s.BaseURL
			if addr == "" {
				addr = "(imported files)"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", s.Name, s.OrgName, addr, s.AuthKind, map[bool]string{true: "yes", false: "no"}[s.SocialCare])
		}
		if err := w.Flush(); err != nil {
			return err
		}
		// A source that asked us to wait (Retry-After) is left alone till then, by every process.
		for _, s := range srcs {
			if time.Now().Before(s.HeldUntil) {
				fmt.Fprintf(stdout, "%s asked not to be called before %s: syncs and consent deliveries leave it alone till then (portal source release %s calls it again now).\n",
					s.Name, s.HeldUntil.UTC().Format("2 January 2006 15:04 MST"), s.Name)
			}
		}
		return nil
	case "release":
		if len(rest) != 1 {
			return errors.New("source release: give the source's name, e.g. portal source release lth")
		}
		held, err := db.LiftHold(ctx, rest[0])
		if err != nil {
			return fmt.Errorf("source release: %w", err)
		}
		if held.IsZero() {
			fmt.Fprintf(stdout, "%s had not asked us to wait: nothing to do.\n", rest[0])
			return nil
		}
		fmt.Fprintf(stdout, "%s may be called again now, though it asked not to be before %s. Syncs and consent deliveries will call it as soon as they are due.\n",
			rest[0], held.UTC().Format("2 January 2006 15:04 MST"))
	case "accept-nhs-number":
		if len(rest) != 2 {
			return errors.New("source accept-nhs-number: give the source's name and the id of its Patient, as the sync or import that set it aside named it, e.g. portal source accept-nhs-number lth 1234")
		}
		done, err := db.AcceptNHSNumber(ctx, rest[0], strings.TrimPrefix(rest[1], "Patient/"),
			store.Access{Device: store.OperatorDevice, ActorKind: store.ActorOperator, ActorName: operatorName(getenv)})
		if err != nil {
			return fmt.Errorf("source accept-nhs-number: %w", err)
		}
		st, was := done.Stored, "none"
		if done.Was != "" {
			was = store.Person{NHSNumber: done.Was}.FormattedNHSNumber()
		}
		fmt.Fprintf(stdout, "Person %d (%s) now has NHS number %s, in place of %s, as Patient/%s at %s says. Stored %d, updated %d and kept %d (the same as or older than stored) of what was set aside; %d set aside again.\n",
			done.PersonID, done.Name, store.Person{NHSNumber: done.Now}.FormattedNHSNumber(), was, strings.TrimPrefix(rest[1], "Patient/"), rest[0], st.Added, st.Updated, st.Unchanged, st.Rejected)
		if len(done.Also) > 0 {
			fmt.Fprintf(stdout, "Accepted with it, held for the same number: %s.\n", strings.Join(done.Also, ", "))
		}
		for _, why := range st.SetAside {
			fmt.Fprintln(stderr, why)
		}
	case "remove":
		if len(rest) != 1 {
			return errors.New("source remove: give the source's name")
		}
		unsent, err := db.RemoveSource(ctx, rest[0], evenIfWaiting)
		if err != nil {
			return fmt.Errorf("source remove: %w", err)
		}
		fmt.Fprintf(stdout, "Removed source %s and everything cached from it.\n", rest[0])
		if unsent > 0 {
			fmt.Fprintf(stdout, "%s to sharing choices will not be sent to it; the people who made them see that on their choices page.\n",
				plural(unsent, "change", "changes"))
		}
	}
	return nil
}

// personFlags are the ways a command names a person.
type personFlags struct {
	id         int64
	idGiven    bool // --person was given, if only as 0
	nhs        string
	identifier string
}

func (pf *personFlags) add(fs *flag.FlagSet) {
	fs.Func("person", "the person's `ID` in the portal (portal persons lists them)", func(v string) error {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return errors.New("a person's id is a whole number (portal persons lists them)")
		}
		pf.id, pf.idGiven = id, true
		return nil
	})
	fs.StringVar(&pf.nhs, "nhs-number", "", "the person's NHS number")
	fs.StringVar(&pf.identifier, "identifier", "", "the person's identifier as SYSTEM|VALUE")
}

func (pf personFlags) given() bool { return pf.idGiven || pf.nhs != "" || pf.identifier != "" }

// required is check, for a command that must name one person.
func (pf personFlags) required(cmd string) error {
	if !pf.given() {
		return fmt.Errorf("%s: name the person with --person ID, --nhs-number N or --identifier SYSTEM|VALUE", cmd)
	}
	if err := pf.check(); err != nil {
		return fmt.Errorf("%s: %w", cmd, err)
	}
	return nil
}

// check refuses person flags that cannot name one person, before any
// database is opened: more than one way at once, an id that is not one, an
// NHS number with a wrong check digit, an identifier without its system.
func (pf personFlags) check() error {
	n := 0
	for _, given := range []bool{pf.idGiven, pf.nhs != "", pf.identifier != ""} {
		if given {
			n++
		}
	}
	if n > 1 {
		return errors.New("give only one of --person, --nhs-number or --identifier")
	}
	if pf.idGiven && pf.id <= 0 {
		return fmt.Errorf("--person %d: a person's id is a number above 0 (portal persons lists them)", pf.id)
	}
	if pf.nhs != "" || pf.identifier != "" {
		_, _, err := pf.systemValue()
		return err
	}
	return nil
}

// system and value of the identifier given, turning --nhs-number into one.
func (pf personFlags) systemValue() (string, string, error) {
	if pf.nhs != "" {
		nhs, err := nhsNumber("--nhs-number", pf.nhs)
		return fhir.NHSNumberSystem, nhs, err
	}
	system, value, ok := strings.Cut(pf.identifier, "|")
	if !ok || system == "" || value == "" {
		return "", "", fmt.Errorf("--identifier %q: write it as SYSTEM|VALUE, e.g. https://fhir.nhs.uk/Id/nhs-number|9434765919", pf.identifier)
	}
	if system == fhir.NHSNumberSystem {
		// --nhs-number written out: checked as it is (a review: a wrong
		// check digit went to the source this way).
		nhs, err := nhsNumber("--identifier", value)
		return system, nhs, err
	}
	return system, value, nil
}

// nhsNumber is the NHS number given to flag as ten digits, or why it is not one.
func nhsNumber(flag, given string) (string, error) {
	nhs := fhir.NormaliseNHSNumber(given) // as a Patient's is read
	if len(nhs) != 10 || strings.Trim(nhs, "0123456789") != "" {
		return "", fmt.Errorf("%s %q: an NHS number is 10 digits", flag, given)
	}
	if !fhir.ValidNHSNumber(nhs) {
		return "", fmt.Errorf("NHS number %s is not valid: its check digit is wrong", formatNHS(nhs))
	}
	return nhs, nil
}

// formatNHS writes ten digits as an NHS number is read out: 943 476 5919.
func formatNHS(nhs string) string { return nhs[:3] + " " + nhs[3:6] + " " + nhs[6:] }

// find returns the person named by the flags from the local cache, saying
// which person was not found in which database.
func (pf personFlags) find(ctx context.Context, db *store.DB, path string) (store.Person, error) {
	var p store.Person
	var err error
	system, value, _ := pf.systemValue()
	switch {
	case pf.id != 0:
		p, err = db.Person(ctx, pf.id)
	case system == fhir.NHSNumberSystem:
		p, err = db.PersonByNHSNumber(ctx, value)
	default:
		p, err = db.PersonByIdentifier(ctx, system, value)
		if store.ErrorCode(err) == store.ENOTFOUND {
			// One their cached Patient carries, such as a hospital's record
			// number, names them too (a review: export could not find them by it).
			p, err = db.PersonByPatientIdentifier(ctx, system, value)
		}
	}
	if store.ErrorCode(err) == store.ENOTFOUND {
		return p, &store.Error{Code: store.ENOTFOUND, Message: fmt.Sprintf("No person with %s in %s", pf.describe(), path)}
	}
	if err == nil && pf.id != 0 {
		// Only an id names someone left holding nothing: their identifiers went too.
		into, err := db.MergedInto(ctx, p.ID)
		if err != nil {
			return p, err
		}
		if into != 0 {
			return p, &store.Error{Code: store.EINVALID, Message: fmt.Sprintf("Person %d holds nothing now: a source merged their records into person %d's, so name that person with --person %d", p.ID, into, into)}
		}
	}
	return p, err
}

// describe names the person as the flags do.
func (pf personFlags) describe() string {
	system, value, _ := pf.systemValue()
	switch {
	case pf.id != 0:
		return fmt.Sprintf("id %d", pf.id)
	case system == fhir.NHSNumberSystem:
		return "NHS number " + formatNHS(value)
	default:
		return "identifier " + system + "|" + value
	}
}

// runSync pulls records from FHIR server sources, printing progress and a summary per source.
func runSync(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg Config
	var sourceName string
	var pf personFlags
	var full bool
	fs := flag.NewFlagSet("sync", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage of %s:\n", fs.Name())
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), syncExitStatus)
	}
	commonFlags(fs, &cfg, getenv)
	linkFlags(fs, &cfg, getenv)
	fs.StringVar(&sourceName, "source", "", "only this source (default: every FHIR server source)")
	pf.add(fs)
	fs.BoolVar(&full, "full", false, "also list everything upstream holds, to find deletions")
	var bulk string
	fs.StringVar(&bulk, "bulk", "", "populate the cache with a bulk data export ($export) of everything this source holds")
	var filesFrom []string
	fs.Var(repeatableFunc(func(v string) error {
		if _, err := fhirsync.ParseOrigin(v); err != nil {
			return err
		}
		filesFrom = append(filesFrom, v)
		return nil
	}), "files-from", "with --bulk: an `ORIGIN` (scheme, host and port, such as https://exports.example.nhs.uk) besides the source that export files may come from when the manifest says they need no token, or that a file may redirect to; repeat for each; anywhere else is refused")
	rest, err := parseFlags(fs, args, stdout, stderr)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("sync: unexpected %q", rest[0])
	}
	// An empty name or person (an unset variable in a script) is none: taken
	// as not given, it would sync everyone from every source, or every
	// source's files (found by reviews).
	var empty string
	fs.Visit(func(f *flag.Flag) {
		if (f.Name == "source" || f.Name == "bulk" || f.Name == "identifier" || f.Name == "nhs-number") && strings.TrimSpace(f.Value.String()) == "" && empty == "" {
			empty = f.Name
		}
	})
	switch empty {
	case "source", "bulk":
		return fmt.Errorf("sync: --%s needs a source's name (portal source list names them); leave it out to sync from every source", empty)
	case "":
	default:
		return fmt.Errorf("sync: --%s needs a value; leave it out to sync everyone", empty)
	}
	if bulk != "" && (sourceName != "" || pf.given()) {
		return errors.New("sync: --bulk exports everything the source holds; it does not go with --source or a person")
	}
	if bulk != "" && full {
		return errors.New("sync: --full lists everything a FHIR server holds to find what it deleted; --bulk finds that from the export's files of deletions, so it does not go with --full")
	}
	if len(filesFrom) > 0 && bulk == "" {
		return errors.New("sync: --files-from says where --bulk may fetch export files from; it goes only with --bulk")
	}
	if err := pf.check(); err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	db, err := openExisting(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	if pf.id != 0 {
		// A person named by id must be here already: say so once, not once a source.
		if _, err := pf.find(ctx, db, cfg.DB); err != nil {
			return fmt.Errorf("sync: %w", err)
		}
	}
	log := slog.New(slog.NewTextHandler(stderr, nil)) // what a client cannot tell its caller
	if bulk != "" {
		srcs, err := syncSources(ctx, db, bulk)
		if err != nil {
			return err
		}
		puller := &fhirsync.Puller{DB: db, Client: fhirsync.NewClients(getenv, fhirsync.ClientOptions{FilesFrom: filesFrom, Holds: db, Log: log}).Get, LinkSystems: cfg.LinkSystems, Runner: store.RunnerID("portal sync")}
		start := time.Now()
		sum, err := puller.PullBulk(ctx, srcs[0], func(msg string) { fmt.Fprintf(stdout, "%s: %s\n", bulk, printable(msg)) })
		fmt.Fprintf(stdout, "%s: %d added, %d updated, %d deleted, %d failed to read, in %s\n", bulk, sum.Added, sum.Updated, sum.Deleted, sum.Rejected, time.Since(start).Round(time.Millisecond))
		for _, why := range sum.SetAside {
			fmt.Fprintf(stderr, "sync --bulk %s: %s (set aside)\n", bulk, printable(why))
		}
		if more := sum.Rejected - len(sum.SetAside); more > 0 {
			fmt.Fprintf(stderr, "sync --bulk %s: and %d more set aside\n", bulk, more)
		}
		switch {
		case err != nil && ctx.Err() != nil:
			// Stopped: no "we will try again", which is the pages' word for
			// people (an operator review): the next --bulk finishes it.
			return fmt.Errorf("sync --bulk %s: stopped before it was finished; what was stored is kept, and the next portal sync --bulk %s finishes the load", bulk, bulk)
		case err != nil:
			return fmt.Errorf("sync --bulk %s: %w", bulk, err)
		}
		return nil
	}
	srcs, err := syncSources(ctx, db, sourceName)
	if err != nil {
		return err
	}
	cl := fhirsync.NewClients(getenv, fhirsync.ClientOptions{Holds: db, Log: log})
	puller := &fhirsync.Puller{DB: db, Client: cl.Get, LinkSystems: cfg.LinkSystems, Runner: store.RunnerID("portal sync")}
	if full {
		puller.Reconcile = time.Nanosecond
	}
	ss := sourceSync{db: db, path: cfg.DB, puller: puller, pf: pf, out: &lines{out: stdout, errOut: stderr}}
	if pf.given() && pf.id == 0 {
		if _, err := pf.find(ctx, db, cfg.DB); store.ErrorCode(err) == store.ENOTFOUND {
			ss.named = true
		}
	}
	failed, left := ss.all(ctx, srcs)
	if ctx.Err() != nil {
		// Stopped (Ctrl-C, a signal): what was stored is kept with its
		// checkpoint, and the next run takes it up; work left for later waits too.
		return fmt.Errorf("sync: stopped before it was finished; what was stored is kept, and the next sync goes on from there (%d failed or not synced, see above)", failed)
	}
	if err := finishStalledLoad(ctx, db, stdout); err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	if ss.named && ss.foundAt.Load() == 0 && failed == 0 && len(left) == 0 {
		// Named by identifier and new here, and no source holds them.
		return errors.New("sync: no source has a record of this person")
	}
	if failed > 0 {
		if len(left) > 0 {
			return fmt.Errorf("sync: %d failed, and %d left to a sync under way in another process (see above)", failed, len(left))
		}
		return fmt.Errorf("sync: %d failed (see above)", failed)
	}
	if len(left) > 0 && pf.given() {
		// A sync of everyone that meets one being synced elsewhere has done
		// its job: that person is being brought up to date. It says so in its
		// summary, and a scheduled run is not taken for a failure.
		return leftToAnother(left)
	}
	return nil
}

// syncExitStatus ends sync's -h: a script must tell a person synced from
// one left to a sync another process is running.
const syncExitStatus = `
Exit status:
  0  done: every person asked for was brought up to date from every source (or has no record there)
  1  something failed or was stopped, or a flag was wrong (see the messages)
  3  nothing failed, but the person named (--person, --nhs-number or --identifier) was left
     to a sync of them already under way in another process (serve, or another portal sync),
     so this run did not sync them from that source; standard error says which. Run again
     later, or leave it to that sync. A sync of everyone says so in its summary and exits 0
`

// exitLeftToAnother is the exit status of a sync that failed nowhere but
// left someone to a sync under way in another process (syncExitStatus).
const exitLeftToAnother = 3

// leftBehind is a person a sync left to another process's sync of them from a source.
type leftBehind struct {
	source string
	person store.Person
	since  string // when the other sync last marked itself running, if known
}

func (l leftBehind) String() string {
	s := fmt.Sprintf("%s (person %d) from %s", printable(l.person.Name()), l.person.ID, l.source)
	if t, err := time.Parse(time.RFC3339Nano, l.since); err == nil && l.since != "" {
		s += ", marked running at " + t.UTC().Format("15:04:05 MST")
	}
	return s
}

// leftToAnother is the error of a sync that left persons to others under
// way, and nothing else went wrong: portal exits with exitLeftToAnother.
type leftToAnother []leftBehind

// leftNamed is how many persons left behind an error names; the rest are on standard output.
const leftNamed = 10

func (e leftToAnother) Error() string {
	const by = "a sync of them was already under way in another process (serve or another portal sync)"
	if len(e) == 1 {
		return fmt.Sprintf("sync: not synced: %s: %s; left to that one", e[0], by)
	}
	names := make([]string, 0, leftNamed)
	for _, l := range e[:min(len(e), leftNamed)] {
		names = append(names, l.String())
	}
	more := ""
	if len(e) > leftNamed {
		more = fmt.Sprintf("; and %d more (see above)", len(e)-leftNamed)
	}
	return fmt.Sprintf("sync: %d not synced: %s; left to those: %s%s", len(e), by, strings.Join(names, "; "), more)
}

// ExitCode is the status portal exits with after this error.
func (leftToAnother) ExitCode() int { return exitLeftToAnother }

// exitStatus is the status portal exits with after run returns err: 0 for
// none, the error's own ExitCode when it has one (leftToAnother), else 1.
func exitStatus(err error) int {
	var coded interface{ ExitCode() int }
	switch {
	case err == nil:
		return 0
	case errors.As(err, &coded):
		return coded.ExitCode()
	}
	return 1
}

// syncSourcesAtOnce bounds the sources `portal sync` pulls from at once.
const syncSourcesAtOnce = 4

// lines writes whole lines, one at a time, for sources synced at once: no
// line is cut into by another.
type lines struct {
	mu          sync.Mutex
	out, errOut io.Writer
}

// say writes a line on standard output.
func (l *lines) say(format string, args ...any) { l.write(l.out, format, args...) }

// warn writes a line on standard error.
func (l *lines) warn(format string, args ...any) { l.write(l.errOut, format, args...) }

// write writes one line: what it says from a record or a server (a name, a
// server's words) is printed with no control characters (printable), so none
// reaches the terminal as an escape (a review).
func (l *lines) write(w io.Writer, format string, args ...any) {
	line := printable(fmt.Sprintf(format, args...)) + "\n"
	l.mu.Lock()
	defer l.mu.Unlock()
	io.WriteString(w, line) //nolint:errcheck // nowhere better to say so
}

// sourceSync pulls the persons the flags name (or everyone) from sources.
type sourceSync struct {
	db     *store.DB
	path   string
	puller *fhirsync.Puller
	pf     personFlags
	out    *lines
	// named says the person is named by identifier and not yet held here:
	// a source with no record of them is no failure, but none at all is.
	named   bool
	foundAt atomic.Int32 // sources that found the person named
}

// all syncs every source at once (a bounded number at a time), so a source
// that never answers holds up only itself; each source's persons go one after
// another. Progress is printed as it comes, then each source's totals in the
// sources' order. It returns how many syncs failed, and who was left to a
// sync under way in another process.
func (ss *sourceSync) all(ctx context.Context, srcs []store.Source) (int, []leftBehind) {
	type result struct {
		total  fhirsync.Summary
		failed int
		left   []leftBehind
		ran    bool // persons were pulled: there are totals to print
	}
	results := make([]result, len(srcs))
	slots := make(chan struct{}, syncSourcesAtOnce)
	var wg sync.WaitGroup
	for i, src := range srcs {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			ss.out.say("%s: stopped before it was synced", src.Name)
			results[i].failed = 1
			continue
		}
		wg.Go(func() {
			defer func() { <-slots }()
			r := &results[i]
			r.total, r.failed, r.left, r.ran = ss.one(ctx, src)
		})
	}
	wg.Wait()
	failed := 0
	var left []leftBehind
	for i, r := range results {
		failed += r.failed
		left = append(left, r.left...)
		if r.ran {
			t := r.total
			ss.out.say("%s: %d added, %d updated, %d deleted, %d failed to read%s%s", srcs[i].Name, t.Added, t.Updated, t.Deleted, t.Rejected, othersDeleted(t.DeletedOthers), peopleFailed(r.failed))
		}
		if n := len(r.left); n > 0 {
			ss.out.say("%s: %d not synced: left to a sync of them already under way in another process", srcs[i].Name, n)
		}
	}
	return failed, left
}

// peopleFailed is what a source's summary line adds for the people whose
// sync from it failed, "" for none: a source down for everyone otherwise
// read as one with nothing new (an operator review).
func peopleFailed(n int) string {
	switch n {
	case 0:
		return ""
	case 1:
		return "; 1 person not synced, as above"
	}
	return fmt.Sprintf("; %d people not synced, as above", n)
}

// one syncs the persons from one source, returning their totals, how many
// failed, who was left to another process's sync, and whether the source got
// as far as its persons.
func (ss *sourceSync) one(ctx context.Context, src store.Source) (total fhirsync.Summary, failed int, left []leftBehind, ran bool) {
	total.Source = src.Name
	if _, err := ss.puller.Client(src); err != nil {
		// How it signs in cannot be read (a variable unset, a key file gone):
		// said once for the source, not once a person (an operator review).
		ss.out.say("%s: not synced: its sign-in could not be read, as below", src.Name)
		ss.out.warn("sync: %v", err)
		return total, 1, nil, false
	}
	persons, err := syncPersons(ctx, ss.db, ss.path, ss.puller, src, ss.pf, &total)
	if errors.Is(err, fhirsync.ErrNoRecord) {
		// Most sources hold nothing of most people: only no source at all is a failure (ss.named).
		ss.out.say("%s: no record of this person", src.Name)
		return total, 0, nil, false
	}
	if err != nil {
		ss.out.say("%s: %s", src.Name, explain(ctx, err))
		ss.out.warn("sync: %s: %v", src.Name, err)
		return total, 1, nil, false
	}
	if ss.pf.given() {
		ss.foundAt.Add(1)
	}
	if total.NewPersons > 0 && len(persons) == 1 {
		ss.out.say("%s: new person, id %d: %s", src.Name, persons[0].ID, describePerson(persons[0]))
	}
	for i, p := range persons {
		// A sync of everyone names people by id, as its other lines do: by
		// name, beside the source, each line would say who is treated where,
		// for everyone (a privacy review); one named is named.
		who := fmt.Sprintf("person %d", p.ID)
		if ss.pf.given() {
			who = p.Name()
		}
		if ctx.Err() != nil {
			ss.out.say("%s: stopped before %s was synced", src.Name, who)
			failed += len(persons) - i // each left, not only this one (a review)
			break
		}
		start := time.Now()
		sum, err := ss.puller.PullPerson(ctx, src, p.ID, func(pr fhirsync.Progress) {
			r := pr.Result
			if r.Added+r.Updated+r.Deleted+r.Rejected == 0 {
				return
			}
			ss.out.say("%s %s (person %d): %d added, %d updated, %d set aside", src.Name, pr.ResourceType, p.ID, r.Added, r.Updated, r.Rejected)
		})
		total.Added += sum.Added
		total.Updated += sum.Updated
		total.Deleted += sum.Deleted
		total.DeletedOthers += sum.DeletedOthers
		total.Rejected += sum.Rejected
		// Kept aside, as portal import names them: the rest is stored, and the
		// next sync reads them again (a damaged copy may come whole next time).
		for _, why := range sum.SetAside {
			ss.out.warn("sync: %s, person %d: %s (set aside)", src.Name, p.ID, why)
		}
		if more := sum.Rejected - len(sum.SetAside); more > 0 {
			ss.out.warn("sync: %s, person %d: and %d more set aside", src.Name, p.ID, more)
		}
		for _, w := range sum.Warnings {
			ss.out.say("%s: %s: %s", src.Name, who, w)
		}
		if errors.Is(err, fhirsync.ErrNoIdentifier) {
			// Not asked: "no record" would say the source was. A failure of the
			// command only when that person was asked for: a sync of everyone
			// would otherwise fail on every run, hiding real failures.
			if ss.pf.given() {
				failed++
			}
			ss.out.say("%s: %s was not looked for: the portal holds no NHS number or other identifier to look for them by (import them with --link-system SYSTEM, or sync with --identifier SYSTEM|VALUE)", src.Name, who)
			continue
		}
		if errors.Is(err, fhirsync.ErrNoRecord) {
			ss.out.say("%s: no record for %s", src.Name, who)
			continue
		}
		if errors.Is(err, store.ErrSyncUnderWay) {
			ss.out.say("%s: %s is being synced already, by serve or another portal sync: left to that one", src.Name, who)
			left = append(left, leftBehind{source: src.Name, person: p, since: ss.runningSince(ctx, src.ID, p.ID)})
			continue
		}
		if err != nil {
			failed++
			ss.out.say("%s: %s: %s", src.Name, who, explain(ctx, err))
			ss.out.warn("sync: %s, person %d: %v", src.Name, p.ID, err)
			continue
		}
		ss.out.say("%s: %s brought up to date in %s", src.Name, who, time.Since(start).Round(time.Millisecond))
	}
	return total, failed, left, true
}

// runningSince is when the sync of the person from the source under way
// elsewhere last marked itself running, or "" if that cannot be told.
func (ss *sourceSync) runningSince(ctx context.Context, sourceID, personID int64) string {
	sts, err := ss.db.SyncStatuses(ctx, personID)
	if err != nil {
		return ""
	}
	for _, st := range sts {
		if st.Source.ID == sourceID {
			return st.RunningSince
		}
	}
	return ""
}

// explain is fhirsync.Explain, but says so when the sync was stopped (by
// Ctrl-C or a signal) rather than calling it something gone wrong.
func explain(ctx context.Context, err error) string {
	if ctx.Err() != nil {
		return "Stopped before it was finished."
	}
	// The words patients are shown, but for the promise to try again, which
	// is serve's, not a command's (an operator review); why is on standard error.
	why := fhirsync.Explain(err)
	for _, again := range []string{" We will try again soon.", " We will try again later."} {
		why = strings.TrimSuffix(why, again)
	}
	return why
}

// syncSources returns the named FHIR server source, or all of them.
func syncSources(ctx context.Context, db *store.DB, name string) ([]store.Source, error) {
	if name != "" {
		src, err := db.SourceByName(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("sync: %w", err)
		}
		if src.BaseURL == "" {
			return nil, fmt.Errorf("sync: %s is a set of imported files, not a FHIR server", name)
		}
		return []store.Source{src}, nil
	}
	all, err := db.Sources(ctx)
	if err != nil {
		return nil, err
	}
	var out []store.Source
	for _, s := range all {
		if s.BaseURL != "" {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("sync: there are no FHIR server sources yet: add one with portal source add NAME URL")
	}
	return out, nil
}

// syncPersons returns the person the flags name (finding them at the source
// and adding them when new), or every person.
func syncPersons(ctx context.Context, db *store.DB, path string, puller *fhirsync.Puller, src store.Source, pf personFlags, found *fhirsync.Summary) ([]store.Person, error) {
	if !pf.given() {
		// Everyone the portal knows: those not yet linked at this source are looked for there by identifier.
		return db.Persons(ctx)
	}
	p, err := pf.find(ctx, db, path)
	if store.ErrorCode(err) == store.ENOTFOUND && pf.id == 0 {
		system, value, verr := pf.systemValue()
		if verr != nil {
			return nil, verr
		}
		p, err = puller.FindPersonCounted(ctx, src, system, value, found)
	} else if err == nil && pf.id == 0 {
		// Known here by the identifier given (one a cached Patient of theirs
		// carries, say): it becomes one they are looked for by at sources
		// that do not hold them yet (a review: the sync said they could not
		// be looked for, or searched only by an NHS number this one lacks).
		system, value, verr := pf.systemValue()
		if verr != nil {
			return nil, verr
		}
		err = db.LinkPersonIdentifier(ctx, p.ID, system, value)
	}
	if err != nil {
		return nil, err
	}
	return []store.Person{p}, nil
}

// runExport writes a person's cached record as a FHIR R4 Bundle of type
// collection, each resource's meta.source naming where it came from.
func runExport(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg Config
	var pf personFlags
	var outPath string
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	commonFlags(fs, &cfg, getenv)
	pf.add(fs)
	fs.StringVar(&outPath, "out", "", "file to write (default: standard output)")
	rest, err := parseFlags(fs, args, stdout, stderr)
	if err != nil {
		return err
	}
	if err := unexpectedArgs("export", rest); err != nil {
		return err
	}
	if err := pf.required("export"); err != nil {
		return err
	}
	if outPath != "" {
		if err := checkOut(outPath); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		if err := checkOutNotDB(outPath, cfg.DB, getenv("PORTAL_ACCESS_SPOOL")); err != nil {
			return fmt.Errorf("export: %w", err)
		}
	}
	db, err := openExisting(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	p, err := pf.find(ctx, db, cfg.DB)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	w := stdout
	var f *os.File
	if outPath != "" {
		// Write beside the target and rename, so a failed export never leaves half a file.
		removeStaleExports(filepath.Dir(outPath), stderr)
		if f, err = os.CreateTemp(filepath.Dir(outPath), exportPartPattern); err != nil {
			return fmt.Errorf("export: --out %s: %s", outPath, cannotMakeIn(filepath.Dir(outPath), err))
		}
		defer os.Remove(f.Name())
		w = f
	}
	// Logged before a byte of the record leaves, as a download from the web is:
	// an operator reading a whole record is on the person's access log too.
	if err := db.LogAccess(ctx, store.Access{
		PersonID: p.ID, Action: "download", What: "whole record (FHIR)", Device: store.OperatorDevice,
		ActorKind: store.ActorOperator, ActorName: operatorName(getenv),
	}); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	bw := bufio.NewWriter(w)
	n, err := db.WriteBundle(ctx, p.ID, bw)
	if err == nil {
		err = bw.Flush()
	}
	if f != nil {
		if err == nil {
			err = f.Sync() // on the disk before it takes the place of a good file
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(f.Name(), outPath)
		}
		// Name the file asked for, not the temporary one beside it (removed).
		var pe *os.PathError
		var le *os.LinkError
		if errors.As(err, &pe) && pe.Path == f.Name() || errors.As(err, &le) {
			err = fmt.Errorf("--out %s: %w", outPath, unwrapPath(err))
		}
	}
	if err != nil && ctx.Err() != nil {
		// Stopped by Ctrl-C or a signal, as import and sync say (an operator review: "context canceled").
		if outPath != "" {
			return fmt.Errorf("export: stopped before it was finished: nothing was written to %s, and a file there before is as it was", outPath)
		}
		return errors.New("export: stopped before it was finished: what was written above is not the whole record")
	}
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if outPath != "" {
		fmt.Fprintf(stdout, "Wrote %s for %s to %s\n", plural(n, "resource", "resources"), printable(p.Name()), outPath)
	}
	return nil
}

// staleExport is how long an export's file beside its target (exportPart)
// has gone unwritten before it is taken for one left by an export killed
// before it could remove it: a running export writes as it goes.
const staleExport = time.Hour

// exportPartPattern names the file an export writes beside its target
// before it takes the target's place (os.CreateTemp puts digits for the *),
// and exportPart is it read back: distinct, so that nothing of anyone
// else's is taken for one (a review: .export-settings was removed).
const exportPartPattern = ".portal-export-*.part"

var exportPart = regexp.MustCompile(`^\.portal-export-[0-9]+\.part$`)

// removeStaleExports removes from dir the part-written records that exports
// killed there (kill -9, a power cut) left beside their targets, saying so:
// otherwise nothing ever would (an operator review found eight). Only files
// named as exports name theirs, read from dir itself, not as a pattern (a
// review: a folder named reports[1] matched reports1).
func removeStaleExports(dir string, stderr io.Writer) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !e.Type().IsRegular() || !exportPart.MatchString(e.Name()) {
			continue
		}
		name := filepath.Join(dir, e.Name())
		if st, err := os.Lstat(name); err != nil || time.Since(st.ModTime()) < staleExport {
			continue
		}
		if err := os.Remove(name); err == nil {
			fmt.Fprintf(stderr, "export: removed %s, part of a record an export stopped before it finished left there\n", name)
		}
	}
}

// checkOut refuses an --out path export must not replace: a folder, or
// anything else that is not a regular file (a device such as /dev/full, a
// pipe, a link), and one whose folder is not there. A regular file is replaced.
func checkOut(path string) error {
	st, err := os.Lstat(path)
	switch {
	case err == nil && st.IsDir():
		return fmt.Errorf("--out %s is a folder: name a file to write, e.g. %s", path, filepath.Join(path, "record.json"))
	case err == nil && st.Mode()&os.ModeSymlink != 0:
		return fmt.Errorf("--out %s is a symbolic link: name the file itself", path)
	case err == nil && !st.Mode().IsRegular():
		return fmt.Errorf("--out %s exists and is not a regular file (a device, pipe or socket): name a new file or one to replace", path)
	case err == nil:
		return nil
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("--out %s: %w", path, unwrapPath(err))
	}
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("--out %s: there is no folder %s", path, dir)
		}
		return fmt.Errorf("--out %s: %w", path, unwrapPath(err))
	} else if !st.IsDir() {
		return fmt.Errorf("--out %s: %s is not a folder", path, dir)
	}
	return nil
}

// checkOutNotDB refuses an --out that is the database at db, or one of the
// files the store keeps beside it (spoolDir is where serve keeps the access
// log spool, when not beside it): the export would replace it. Files that
// exist are compared as files (a second name, a linked folder); the rest by
// where they would be, the folders' links followed.
func checkOutNotDB(out, db, spoolDir string) error {
	spools := []string{store.SpoolPath(db, "")}
	if spoolDir != "" {
		spools = append(spools, store.SpoolPath(db, spoolDir))
	}
	// SQLite keeps its files beside the database file itself, wherever a
	// symbolic link named by --db points.
	real := db
	if r, err := filepath.EvalSymlinks(db); err == nil {
		real = r
	}
	var side []string
	for _, d := range []string{db, real} {
		side = append(side, d+"-wal", d+"-shm", d+"-journal", d+"-reserve", d+"-reserve.new")
	}
	for _, s := range spools {
		side = append(side, s, store.DamagedSpoolPath(s))
	}
	if sameFile(out, db) {
		return fmt.Errorf("--out %s is the database itself (%s): the export would destroy it: name another file", out, db)
	}
	for _, s := range side {
		if sameFile(out, s) {
			return fmt.Errorf("--out %s is one of the files the database %s keeps beside it (%s): the export would replace it: name another file", out, db, filepath.Base(s))
		}
	}
	return nil
}

// sameFile reports whether paths a and b name one file: the same file when
// both exist, else the same place once their folders' links are followed.
func sameFile(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	if errA == nil && errB == nil {
		return os.SameFile(sa, sb)
	}
	return where(a) == where(b)
}

// where is path made absolute, its folder's symbolic links followed.
func where(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return filepath.Clean(path)
	}
	if dir, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
		return filepath.Join(dir, filepath.Base(abs))
	}
	return abs
}

// cannotMakeIn says in plain words why no file could be made in folder dir,
// which is there (checkOut saw it).
func cannotMakeIn(dir string, err error) string {
	err = unwrapPath(err)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// The folder is there, so it is one of the kernel's, which take no new files.
		return fmt.Sprintf("no file can be made in its folder %s (a system folder, such as /proc or /sys, takes none): name a file in another folder", dir)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Sprintf("this user may not make files in its folder %s (%v)", dir, err)
	case errors.Is(err, syscall.EROFS):
		return fmt.Sprintf("its folder %s is on a read-only disk", dir)
	}
	return fmt.Sprintf("cannot write in its folder %s: %v", dir, err)
}

// unwrapPath is the reason of a file system error without the path it names:
// the caller names the path the operator gave, not a temporary one.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}

// operatorName is who runs the command, by their login name on this machine,
// and, run through sudo as the portal's own user, who ran sudo: "alice (as
// portal)" (a privacy review: every entry named the service account, and no
// one was accountable).
func operatorName(getenv func(string) string) string {
	name := getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if by := getenv("SUDO_USER"); by != "" && by != name {
		if name == "" {
			return by
		}
		return by + " (as " + name + ")"
	}
	return name
}

// othersDeleted says how many resources of people not synced a sync removed:
// a server's list of a type's deletions names everyone's, and each is
// removed when first read, so the person whose it was may show none.
func othersDeleted(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("; and %d deleted from other people's records, which the source's lists of deletions also named", n)
}

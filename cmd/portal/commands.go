package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhirsync"
)

// openDB opens the database named by --db, creating its folder.
func openDB(ctx context.Context, path string) (*store.DB, error) {
	if err := ensureDir(path); err != nil {
		return nil, err
	}
	return store.Open(ctx, path)
}

// openExisting opens the database named by --db for a command that must not
// create one: a mistyped path would otherwise give an empty database and a
// false all-clear.
func openExisting(ctx context.Context, path string) (*store.DB, error) {
	db, err := store.OpenExisting(ctx, path)
	switch {
	case errors.Is(err, store.ErrNoDatabase):
		return nil, fmt.Errorf("no database at %s (run portal migrate --db %s to create one)", path, path)
	case errors.Is(err, store.ErrNotPortal) && err != store.ErrNotPortal:
		// It could not be read at all (damaged, say): why, not "not ours" (a review).
		return nil, fmt.Errorf("%s could not be read as a database: %s", path, strings.TrimPrefix(err.Error(), store.ErrNotPortal.Error()+": "))
	case errors.Is(err, store.ErrNotPortal):
		return nil, fmt.Errorf("%s is not a My Care Record database", path)
	}
	return db, err
}

func runMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg Config
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	commonFlags(fs, &cfg, getenv)
	rest, err := parseFlags(fs, args, stdout, stderr)
	if err != nil {
		return err
	}
	if err := unexpectedArgs("migrate", rest); err != nil {
		return err
	}
	db, err := openDB(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s is at schema version %d\n", cfg.DB, v)
	return nil
}

// finishStalledLoad finishes the work of a bulk load that stopped half way
// and has been quiet since (store.FinishStalledBulkLoad), saying so.
func finishStalledLoad(ctx context.Context, db *store.DB, stdout io.Writer) error {
	done, err := db.FinishStalledBulkLoad(ctx, false)
	if done && err == nil {
		fmt.Fprintln(stdout, "Finished work left for later (a bulk load that had stopped half way, or stored records read again after an update): its records are now in search, with facts reported twice shown once.")
	}
	return err
}

// checkSourceName refuses a source name source add would refuse
// (store.ValidSourceName): none, more than one word, or other characters
// than letters, digits, dots, hyphens and underscores.
func checkSourceName(name string) error {
	if why := store.SourceNameProblem(name); why != "" {
		return errors.New(why)
	}
	return nil
}

// runImport loads files one transaction each; a bad file is reported and skipped, and the exit status says so.
func runImport(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg Config
	var source, org string
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	commonFlags(fs, &cfg, getenv)
	linkFlags(fs, &cfg, getenv)
	fs.StringVar(&source, "source", "files", "name of the source the files come from")
	fs.StringVar(&org, "org", "", "organisation people see for this source, e.g. \"Meanwood Group Practice\"")
	paths, err := parseFlags(fs, args, stdout, stderr)
	if err != nil {
		return err
	}
	if err := checkSourceName(source); err != nil {
		return fmt.Errorf("import: --source %q: %w", source, err)
	}
	if len(paths) == 0 {
		return errors.New("import: name at least one file or folder, e.g. portal import --source gp bundle.json")
	}
	db, err := openDB(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := fileSource(ctx, db, source); err != nil {
		return fmt.Errorf("import: %w", err)
	}

	total := map[string]int{}
	var files, failed, skipped, rejected, unknown int
	start := time.Now()
paths:
	for _, path := range paths {
		names, err := fhirsync.ListFiles(path)
		var skip *fhirsync.SkippedError
		switch {
		case errors.As(err, &skip):
			// The rest of the folder is imported all the same.
			for _, why := range skip.Folders {
				fmt.Fprintf(stderr, "import: %v (nothing in this folder was imported)\n", why)
				skipped++
			}
		case err != nil:
			fmt.Fprintf(stderr, "import: %v\n", err)
			failed++
			continue
		}
		for _, name := range names {
			if ctx.Err() != nil {
				break paths // stopped: what was stored is said below
			}
			f, err := fhirsync.ReadFile(name)
			if err != nil {
				fmt.Fprintf(stderr, "import: %v (nothing from this file was stored)\n", err)
				failed++
				continue
			}
			// What a file says is printed without its control characters: a
			// request's url or a versionId can carry a terminal's escapes (a review).
			for _, why := range f.Skipped {
				fmt.Fprintf(stderr, "import: %s: %s\n", f.Path, printable(why))
			}
			if len(f.Resources)+len(f.Rejected) == 0 && len(f.Skipped) > 0 {
				fmt.Fprintf(stderr, "import: %s: none of its entries holds a resource to import (see above)\n", f.Path)
				failed++
				continue
			}
			last, err := db.LastPersonID(ctx)
			if err != nil {
				if ctx.Err() != nil {
					break paths
				}
				return fmt.Errorf("import: %w", err)
			}
			// Entries stored from files before this one may name who took part by a
			// resource it holds: search finds them by its name from now on (IndexNames).
			res, err := db.ApplyPage(ctx, store.PageUpdate{Source: source, OrgName: org, Origin: f.Path, LinkSystems: cfg.LinkSystems,
				Resources: f.Resources, Rejected: f.Rejected, IndexNames: true})
			if err != nil {
				if ctx.Err() != nil {
					break paths // stopped while storing it: nothing of it was stored
				}
				if store.IsReadOnly(err) {
					// The database's fault, not the file's: said once (a
					// review: each file was blamed in turn).
					return fmt.Errorf("import: the database %s cannot be written (read-only): nothing from %s or the files after it was stored", cfg.DB, f.Path)
				}
				fmt.Fprintf(stderr, "import: %s: %v (nothing from this file was stored)\n", f.Path, err)
				failed++
				continue
			}
			files++
			rejected += res.Rejected
			unknown += res.Unknown
			for t, n := range res.ByType {
				total[t] += n
			}
			older := ""
			if res.Older > 0 {
				older = fmt.Sprintf(", %d older than the one stored", res.Older)
			}
			fmt.Fprintf(stdout, "%s: %s (%d added, %d updated, %d unchanged%s, %d set aside)\n",
				f.Path, plural(res.Added+res.Updated+res.Unchanged+res.Rejected, "resource", "resources"), res.Added, res.Updated, res.Unchanged-res.Older, older, res.Rejected)
			for _, why := range res.OlderKept {
				fmt.Fprintf(stderr, "import: %s: %s\n", f.Path, printable(why))
			}
			for _, why := range res.SetAside {
				fmt.Fprintf(stderr, "import: %s: %s (set aside)\n", f.Path, printable(why))
			}
			if res.NewPersons > 0 {
				if err := printNewPersons(ctx, db, last, source, res.NewPersons, stdout); err != nil {
					if ctx.Err() != nil {
						break paths
					}
					return fmt.Errorf("import: %w", err)
				}
			}
		}
	}
	if ctx.Err() == nil {
		if err := finishStalledLoad(ctx, db, stdout); err != nil {
			return fmt.Errorf("import: %w", err)
		}
	}
	// Said only when something was imported: what failed is on standard error.
	if files > 0 {
		// ByType counts every resource read, stored or not (a review took them all for stored).
		fmt.Fprintf(stdout, "Imported %s into source %q in %s. Resources read, by type (with any set aside):\n", plural(files, "file", "files"), source, time.Since(start).Round(time.Millisecond))
		for _, t := range slices.Sorted(maps.Keys(total)) {
			fmt.Fprintf(stdout, "  %-24s %7d\n", t, total[t])
		}
	}
	if unknown > 0 {
		fmt.Fprintf(stdout, "%d resources are of types the record pages do not show yet; they are stored whole for export.\n", unknown)
	}
	var wrong []string
	if failed > 0 {
		wrong = append(wrong, fmt.Sprintf("%d of %d files failed", failed, failed+files))
	}
	if skipped == 1 {
		wrong = append(wrong, "1 folder could not be read (see above)")
	} else if skipped > 1 {
		wrong = append(wrong, fmt.Sprintf("%d folders could not be read (see above)", skipped))
	}
	if rejected > 0 {
		wrong = append(wrong, plural(rejected, "resource was", "resources were")+" set aside (see above)")
	}
	if ctx.Err() != nil {
		// Stopped (Ctrl-C, a signal): said as a sync says it, not "context canceled" (a review).
		wrong = append([]string{"stopped before it was finished: each file is stored whole or not at all, and what was stored is kept; import the same files again to finish"}, wrong...)
	}
	if len(wrong) == 0 {
		return nil
	}
	msg := "import: " + strings.Join(wrong, ", and ")
	if rejected > 0 || (skipped > 0 && files > 0) {
		msg += "; the rest was stored"
	}
	return errors.New(msg)
}

// fileSource refuses to import files into a source that is a FHIR server:
// its sync takes the server for the whole truth, so a full one would remove
// whatever a file added.
func fileSource(ctx context.Context, db *store.DB, name string) error {
	src, err := db.SourceByName(ctx, name)
	switch {
	case store.ErrorCode(err) == store.ENOTFOUND:
		return nil // made by this import
	case err != nil:
		return err
	case src.BaseURL == "":
		return nil
	}
	return fmt.Errorf("--source %q is the FHIR server %s, and a later portal sync --full of it would remove what a file added: nothing was imported. Fetch from the server with portal sync --source %s, or import the files into a source of their own, e.g. --source %s-files",
		name, src.BaseURL, name, name)
}

// printNewPersons prints a line for each of the n people a file's import
// just added to the source, with the id that names them (--person): those
// with ids above last whom the source holds.
func printNewPersons(ctx context.Context, db *store.DB, last int64, source string, n int, stdout io.Writer) error {
	stop := errors.New("all printed")
	err := db.EachPerson(ctx, last, func(p store.PersonListing) error {
		if !slices.Contains(p.Sources, source) {
			return nil // added meanwhile by another command, from another source
		}
		note := ""
		if canEnrol(p.Person) != nil {
			note = "; no whole date of birth, so they cannot be invited until a Patient with one is imported"
		}
		fmt.Fprintf(stdout, "  new person, id %d: %s%s\n", p.ID, describePerson(p.Person), note)
		if n--; n == 0 {
			return stop
		}
		return nil
	})
	if errors.Is(err, stop) {
		return nil
	}
	return err
}

func runInvite(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg Config
	var pf personFlags
	fs := flag.NewFlagSet("invite", flag.ContinueOnError)
	commonFlags(fs, &cfg, getenv)
	pf.add(fs)
	fs.StringVar(&cfg.Origin, "origin", getenv("PORTAL_ORIGIN"), "address people browse to, e.g. https://care.example.org (PORTAL_ORIGIN; default http://localhost:PORT, from PORTAL_ADDR)")
	fs.DurationVar(&cfg.EnrolTTL, "valid", 7*24*time.Hour, "how long the code lasts")
	rest, err := parseFlags(fs, args, stdout, stderr)
	if err != nil {
		return err
	}
	if err := unexpectedArgs("invite", rest); err != nil {
		return err
	}
	if err := pf.required("invite"); err != nil {
		return err
	}
	// Checked as serve checks it, with the passkey domain serve would use, so
	// the link printed works at the portal people are sent to.
	what := named(whence(fs, "origin", "PORTAL_ORIGIN", getenv), cfg.Origin)
	if cfg.Origin == "" {
		addr := envOr(getenv, "PORTAL_ADDR", "127.0.0.1:8080")
		if cfg.Origin, err = defaultOrigin(addr); err != nil {
			return fmt.Errorf("invite: %s: not a host:port to make the link from (%v): give --origin the address people browse to", named("PORTAL_ADDR", addr), err)
		}
		what = fmt.Sprintf("the origin %s made from %s", cfg.Origin, named("PORTAL_ADDR", addr))
	}
	if err := checkOrigin(cfg.Origin, what, getenv("PORTAL_RP_ID"), "PORTAL_RP_ID"); err != nil {
		return fmt.Errorf("invite: %w", err)
	}
	if err := checkValid("--valid", cfg.EnrolTTL); err != nil {
		return fmt.Errorf("invite: %w", err)
	}
	db, err := openExisting(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	p, err := pf.find(ctx, db, cfg.DB)
	if err != nil {
		return fmt.Errorf("invite: %w", err)
	}
	if err := canEnrol(p); err != nil {
		return fmt.Errorf("invite: %w", err)
	}
	if err := useCodeKey(ctx, db, getenv); err != nil {
		return fmt.Errorf("invite: %w", err)
	}
	// On the person's log before the code is printed: with their date of
	// birth, it opens their record (a privacy review: nothing said one was made).
	return printInvite(ctx, db, p, cfg.Origin, cfg.EnrolTTL, stdout, store.Access{PersonID: p.ID, Action: store.ActionAccount, What: store.CodeMade,
		Device: store.OperatorDevice, ActorKind: store.ActorOperator, ActorName: operatorName(getenv)})
}

// useCodeKey stores the code portal invite makes under the secret serve
// uses (PORTAL_SESSION_KEY), which must be the one serve has stored codes
// under; with no secret given, codes are stored plain only while serve has
// stored none keyed (a database only ever used by the command line).
func useCodeKey(ctx context.Context, db *store.DB, getenv func(string) string) error {
	if getenv("PORTAL_SESSION_KEY") == "" {
		if set, err := db.CodeKeyIsSet(ctx); err != nil || !set {
			return err
		}
		return errors.New("PORTAL_SESSION_KEY is not set: portal serve stores this database's codes under that secret, so set it here as serve has it, or the code would never be recognised")
	}
	secret, err := Config{SessionKey: getenv("PORTAL_SESSION_KEY")}.sessionSecret()
	if err != nil {
		return err
	}
	_, err = db.UseCodeKey(ctx, secret, false)
	return err
}

// canEnrol refuses a code for a person whose whole date of birth is not
// held: enrolment asks for it, so such a code could never be used.
func canEnrol(p store.Person) error {
	if _, err := time.Parse("2006-01-02", p.BirthDate); err == nil {
		return nil
	}
	held := "no date of birth"
	if p.BirthDate != "" {
		held = fmt.Sprintf("only %q as the date of birth", p.BirthDate)
	}
	return fmt.Errorf("person %d (%s) has %s on record, and enrolment asks for the whole date, so a code could never be used: no code was made. Import or sync a Patient resource for them with their birthDate (such as 1957-03-14), then invite them again",
		p.ID, printable(p.Name()), held)
}

// plural is n and the word for that many: "1 file", "2 files".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"time"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/demo"
	"github.com/mycarerecord/portal/store/fhir"
	"github.com/mycarerecord/portal/store/fhirsync"
	"github.com/mycarerecord/portal/web"
)

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg Config
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	commonFlags(fs, &cfg, getenv)
	linkFlags(fs, &cfg, getenv)
	fs.StringVar(&cfg.Addr, "addr", envOr(getenv, "PORTAL_ADDR", "127.0.0.1:8080"), "address to listen on (PORTAL_ADDR)")
	fs.StringVar(&cfg.Origin, "origin", getenv("PORTAL_ORIGIN"), "address people browse to, e.g. https://care.example.org (PORTAL_ORIGIN; default http://localhost:PORT)")
	fs.StringVar(&cfg.RPID, "rp-id", getenv("PORTAL_RP_ID"), "passkey relying party id (PORTAL_RP_ID; default the origin's host)")
	demo, demoErr := envSwitch(getenv, "PORTAL_DEMO")
	if demoErr != nil {
		return fmt.Errorf("serve: %w", demoErr)
	}
	fs.BoolVar(&cfg.Demo, "demo", demo, "load made-up demo data into an empty database and say so on every page (PORTAL_DEMO=1)")
	cfg.SessionKey = getenv("PORTAL_SESSION_KEY")
	fs.DurationVar(&cfg.EnrolTTL, "enrol-valid", 7*24*time.Hour, "how long demo enrolment codes last")
	cfg.SyncWorkers, cfg.Freshness, cfg.SessionIdle = 2, 15*time.Minute, store.DefaultSessionPolicy().Idle
	fs.Var(countFlag{&cfg.SyncWorkers}, "sync-workers", "persons synced at once from each source in the background, a `number` of 1 or more (PORTAL_SYNC_WORKERS)")
	fs.Var(periodFlag{&cfg.Freshness}, "sync-freshness", "sync a person (at sign-in, when a carer chooses them, and every 5 minutes while active) from each source whose data of them is older than this `duration`, e.g. 15m (PORTAL_SYNC_FRESHNESS)")
	fs.StringVar(&cfg.AccessSpool, "access-spool", getenv("PORTAL_ACCESS_SPOOL"), "folder for the access log spool, best on another disk than the database so record pages can still be shown and logged if the database's disk goes read-only (PORTAL_ACCESS_SPOOL; default beside the database)")
	fs.Var(proxiesFlag{&cfg.Proxies}, "trusted-proxies", "the TLS proxies in front of the portal, `addresses or ranges` such as 10.0.0.0/8, comma-separated: X-Forwarded-For from them names the client that rate limits count (PORTAL_TRUSTED_PROXIES)")
	fs.Var(periodFlag{&cfg.SessionIdle}, "session-idle", "sign people out after this `duration` without a request, from 30s to 12h; pages warn 2 minutes before (PORTAL_SESSION_IDLE)")
	for _, f := range [][2]string{{"sync-workers", "PORTAL_SYNC_WORKERS"}, {"sync-freshness", "PORTAL_SYNC_FRESHNESS"}, {"trusted-proxies", "PORTAL_TRUSTED_PROXIES"}, {"session-idle", "PORTAL_SESSION_IDLE"}} {
		if err := envFlag(fs, getenv, f[0], f[1]); err != nil {
			return fmt.Errorf("serve: %w", err)
		}
	}
	rest, err := parseFlags(fs, args, stdout, stderr)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		// "portal --db b.db migrate" would otherwise start the web server on b.db.
		if slices.Contains(commands, rest[0]) {
			return fmt.Errorf("serve: unexpected argument %q: a command goes first, before its flags, e.g. portal %s --db %s", rest[0], rest[0], cfg.DB)
		}
		return unexpectedArgs("serve", rest)
	}
	if err := checkSpoolFolder("serve", cfg.AccessSpool, whence(fs, "access-spool", "PORTAL_ACCESS_SPOOL", getenv), false); err != nil {
		return err
	}
	if err := checkValid("--enrol-valid", cfg.EnrolTTL); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	policy := store.DefaultSessionPolicy()
	policy.Idle = cfg.SessionIdle
	// Under 30 s a warning could not give the 20 s WCAG asks for to stay signed in.
	if cfg.SessionIdle < 30*time.Second || cfg.SessionIdle > policy.Absolute {
		return fmt.Errorf("serve: %s: must be from 30s to %s, the longest a session lasts", named(whence(fs, "session-idle", "PORTAL_SESSION_IDLE", getenv), cfg.SessionIdle.String()), policy.Absolute)
	}
	rpidFrom := whence(fs, "rp-id", "PORTAL_RP_ID", getenv)
	if cfg.Origin != "" {
		if err := checkOrigin(cfg.Origin, named(whence(fs, "origin", "PORTAL_ORIGIN", getenv), cfg.Origin), cfg.RPID, rpidFrom); err != nil {
			return fmt.Errorf("serve: %w", err)
		}
	}
	secret, err := cfg.sessionSecret()
	if err != nil {
		return err
	}
	hashKey, blockKey := web.CookieKeys(secret)
	// Listen before anything is stored or printed: a portal that cannot
	// listen must not have issued enrolment codes nobody can use.
	addrFrom := whence(fs, "addr", "PORTAL_ADDR", getenv)
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("serve: %s: cannot listen there: %w", named(addrFrom, cfg.Addr), err)
	}
	defer ln.Close()
	if cfg.Origin == "" {
		// The address listened on, so a port the system chose (:0) is in the links.
		if cfg.Origin, err = defaultOrigin(ln.Addr().String()); err != nil {
			return fmt.Errorf("serve: %s: %w", named(addrFrom, cfg.Addr), err)
		}
		what := fmt.Sprintf("the origin %s made from %s", cfg.Origin, named(addrFrom, cfg.Addr))
		if err := checkOrigin(cfg.Origin, what, cfg.RPID, rpidFrom); err != nil {
			return fmt.Errorf("serve: %w", err)
		}
	}
	if err := ensureDir(cfg.DB); err != nil {
		return err
	}
	db, err := store.Open(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer db.Close()

	log := slog.New(slog.NewTextHandler(stderr, nil))
	// Enrolment and invitation codes are stored keyed by the secret (store/codekey.go).
	if changed, err := db.UseCodeKey(ctx, secret, true); err != nil {
		return err
	} else if changed && !cfg.Demo {
		log.Warn("PORTAL_SESSION_KEY is not the secret this database's enrolment and invitation codes were made with: codes made before, not yet used, no longer work; make new ones")
	}
	// Access log entries are written to the spool first, and moved into the
	// database from there (store/spool.go).
	spool := store.SpoolPath(cfg.DB, cfg.AccessSpool)
	if err := ensureDir(spool); err != nil {
		return err
	}
	if err := db.OpenAccessSpool(spool); err != nil {
		return err
	}
	if n, err := db.MoveAccessSpool(ctx); err != nil {
		log.Warn("the database cannot take the access log entries left in the spool yet", "spool", spool, "waiting", db.AccessesWaiting(), "err", err)
	} else if n > 0 {
		log.Info("moved access log entries left in the spool into the database", "spool", spool, "entries", n)
	}
	spoolCtx, stopSpool := context.WithCancel(context.Background())
	spoolDone := make(chan struct{})
	go func() { defer close(spoolDone); db.MoveAccessSpoolEvery(spoolCtx, 250*time.Millisecond, log) }()
	defer func() { stopSpool(); <-spoolDone }() // after the last request, before the database closes
	clients := fhirsync.NewClients(getenv, fhirsync.ClientOptions{Holds: db, Log: log})
	puller := &fhirsync.Puller{DB: db, Client: clients.Get, LinkSystems: cfg.LinkSystems, Runner: store.RunnerID("serve")}
	worker := fhirsync.NewWorker(puller, log, fhirsync.WorkerOptions{Concurrency: cfg.SyncWorkers, Freshness: cfg.Freshness})
	srv, err := web.New(web.Config{Origin: cfg.Origin, RPID: cfg.RPID, Demo: cfg.Demo, HashKey: hashKey, BlockKey: blockKey, Sync: worker, TrustedProxies: cfg.Proxies,
		SessionPolicy: policy}, db, log)
	if err != nil {
		return err
	}
	// Demo codes are made last, once nothing is left that could stop the portal serving.
	if cfg.Demo {
		if err := loadDemo(ctx, db, cfg, stdout); err != nil {
			return err
		}
	}
	httpServer := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn), // its own errors as slog lines too
	}
	go cleanSessions(ctx, db, policy, 10*time.Minute, log)
	go db.WatchSpace(ctx, 2*time.Second, log) // gives up the reserve when the disk fills (store/space.go)
	workCtx, stopWork := context.WithCancel(ctx)
	defer stopWork()
	workDone := make(chan struct{})
	go func() {
		defer close(workDone)
		periodicDone := make(chan struct{})
		go func() { defer close(periodicDone); worker.RunPeriodic(workCtx, 5*time.Minute, time.Hour) }()
		// People's consent decisions go upstream from the outbox (store/fhirsync/outbox.go).
		pusher := &fhirsync.Pusher{DB: db, Client: clients.Get, Log: log}
		pushDone := make(chan struct{})
		go func() { defer close(pushDone); pusher.Run(workCtx, 2*time.Second) }()
		worker.Run(workCtx)
		<-pushDone
		<-periodicDone // its finishing of a stalled bulk load too, before the database closes
	}()
	// However serve ends, background work stops before the database closes (deferred earlier).
	defer func() { stopWork(); <-workDone }()
	fmt.Fprintf(stdout, "My Care Record is serving on %s\n", cfg.Origin)
	errc := make(chan error, 1)
	go func() { errc <- httpServer.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Let requests in flight finish before the database closes.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := httpServer.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	// Stop background syncs: each stops between pages, whose checkpoints are already stored.
	stopWork()
	<-workDone
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// cleanSessions deletes sessions ended under policy every so often, until
// ctx ends: by the policy serve runs with (--session-idle), or a longer idle
// time would end sessions early.
func cleanSessions(ctx context.Context, db *store.DB, policy store.SessionPolicy, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := db.DeleteExpiredSessions(ctx, policy); err != nil && ctx.Err() == nil {
				log.Error("clean sessions", "err", err)
			}
		}
	}
}

// loadDemo fills an empty database with the demo data and prints an
// enrolment link for each demo person. A database holding anyone else is
// refused, untouched: demo codes and a demo banner are not for real records.
func loadDemo(ctx context.Context, db *store.DB, cfg Config, stdout io.Writer) error {
	persons, err := db.Persons(ctx)
	if err != nil {
		return err
	}
	isDemo := map[string]bool{}
	for _, p := range demo.People() {
		isDemo[p.NHSNumber] = true
	}
	others := 0
	for _, p := range persons {
		if !isDemo[p.NHSNumber] {
			others++
		}
	}
	if others > 0 {
		people := "people"
		if others == 1 {
			people = "person"
		}
		return fmt.Errorf("serve --demo: %s holds records that are not demo data (%d %s), so the demo was not loaded and nothing was changed: demo data goes only into a new database or one that holds only the demo. Name another file with --db, such as --db %s, or start without --demo", cfg.DB, others, people, demoDB(cfg.DB))
	}
	if len(persons) == 0 {
		for _, src := range demo.Generate() {
			res, err := fhir.ParseBundle(src.Bundle)
			if err != nil {
				return fmt.Errorf("demo data %s: %w", src.Name, err)
			}
			if _, err := db.ImportResources(ctx, store.ImportOptions{Source: src.Name, OrgName: src.OrgName, LinkSystems: cfg.LinkSystems}, "demo "+src.Name, res); err != nil {
				return fmt.Errorf("demo data %s: %w", src.Name, err)
			}
		}
		fmt.Fprintln(stdout, "Loaded demo data.")
	}
	// Everyone is found before the first code is made.
	var found []store.Person
	for _, p := range demo.People() {
		person, err := db.PersonByNHSNumber(ctx, p.NHSNumber)
		if store.ErrorCode(err) == store.ENOTFOUND {
			return fmt.Errorf("serve --demo: %s holds only part of the demo data (%s %s is missing), so no codes were made: name a new file with --db, such as --db %s", cfg.DB, p.Given, p.Family, demoDB(cfg.DB))
		}
		if err != nil {
			return fmt.Errorf("demo person %s %s: %w", p.Given, p.Family, err)
		}
		found = append(found, person)
	}
	fmt.Fprintln(stdout, "This is a demonstration with made-up people. To try it, open a link and enter the date of birth shown:")
	for _, person := range found {
		if err := printInvite(ctx, db, person, cfg.Origin, cfg.EnrolTTL, stdout); err != nil {
			return err
		}
	}
	return nil
}

// demoDB is a file to suggest for demo data, beside path.
func demoDB(path string) string {
	name := filepath.Join(filepath.Dir(path), "demo.db")
	if name == filepath.Clean(path) {
		name = filepath.Join(filepath.Dir(path), "demo-new.db")
	}
	return name
}

// printInvite makes an enrolment code for the person and prints the line an operator hands on.
func printInvite(ctx context.Context, db *store.DB, p store.Person, origin string, ttl time.Duration, stdout io.Writer, logged ...store.Access) error {
	code, expires, err := db.CreateEnrolmentCode(ctx, p.ID, ttl)
	if err != nil {
		return err
	}
	// Logged once the code is made, before it is printed: a code made and
	// not logged is never printed, and none is logged that was not made.
	if err := db.LogAccesses(ctx, logged); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Enrol %s: %s/enrol?code=%s (code %s, valid until %s)\n", describePerson(p), origin, code, code, expires.UTC().Format("2 January 2006 15:04 MST"))
	return nil
}

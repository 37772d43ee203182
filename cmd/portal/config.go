package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/mycarerecord/portal/web"
)

// Config is everything the portal is told at start-up, from flags and environment.
type Config struct {
	DB          string         // SQLite file
	Addr        string         // where to listen
	Origin      string         // the address people browse to
	RPID        string         // WebAuthn relying party id
	Demo        bool           // load and serve made-up demo data
	SessionKey  string         // hex secret for the session cookie
	LinkSystems []string       // identifier systems that link a person across sources, besides the NHS number
	EnrolTTL    time.Duration  // how long enrolment codes last
	SyncWorkers int            // persons synced at once from each source in the background
	Freshness   time.Duration  // how old a person's data may be before sign-in syncs it
	AccessSpool string         // folder for the access log spool; "" for beside the database
	Proxies     []netip.Prefix // the TLS proxies in front, whose X-Forwarded-For names the client
	SessionIdle time.Duration  // how long a session lasts without a request
}

// proxiesFlag reads addresses and CIDR ranges, comma-separated or repeated.
type proxiesFlag struct{ p *[]netip.Prefix }

func (f proxiesFlag) String() string {
	if f.p == nil {
		return ""
	}
	var out []string
	for _, p := range *f.p {
		out = append(out, p.String())
	}
	return strings.Join(out, ",")
}

func (f proxiesFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return fmt.Errorf("%q is not an address or a range such as 10.0.0.0/8", s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		*f.p = append(*f.p, p.Masked())
	}
	return nil
}

func (proxiesFlag) repeatable() {}

// systemsFlag collects identifier systems, repeated or comma-separated.
// Each must be an absolute URI, as a FHIR identifier's system is (such as
// https://fhir.nhs.uk/Id/nhs-number or urn:oid:1.2.3): anything else would
// match no identifier, so no one would be linked by it.
type systemsFlag struct {
	p *[]string
	// envErr is why the environment variable's value could not be used;
	// parseFlags refuses it, naming the variable.
	envErr error
}

func (f *systemsFlag) String() string {
	if f == nil || f.p == nil {
		return ""
	}
	return strings.Join(*f.p, ",")
}

func (f *systemsFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		u, err := url.Parse(s)
		if err != nil || u.Scheme == "" || strings.ContainsFunc(s, unicode.IsSpace) ||
			((u.Scheme == "http" || u.Scheme == "https") && u.Host == "") {
			return fmt.Errorf("%q is not an identifier system: a system is an absolute URI, such as https://fhir.example.org/Id/mrn or urn:oid:1.2.3", s)
		}
		*f.p = append(*f.p, s)
	}
	return nil
}

func (f *systemsFlag) environmentError() error { return f.envErr }

func (*systemsFlag) repeatable() {}

// repeatableFunc is flag.Func for a flag each use of which adds to the
// others' (parseFlags refuses any other flag given twice).
type repeatableFunc func(string) error

func (f repeatableFunc) Set(v string) error { return f(v) }
func (repeatableFunc) String() string       { return "" }
func (repeatableFunc) repeatable()          {}

// defaultDB is the database file when neither --db nor PORTAL_DB names one.
var defaultDB = filepath.Join("data", "portal.db")

// commonFlags adds the flags every command shares, with defaults from the environment.
func commonFlags(fs *flag.FlagSet, cfg *Config, getenv func(string) string) {
	fs.StringVar(&cfg.DB, "db", envOr(getenv, "PORTAL_DB", defaultDB), "SQLite database file (PORTAL_DB)")
}

// linkFlags adds the flags that say how people are linked across sources.
func linkFlags(fs *flag.FlagSet, cfg *Config, getenv func(string) string) {
	cfg.LinkSystems = nil
	f := &systemsFlag{p: &cfg.LinkSystems}
	if v := getenv("PORTAL_LINK_SYSTEMS"); v != "" {
		if err := f.Set(v); err != nil {
			f.envErr = fmt.Errorf("%s: %w", named("PORTAL_LINK_SYSTEMS", v), err)
		}
	}
	fs.Var(f, "link-system", "identifier system that links a person across sources besides the NHS number, an absolute URI; repeatable (PORTAL_LINK_SYSTEMS, comma separated)")
}

// countFlag is a flag holding a whole number above 0.
type countFlag struct{ p *int }

func (c countFlag) String() string {
	if c.p == nil {
		return ""
	}
	return strconv.Itoa(*c.p)
}

func (c countFlag) Set(v string) error {
	n, err := strconv.Atoi(v)
	switch {
	case err != nil:
		return errors.New("not a whole number")
	case n < 1:
		return errors.New("must be 1 or more")
	}
	*c.p = n
	return nil
}

// periodFlag is a flag holding a length of time above 0.
type periodFlag struct{ p *time.Duration }

func (d periodFlag) String() string {
	if d.p == nil {
		return ""
	}
	return d.p.String()
}

func (d periodFlag) Set(v string) error {
	t, err := time.ParseDuration(v)
	switch {
	case err != nil:
		return errors.New("not a length of time such as 90s, 15m or 1h")
	case t <= 0:
		return errors.New("must be more than 0")
	}
	*d.p = t
	return nil
}

// envFlag sets the flag from its environment variable, when that is set, so
// the command line still wins; a value the flag refuses is refused naming the
// variable, not replaced by the default.
func envFlag(fs *flag.FlagSet, getenv func(string) string, name, key string) error {
	v := getenv(key)
	if v == "" {
		return nil
	}
	if err := fs.Lookup(name).Value.Set(v); err != nil {
		return fmt.Errorf("%s=%q: %w", key, withoutSecrets(v), err)
	}
	return nil
}

// named is how a message names a setting and its value: as the flag
// (--origin "x") or as the environment variable it came from
// (PORTAL_ORIGIN="x"), an address without its password or query.
func named(from, value string) string {
	if strings.HasPrefix(from, "-") {
		return fmt.Sprintf("%s %q", from, withoutSecrets(value))
	}
	return fmt.Sprintf("%s=%q", from, withoutSecrets(value))
}

// withoutSecrets is v to repeat in a message: an address with its user
// name, password and query (a signed address's signature) written as "…"
// (a review: --origin https://admin:PASSWORD@… was printed back).
func withoutSecrets(v string) string {
	scheme, rest, ok := strings.Cut(v, "://")
	if !ok {
		return v
	}
	// By the text, not url.Parse: a password holding "/", "%", "#" or "?"
	// does not parse, and was printed whole (a review). Everything to the
	// last "@" is taken for a user name and password.
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		rest = "…" + rest[at:]
	}
	if q := strings.IndexByte(rest, '?'); q >= 0 && q < len(rest)-1 {
		rest = rest[:q] + "?…"
	}
	return scheme + "://" + rest
}

// whence says where a flag's value came from, for messages: the flag when it
// was given on the command line, else its environment variable when that is
// set (the flag's default was read from it), else the flag, whose default it is.
func whence(fs *flag.FlagSet, name, key string, getenv func(string) string) string {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	if !given && key != "" && getenv(key) != "" {
		return key
	}
	return "--" + name
}

// checkSpoolFolder refuses an access log spool folder (--access-spool or
// PORTAL_ACCESS_SPOOL, from) that is a file, or, when it must be there (to
// verify what it holds), is not there: a typo was verified as "intact",
// and a file given made serve blame the database (a review).
func checkSpoolFolder(cmd, dir, from string, mustExist bool) error {
	if dir == "" {
		return nil // beside the database
	}
	st, err := os.Stat(dir)
	switch {
	case err == nil && !st.IsDir():
		return fmt.Errorf("%s: %s is a file: give the folder the access log spool is in", cmd, named(from, dir))
	case errors.Is(err, fs.ErrNotExist) && mustExist:
		return fmt.Errorf("%s: %s: no such folder: give the folder serve was given for the access log spool", cmd, named(from, dir))
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s: %s: %w", cmd, named(from, dir), unwrapPath(err))
	}
	return nil
}

// checkOrigin refuses an origin people could not use the portal at, before
// anything is made or printed with it; serve and invite both check by it. An
// origin is scheme://host[:port] only: http or https, with no user, path,
// query or fragment (the portal's links, cookies and form checks are made
// from it whole), and its host a domain name, not an IP address, for
// passkeys are bound to a domain (localhost is one). rpid, when not empty,
// must be that host or a domain it is under. what names the origin as the
// operator gave it, e.g. --origin "…" or PORTAL_ORIGIN="…" (see named), and
// rpidFrom where rpid came from.
func checkOrigin(origin, what, rpid, rpidFrom string) error {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("%s: must be an http or https address such as https://care.example.org", what)
	}
	bare := u.Scheme + "://" + u.Host
	switch {
	case u.User != nil:
		return fmt.Errorf("%s: an origin is scheme://host[:port] only, without a user name or password", what)
	case u.Path != "" || u.RawPath != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(origin, "#"):
		var has []string
		if u.Path != "" {
			has = append(has, fmt.Sprintf("a path (%s)", u.EscapedPath()))
		}
		if u.RawQuery != "" || u.ForceQuery {
			has = append(has, "a query (a part from ?)")
		}
		if u.Fragment != "" || strings.Contains(origin, "#") {
			has = append(has, "a fragment (a part from #)")
		}
		return fmt.Errorf("%s: an origin is scheme://host[:port] only, and this has %s: write %s", what, strings.Join(has, " and "), bare)
	}
	if p := u.Port(); p != "" || strings.HasSuffix(u.Host, ":") {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%s: port %q is not a number from 1 to 65535", what, p)
		}
	}
	host := u.Hostname()
	if _, err := netip.ParseAddr(host); err == nil {
		local := "http://localhost"
		if p := u.Port(); p != "" {
			local += ":" + p
		}
		return fmt.Errorf("%s: passkeys need a domain name, not an IP address (%s): give --origin the name people browse to, such as https://care.example.org, or %s on this machine", what, host, local)
	}
	if err := protocol.ValidateRPID(host); err != nil {
		return fmt.Errorf("%s: passkeys cannot use %q as their domain: %v", what, host, err)
	}
	if u.Scheme == "http" && host != "localhost" && !strings.HasSuffix(host, ".localhost") {
		// Browsers offer passkeys only to a secure page: https, or this machine.
		// Over plain http nobody could sign in, and cookies would cross the network in clear.
		return fmt.Errorf("%s: passkeys work only over https, except on localhost: give --origin https://%s (the address of the TLS proxy in front of the portal), or http://localhost on this machine", what, u.Host)
	}
	if rpid == "" {
		return nil
	}
	if !web.RPIDFits(host, rpid) {
		return fmt.Errorf("%s: must be the origin's host (%s) or a domain it is under, or passkeys cannot work", named(rpidFrom, rpid), host)
	}
	if err := protocol.ValidateRPID(rpid); err != nil {
		return fmt.Errorf("%s: passkeys cannot use it as their domain: %v", named(rpidFrom, rpid), err)
	}
	return nil
}

// longestValid is the longest an enrolment code may last.
const longestValid = 90 * 24 * time.Hour

// checkValid refuses a length of time no enrolment code could be used in
// (none, or less), or one too long for a one-time code, for serve
// --enrol-valid and invite --valid alike.
func checkValid(flag string, d time.Duration) error {
	if d <= 0 || d > longestValid {
		return fmt.Errorf("%s %s: must be more than 0 and at most 90 days (2160h)", flag, d)
	}
	return nil
}

// envSwitch reads an on/off setting: 1, true or on; 0, false, off or unset.
// Anything else is refused, so a mistyped PORTAL_DEMO=yes never quietly
// starts a real portal, nor the other way round.
func envSwitch(getenv func(string) string, key string) (bool, error) {
	switch v := getenv(key); strings.ToLower(v) {
	case "1", "true", "on":
		return true, nil
	case "", "0", "false", "off":
		return false, nil
	default:
		return false, fmt.Errorf("%s=%q: use 1 (on) or 0 (off)", key, v)
	}
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// errHelp is what a command returns when -h or --help asked for its flags,
// which are then printed on standard output: run exits 0.
var errHelp = errors.New("help requested")

// helpFlags are the ways of asking a command for its flags.
var helpFlags = []string{"-h", "-help", "--help"}

// parseFlags parses flags that may come before or after the arguments, and
// returns the arguments. Asked for help, it prints the flags on stdout and
// returns errHelp; a bad flag is said, with the flags, on stderr. It refuses
// what the flag package would take without a word (checkArgs), and a --db
// no command can use (checkDB).
func parseFlags(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) ([]string, error) {
	if err := checkArgs(fs, args); err != nil {
		return nil, err
	}
	var said bytes.Buffer
	fs.SetOutput(&said)
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				stdout.Write(said.Bytes())
				return nil, errHelp
			}
			stderr.Write(said.Bytes())
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		if args[0] == "--" {
			rest = append(rest, args[1:]...)
			break
		}
		rest = append(rest, args[0])
		args = args[1:]
	}
	if err := environmentError(fs); err != nil {
		return nil, err
	}
	if err := checkDB(fs); err != nil {
		return nil, err
	}
	return rest, nil
}

// pathFlags name a file or folder, and nameFlags a source, a variable or a
// key; neither takes a value that starts with "-": it is all but always the
// next flag, the value having been left out.
var (
	pathFlags = []string{"db", "out", "token-file", "key-file", "access-spool"}
	nameFlags = []string{"source", "bulk", "token-env", "client-id", "key-id"}
)

// secretFlags may be given the secret itself by mistake: no message repeats their value.
var secretFlags = []string{"token-file", "key-file", "token-env"}

// checkArgs refuses, before fs parses args, what the flag package would take
// without a word: a flag that takes one value given twice, differently (the
// last would win), a flag whose value is another of fs's flags or, for a file or a
// name, starts with "-" (its own value left out: import --db --source gp
// would make a database called --source), and a length of time a duration
// flag cannot read (the flag package says only "parse error"). Help, and
// flags fs does not know, are left to fs.Parse, which answers them.
func checkArgs(fs *flag.FlagSet, args []string) error {
	given := map[string]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return nil
		}
		if len(a) < 2 || a[0] != '-' {
			continue // an argument: flags may follow it
		}
		name, value, hasValue := strings.Cut(strings.TrimPrefix(a[1:], "-"), "=")
		f := fs.Lookup(name)
		if f == nil {
			return nil
		}
		_, isBool := f.Value.(interface{ IsBoolFlag() bool })
		if !hasValue && !isBool {
			if i+1 == len(args) {
				return nil // fs.Parse says it needs a value
			}
			i++
			value = args[i]
		}
		if before, seen := given[name]; seen && before != value {
			if _, ok := f.Value.(interface{ repeatable() }); !ok {
				return fmt.Errorf("%s: --%s is given more than once: it takes one value, so give it once", fs.Name(), name)
			}
		}
		given[name] = value
		if !isBool {
			if err := checkValue(fs, f, value); err != nil {
				return fmt.Errorf("%s: %w", fs.Name(), err)
			}
		}
	}
	return nil
}

// checkValue refuses a value of flag f that checkArgs refuses.
func checkValue(fs *flag.FlagSet, f *flag.Flag, v string) error {
	// An empty value (an unset variable in a script) is refused, not taken
	// as the flag left out (a review: --out "" printed the record, --origin
	// "" made a localhost link for a patient, --head "" skipped the check,
	// --addr "" listened on every interface). --db and sync's person and
	// source say so in words of their own.
	if strings.TrimSpace(v) == "" && f.Name != "db" && !(fs.Name() == "sync" && slices.Contains([]string{"source", "bulk", "identifier", "nhs-number"}, f.Name)) {
		return fmt.Errorf("--%s is empty (an unset variable?): give it a value, or leave it out", f.Name)
	}
	// A control character (a new line, a terminal's escape) is in no name,
	// address or path an operator means, and printed later it would change
	// what a terminal shows (a review: --org "Leeds\nTeaching\x1b[31m"
	// broke source list's lines and coloured them). The value is not
	// repeated: it may be a secret given in a name's place.
	if strings.ContainsFunc(v, unprintable) {
		return fmt.Errorf("--%s holds a control character, such as a new line, a tab, an escape or one that turns the text's direction: give it without", f.Name)
	}
	// An address holding a password or a signature is refused here, not
	// repeated by the flag package's own message (a review).
	if w := withoutSecrets(v); w != v {
		if f.Name == "files-from" || f.Name == "origin" {
			scheme, rest, _ := strings.Cut(w, "://")
			host, _, _ := strings.Cut(strings.TrimPrefix(rest, "…@"), "/")
			host, _, _ = strings.Cut(host, "?")
			return fmt.Errorf("--%s %q: an origin is scheme://host[:port] only, without a user name, password or query: write %s://%s", f.Name, w, scheme, host)
		}
		return fmt.Errorf("--%s %q: give the address without a user name, password or query (not repeated here)", f.Name, w)
	}
	if other, _, _ := strings.Cut(strings.TrimLeft(v, "-"), "="); strings.HasPrefix(v, "-") && fs.Lookup(other) != nil {
		return fmt.Errorf("--%s has no value: the word after it, %s, is another of its flags", f.Name, v)
	}
	switch {
	case !strings.HasPrefix(v, "-"):
	case slices.Contains(secretFlags, f.Name):
		return fmt.Errorf(`--%s: the value given starts with "-", as a flag does: if the file's name starts so, write ./ before it`, f.Name)
	case slices.Contains(pathFlags, f.Name):
		return fmt.Errorf(`--%s %q starts with "-", as a flag does: if the file is called that, write ./%s`, f.Name, v, v)
	case slices.Contains(nameFlags, f.Name):
		return fmt.Errorf(`--%s %q starts with "-", as a flag does: was its value left out?`, f.Name, v)
	}
	if g, ok := f.Value.(flag.Getter); ok {
		if _, isDuration := g.Get().(time.Duration); isDuration {
			if _, err := time.ParseDuration(v); err != nil {
				return fmt.Errorf("--%s %q: not a length of time such as 90s, 15m or 168h (7 days)", f.Name, v)
			}
		}
	}
	return nil
}

// checkDB refuses a --db (or PORTAL_DB) no command can use, before anything
// is opened or made: none (SQLite would use a temporary database, lost when
// the command ends, and the files the store keeps beside a database would
// land in the current folder), a folder, or a database in a folder this
// user may not make files in (SQLite's WAL mode makes two beside it to open
// it; the store's own message would blame the file, or not say why).
func checkDB(fs *flag.FlagSet) error {
	f := fs.Lookup("db")
	if f == nil {
		return nil
	}
	path := f.Value.String()
	from := "--db"
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == "db" })
	if !given && f.DefValue != defaultDB {
		from = "PORTAL_DB" // the flag's default came from it
	}
	if strings.TrimSpace(path) == "" {
		return fmt.Errorf("%s: %s names no file: give the database's path, e.g. --db %s", fs.Name(), named(from, path), defaultDB)
	}
	if strings.HasSuffix(path, string(filepath.Separator)) {
		// Made as a folder, it would be in the way of the file (a review).
		return fmt.Errorf("%s: %s ends in %s, as a folder does: give the database file's path, e.g. --db %s", fs.Name(), named(from, path), string(filepath.Separator), strings.TrimRight(path, string(filepath.Separator)))
	}
	st, err := os.Stat(path)
	switch {
	case err != nil:
		return nil // none yet, or one the store explains
	case st.IsDir():
		example := filepath.Join(path, "portal.db")
		if from == "--db" {
			return fmt.Errorf("%s: --db %s is a folder: name the database file in it, e.g. --db %s", fs.Name(), path, example)
		}
		return fmt.Errorf("%s: %s=%s is a folder: name the database file in it, e.g. %s", fs.Name(), from, path, example)
	}
	// Both there already (another process has it open) and SQLite need make neither.
	_, walErr := os.Stat(path + "-wal")
	_, shmErr := os.Stat(path + "-shm")
	dir := filepath.Dir(path)
	if (walErr != nil || shmErr != nil) && syscall.Access(dir, 2|1) == syscall.EACCES { // W_OK|X_OK
		base := filepath.Base(path)
		return fmt.Errorf("cannot open %s: its folder %s does not let this user make files in it, and SQLite must make %s-wal and %s-shm beside the database to open it (WAL mode)", path, dir, base, base)
	}
	return nil
}

// environmentError is the first of fs's flags whose environment variable
// could not be used, naming the variable, or nil.
func environmentError(fs *flag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if e, ok := f.Value.(interface{ environmentError() error }); ok && err == nil && e.environmentError() != nil {
			err = fmt.Errorf("%s: %w", fs.Name(), e.environmentError())
		}
	})
	return err
}

// splitVerb takes a command's verb out of its arguments wherever it stands
// among the flags ("source --db b.db list" as "source list --db b.db"): the
// first word that is neither a flag nor a flag's value. fs must know every
// flag the command's verbs take, to tell a flag's value from the verb.
func splitVerb(fs *flag.FlagSet, args []string) (verb string, rest []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		if len(a) < 2 || a[0] != '-' {
			return a, append(args[:i:i], args[i+1:]...)
		}
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		if f := fs.Lookup(name); f != nil {
			if b, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok || !b.IsBoolFlag() {
				i++ // its value
			}
		}
	}
	return "", args
}

// usageWith makes fs's help the command's own usage, then its flags.
func usageWith(fs *flag.FlagSet, usage string) func() {
	return func() {
		fmt.Fprint(fs.Output(), usage, "\nFlags:\n")
		fs.PrintDefaults()
	}
}

// defaultOrigin is the address a browser on this machine uses for addr,
// which must be host:port.
func defaultOrigin(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", err
	}
	if host == "" || host == "0.0.0.0" || host == "::" || host == "127.0.0.1" || host == "::1" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port), nil
}

// sessionSecret is the server's secret, PORTAL_SESSION_KEY. In demo mode a
// missing secret is made up, which only means sessions, and codes not yet
// used, end at restart.
func (cfg Config) sessionSecret() ([]byte, error) {
	// A new line or space around it, as an env file leaves, is no part of it.
	key := strings.TrimSpace(cfg.SessionKey)
	secret, err := hex.DecodeString(key)
	var bad hex.InvalidByteError
	switch {
	case key == "" && cfg.Demo:
		secret = make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, err
		}
	case key == "":
		return nil, errors.New("PORTAL_SESSION_KEY is not set: it must be 64 hex characters, for example from `openssl rand -hex 32` (or start with --demo to try the portal with made-up data)")
	case errors.As(err, &bad):
		// Which character, by place only: the key is a secret (a review:
		// every refusal said "at least 64", to a key of 64 or more).
		return nil, fmt.Errorf("PORTAL_SESSION_KEY must be hex characters only (0 to 9 and a to f): character %d is not one", strings.IndexByte(key, byte(bad))+1)
	case err != nil:
		return nil, fmt.Errorf("PORTAL_SESSION_KEY has %d hex characters: it needs an even number, at least 64, for example from `openssl rand -hex 32`", len(key))
	case len(secret) < 32:
		return nil, fmt.Errorf("PORTAL_SESSION_KEY has %d hex characters: it needs at least 64 (32 bytes), for example from `openssl rand -hex 32`", len(key))
	}
	return secret, nil
}

// ensureDir creates the folder the database file goes in.
func ensureDir(dbPath string) error {
	if dir := filepath.Dir(dbPath); dir != "." {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				// The folder that could not be made, once: not "create a/b: mkdir a/b: …".
				return fmt.Errorf("cannot create %s: %w", pe.Path, pe.Err)
			}
			return fmt.Errorf("create %s: %w", dir, err)
		}
	}
	return nil
}

package fhirsync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"syscall"

	"github.com/mycarerecord/portal/store"
)

// AuthFor builds a source's credentials from the files or environment variables
// its configuration names. Secrets are read when needed and never printed.
// A token or key file is read again whenever it changes, so a secret
// rotated in its file is used from the next request, with no restart: before,
// serve kept the first for as long as it ran, and every sync and consent
// delivery of that source failed once the old one was revoked (found by a
// review).
func AuthFor(src store.Source, getenv func(string) string) (Auth, error) {
	build := func() (Auth, error) { return authFor(src, getenv) }
	var files []string
	for _, f := range []string{"token-file", "key-file"} {
		if name := src.AuthConfig[f]; name != "" {
			files = append(files, name)
		}
	}
	if len(files) == 0 {
		return build()
	}
	r := &rereadAuth{build: build, files: files}
	if _, err := r.get(); err != nil {
		return nil, err
	}
	return r, nil
}

// rereadAuth is an Auth built from secret files, built again when they
// change (their size, time or inode: a rotation writes a new file, or renames
// one over the old).
type rereadAuth struct {
	build func() (Auth, error)
	files []string

	mu      sync.Mutex
	current Auth
	stamp   string
	old     []string // secrets of the Auths it replaced, still scrubbed from what servers echo
}

// get returns the Auth for the files as they are now.
func (r *rereadAuth) get() (Auth, error) {
	stamp := filesStamp(r.files)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.current != nil && stamp == r.stamp {
		return r.current, nil
	}
	a, err := r.build()
	if err != nil {
		if r.current != nil {
			// Part way through being rewritten (empty, or gone for the moment
			// of a rename): the secret held still serves, and the next request
			// reads the file again (found by a review).
			return r.current, nil
		}
		return nil, err
	}
	if sh, ok := r.current.(secretHolder); ok {
		r.old = append(r.old, sh.secrets()...)
		r.old = r.old[max(0, len(r.old)-8):]
	}
	r.current, r.stamp = a, stamp
	return a, nil
}

func (r *rereadAuth) Authorize(ctx context.Context, req *http.Request) error {
	a, err := r.get()
	if err != nil {
		return err
	}
	return a.Authorize(ctx, req)
}

func (r *rereadAuth) secrets() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := append([]string(nil), r.old...)
	if sh, ok := r.current.(secretHolder); ok {
		out = append(out, sh.secrets()...)
	}
	return out
}

// invalidate drops a token the server refused: the file is read again for
// the one try the client makes next (a token read while its file was being
// rewritten may be cut short), and a cached SMART token is dropped. Only
// the token held now: a refusal of one already replaced, coming late, keeps
// the new one, else every request refused together fetched a token of its
// own (a review: 9 for 8 requests).
func (r *rereadAuth) invalidate(token string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	held := false
	switch a := r.current.(type) {
	case invalidator:
		held = a.invalidate(token)
	case bearerAuth:
		held = a.token == token
	}
	if held {
		r.stamp = ""
	}
	return held
}

// filesStamp says how the files stand: size, modification time and inode
// of each, or that it cannot be read.
func filesStamp(files []string) string {
	var b strings.Builder
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			b.WriteString("unreadable;")
			continue
		}
		var ino uint64
		if sys, ok := st.Sys().(*syscall.Stat_t); ok {
			ino = sys.Ino
		}
		fmt.Fprintf(&b, "%d:%d:%d;", st.Size(), st.ModTime().UnixNano(), ino)
	}
	return b.String()
}

// authFor builds a source's credentials once.
func authFor(src store.Source, getenv func(string) string) (Auth, error) {
	c := src.AuthConfig
	switch src.AuthKind {
	case "", store.AuthNone:
		return NoAuth(), nil
	case store.AuthBearer:
		token, err := secret(c["token-file"], c["token-env"], getenv)
		if err != nil {
			return nil, fmt.Errorf("bearer token: %w", err)
		}
		return BearerAuth(token), nil
	case store.AuthSMARTBackend:
		// The kid too: SMART asks every assertion to name its key, so that
		// the server can tell which of the client's keys to check it with.
		if c["client-id"] == "" || c["token-url"] == "" || c["key-file"] == "" || c["key-id"] == "" {
			return nil, errors.New("smart-backend needs --client-id, --token-url, --key-file and --key-id")
		}
		if err := checkTokenURL(src.BaseURL, c["token-url"]); err != nil {
			return nil, err
		}
		key, err := readPrivate(c["key-file"], "--key-file")
		if err != nil {
			return nil, fmt.Errorf("private key: %w", err)
		}
		scope := c["scope"]
		if scope == "" {
			scope = "system/*.read" // a source added before source add saved DefaultSMARTScope
		}
		return SMARTBackendAuth(SMARTConfig{TokenURL: c["token-url"], ClientID: c["client-id"], Scope: scope,
			KeyID: c["key-id"], PrivateKeyPEM: key, Alg: c["alg"]})
	}
	return nil, fmt.Errorf("unknown authentication %q", src.AuthKind)
}

// DefaultSMARTScope is what source add saves for a SMART Backend Services
// source given no --scope: reading the record, and writing the person's
// Consent, which every change of their choices sends (an operator review:
// with reads alone, every choice sent was refused). A source saved with no
// scope, added before, is asked for system/*.read, as it was.
const DefaultSMARTScope = "system/*.read system/Consent.write"

// envName is what an environment variable's name may be.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func secret(file, env string, getenv func(string) string) (string, error) {
	switch {
	case file != "":
		b, err := readPrivate(file, "--token-file")
		if err != nil {
			return "", err
		}
		s := strings.TrimSpace(string(b))
		if s == "" {
			return "", errors.New("the file --token-file names is empty")
		}
		return oneLine(s, "the file --token-file names")
	// The name is never repeated, even when it could be one: it may be the
	// secret itself, given in its place.
	case env != "" && !envName.MatchString(env):
		return "", errors.New("--token-env takes the name of an environment variable, not its value")
	case env != "":
		if s := strings.TrimSpace(getenv(env)); s != "" {
			return oneLine(s, "the environment variable --token-env names")
		}
		return "", errors.New("the environment variable --token-env names is not set, or is empty")
	}
	return "", errors.New("say where it is with --token-file FILE or --token-env VARIABLE")
}

// readPrivate reads a file of secrets (a bearer token, a private key) that
// flag names, only a regular file of at most maxSecretFile bytes, as import
// reads (readRegular): a named pipe waited for ever, unstoppable, and
// /dev/zero took every byte of memory (a review). Its errors name the flag,
// never the file: the name given may be the secret itself, given in its
// place.
func readPrivate(file, flag string) ([]byte, error) {
	info, err := os.Stat(file)
	if err != nil {
		return nil, fmt.Errorf("cannot read the file %s names: %w", flag, unwrapPathError(err))
	}
	if what := notRegular(info); what != "" {
		return nil, fmt.Errorf("cannot read the file %s names: it is %s, not a file", flag, what)
	}
	b, err := readRegular(file) // which looks again, as the file opened may not be the one looked at
	if err != nil {
		return nil, fmt.Errorf("cannot read the file %s names: %w", flag, err)
	}
	if len(b) > maxSecretFile {
		return nil, fmt.Errorf("the file %s names holds %d bytes, more than a token or key ever does (%d)", flag, len(b), maxSecretFile)
	}
	return b, nil
}

// maxSecretFile bounds a token or key file: a 16384-bit RSA key in PEM is
// under 13 kB.
const maxSecretFile = 64 << 10

// CheckSecretFiles refuses a source whose token or key file every user of
// the machine may read, as its secret is theirs too; one its group may read
// is taken, as the store's own files are (a service account's group).
// portal source add checks it, where the operator can put it right; a sync
// does not, so a mount that widens a file later (a Kubernetes secret's
// default 0644) never stops a source that was working.
func CheckSecretFiles(src store.Source) error {
	for _, f := range []struct{ flag, what string }{{"token-file", "bearer token"}, {"key-file", "private key"}} {
		file := src.AuthConfig[f.flag]
		if file == "" {
			continue
		}
		st, err := os.Stat(file)
		if err != nil {
			return fmt.Errorf("%s: cannot read the file --%s names: %w", f.what, f.flag, unwrapPathError(err))
		}
		if mode := st.Mode().Perm(); mode&0o004 != 0 && st.Mode().IsRegular() {
			return fmt.Errorf("%s: the file --%s names can be read by every user of this machine (mode %04o): chmod 600 it, so that only its owner can (or 640, for its group too; for a Kubernetes secret, a defaultMode of 0400)",
				f.what, f.flag, mode)
		}
	}
	return nil
}

// checkTokenURL refuses a SMART token URL the signed client assertion would
// cross the network to in clear: one not https, unless both it and the
// source (base) are http on this machine, as a test server is.
func checkTokenURL(base, tokenURL string) error {
	tu, err := url.Parse(tokenURL)
	if err != nil || tu.Scheme != "http" {
		return nil // https, or refused as not a URL by SMARTBackendAuth
	}
	if bu, err := url.Parse(base); err == nil && bu.Scheme == "http" && onThisMachine(bu.Hostname()) && onThisMachine(tu.Hostname()) {
		return nil
	}
	return errors.New("smart-backend: --token-url must be https: the signed client assertion sent to it would otherwise cross the network unencrypted (http is taken only when the source and the token URL are both on this machine, such as http://localhost)")
}

// onThisMachine reports whether host is localhost or a loopback address.
func onThisMachine(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// oneLine refuses a token that could not go in an Authorization header (a
// line break, or another control character: two tokens in one file, say),
// saying where it came from but never what it is.
func oneLine(token, from string) (string, error) {
	if strings.ContainsFunc(token, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", fmt.Errorf("%s holds more than one line, or a control character: a token is one line of text", from)
	}
	return token, nil
}

// Clients makes one Client per source and keeps it, so every pull from a
// source shares its circuit breaker and token cache.
type Clients struct {
	getenv func(string) string
	opts   ClientOptions
	mu     sync.Mutex
	made   map[int64]*Client
}

// NewClients returns an empty set of clients that read secrets through getenv.
func NewClients(getenv func(string) string, opts ClientOptions) *Clients {
	return &Clients{getenv: getenv, opts: opts, made: map[int64]*Client{}}
}

// secretsNamed says where a stored source's secrets are to be read from,
// " (source add gave --token-env LTH_TOKEN)", so that an operator told a
// sync cannot read them knows which (a review: "the environment variable
// --token-env names is not set" named none). Safe to name now: source add
// read each then, so each is a variable or a file, not the secret itself.
func secretsNamed(src store.Source) string {
	var named []string
	for _, f := range []string{"token-env", "token-file", "key-file"} {
		if v := src.AuthConfig[f]; v != "" {
			named = append(named, "--"+f+" "+v)
		}
	}
	if len(named) == 0 {
		return ""
	}
	return " (source add gave " + strings.Join(named, ", ") + ")"
}

// Get returns the source's client, making it the first time.
func (c *Clients) Get(src store.Source) (*Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	signIn, err := json.Marshal([]any{src.AuthKind, src.AuthConfig}) // a map marshals in key order
	if err != nil {
		return nil, err
	}
	if cl, ok := c.made[src.ID]; ok && cl.signIn == string(signIn) {
		cl.raiseHold(src.HeldUntil, false) // another process may have heard the source ask to wait
		return cl, nil
	}
	// New, or signing in otherwise since (portal source auth): made again,
	// so a serve running takes a new key or client id without a restart.
	auth, err := AuthFor(src, c.getenv)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w%s", src.Name, err, secretsNamed(src))
	}
	cl, err := NewClient(src.BaseURL, auth, c.opts)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", src.Name, err)
	}
	cl.raiseHold(src.HeldUntil, false)
	cl.sourceID, cl.signIn = src.ID, string(signIn)
	c.made[src.ID] = cl
	return cl, nil
}

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
)

// TestHelp: asking any command for help prints it on standard output, says
// nothing on standard error and succeeds.
func TestHelp(t *testing.T) {
	db := filepath.Join(t.TempDir(), "none", "portal.db")
	tests := []struct {
		args []string
		want string // at the start of what is printed
	}{
		{[]string{"--help"}, "Usage: portal [command]"},
		{[]string{"-h"}, "Usage: portal [command]"},
		{[]string{"help"}, "Usage: portal [command]"},
		{[]string{"serve", "--help"}, "Usage of serve:"},
		{[]string{"serve", "--db", db, "-h"}, "Usage of serve:"},
		{[]string{"import", "-h"}, "Usage of import:"},
		{[]string{"export", "-help"}, "Usage of export:"},
		{[]string{"sync", "-h"}, "Usage of sync:"},
		{[]string{"invite", "-h"}, "Usage of invite:"},
		{[]string{"migrate", "-h"}, "Usage of migrate:"},
		{[]string{"persons", "-h"}, "Usage: portal persons [--db PATH]"},
		{[]string{"source", "-h"}, "Usage: portal source add|auth|org|list|social-care|release|accept-nhs-number|remove"},
		{[]string{"source", "add", "-h"}, "Usage: portal source add|auth|org|list|social-care|release|accept-nhs-number|remove"},
		{[]string{"source", "--db", db, "list", "--help"}, "Usage: portal source add|auth|org|list|social-care|release|accept-nhs-number|remove"},
		{[]string{"audit", "-h"}, "Usage: portal audit verify"},
		{[]string{"audit", "verify", "-h"}, "Usage: portal audit verify"},
		{[]string{"outbox", "--help"}, "Usage: portal outbox [status|push]"},
		{[]string{"outbox", "push", "-h"}, "Usage: portal outbox [status|push]"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, stderr, err := portal(t, tt.args...)
			if err != nil || !strings.HasPrefix(out, tt.want) || stderr != "" {
				t.Errorf("got %v, stdout %.60q, stderr %.60q; want success and %q on stdout", err, out, stderr, tt.want)
			}
		})
	}
	if out, _, _ := portal(t, "source", "add", "-h"); !strings.Contains(out, "-token-file") {
		t.Errorf("source add -h does not list add's flags:\n%s", out)
	}
}

// TestVerbAfterFlags: a command's verb may come after its flags, and a
// flag's value is never taken for the verb.
func TestVerbAfterFlags(t *testing.T) {
	db := filepath.Join(t.TempDir(), "list") // a database named as a verb
	tests := []struct {
		args []string
		want string // at the start of what is printed
	}{
		{[]string{"source", "--org", "list", "--db", db, "add", "gp", "http://127.0.0.1:1/fhir"}, "Added source gp"},
		{[]string{"source", "--social-care", "--db=" + db, "add", "care", "http://127.0.0.1:2/fhir"}, "Added source care"},
		{[]string{"source", "--db", db, "list"}, "NAME"},
		{[]string{"source", "--db", db, "social-care", "gp", "yes"}, "Source gp is now a social care service."},
		{[]string{"source", "--db", db, "remove", "care"}, "Removed source care"},
		{[]string{"audit", "--db", db, "verify"}, "access log intact"},
		{[]string{"outbox", "--db", db, "status"}, "waiting 0, sent 0, not accepted 0"},
		{[]string{"outbox", "--db", db}, "waiting 0, sent 0, not accepted 0"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, stderr, err := portal(t, tt.args...)
			if err != nil || !strings.HasPrefix(out, tt.want) {
				t.Errorf("got %v, stdout %q, stderr %q; want %q", err, out, stderr, tt.want)
			}
		})
	}
	out, _, err := portal(t, "source", "list", "--db", db)
	if want := "gp    list          http://127.0.0.1:1/fhir"; err != nil || !strings.Contains(out, want) {
		t.Errorf("the organisation given before the verb was not kept: %v, want %q in\n%s", err, want, out)
	}
	if _, _, err := portal(t, "source", "--db", db, "frobnicate"); err == nil || err.Error() != `source: unknown action "frobnicate": say add, auth, org, list, social-care, release, accept-nhs-number or remove` {
		t.Errorf("an unknown verb after flags: %v", err)
	}
}

// TestBadSettings: a setting that cannot be used is refused, naming the flag
// or variable, the value and the reason, before anything is made; it is never
// quietly replaced by the default.
func TestBadSettings(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "none")
	db := filepath.Join(dir, "portal.db")
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr string
	}{
		{"negative workers", nil, []string{"serve", "--sync-workers", "-3"}, `invalid value "-3" for flag -sync-workers: must be 1 or more`},
		{"no workers", nil, []string{"serve", "--sync-workers", "0"}, `invalid value "0" for flag -sync-workers: must be 1 or more`},
		{"negative freshness", nil, []string{"serve", "--sync-freshness", "-5m"}, `invalid value "-5m" for flag -sync-freshness: must be more than 0`},
		{"freshness without a unit", nil, []string{"serve", "--sync-freshness", "15"}, `invalid value "15" for flag -sync-freshness: not a length of time such as 90s, 15m or 1h`},
		{"workers variable", map[string]string{"PORTAL_SYNC_WORKERS": "abc"}, []string{"serve"}, `serve: PORTAL_SYNC_WORKERS="abc": not a whole number`},
		{"freshness variable", map[string]string{"PORTAL_SYNC_FRESHNESS": "xyz"}, []string{"serve"}, `serve: PORTAL_SYNC_FRESHNESS="xyz": not a length of time such as 90s, 15m or 1h`},
		{"demo variable", map[string]string{"PORTAL_DEMO": "yes"}, []string{"serve"}, `serve: PORTAL_DEMO="yes": use 1 (on) or 0 (off)`},
		{"passkey domain", map[string]string{"PORTAL_RP_ID": "evil.example"}, []string{"serve", "--origin", "https://care.example.org"}, `serve: PORTAL_RP_ID="evil.example": must be the origin's host (care.example.org) or a domain it is under, or passkeys cannot work`},
		{"passkey domain only a suffix", nil, []string{"serve", "--origin", "https://care.example.org", "--rp-id", "e.org"}, `serve: --rp-id "e.org": must be the origin's host (care.example.org) or a domain it is under, or passkeys cannot work`},
		{"passkey domain flag over variable", map[string]string{"PORTAL_RP_ID": "care.example.org"}, []string{"serve", "--origin", "https://care.example.org", "--rp-id", "e.org"}, `serve: --rp-id "e.org": must be the origin's host (care.example.org) or a domain it is under, or passkeys cannot work`},
		{"passkey domain for invite", map[string]string{"PORTAL_RP_ID": "evil.example"}, []string{"invite", "--person", "1", "--origin", "https://care.example.org"}, `invite: PORTAL_RP_ID="evil.example": must be the origin's host (care.example.org) or a domain it is under, or passkeys cannot work`},
		// An enrolment code must last some time, as invite --valid must.
		{"enrolment codes already expired", nil, []string{"serve", "--demo", "--enrol-valid", "0s"}, `serve: --enrol-valid 0s: must be more than 0 and at most 90 days (2160h)`},
		{"enrolment codes expired before made", nil, []string{"serve", "--demo", "--enrol-valid", "-1h"}, `serve: --enrol-valid -1h0m0s: must be more than 0 and at most 90 days (2160h)`},
		{"enrolment codes for ever", nil, []string{"serve", "--demo", "--enrol-valid", "2161h"}, `serve: --enrol-valid 2161h0m0s: must be more than 0 and at most 90 days (2160h)`},
		{"invite code expired before made", nil, []string{"invite", "--person", "1", "--valid", "-5h"}, `invite: --valid -5h0m0s: must be more than 0 and at most 90 days (2160h)`},
		{"invite code already expired", nil, []string{"invite", "--person", "1", "--valid", "0s"}, `invite: --valid 0s: must be more than 0 and at most 90 days (2160h)`},
		// A session must last long enough to be warned before it ends, and no longer than any session does.
		{"session too short to warn", nil, []string{"serve", "--demo", "--session-idle", "20s"}, `serve: --session-idle "20s": must be from 30s to 12h0m0s, the longest a session lasts`},
		{"session idle longer than any session", map[string]string{"PORTAL_SESSION_IDLE": "13h"}, []string{"serve", "--demo"}, `serve: PORTAL_SESSION_IDLE="13h0m0s": must be from 30s to 12h0m0s, the longest a session lasts`},
		{"session idle not a time", map[string]string{"PORTAL_SESSION_IDLE": "soon"}, []string{"serve", "--demo"}, `serve: PORTAL_SESSION_IDLE="soon": not a length of time such as 90s, 15m or 1h`},
		// A link system that is not an absolute URI would link no one.
		{"link system variable for import", map[string]string{"PORTAL_LINK_SYSTEMS": "not a url"}, []string{"import", "bundle.json"}, `import: PORTAL_LINK_SYSTEMS="not a url": "not a url" is not an identifier system: a system is an absolute URI, such as https://fhir.example.org/Id/mrn or urn:oid:1.2.3`},
		{"link system variable for sync", map[string]string{"PORTAL_LINK_SYSTEMS": "https://fhir.example.org/Id/mrn,mrn"}, []string{"sync"}, `sync: PORTAL_LINK_SYSTEMS="https://fhir.example.org/Id/mrn,mrn": "mrn" is not an identifier system: a system is an absolute URI, such as https://fhir.example.org/Id/mrn or urn:oid:1.2.3`},
		{"link system variable for serve", map[string]string{"PORTAL_LINK_SYSTEMS": "urn:oid:1.2 3"}, []string{"serve", "--demo"}, `serve: PORTAL_LINK_SYSTEMS="urn:oid:1.2 3": "urn:oid:1.2 3" is not an identifier system: a system is an absolute URI, such as https://fhir.example.org/Id/mrn or urn:oid:1.2.3`},
		{"link system flag", nil, []string{"sync", "--link-system", "https://"}, `invalid value "https://" for flag -link-system: "https://" is not an identifier system: a system is an absolute URI, such as https://fhir.example.org/Id/mrn or urn:oid:1.2.3`},
		{"link system variable beside a good flag", map[string]string{"PORTAL_LINK_SYSTEMS": "mrn"}, []string{"import", "--link-system", "urn:oid:1.2.3", "bundle.json"}, `import: PORTAL_LINK_SYSTEMS="mrn": "mrn" is not an identifier system: a system is an absolute URI, such as https://fhir.example.org/Id/mrn or urn:oid:1.2.3`},
		{"proxy", nil, []string{"serve", "--trusted-proxies", "10.0.0.0/8,proxy.local"}, `invalid value "10.0.0.0/8,proxy.local" for flag -trusted-proxies: "proxy.local" is not an address or a range such as 10.0.0.0/8`},
		{"proxy variable", map[string]string{"PORTAL_TRUSTED_PROXIES": "10.0.0.0/33"}, []string{"serve"}, `serve: PORTAL_TRUSTED_PROXIES="10.0.0.0/33": "10.0.0.0/33" is not an address or a range such as 10.0.0.0/8`},
		{"serve origin", nil, []string{"serve", "--origin", "not a url"}, `serve: --origin "not a url": must be an http or https address such as https://care.example.org`},
		{"invite origin", nil, []string{"invite", "--person", "1", "--origin", "not a url"}, `invite: --origin "not a url": must be an http or https address such as https://care.example.org`},
		{"invite origin variable", map[string]string{"PORTAL_ORIGIN": "ftp://care.example.org"}, []string{"invite", "--person", "1"}, `invite: PORTAL_ORIGIN="ftp://care.example.org": must be an http or https address such as https://care.example.org`},
		{"origin flag over variable", map[string]string{"PORTAL_ORIGIN": "https://care.example.org"}, []string{"serve", "--origin", "ftp://care.example.org"}, `serve: --origin "ftp://care.example.org": must be an http or https address such as https://care.example.org`},
		// An origin is scheme://host[:port] only: with a path, query or
		// fragment no sign-in or form could work.
		{"origin with a path", nil, []string{"serve", "--origin", "http://localhost:18119/app"}, `serve: --origin "http://localhost:18119/app": an origin is scheme://host[:port] only, and this has a path (/app): write http://localhost:18119`},
		{"origin with a slash", nil, []string{"serve", "--origin", "https://care.example.org/"}, `serve: --origin "https://care.example.org/": an origin is scheme://host[:port] only, and this has a path (/): write https://care.example.org`},
		{"origin variable with a query", map[string]string{"PORTAL_ORIGIN": "https://care.example.org?x=1"}, []string{"serve"}, `serve: PORTAL_ORIGIN="https://care.example.org?…": an origin is scheme://host[:port] only, and this has a query (a part from ?): write https://care.example.org`},
		{"origin with an empty query", nil, []string{"serve", "--origin", "https://care.example.org?"}, `serve: --origin "https://care.example.org?": an origin is scheme://host[:port] only, and this has a query (a part from ?): write https://care.example.org`},
		{"origin with a fragment", nil, []string{"invite", "--person", "1", "--origin", "https://care.example.org/a#b"}, `invite: --origin "https://care.example.org/a#b": an origin is scheme://host[:port] only, and this has a path (/a) and a fragment (a part from #): write https://care.example.org`},
		{"origin with an empty fragment", nil, []string{"serve", "--origin", "https://care.example.org#"}, `serve: --origin "https://care.example.org#": an origin is scheme://host[:port] only, and this has a fragment (a part from #): write https://care.example.org`},
		{"origin with a password", nil, []string{"serve", "--origin", "https://a:b@care.example.org"}, `serve: --origin "https://…@care.example.org": an origin is scheme://host[:port] only, without a user name, password or query: write https://care.example.org`},
		{"origin port out of range", nil, []string{"serve", "--origin", "https://care.example.org:70000"}, `serve: --origin "https://care.example.org:70000": port "70000" is not a number from 1 to 65535`},
		{"origin port 0", map[string]string{"PORTAL_ORIGIN": "http://localhost:0"}, []string{"invite", "--person", "1"}, `invite: PORTAL_ORIGIN="http://localhost:0": port "0" is not a number from 1 to 65535`},
		{"origin port empty", nil, []string{"serve", "--origin", "http://localhost:"}, `serve: --origin "http://localhost:": port "" is not a number from 1 to 65535`},
		// Passkeys are bound to a domain: an IP address origin could enrol nobody.
		{"serve IP origin", nil, []string{"serve", "--origin", "http://127.0.0.1:8080"}, `serve: --origin "http://127.0.0.1:8080": passkeys need a domain name, not an IP address (127.0.0.1): give --origin the name people browse to, such as https://care.example.org, or http://localhost:8080 on this machine`},
		{"serve IP origin variable", map[string]string{"PORTAL_ORIGIN": "http://[::1]:8080"}, []string{"serve", "--demo"}, `serve: PORTAL_ORIGIN="http://[::1]:8080": passkeys need a domain name, not an IP address (::1): give --origin the name people browse to, such as https://care.example.org, or http://localhost:8080 on this machine`},
		{"invite IP origin", nil, []string{"invite", "--person", "1", "--origin", "http://127.0.0.1:8080"}, `invite: --origin "http://127.0.0.1:8080": passkeys need a domain name, not an IP address (127.0.0.1): give --origin the name people browse to, such as https://care.example.org, or http://localhost:8080 on this machine`},
		{"invite IP origin variable", map[string]string{"PORTAL_ORIGIN": "https://10.0.0.7"}, []string{"invite", "--person", "1"}, `invite: PORTAL_ORIGIN="https://10.0.0.7": passkeys need a domain name, not an IP address (10.0.0.7): give --origin the name people browse to, such as https://care.example.org, or http://localhost on this machine`},
		{"invite origin from an IP address", map[string]string{"PORTAL_ADDR": "10.0.0.7:8080"}, []string{"invite", "--person", "1"}, `invite: the origin http://10.0.0.7:8080 made from PORTAL_ADDR="10.0.0.7:8080": passkeys need a domain name, not an IP address (10.0.0.7): give --origin the name people browse to, such as https://care.example.org, or http://localhost:8080 on this machine`},
		{"invite origin from no address", map[string]string{"PORTAL_ADDR": "nonsense"}, []string{"invite", "--person", "1"}, `invite: PORTAL_ADDR="nonsense": not a host:port to make the link from (address nonsense: missing port in address): give --origin the address people browse to`},
		// Passkeys are offered only to a secure page: https, or this machine (found by a security review).
		{"plain http on a real host", nil, []string{"serve", "--origin", "http://care.example.org"}, `serve: --origin "http://care.example.org": passkeys work only over https, except on localhost: give --origin https://care.example.org (the address of the TLS proxy in front of the portal), or http://localhost on this machine`},
		{"invite origin from a real host's address", map[string]string{"PORTAL_ADDR": "care.example.org:8080"}, []string{"invite", "--person", "1"}, `invite: the origin http://care.example.org:8080 made from PORTAL_ADDR="care.example.org:8080": passkeys work only over https, except on localhost: give --origin https://care.example.org:8080 (the address of the TLS proxy in front of the portal), or http://localhost on this machine`},
		{"origin not a domain", nil, []string{"serve", "--origin", "https://care..example.org"}, `serve: --origin "https://care..example.org": passkeys cannot use "care..example.org" as their domain: the domain must not contain an empty label`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := func(k string) string { return tt.env[k] }
			var out, stderr strings.Builder
			err := run(context.Background(), append(tt.args, "--db", db), env, &out, &stderr)
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("got %v\nwant %q", err, tt.wantErr)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("the database's folder was made: %v", err)
			}
		})
	}
}

// TestSourceAddAuth: a flag for another kind of authentication is refused;
// a file is stored by its absolute name, so sync and serve started from
// another folder read it; a secret given as --token-env is never repeated.
func TestSourceAddAuth(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "portal.db")
	if err := os.WriteFile(filepath.Join(dir, "tok.txt"), []byte("t0ken\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "two.txt"), []byte("sekr3t-one\nsekr3t-two\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Chdir(dir)
	tests := []struct {
		name    string
		flags   []string
		wantErr string
	}{
		{"token file without bearer", []string{"--auth", "none", "--token-file", "tok.txt"}, "source add: --token-file is only for --auth bearer"},
		{"token variable by default", []string{"--token-env", "TOK"}, "source add: --token-env is only for --auth bearer"},
		{"client id with bearer", []string{"--auth", "bearer", "--token-file", "tok.txt", "--client-id", "c"}, "source add: --client-id is only for --auth smart-backend"},
		{"smart-backend without the key's id", []string{"--auth", "smart-backend", "--client-id", "c", "--token-url", "http://127.0.0.1:1/token", "--key-file", "tok.txt"},
			"source add: smart-backend needs --client-id, --token-url, --key-file and --key-id"},
		{"both token flags", []string{"--auth", "bearer", "--token-file", "tok.txt", "--token-env", "TOK"}, "source add: give one of --token-file or --token-env, not both"},
		{"a secret as the variable", []string{"--auth", "bearer", "--token-env", "sekr3t-TOKEN-abc"}, "source add: bearer token: --token-env takes the name of an environment variable, not its value"},
		{"two lines in the token file", []string{"--auth", "bearer", "--token-file", "two.txt"},
			"source add: bearer token: the file --token-file names holds more than one line, or a control character: a token is one line of text"},
		{"a secret that could be a variable's name", []string{"--auth", "bearer", "--token-env", "sekr3t_TOKEN_abc"}, "source add: bearer token: the environment variable --token-env names is not set, or is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, stderr, err := portal(t, append([]string{"source", "add", "gp", "http://127.0.0.1:1/fhir", "--db", db}, tt.flags...)...)
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("got %v\nwant %q", err, tt.wantErr)
			}
			if strings.Contains(out+stderr+fmt.Sprint(err), "sekr3t") {
				t.Errorf("the secret was printed: %q %q %v", out, stderr, err)
			}
		})
	}
	if _, _, err := portal(t, "source", "add", "gp", "http://127.0.0.1:1/fhir", "--db", db, "--auth", "bearer", "--token-file", "tok.txt"); err != nil {
		t.Fatal(err)
	}
	s, err := store.OpenExisting(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	srcs, err := s.Sources(context.Background())
	if err != nil || len(srcs) != 1 {
		t.Fatalf("sources %+v, %v; want gp alone", srcs, err)
	}
	if got, want := srcs[0].AuthConfig["token-file"], filepath.Join(dir, "tok.txt"); got != want {
		t.Errorf("token file stored as %q, want %q", got, want)
	}
}

// TestTrustedProxiesFlag: an address is a range of one; a range is kept as
// its network; several may be given at once or one at a time.
func TestTrustedProxiesFlag(t *testing.T) {
	var got []netip.Prefix
	f := proxiesFlag{&got}
	for _, v := range []string{"10.1.2.3, 192.168.1.77/24", "fd00::/8"} {
		if err := f.Set(v); err != nil {
			t.Fatal(err)
		}
	}
	if want := "10.1.2.3/32,192.168.1.0/24,fd00::/8"; f.String() != want {
		t.Errorf("got %s, want %s", f.String(), want)
	}
}

// TestLinkSystemsFlag: systems are absolute URIs, given at once or one at a
// time, after those from PORTAL_LINK_SYSTEMS.
func TestLinkSystemsFlag(t *testing.T) {
	var cfg Config
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	linkFlags(fs, &cfg, func(k string) string {
		return map[string]string{"PORTAL_LINK_SYSTEMS": " https://fhir.example.org/Id/mrn, ,urn:oid:1.2.3"}[k]
	})
	if _, err := parseFlags(fs, []string{"--link-system", "http://a.example/id,urn:uuid:x", "--link-system", "https://b.example"}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	want := []string{"https://fhir.example.org/Id/mrn", "urn:oid:1.2.3", "http://a.example/id", "urn:uuid:x", "https://b.example"}
	if !slices.Equal(cfg.LinkSystems, want) {
		t.Errorf("got %q, want %q", cfg.LinkSystems, want)
	}
}

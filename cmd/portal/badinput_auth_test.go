package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeKey writes key as PKCS#8 PEM to a file of the given mode in dir.
func writeKey(t *testing.T, dir, name string, key any, mode os.FileMode) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSourceAddCredentialFiles: a token or key file that cannot be read says
// which flag's file and why, never repeating the name given (it may be the
// secret itself, given in its place); a file every user may read is refused,
// saying to chmod 600 (one its group may read is taken); a token URL that is not https is refused unless the
// source and it are both on this machine, for the signed client assertion
// would cross the network in clear; a key of a kind SMART cannot use says
// which kinds it can.
func TestSourceAddCredentialFiles(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "portal.db")
	ec, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key := writeKey(t, dir, "sekr3t-ec.pem", ec, 0o600)
	open := writeKey(t, dir, "sekr3t-open.pem", ec, 0o644)
	group := writeKey(t, dir, "sekr3t-group.pem", ec, 0o640)
	edKey := writeKey(t, dir, "sekr3t-ed.pem", ed, 0o600)
	token := func(name, body string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	emptyTok := token("sekr3t-empty.tok", "\n", 0o600)
	openTok := token("sekr3t-open.tok", "t0ken\n", 0o644)
	twoTok := token("sekr3t-two.tok", "one\ntwo\n", 0o600)
	smart := func(base, tokenURL, keyFile string) []string {
		return []string{"gp", base, "--auth", "smart-backend", "--client-id", "c", "--key-id", "k", "--token-url", tokenURL, "--key-file", keyFile}
	}
	const httpsOnly = "source add: smart-backend: --token-url must be https: the signed client assertion sent to it would otherwise cross the network unencrypted (http is taken only when the source and the token URL are both on this machine, such as http://localhost)"
	tests := []struct {
		name    string
		args    []string
		wantErr string // "" for added
	}{
		{"a token file that is not there", []string{"gp", "https://gp.example/fhir", "--auth", "bearer", "--token-file", "eyJsekr3t.abc"},
			"source add: bearer token: cannot read the file --token-file names: no such file or directory"},
		{"an empty token file", []string{"gp", "https://gp.example/fhir", "--auth", "bearer", "--token-file", emptyTok},
			"source add: bearer token: the file --token-file names is empty"},
		{"a token file of two lines", []string{"gp", "https://gp.example/fhir", "--auth", "bearer", "--token-file", twoTok},
			"source add: bearer token: the file --token-file names holds more than one line, or a control character: a token is one line of text"},
		{"a token file others may read", []string{"gp", "https://gp.example/fhir", "--auth", "bearer", "--token-file", openTok},
			"source add: bearer token: the file --token-file names can be read by every user of this machine (mode 0644): chmod 600 it, so that only its owner can (or 640, for its group too; for a Kubernetes secret, a defaultMode of 0400)"},
		{"a key file that is not there", smart("https://gp.example/fhir", "https://gp.example/token", "sekr3t.pem"),
			"source add: private key: cannot read the file --key-file names: no such file or directory"},
		{"a key file others may read", smart("https://gp.example/fhir", "https://gp.example/token", open),
			"source add: private key: the file --key-file names can be read by every user of this machine (mode 0644): chmod 600 it, so that only its owner can (or 640, for its group too; for a Kubernetes secret, a defaultMode of 0400)"},
		{"a key file its group may read", smart("https://gp.example/fhir", "https://gp.example/token", group), ""},
		{"an Ed25519 key", smart("https://gp.example/fhir", "https://gp.example/token", edKey),
			"source add: SMART backend auth: the key is Ed25519: it must be RSA (for RS384) or EC P-384 (for ES384)"},
		{"an http token URL for an https source", smart("https://gp.example/fhir", "http://gp.example/token", key), httpsOnly},
		{"an http token URL elsewhere for a local source", smart("http://127.0.0.1:1/fhir", "http://auth.example/token", key), httpsOnly},
		{"an http token URL for a source elsewhere", smart("http://gp.example/fhir", "http://localhost:1/token", key), httpsOnly},
		{"http on this machine", smart("http://127.0.0.1:1/fhir", "http://localhost:2/token", key), ""},
		{"https", smart("https://gp.example/fhir", "https://auth.gp.example/token", key), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Chdir(dir)
			out, stderr, err := portal(t, append([]string{"source", "add", "--db", db}, tt.args...)...)
			if err == nil {
				if _, _, err := portal(t, "source", "remove", "gp", "--db", db); err != nil {
					t.Fatal(err)
				}
			}
			if tt.wantErr == "" {
				if err != nil || !strings.HasPrefix(out, "Added source gp") {
					t.Errorf("got %v %q, want it added", err, out)
				}
			} else if err == nil || err.Error() != tt.wantErr {
				t.Errorf("got %v\nwant %q", err, tt.wantErr)
			}
			if strings.Contains(out+stderr+errString(err), "sekr3t") {
				t.Errorf("the name given was repeated: %q %q %v", out, stderr, err)
			}
		})
	}
}

// A SMART source added without --token-url has its token endpoint read from
// the server's .well-known/smart-configuration, as SMART Backend Services has
// a client find it (a review); a server with none, or one that says its
// token endpoint takes no client assertion or grants no client credentials,
// is refused saying so, and nothing is made.
func TestSourceAddFindsTheTokenEndpoint(t *testing.T) {
	dir := t.TempDir()
	ec, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key := writeKey(t, dir, "ec.pem", ec, 0o600)
	tests := []struct {
		name, config string // "" answers 404
		want         string // printed, or the error
		added        bool
	}{
		{"named", `{"token_endpoint":"http://127.0.0.1:1/auth/token","token_endpoint_auth_methods_supported":["private_key_jwt"],"grant_types_supported":["client_credentials"]}`,
			"Its token endpoint, from its SMART configuration: http://127.0.0.1:1/auth/token", true},
		{"no configuration", "", "/.well-known/smart-configuration answered 404 Not Found: give the token endpoint with --token-url", false},
		{"none named", `{"issuer":"x"}`, "/.well-known/smart-configuration names no token_endpoint: give it with --token-url", false},
		{"no client assertions", `{"token_endpoint":"http://127.0.0.1:1/token","token_endpoint_auth_methods_supported":["client_secret_basic"]}`,
			"says its token endpoint takes no private_key_jwt client assertion", false},
		{"no client credentials", `{"token_endpoint":"http://127.0.0.1:1/token","grant_types_supported":["authorization_code"]}`,
			"says its token endpoint gives no client_credentials grant", false},
		{"elsewhere over http", `{"token_endpoint":"http://auth.example/token"}`, "--token-url must be https", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/fhir/.well-known/smart-configuration" || tt.config == "" {
					http.NotFound(w, r)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(tt.config))
			}))
			defer srv.Close()
			db := filepath.Join(t.TempDir(), "portal.db")
			out, _, err := portal(t, "source", "add", "gp", srv.URL+"/fhir", "--db", db, "--auth", "smart-backend", "--client-id", "c", "--key-id", "k", "--key-file", key)
			if tt.added {
				if err != nil || !strings.Contains(out, tt.want) {
					t.Fatalf("%v\n%s; want it added, saying %q", err, out, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%v; want it refused, saying %q", err, tt.want)
			}
			if _, serr := os.Stat(db); !os.IsNotExist(serr) {
				t.Errorf("a refused source left a database: %v", serr)
			}
		})
	}
}

// TestSyncNamesTheMissingTokenVariable: source add checked LTH_TOKEN was set;
// a sync run without it said only "the environment variable --token-env
// names is not set", naming neither the variable nor where to look (a
// review). It is named as source add was given it.
func TestSyncNamesTheMissingTokenVariable(t *testing.T) {
	db := filepath.Join(t.TempDir(), "portal.db")
	env := map[string]string{"LTH_TOKEN": "t0ken"}
	var out, stderr strings.Builder
	if err := run(context.Background(), []string{"source", "add", "--db", db, "lth", "http://127.0.0.1:1/fhir", "--auth", "bearer", "--token-env", "LTH_TOKEN"},
		func(k string) string { return env[k] }, &out, &stderr); err != nil {
		t.Fatal(err)
	}
	o, e, err := portal(t, "sync", "--db", db, "--identifier", "urn:x|1")
	if err == nil || !strings.Contains(o+e, "(source add gave --token-env LTH_TOKEN)") || strings.Contains(o+e, "t0ken") {
		t.Errorf("got %v, want the variable LTH_TOKEN named:\n%s%s", err, o, e)
	}
}

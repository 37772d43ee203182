package fhirsync

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
)

// testKeys are generated once: RSA generation is slow.
type testKeys struct {
	rsa *rsa.PrivateKey
	ec  *ecdsa.PrivateKey
}

func newTestKeys(t *testing.T) testKeys {
	t.Helper()
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ek, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return testKeys{rsa: rk, ec: ek}
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func pkcs8(t *testing.T, key any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pemBlock("PRIVATE KEY", der)
}

func sec1(t *testing.T, key *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	// openssl ecparam -genkey writes the curve's parameters first.
	params := pemBlock("EC PARAMETERS", []byte{0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22})
	return append(params, pemBlock("EC PRIVATE KEY", der)...)
}

// tokenServer is a SMART token endpoint that checks each client assertion as
// a real authorisation server would: form fields, header, claims and signature.
type tokenServer struct {
	t        *testing.T
	srv      *httptest.Server
	pub      crypto.PublicKey
	alg      string
	clientID string
	scope    string
	kid      string
	now      func() time.Time
	lifetime int
	delay    time.Duration

	mu       sync.Mutex
	issued   []string
	jtis     map[string]bool
	failWith func(assertion string) (int, string) // when set, answer this instead
}

func newTokenServer(t *testing.T, pub crypto.PublicKey, alg string, now func() time.Time) *tokenServer {
	ts := &tokenServer{t: t, pub: pub, alg: alg, clientID: "portal-client", scope: "system/*.rs", kid: "key-1", now: now, lifetime: 300, jtis: map[string]bool{}}
	ts.srv = httptest.NewServer(http.HandlerFunc(ts.serve))
	t.Cleanup(ts.srv.Close)
	return ts
}

func (ts *tokenServer) url() string { return ts.srv.URL + "/auth/token" }

func (ts *tokenServer) refuse(w http.ResponseWriter, why string) {
	ts.t.Errorf("token endpoint: %s", why)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	json.NewEncoder(w).Encode(map[string]string{"error": "invalid_client", "error_description": why})
}

func (ts *tokenServer) serve(w http.ResponseWriter, r *http.Request) {
	time.Sleep(ts.delay)
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		ts.refuse(w, "want a form POST")
		return
	}
	if err := r.ParseForm(); err != nil {
		ts.refuse(w, err.Error())
		return
	}
	f := r.PostForm
	if f.Get("grant_type") != "client_credentials" || f.Get("scope") != ts.scope ||
		f.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
		ts.refuse(w, fmt.Sprintf("wrong form %v", f))
		return
	}
	assertion := f.Get("client_assertion")
	ts.mu.Lock()
	fail := ts.failWith
	ts.mu.Unlock()
	if fail != nil {
		status, body := fail(assertion)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write([]byte(body))
		return
	}
	if why := ts.check(assertion); why != "" {
		ts.refuse(w, why)
		return
	}
	ts.mu.Lock()
	tok := fmt.Sprintf("tok-%d-%x", len(ts.issued)+1, big.NewInt(time.Now().UnixNano()).Bytes())
	ts.issued = append(ts.issued, tok)
	ts.mu.Unlock()
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "token_type": "bearer", "expires_in": ts.lifetime, "scope": ts.scope})
}

// check verifies a client assertion; it returns why it is wrong, or "".
func (ts *tokenServer) check(assertion string) string {
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return "the assertion is not a compact JWS"
	}
	var header struct{ Alg, Kid, Typ string }
	var claims struct {
		Iss, Sub, Aud, Jti string
		Exp                int64
	}
	for i, v := range []any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil || json.Unmarshal(b, v) != nil {
			return fmt.Sprintf("part %d does not decode", i+1)
		}
	}
	if header.Alg != ts.alg || header.Kid != ts.kid || header.Typ != "JWT" {
		return fmt.Sprintf("header %+v", header)
	}
	if claims.Iss != ts.clientID || claims.Sub != ts.clientID || claims.Aud != ts.url() || claims.Jti == "" {
		return fmt.Sprintf("claims %+v", claims)
	}
	// The assertion was signed a moment ago, perhaps in the previous second.
	if want := ts.now().Add(5 * time.Minute).Unix(); claims.Exp > want || claims.Exp < want-2 {
		return fmt.Sprintf("exp %d, want now + 5 minutes %d", claims.Exp, want)
	}
	ts.mu.Lock()
	replay := ts.jtis[claims.Jti]
	ts.jtis[claims.Jti] = true
	ts.mu.Unlock()
	if replay {
		return "jti replayed"
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return "the signature does not decode"
	}
	digest := sha512.Sum384([]byte(parts[0] + "." + parts[1]))
	switch pub := ts.pub.(type) {
	case *rsa.PublicKey:
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA384, digest[:], sig); err != nil {
			return "RS384 signature does not verify"
		}
	case *ecdsa.PublicKey:
		if len(sig) != 96 {
			return fmt.Sprintf("an ES384 signature is 96 bytes of r||s, got %d", len(sig))
		}
		r, s := new(big.Int).SetBytes(sig[:48]), new(big.Int).SetBytes(sig[48:])
		if !ecdsa.Verify(pub, digest[:], r, s) {
			return "ES384 signature does not verify"
		}
	}
	return ""
}

func (ts *tokenServer) tokens() []string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]string(nil), ts.issued...)
}

// fhirServer accepts only the latest token the token server issued (or any
// issued one, unless strict), and says which it saw.
func fhirServer(t *testing.T, ts *tokenServer, accept func(token string) bool) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || !accept(tok) {
			writeFHIR(w, http.StatusUnauthorized, outcome("token not accepted"))
			return
		}
		writeFHIR(w, http.StatusOK, searchset(0, ""))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestSMARTBackendAuth(t *testing.T) {
	keys := newTestKeys(t)
	tests := []struct {
		name string
		pem  []byte
		alg  string // as configured; "" picks from the key
		want string
		pub  crypto.PublicKey
	}{
		{"RS384 PKCS#8", pkcs8(t, keys.rsa), "", AlgRS384, &keys.rsa.PublicKey},
		{"RS384 PKCS#1", pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(keys.rsa)), AlgRS384, AlgRS384, &keys.rsa.PublicKey},
		{"ES384 PKCS#8", pkcs8(t, keys.ec), AlgES384, AlgES384, &keys.ec.PublicKey},
		{"ES384 SEC1 after EC PARAMETERS", sec1(t, keys.ec), "", AlgES384, &keys.ec.PublicKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			ts := newTokenServer(t, tt.pub, tt.want, clock.Now)
			var seen []string
			var mu sync.Mutex
			fsrv := fhirServer(t, ts, func(tok string) bool {
				mu.Lock()
				defer mu.Unlock()
				seen = append(seen, tok)
				issued := ts.tokens()
				return len(issued) > 0 && tok == issued[len(issued)-1]
			})
			auth, err := SMARTBackendAuth(SMARTConfig{TokenURL: ts.url(), ClientID: ts.clientID, Scope: ts.scope, KeyID: ts.kid,
				PrivateKeyPEM: tt.pem, Alg: tt.alg, Now: clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			c := mustClient(t, fsrv.URL, auth, ClientOptions{Now: clock.Now})

			steps := []struct {
				advance    time.Duration
				wantTokens int
			}{
				{0, 1},
				{100 * time.Second, 1},
				{139 * time.Second, 1}, // 239 s: still more than 60 s before the 300 s expiry
				{2 * time.Second, 2},   // 241 s: within 60 s of expiry, so a new one
				{100 * time.Second, 2},
			}
			for i, st := range steps {
				clock.Add(st.advance)
				if _, err := c.Search(context.Background(), "Observation", nil); err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				issued := ts.tokens()
				if len(issued) != st.wantTokens {
					t.Errorf("step %d: %d tokens fetched, want %d", i, len(issued), st.wantTokens)
				}
				mu.Lock()
				last := seen[len(seen)-1]
				mu.Unlock()
				if last != issued[len(issued)-1] {
					t.Errorf("step %d: sent %q, want the newest token", i, last)
				}
			}
		})
	}
}

func TestSMARTConcurrentCallersShareOneToken(t *testing.T) {
	keys := newTestKeys(t)
	ts := newTokenServer(t, &keys.ec.PublicKey, AlgES384, time.Now)
	ts.delay = 50 * time.Millisecond
	auth, err := SMARTBackendAuth(SMARTConfig{TokenURL: ts.url(), ClientID: ts.clientID, Scope: ts.scope, KeyID: ts.kid, PrivateKeyPEM: pkcs8(t, keys.ec)})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	headers := make([]string, 32)
	for i := range headers {
		wg.Go(func() {
			req := httptest.NewRequest(http.MethodGet, "http://fhir.example/Patient", nil)
			if err := auth.Authorize(context.Background(), req); err != nil {
				t.Error(err)
			}
			headers[i] = req.Header.Get("Authorization")
		})
	}
	wg.Wait()
	issued := ts.tokens()
	if len(issued) != 1 {
		t.Fatalf("%d tokens fetched, want 1", len(issued))
	}
	for _, h := range headers {
		if h != "Bearer "+issued[0] {
			t.Errorf("got %q", h)
		}
	}
}

func TestSMARTRefusedTokenIsReplacedOnce(t *testing.T) {
	keys := newTestKeys(t)
	ts := newTokenServer(t, &keys.rsa.PublicKey, AlgRS384, time.Now)
	// The server has revoked the first token although it has not expired.
	fsrv := fhirServer(t, ts, func(tok string) bool { return !strings.HasPrefix(tok, "tok-1-") })
	auth, err := SMARTBackendAuth(SMARTConfig{TokenURL: ts.url(), ClientID: ts.clientID, Scope: ts.scope, KeyID: ts.kid, PrivateKeyPEM: pkcs8(t, keys.rsa)})
	if err != nil {
		t.Fatal(err)
	}
	var sl sleeps
	c := mustClient(t, fsrv.URL, auth, ClientOptions{Sleep: sl.Sleep})
	if _, err := c.Search(context.Background(), "Observation", nil); err != nil {
		t.Fatal(err)
	}
	if n := len(ts.tokens()); n != 2 || len(sl.got()) != 0 {
		t.Errorf("%d tokens, slept %v; want a second token at once", n, sl.got())
	}
}

func TestSMARTSecretsStayOutOfErrors(t *testing.T) {
	keys := newTestKeys(t)
	keyPEM := pkcs8(t, keys.ec)
	keyBody := strings.Split(string(keyPEM), "\n")[1] // a line of the key's base64
	ts := newTokenServer(t, &keys.ec.PublicKey, AlgES384, time.Now)
	var assertions []string
	tests := []struct {
		name          string
		status        int
		body          string
		wantSays      string
		wantRetryable bool
	}{
		{"refused, echoing the assertion", http.StatusUnauthorized, `{"error":"invalid_client","error_description":"assertion %s is not signed by a known key"}`, "invalid_client (assertion [redacted] is not signed", false},
		{"token endpoint down", http.StatusServiceUnavailable, `%s`, "503 Service Unavailable", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts.mu.Lock()
			ts.failWith = func(a string) (int, string) {
				assertions = append(assertions, a)
				return tt.status, fmt.Sprintf(tt.body, a)
			}
			ts.mu.Unlock()
			auth, err := SMARTBackendAuth(SMARTConfig{TokenURL: ts.url(), ClientID: ts.clientID, Scope: ts.scope, KeyID: ts.kid, PrivateKeyPEM: keyPEM})
			if err != nil {
				t.Fatal(err)
			}
			var fhirRequests int
			fsrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fhirRequests++ }))
			defer fsrv.Close()
			var sl sleeps
			c := mustClient(t, fsrv.URL, auth, ClientOptions{MaxAttempts: 2, Sleep: sl.Sleep})
			_, err = c.Search(context.Background(), "Observation", nil)
			if err == nil {
				t.Fatal("want an error")
			}
			msg := err.Error()
			t.Log(msg)
			for _, a := range assertions {
				if strings.Contains(msg, a) {
					t.Errorf("the error repeats the client assertion: %s", msg)
				}
			}
			if strings.Contains(msg, keyBody) || strings.Contains(msg, "PRIVATE KEY") {
				t.Errorf("the error repeats the key: %s", msg)
			}
			if !strings.Contains(msg, tt.wantSays) || !strings.Contains(msg, "SMART backend auth") {
				t.Errorf("got %q, want it to say %q", msg, tt.wantSays)
			}
			var ue *UpstreamError
			if !errors.As(err, &ue) || ue.Retryable != tt.wantRetryable {
				t.Errorf("got %#v, want retryable %v", err, tt.wantRetryable)
			}
			if wantSleeps := map[bool]int{true: 1, false: 0}[tt.wantRetryable]; len(sl.got()) != wantSleeps {
				t.Errorf("slept %v, want %d back-offs", sl.got(), wantSleeps)
			}
			if fhirRequests != 0 {
				t.Errorf("the FHIR server was called %d times without a token", fhirRequests)
			}
		})
	}
}

// A token URL that redirects (a 307 would have Go send the form on, signed
// assertion and all) is not followed.
func TestSMARTTokenRequestNotRedirected(t *testing.T) {
	keys := newTestKeys(t)
	var elsewhere int
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere++
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"access_token":"stolen","token_type":"bearer","expires_in":300}`)
	}))
	defer other.Close()
	moving := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/token", http.StatusTemporaryRedirect)
	}))
	defer moving.Close()
	auth, err := SMARTBackendAuth(SMARTConfig{TokenURL: moving.URL + "/token", ClientID: "portal-client", PrivateKeyPEM: pkcs8(t, keys.ec)})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "http://fhir.example/Patient", nil)
	err = auth.Authorize(context.Background(), req)
	if err == nil || elsewhere != 0 || !strings.Contains(err.Error(), "redirected") {
		t.Errorf("a redirected token request: %v, and the other server was asked %d times; want it refused, unasked", err, elsewhere)
	}
}

func TestSMARTConfigRefused(t *testing.T) {
	keys := newTestKeys(t)
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	good := SMARTConfig{TokenURL: "https://auth.example/token", ClientID: "c", PrivateKeyPEM: pkcs8(t, keys.rsa)}
	with := func(f func(*SMARTConfig)) SMARTConfig { c := good; f(&c); return c }
	garbage := []byte("-----BEGIN PRIVATE KEY-----\nTm90QUtleUF0QWxsU2VjcmV0U2VjcmV0\n-----END PRIVATE KEY-----\n")
	tests := []struct {
		name string
		cfg  SMARTConfig
		says string
	}{
		{"no key", with(func(c *SMARTConfig) { c.PrivateKeyPEM = nil }), "no private key"},
		{"not PEM", with(func(c *SMARTConfig) { c.PrivateKeyPEM = []byte("hunter2-secret-not-pem") }), "not PEM"},
		{"PEM that is not a key", with(func(c *SMARTConfig) { c.PrivateKeyPEM = garbage }), "could not be read as a key"},
		{"RSA key with ES384", with(func(c *SMARTConfig) { c.Alg = AlgES384 }), "must be RS384"},
		{"EC key with RS384", with(func(c *SMARTConfig) { c.PrivateKeyPEM, c.Alg = pkcs8(t, keys.ec), AlgRS384 }), "must be ES384"},
		{"P-256 key for ES384", with(func(c *SMARTConfig) { c.PrivateKeyPEM = pkcs8(t, p256) }), "needs a P-384 key"},
		{"short RSA key", with(func(c *SMARTConfig) { c.PrivateKeyPEM = pkcs8(t, small) }), "at least 2048"},
		{"Ed25519 key", with(func(c *SMARTConfig) { c.PrivateKeyPEM = pkcs8(t, edKey) }), "the key is Ed25519: it must be RSA (for RS384) or EC P-384 (for ES384)"},
		{"unknown algorithm", with(func(c *SMARTConfig) { c.Alg = "HS256" }), "must be RS384"},
		{"no client id", with(func(c *SMARTConfig) { c.ClientID = " " }), "client id is empty"},
		{"token URL with a password", with(func(c *SMARTConfig) { c.TokenURL = "https://u:hunter2@auth.example/token" }), "user name or password"},
		{"relative token URL", with(func(c *SMARTConfig) { c.TokenURL = "/token" }), "absolute"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := SMARTBackendAuth(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("got %v, want it to say %q", err, tt.says)
			}
			for _, secret := range []string{"hunter2", "Tm90QUtleUF0", string(tt.cfg.PrivateKeyPEM[min(len(tt.cfg.PrivateKeyPEM), 40):min(len(tt.cfg.PrivateKeyPEM), 80)])} {
				if secret != "" && strings.Contains(err.Error(), secret) {
					t.Errorf("the error repeats a secret: %v", err)
				}
			}
		})
	}
	if _, err := SMARTBackendAuth(good); err != nil {
		t.Errorf("a good config: %v", err)
	}
}

// A bearer token is one line: a file or variable holding two (or a stray
// control character) is refused when the source is added, saying where it
// came from and never what it holds, rather than failing every sync later.
func TestBearerTokenIsOneLine(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	env := map[string]string{"ONE": " t0ken \n", "TWO": "sekr3t-one\r\nsekr3t-two", "TAB": "sekr3t\tx"}
	getenv := func(k string) string { return env[k] }
	for _, tt := range []struct {
		name    string
		cfg     map[string]string
		want    string // the token, or how it is refused
		refused bool
	}{
		{"a file with a final line break", map[string]string{"token-file": write("one.txt", "t0ken\n")}, "t0ken", false},
		{"a file of two lines", map[string]string{"token-file": write("two.txt", "sekr3t-one\nsekr3t-two\n")},
			"the file --token-file names holds more than one line, or a control character: a token is one line of text", true},
		{"a variable with space around it", map[string]string{"token-env": "ONE"}, "t0ken", false},
		{"a variable of two lines", map[string]string{"token-env": "TWO"},
			"the environment variable --token-env names holds more than one line, or a control character: a token is one line of text", true},
		{"a variable with a tab", map[string]string{"token-env": "TAB"},
			"the environment variable --token-env names holds more than one line, or a control character: a token is one line of text", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := secret(tt.cfg["token-file"], tt.cfg["token-env"], getenv)
			switch {
			case tt.refused && (err == nil || err.Error() != tt.want):
				t.Errorf("got %q, %v; want refused: %q", got, err, tt.want)
			case !tt.refused && (err != nil || got != tt.want):
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "sekr3t") {
				t.Errorf("the refusal repeats the secret: %v", err)
			}
		})
	}
}

// TestAuthForRefuses: a source's credentials are refused, saying which
// flag's file and why but never the name given there (it may be the secret,
// given in the file's place), when a file cannot be read or other users may
// read it; and a SMART token URL that is not https, unless the source and it
// are both on this machine, since the signed client assertion would cross the
// network in clear.
func TestAuthForRefuses(t *testing.T) {
	keys := newTestKeys(t)
	dir := t.TempDir()
	write := func(name string, body []byte, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, body, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	key := write("sekr3t.pem", pkcs8(t, keys.ec), 0o600)
	openKey := write("sekr3t-open.pem", pkcs8(t, keys.ec), 0o604)
	tok := write("sekr3t.tok", []byte("t0ken"), 0o600)
	groupTok := write("sekr3t-group.tok", []byte("t0ken"), 0o640)
	missing := filepath.Join(dir, "sekr3t-missing")
	bearer := func(file string) store.Source {
		return store.Source{BaseURL: "https://gp.example/fhir", AuthKind: store.AuthBearer, AuthConfig: map[string]string{"token-file": file}}
	}
	smart := func(base, tokenURL, keyFile string) store.Source {
		return store.Source{BaseURL: base, AuthKind: store.AuthSMARTBackend,
			AuthConfig: map[string]string{"client-id": "c", "key-id": "k", "token-url": tokenURL, "key-file": keyFile}}
	}
	const httpsOnly = "smart-backend: --token-url must be https: the signed client assertion sent to it would otherwise cross the network unencrypted (http is taken only when the source and the token URL are both on this machine, such as http://localhost)"
	for _, tt := range []struct {
		name string
		src  store.Source
		want string // "" for accepted
	}{
		{"a token file", bearer(tok), ""},
		{"a token file not there", bearer(missing), "bearer token: cannot read the file --token-file names: no such file or directory"},
		{"a token file its group may read", bearer(groupTok), ""},
		{"a token file that is a folder", bearer(dir), "bearer token: cannot read the file --token-file names: it is a folder, not a file"},
		{"a key file", smart("https://gp.example/fhir", "https://gp.example/token", key), ""},
		{"a key file not there", smart("https://gp.example/fhir", "https://gp.example/token", missing), "private key: cannot read the file --key-file names: no such file or directory"},
		{"a key file others may read", smart("https://gp.example/fhir", "https://gp.example/token", openKey), "private key: the file --key-file names can be read by every user of this machine (mode 0604): chmod 600 it, so that only its owner can (or 640, for its group too; for a Kubernetes secret, a defaultMode of 0400)"},
		{"http for an https source", smart("https://gp.example/fhir", "http://gp.example/token", key), httpsOnly},
		{"http elsewhere for a local source", smart("http://localhost:8080/fhir", "http://auth.example/token", key), httpsOnly},
		{"http on this machine for a source elsewhere", smart("http://gp.example/fhir", "http://127.0.0.1:9/token", key), httpsOnly},
		{"http on this machine", smart("http://127.0.0.1:8080/fhir", "http://[::1]:9/token", key), ""},
		{"https for a local source", smart("http://localhost:8080/fhir", "https://auth.example/token", key), ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// As portal source add checks: the credentials, then the files' modes.
			_, err := AuthFor(tt.src, func(string) string { return "" })
			if err == nil {
				err = CheckSecretFiles(tt.src)
			}
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.want != "" && (err == nil || err.Error() != tt.want):
				t.Errorf("got %v\nwant %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "sekr3t") {
				t.Errorf("the refusal repeats the name given: %v", err)
			}
		})
	}
	// A sync is not stopped by a file's mode: a mount may widen it later.
	if _, err := AuthFor(smart("https://gp.example/fhir", "https://gp.example/token", openKey), func(string) string { return "" }); err != nil {
		t.Errorf("a sync with a key file others may read: %v; want it to go on", err)
	}
}

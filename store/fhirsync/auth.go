package fhirsync

import (
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Auth adds credentials to requests. The Client calls it only for requests
// to its own server, so credentials never leave for another host.
type Auth interface {
	Authorize(ctx context.Context, req *http.Request) error
}

// secretHolder is implemented by Auths that hold secrets, so the Client can
// scrub them from anything a server echoes back into an error.
type secretHolder interface {
	secrets() []string
}

// invalidator is implemented by Auths that cache a token, so the Client can
// drop a token the server has just refused (401) and try once with a new one.
// It reports whether token was the one held: a refusal of one already
// replaced drops nothing.
type invalidator interface {
	invalidate(token string) bool
}

// redacted replaces what must never be shown.
const redacted = "[redacted]"

// redact removes each secret from s.
func redact(s string, secrets ...string) string {
	for _, sec := range secrets {
		if len(sec) >= 4 {
			s = strings.ReplaceAll(s, sec, redacted)
		}
	}
	return s
}

// NoAuth returns an Auth that adds nothing, for open servers.
func NoAuth() Auth { return noAuth{} }

type noAuth struct{}

func (noAuth) Authorize(context.Context, *http.Request) error { return nil }

// BearerAuth returns an Auth that sends a static bearer token.
func BearerAuth(token string) Auth { return bearerAuth{token: strings.TrimSpace(token)} }

type bearerAuth struct{ token string }

func (b bearerAuth) Authorize(_ context.Context, req *http.Request) error {
	if b.token == "" {
		return errors.New("the source's bearer token is empty")
	}
	req.Header.Set("Authorization", "Bearer "+b.token)
	return nil
}

func (b bearerAuth) secrets() []string { return []string{b.token} }

// SMARTConfig configures SMART Backend Services authorisation.
type SMARTConfig struct {
	TokenURL      string
	ClientID      string
	Scope         string // e.g. "system/*.rs"
	KeyID         string // the kid the server knows the public key by
	PrivateKeyPEM []byte // PKCS#8, PKCS#1 RSA or SEC1 EC
	Alg           string // "RS384" or "ES384"; default from the key type
	HTTPClient    *http.Client
	Now           func() time.Time
}

// Algorithms SMART Backend Services requires servers to accept.
const (
	AlgRS384 = "RS384"
	AlgES384 = "ES384"
)

// clientAssertionType is the OAuth assertion type of a private_key_jwt.
const clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// assertionLifetime is how long a client assertion is valid; SMART allows at most five minutes.
const assertionLifetime = 5 * time.Minute

// tokenRefreshMargin is how long before expiry a cached token is replaced, so
// a request never reaches the server with a token that expires on the way.
const tokenRefreshMargin = 60 * time.Second

// defaultTokenLifetime is assumed when the token endpoint gives no expires_in.
const defaultTokenLifetime = 5 * time.Minute

// maxTokenLifetime is the longest a token is kept, whatever its expires_in says.
const maxTokenLifetime = 24 * time.Hour

// SMARTBackendAuth returns an Auth for SMART Backend Services: a client_credentials
// grant authenticated with a private_key_jwt client assertion. The access token is
// cached until 60 seconds before it expires. It is safe for concurrent use, and
// neither the key, the assertion nor the token ever appears in its errors.
func SMARTBackendAuth(cfg SMARTConfig) (Auth, error) {
	tu, err := url.Parse(cfg.TokenURL)
	if err != nil || (tu.Scheme != "https" && tu.Scheme != "http") || tu.Host == "" {
		return nil, errors.New("SMART backend auth: the token URL must be an absolute http or https URL")
	}
	if tu.User != nil {
		return nil, errors.New("SMART backend auth: the token URL must not carry a user name or password")
	}
	if strings.TrimSpace(cfg.ClientID) == "" {
		return nil, errors.New("SMART backend auth: the client id is empty")
	}
	key, err := parsePrivateKey(cfg.PrivateKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("SMART backend auth: %w", err)
	}
	alg, err := algFor(key, cfg.Alg)
	if err != nil {
		return nil, fmt.Errorf("SMART backend auth: %w", err)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 20 * time.Second}
	}
	// The signed assertion goes only to the token URL: Go's client would send
	// the form on to wherever a 307 or 308 pointed.
	hc := *cfg.HTTPClient
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		return fmt.Errorf("the token URL redirected to %s; a token request is sent only to the token URL itself", safeURL(req.URL))
	}
	cfg.HTTPClient = &hc
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &smartAuth{cfg: cfg, tokenURL: tu, key: key, alg: alg, lock: make(chan struct{}, 1)}
	return s, nil
}

// smartAuth holds the cached token. lock is a one-slot semaphore rather than a
// mutex so that callers waiting for another's token fetch can give up with their ctx.
type smartAuth struct {
	cfg      SMARTConfig
	tokenURL *url.URL
	key      crypto.Signer
	alg      string
	lock     chan struct{}

	mu        sync.Mutex // guards the fields below
	token     string
	expires   time.Time
	assertion string   // the last one sent, kept only to scrub it from errors
	earlier   []string // the tokens held before, newest last: a request sent with one may still be answered (a review: a 200's words showed it)
}

// keptTokens is how many tokens held before are scrubbed from what servers
// say: a request outlives at most a refresh or two.
const keptTokens = 4

func (s *smartAuth) Authorize(ctx context.Context, req *http.Request) error {
	tok, err := s.accessToken(ctx)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	return nil
}

func (s *smartAuth) secrets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string{s.token, s.assertion}, s.earlier...)
}

// replaced notes the token held until now as one held before (s.mu held).
func (s *smartAuth) replaced() {
	if s.token == "" {
		return
	}
	s.earlier = append(s.earlier, s.token)
	if len(s.earlier) > keptTokens {
		s.earlier = s.earlier[len(s.earlier)-keptTokens:]
	}
}

func (s *smartAuth) invalidate(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token != token || token == "" {
		return false
	}
	s.replaced()
	s.token = ""
	return true
}

// cached returns the token if it is still good for a while.
func (s *smartAuth) cached() (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token != "" && s.cfg.Now().Before(s.expires) {
		return s.token, true
	}
	return "", false
}

func (s *smartAuth) accessToken(ctx context.Context) (string, error) {
	if tok, ok := s.cached(); ok {
		return tok, nil
	}
	select {
	case s.lock <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-s.lock }()
	// Another caller may have fetched one while this one waited.
	if tok, ok := s.cached(); ok {
		return tok, nil
	}
	tok, lifetime, err := s.fetch(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		msg := fmt.Sprintf("SMART backend auth: getting a token from %s: %s", safeURL(s.tokenURL), err)
		var ue *UpstreamError
		if errors.As(err, &ue) {
			// The token endpoint's status is not the FHIR server's: callers
			// read a 404 or 410 as a resource deleted, a 4xx as refused for good.
			return "", &UpstreamError{Message: msg, Retryable: ue.Retryable, cause: ue.cause, retryAfter: ue.retryAfter}
		}
		return "", errors.New(msg)
	}
	margin := min(tokenRefreshMargin, lifetime/2)
	s.mu.Lock()
	s.replaced()
	s.token, s.expires = tok, s.cfg.Now().Add(lifetime-margin)
	s.mu.Unlock()
	return tok, nil
}

// fetch asks the token endpoint for a new access token.
func (s *smartAuth) fetch(ctx context.Context) (string, time.Duration, error) {
	assertion, err := s.newAssertion()
	if err != nil {
		return "", 0, err
	}
	s.mu.Lock()
	s.assertion = assertion
	s.mu.Unlock()
	form := url.Values{
		"grant_type":            {"client_credentials"},
		"scope":                 {s.cfg.Scope},
		"client_assertion_type": {clientAssertionType},
		"client_assertion":      {assertion},
	}
	if s.cfg.Scope == "" {
		form.Del("scope")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, errors.New("could not build the token request")
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		return "", 0, &UpstreamError{Message: "could not reach it: " + redact(networkReason(err), assertion), Retryable: true, cause: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", 0, &UpstreamError{Status: resp.StatusCode, Message: "the answer was cut short", Retryable: true, cause: err}
	}
	if resp.StatusCode != http.StatusOK {
		var oe struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		msg := http.StatusText(resp.StatusCode)
		if json.Unmarshal(body, &oe) == nil && oe.Error != "" {
			msg = oe.Error
			if oe.Description != "" {
				msg += " (" + oe.Description + ")"
			}
		}
		return "", 0, &UpstreamError{Status: resp.StatusCode, Message: clip(redact(msg, assertion)), Retryable: retryableStatus(resp.StatusCode),
			retryAfter: resp.Header.Get("Retry-After")}
	}
	var tr struct {
		AccessToken string          `json:"access_token"`
		TokenType   string          `json:"token_type"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
	}
	if ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); ct != "" && !strings.Contains(ct, "json") {
		return "", 0, &UpstreamError{Status: resp.StatusCode, Message: "the answer is " + clip(ct) + ", not JSON"}
	}
	if err := json.Unmarshal(body, &tr); err != nil {
		return "", 0, &UpstreamError{Status: resp.StatusCode, Message: "the answer is not valid JSON", Retryable: true}
	}
	if tr.AccessToken == "" {
		return "", 0, &UpstreamError{Status: resp.StatusCode, Message: "the answer has no access_token"}
	}
	if tr.TokenType != "" && !strings.EqualFold(tr.TokenType, "bearer") {
		return "", 0, &UpstreamError{Status: resp.StatusCode, Message: fmt.Sprintf("the answer gives a %q token; only bearer tokens are supported", clip(tr.TokenType))}
	}
	lifetime := defaultTokenLifetime
	if len(tr.ExpiresIn) > 0 && string(tr.ExpiresIn) != "null" {
		// Some servers send expires_in as a string.
		var n json.Number
		if err := json.Unmarshal(tr.ExpiresIn, &n); err != nil {
			var str string
			if json.Unmarshal(tr.ExpiresIn, &str) == nil {
				n = json.Number(str)
			}
		}
		secs, err := n.Float64()
		if err != nil || !(secs > 0) || math.IsInf(secs, 1) { // NaN is not > 0 (a review: "NaN" was taken, and no token kept)
			return "", 0, &UpstreamError{Status: resp.StatusCode, Message: "the answer's expires_in is not a positive number"}
		}
		// A day at most: a larger figure would overflow, and no token should be kept longer.
		lifetime = time.Duration(min(secs, maxTokenLifetime.Seconds()) * float64(time.Second))
	}
	return tr.AccessToken, lifetime, nil
}

// newAssertion signs one client assertion JWT.
func (s *smartAuth) newAssertion() (string, error) {
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", errors.New("no randomness for the assertion id")
	}
	now := s.cfg.Now()
	header := map[string]string{"alg": s.alg, "typ": "JWT"}
	if s.cfg.KeyID != "" {
		header["kid"] = s.cfg.KeyID
	}
	claims := map[string]any{
		"iss": s.cfg.ClientID,
		"sub": s.cfg.ClientID,
		"aud": s.cfg.TokenURL,
		"exp": now.Add(assertionLifetime).Unix(),
		"jti": hex.EncodeToString(jti),
	}
	return signJWT(s.key, s.alg, header, claims)
}

// signJWT builds a compact JWS.
func signJWT(key crypto.Signer, alg string, header map[string]string, claims map[string]any) (string, error) {
	h, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	c, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	b64 := base64.RawURLEncoding
	signingInput := b64.EncodeToString(h) + "." + b64.EncodeToString(c)
	digest := sha512.Sum384([]byte(signingInput))
	var sig []byte
	switch alg {
	case AlgRS384:
		k, ok := key.(*rsa.PrivateKey)
		if !ok {
			return "", errors.New("RS384 needs an RSA key")
		}
		sig, err = rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA384, digest[:])
		if err != nil {
			return "", errors.New("could not sign the assertion with the RSA key")
		}
	case AlgES384:
		k, ok := key.(*ecdsa.PrivateKey)
		if !ok {
			return "", errors.New("ES384 needs an EC key")
		}
		r, s, err := ecdsa.Sign(rand.Reader, k, digest[:])
		if err != nil {
			return "", errors.New("could not sign the assertion with the EC key")
		}
		// JWS wants r and s as fixed-width big-endian halves, not ASN.1.
		sig = make([]byte, 96)
		r.FillBytes(sig[:48])
		s.FillBytes(sig[48:])
	default:
		return "", fmt.Errorf("the algorithm %q is not supported", alg)
	}
	return signingInput + "." + b64.EncodeToString(sig), nil
}

// parsePrivateKey reads the first private key in PEM text. Its errors never quote the text.
func parsePrivateKey(data []byte) (crypto.Signer, error) {
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			if len(data) == 0 {
				return nil, errors.New("no private key was given")
			}
			return nil, errors.New("the private key is not PEM text with a PRIVATE KEY block")
		}
		if block.Headers["Proc-Type"] != "" {
			return nil, errors.New("the private key is encrypted; give it unencrypted (keep the file readable only by the portal)")
		}
		var key any
		var err error
		switch block.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		case "ENCRYPTED PRIVATE KEY":
			return nil, errors.New("the private key is encrypted; give it unencrypted (keep the file readable only by the portal)")
		default:
			continue // e.g. EC PARAMETERS before the key, or a certificate beside it
		}
		if err != nil {
			return nil, fmt.Errorf("the %s block could not be read as a key", strings.ToLower(block.Type))
		}
		switch k := key.(type) {
		case *rsa.PrivateKey:
			if k.N.BitLen() < 2048 {
				return nil, fmt.Errorf("the RSA key has %d bits; at least 2048 are needed", k.N.BitLen())
			}
			return k, nil
		case *ecdsa.PrivateKey:
			return k, nil
		default:
			return nil, fmt.Errorf("the key is %s: it must be RSA (for RS384) or EC P-384 (for ES384)", keyKind(key))
		}
	}
}

// keyKind names a kind of private key SMART cannot sign with, as its owner would know it.
func keyKind(key any) string {
	switch key.(type) {
	case ed25519.PrivateKey:
		return "Ed25519"
	case *ecdh.PrivateKey:
		return "an X25519 (ECDH) key, which cannot sign"
	}
	return "of a kind SMART cannot use"
}

// algFor checks the algorithm fits the key, or picks the one that does.
func algFor(key crypto.Signer, alg string) (string, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if alg == "" {
			alg = AlgRS384
		}
		if alg != AlgRS384 {
			return "", fmt.Errorf("the key is RSA, so the algorithm must be RS384, not %q", alg)
		}
	case *ecdsa.PrivateKey:
		if alg == "" {
			alg = AlgES384
		}
		if alg != AlgES384 {
			return "", fmt.Errorf("the key is EC, so the algorithm must be ES384, not %q", alg)
		}
		if k.Curve != elliptic.P384() {
			return "", fmt.Errorf("ES384 needs a P-384 key, not %s", k.Curve.Params().Name)
		}
	default:
		return "", errors.New("the key is neither RSA nor EC")
	}
	return alg, nil
}

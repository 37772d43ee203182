package passkeytest

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

type user struct {
	handle []byte
	creds  []webauthn.Credential
}

func (u *user) WebAuthnID() []byte                         { return u.handle }
func (u *user) WebAuthnName() string                       { return "test" }
func (u *user) WebAuthnDisplayName() string                { return "Test" }
func (u *user) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// The key registers and signs in through go-webauthn, the library the portal
// uses, with user verification required, and a replayed assertion is flagged.
func TestCeremonies(t *testing.T) {
	const origin = "http://localhost:8080"
	wa, err := webauthn.New(&webauthn.Config{RPID: "localhost", RPDisplayName: "Test", RPOrigins: []string{origin}})
	if err != nil {
		t.Fatal(err)
	}
	u := &user{handle: []byte("0123456789abcdef")}
	creation, regData, err := wa.BeginRegistration(u, webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{UserVerification: protocol.VerificationRequired}))
	if err != nil {
		t.Fatal(err)
	}
	opts, _ := json.Marshal(creation)
	key, err := New(origin, "localhost")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := key.Create(opts)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := wa.FinishRegistration(u, *regData, httptest.NewRequest("POST", "/", bytes.NewReader(resp)))
	if err != nil {
		t.Fatalf("registration refused: %v", err)
	}
	u.creds = []webauthn.Credential{*cred}

	assertion, loginData, err := wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		t.Fatal(err)
	}
	opts, _ = json.Marshal(assertion)
	resp, err = key.Get(opts)
	if err != nil {
		t.Fatal(err)
	}
	find := func(rawID, handle []byte) (webauthn.User, error) { return u, nil }
	_, got, err := wa.FinishPasskeyLogin(find, *loginData, httptest.NewRequest("POST", "/", bytes.NewReader(resp)))
	if err != nil {
		t.Fatalf("sign-in refused: %v", err)
	}
	if got.Authenticator.SignCount != 1 || got.Authenticator.CloneWarning {
		t.Fatalf("sign count %d, clone warning %v; want 1, false", got.Authenticator.SignCount, got.Authenticator.CloneWarning)
	}
	u.creds = []webauthn.Credential{*got}

	// The same assertion again: the counter has not moved, so it is flagged.
	// (The portal also keeps each challenge single-use in the session.)
	if _, again, err := wa.FinishPasskeyLogin(find, *loginData, httptest.NewRequest("POST", "/", bytes.NewReader(resp))); err == nil && !again.Authenticator.CloneWarning {
		t.Fatalf("replayed assertion accepted without a clone warning")
	}
}

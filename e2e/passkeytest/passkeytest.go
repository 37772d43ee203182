// Package passkeytest is a software passkey for tests and load generation: an
// ES256 key that answers the portal's WebAuthn options with real attestation
// ("none") and assertion objects, as a browser and authenticator would. Tests
// change its fields to play an attacker: another origin, another RP ID, no user
// verification, a sign count that goes backwards.
package passkeytest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
)

// Authenticator data flags.
const (
	FlagUP = 0x01 // user present
	FlagUV = 0x04 // user verified
	FlagAT = 0x40 // attested credential data included
)

// Key is one software passkey.
type Key struct {
	key        *ecdsa.PrivateKey
	CredID     []byte
	UserHandle []byte // set by Create from the options' user id
	SignCount  uint32 // counted up by each Get
	NoCounter  bool   // always report 0, as synced passkeys (iCloud Keychain, Google Password Manager) do

	// What the next ceremony claims.
	Origin string // clientDataJSON origin, e.g. "http://localhost:8080"
	RPID   string // hashed into the authenticator data, e.g. "localhost"
	Flags  byte   // authenticator data flags; FlagUP|FlagUV from New
}

// New makes a key for the origin and relying party id.
func New(origin, rpID string) (*Key, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	id := make([]byte, 32)
	if _, err := rand.Read(id); err != nil {
		return nil, err
	}
	return &Key{key: key, CredID: id, Origin: origin, RPID: rpID, Flags: FlagUP | FlagUV}, nil
}

var b64 = base64.RawURLEncoding

func (k *Key) clientData(typ, challenge string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": k.Origin, "crossOrigin": false})
	return b
}

func (k *Key) authData(flags byte, attested []byte) []byte {
	rp := sha256.Sum256([]byte(k.RPID))
	var buf bytes.Buffer
	buf.Write(rp[:])
	buf.WriteByte(flags)
	_ = binary.Write(&buf, binary.BigEndian, k.SignCount)
	buf.Write(attested)
	return buf.Bytes()
}

// Create answers navigator.credentials.create() options (the server's JSON,
// {"publicKey": …}) with the body a browser posts back.
func (k *Key) Create(options []byte) ([]byte, error) {
	var opts struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
			User      struct {
				ID string `json:"id"`
			} `json:"user"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(options, &opts); err != nil {
		return nil, fmt.Errorf("creation options %s: %w", options, err)
	}
	handle, err := b64.DecodeString(opts.PublicKey.User.ID)
	if err != nil {
		return nil, fmt.Errorf("user id %q: %w", opts.PublicKey.User.ID, err)
	}
	k.UserHandle = handle
	pad := func(b []byte) []byte { return append(make([]byte, 32-len(b)), b...) }
	cose, err := webauthncbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: pad(k.key.PublicKey.X.Bytes()), -3: pad(k.key.PublicKey.Y.Bytes())})
	if err != nil {
		return nil, err
	}
	var att bytes.Buffer
	att.Write(make([]byte, 16)) // AAGUID: none
	_ = binary.Write(&att, binary.BigEndian, uint16(len(k.CredID)))
	att.Write(k.CredID)
	att.Write(cose)
	obj, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": k.authData(k.Flags|FlagAT, att.Bytes())})
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"id": b64.EncodeToString(k.CredID), "rawId": b64.EncodeToString(k.CredID), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(k.clientData("webauthn.create", opts.PublicKey.Challenge)),
			"attestationObject": b64.EncodeToString(obj),
			"transports":        []string{"internal"},
		},
	})
}

// Get answers navigator.credentials.get() options with the body a browser
// posts back, counting one more use.
func (k *Key) Get(options []byte) ([]byte, error) {
	var opts struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(options, &opts); err != nil {
		return nil, fmt.Errorf("request options %s: %w", options, err)
	}
	if !k.NoCounter {
		k.SignCount++
	}
	auth := k.authData(k.Flags, nil)
	cd := k.clientData("webauthn.get", opts.PublicKey.Challenge)
	h := sha256.Sum256(cd)
	signed := sha256.Sum256(append(append([]byte{}, auth...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, k.key, signed[:])
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"id": b64.EncodeToString(k.CredID), "rawId": b64.EncodeToString(k.CredID), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(cd),
			"authenticatorData": b64.EncodeToString(auth),
			"signature":         b64.EncodeToString(sig),
			"userHandle":        b64.EncodeToString(k.UserHandle),
		},
	})
}

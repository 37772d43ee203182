// Package softkey is a software passkey authenticator for tests and the load
// generator: it answers a relying party's WebAuthn options the way a browser
// and a platform authenticator would (ES256, "none" attestation, user present
// and verified), so that sign-in goes through the portal's real passkey
// ceremony without a browser.
package softkey

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
)

// Key is one discoverable credential held by the software authenticator.
type Key struct {
	ID         []byte
	UserHandle []byte
	RPID       string
	Origin     string // e.g. "http://localhost:8080"
	priv       *ecdsa.PrivateKey
	count      uint32
}

var b64 = base64.RawURLEncoding

// creationOptions is the part of PublicKeyCredentialCreationOptions a key needs.
type creationOptions struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		RP        struct {
			ID string `json:"id"`
		} `json:"rp"`
		User struct {
			ID string `json:"id"`
		} `json:"user"`
	} `json:"publicKey"`
}

// requestOptions is the part of PublicKeyCredentialRequestOptions a key needs.
type requestOptions struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		RPID      string `json:"rpId"`
	} `json:"publicKey"`
}

// Create makes a new credential for the creation options the relying party
// sent (JSON, as from navigator.credentials.create's argument) and returns the
// key and the registration response to send back.
func Create(options []byte, origin string) (*Key, []byte, error) {
	var o creationOptions
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, nil, fmt.Errorf("creation options: %w", err)
	}
	if o.PublicKey.Challenge == "" || o.PublicKey.RP.ID == "" {
		return nil, nil, errors.New("creation options: no challenge or relying party id")
	}
	handle, err := b64.DecodeString(o.PublicKey.User.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("creation options: user id: %w", err)
	}
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	k := &Key{ID: make([]byte, 32), UserHandle: handle, RPID: o.PublicKey.RP.ID, Origin: origin, priv: priv}
	if _, err := rand.Read(k.ID); err != nil {
		return nil, nil, err
	}
	clientData := k.clientData("webauthn.create", o.PublicKey.Challenge)

	// Attested credential data: AAGUID (zero), length-prefixed id, COSE EC2 public key.
	pub, err := priv.PublicKey.ECDH()
	if err != nil {
		return nil, nil, err
	}
	raw := pub.Bytes() // 0x04 || X || Y
	cose := cborMap([][2][]byte{
		{cborInt(1), cborInt(2)},  // kty: EC2
		{cborInt(3), cborInt(-7)}, // alg: ES256
		{cborInt(-1), cborInt(1)}, // crv: P-256
		{cborInt(-2), cborBytes(raw[1:33])},
		{cborInt(-3), cborBytes(raw[33:65])},
	})
	auth := k.authData(flagUP | flagUV | flagAT)
	auth = append(auth, make([]byte, 16)...)
	auth = binary.BigEndian.AppendUint16(auth, uint16(len(k.ID)))
	auth = append(auth, k.ID...)
	auth = append(auth, cose...)
	att := cborMap([][2][]byte{
		{cborText("fmt"), cborText("none")},
		{cborText("attStmt"), cborMap(nil)},
		{cborText("authData"), cborBytes(auth)},
	})
	resp, err := json.Marshal(map[string]any{
		"id": b64.EncodeToString(k.ID), "rawId": b64.EncodeToString(k.ID), "type": "public-key",
		"authenticatorAttachment": "platform",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(clientData),
			"attestationObject": b64.EncodeToString(att),
			"transports":        []string{"internal"},
		},
		"clientExtensionResults": map[string]any{},
	})
	return k, resp, err
}

// Get answers the request options the relying party sent with an assertion
// signed by the key, counting one more use.
func (k *Key) Get(options []byte) ([]byte, error) {
	var o requestOptions
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, fmt.Errorf("request options: %w", err)
	}
	if o.PublicKey.Challenge == "" {
		return nil, errors.New("request options: no challenge")
	}
	if o.PublicKey.RPID != "" && o.PublicKey.RPID != k.RPID {
		return nil, fmt.Errorf("request options: relying party %q, key is for %q", o.PublicKey.RPID, k.RPID)
	}
	k.count++
	clientData := k.clientData("webauthn.get", o.PublicKey.Challenge)
	auth := k.authData(flagUP | flagUV)
	h := sha256.Sum256(clientData)
	digest := sha256.Sum256(append(append([]byte{}, auth...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, k.priv, digest[:])
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"id": b64.EncodeToString(k.ID), "rawId": b64.EncodeToString(k.ID), "type": "public-key",
		"authenticatorAttachment": "platform",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(clientData),
			"authenticatorData": b64.EncodeToString(auth),
			"signature":         b64.EncodeToString(sig),
			"userHandle":        b64.EncodeToString(k.UserHandle),
		},
		"clientExtensionResults": map[string]any{},
	})
}

const (
	flagUP = 0x01 // user present
	flagUV = 0x04 // user verified
	flagAT = 0x40 // attested credential data included
)

func (k *Key) clientData(typ, challenge string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": k.Origin, "crossOrigin": false})
	return b
}

// authData is the RP id hash, the flags and the signature counter.
func (k *Key) authData(flags byte) []byte {
	h := sha256.Sum256([]byte(k.RPID))
	out := append(h[:], flags)
	return binary.BigEndian.AppendUint32(out, k.count)
}

// A little CBOR (RFC 8949): just what an attestation object needs.

func cborHead(major byte, n uint64) []byte {
	switch {
	case n < 24:
		return []byte{major<<5 | byte(n)}
	case n < 1<<8:
		return []byte{major<<5 | 24, byte(n)}
	case n < 1<<16:
		return binary.BigEndian.AppendUint16([]byte{major<<5 | 25}, uint16(n))
	default:
		return binary.BigEndian.AppendUint32([]byte{major<<5 | 26}, uint32(n))
	}
}

func cborInt(v int) []byte {
	if v < 0 {
		return cborHead(1, uint64(-1-v))
	}
	return cborHead(0, uint64(v))
}

func cborBytes(b []byte) []byte { return append(cborHead(2, uint64(len(b))), b...) }
func cborText(s string) []byte  { return append(cborHead(3, uint64(len(s))), s...) }

func cborMap(pairs [][2][]byte) []byte {
	out := cborHead(5, uint64(len(pairs)))
	for _, p := range pairs {
		out = append(append(out, p[0]...), p[1]...)
	}
	return out
}

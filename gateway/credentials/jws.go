package credentials

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// b64 is the unpadded base64url encoding every part of a JWS and an SD-JWT
// uses.
var b64 = base64.RawURLEncoding

// JWK is a public P-256 key as a JSON Web Key (RFC 7517), the only key type
// this package signs or verifies with.
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	Kid string `json:"kid,omitempty"`
	Alg string `json:"alg,omitempty"`
	Use string `json:"use,omitempty"`
}

// PublicJWK returns pub as a JWK without kid.
func PublicJWK(pub *ecdsa.PublicKey) (JWK, error) {
	if pub == nil || pub.Curve != elliptic.P256() {
		return JWK{}, fmt.Errorf("%w: not a P-256 key", ErrKey)
	}
	b, err := pub.Bytes() // 0x04 ‖ X ‖ Y, each 32 bytes
	if err != nil {
		return JWK{}, fmt.Errorf("%w: %v", ErrKey, err)
	}
	return JWK{Kty: "EC", Crv: "P-256", X: b64.EncodeToString(b[1:33]), Y: b64.EncodeToString(b[33:])}, nil
}

// PublicKey parses the JWK back into a P-256 key, checking it is on the
// curve.
func (k JWK) PublicKey() (*ecdsa.PublicKey, error) {
	if k.Kty != "EC" || k.Crv != "P-256" {
		return nil, fmt.Errorf("%w: want an EC P-256 JWK, got kty %q crv %q", ErrKey, k.Kty, k.Crv)
	}
	x, errX := b64.DecodeString(k.X)
	y, errY := b64.DecodeString(k.Y)
	if errX != nil || errY != nil || len(x) != 32 || len(y) != 32 {
		return nil, fmt.Errorf("%w: malformed coordinates", ErrKey)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	return pub, nil
}

// Thumbprint is the RFC 7638 SHA-256 thumbprint of the key, base64url: the
// kid the issuer publishes unless told otherwise, so that it changes with
// the key and never needs bookkeeping.
func (k JWK) Thumbprint() string {
	// RFC 7638: the required members only, in lexicographic order, no spaces.
	s := fmt.Sprintf(`{"crv":%q,"kty":%q,"x":%q,"y":%q}`, k.Crv, k.Kty, k.X, k.Y)
	sum := sha256.Sum256([]byte(s))
	return b64.EncodeToString(sum[:])
}

// signJWS returns the compact ES256 JWS of header and payload.
func signJWS(key *ecdsa.PrivateKey, header, payload any) (string, error) {
	h, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	p, err := json.Marshal(payload)
	if err != nil {
		return "", err
	}
	input := b64.EncodeToString(h) + "." + b64.EncodeToString(p)
	digest := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		return "", err
	}
	// JWS (RFC 7518 §3.4) wants R ‖ S, each left-padded to 32 bytes, not DER.
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + b64.EncodeToString(sig), nil
}

// jws is a parsed compact JWS whose signature has not been checked yet.
type jws struct {
	header  map[string]any
	payload map[string]any
	input   string // header.payload, what the signature covers
	sig     []byte
}

func parseJWS(compact string) (jws, error) {
	parts := strings.Split(compact, ".")
	if len(parts) != 3 {
		return jws{}, fmt.Errorf("%w: a compact JWS has three parts, got %d", ErrMalformed, len(parts))
	}
	var j jws
	if err := decodeJSONPart(parts[0], &j.header); err != nil {
		return jws{}, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	if err := decodeJSONPart(parts[1], &j.payload); err != nil {
		return jws{}, fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil {
		return jws{}, fmt.Errorf("%w: signature: %v", ErrMalformed, err)
	}
	j.input, j.sig = parts[0]+"."+parts[1], sig
	return j, nil
}

func decodeJSONPart(s string, v any) error {
	raw, err := b64.DecodeString(s)
	if err != nil {
		return err
	}
	d := json.NewDecoder(strings.NewReader(string(raw)))
	d.UseNumber() // keep large integers and decimals as the issuer wrote them
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("trailing data")
	}
	return nil
}

// verify checks the ES256 signature and the typ header.
func (j jws) verify(pub *ecdsa.PublicKey, typ string) error {
	if alg, _ := j.header["alg"].(string); alg != "ES256" {
		return fmt.Errorf("%w: alg %q, want ES256", ErrSignature, alg)
	}
	if t, _ := j.header["typ"].(string); t != typ {
		return fmt.Errorf("%w: typ %q, want %q", ErrMalformed, t, typ)
	}
	if len(j.sig) != 64 {
		return fmt.Errorf("%w: ES256 signature of %d bytes", ErrSignature, len(j.sig))
	}
	digest := sha256.Sum256([]byte(j.input))
	r, s := new(big.Int).SetBytes(j.sig[:32]), new(big.Int).SetBytes(j.sig[32:])
	if !ecdsa.Verify(pub, digest[:], r, s) {
		return ErrSignature
	}
	return nil
}

// Package keys derives the gateway's local secrets from one root secret: the
// keyed hash that turns a citizen's document number into a stable subject
// key, and the AEAD that seals personal data at rest (sessions, identities,
// facts). In production the root secret comes from Vault or the environment;
// in development from a generated key file.
package keys

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
)

// Keys holds derived keys. It is safe for concurrent use.
type Keys struct {
	subject []byte
	aead    cipher.AEAD
}

// ErrOpen is returned when sealed data does not authenticate.
var ErrOpen = errors.New("keys: sealed data does not authenticate")

// New derives the keys from a root secret of at least 32 bytes.
func New(root []byte) (*Keys, error) {
	if len(root) < 32 {
		return nil, fmt.Errorf("keys: root secret must be at least 32 bytes, got %d", len(root))
	}
	subj, err := hkdf.Key(sha256.New, root, nil, "obert subject key v1", 32)
	if err != nil {
		return nil, err
	}
	enc, err := hkdf.Key(sha256.New, root, nil, "obert sealing key v1", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(enc)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Keys{subject: subj, aead: aead}, nil
}

// Subject returns the stable pseudonymous key of a document number: hex of
// HMAC-SHA-256. It is what every store and log records instead of the number.
func (k *Keys) Subject(docNumber string) string {
	m := hmac.New(sha256.New, k.subject)
	io.WriteString(m, docNumber)
	return hex.EncodeToString(m.Sum(nil))
}

// Seal encrypts and authenticates plaintext, binding it to context (for
// example a table and row id) so a sealed value cannot be moved elsewhere.
func (k *Keys) Seal(plaintext, context []byte) []byte {
	nonce := make([]byte, k.aead.NonceSize())
	rand.Read(nonce)
	return k.aead.Seal(nonce, nonce, plaintext, context)
}

// Open reverses Seal with the same context.
func (k *Keys) Open(sealed, context []byte) ([]byte, error) {
	n := k.aead.NonceSize()
	if len(sealed) < n+k.aead.Overhead() {
		return nil, ErrOpen
	}
	pt, err := k.aead.Open(nil, sealed[:n], sealed[n:], context)
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

package scsp

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
)

// What makes a Signer's RSA signatures (NewSigner). Every SCSP request
// carries one RSA-SHA256 signature, PKCS #1 v1.5 with a 2048-bit key or
// more, and it is the largest cost of an exchange: Go's crypto/rsa takes
// about 1 ms for it on x86-64, the system's libcrypto (OpenSSL 3) about a
// quarter of that. PKCS #1 v1.5 is deterministic, so both give the same
// bytes for the same key and digest (TestLibcryptoSignsAsGo).
const (
	// RSAAuto signs through libcrypto when this build and machine have
	// it, and through crypto/rsa otherwise.
	RSAAuto = "auto"
	// RSALibcrypto signs through libcrypto, or fails to build a Signer.
	RSALibcrypto = "libcrypto"
	// RSAGo signs through crypto/rsa.
	RSAGo = "go"
)

// ErrNoLibcrypto is returned by NewSigner for RSALibcrypto when the
// system's libcrypto cannot be used: a build without cgo, or a machine
// without libcrypto.so.
var ErrNoLibcrypto = errors.New("scsp: libcrypto is not available")

var errMultiPrime = errors.New("the key has more than two primes")

// pkcs1Signer signs a SHA-256 digest with RSASSA-PKCS1-v1_5.
type pkcs1Signer interface {
	signSHA256(digest []byte) ([]byte, error)
	name() string
}

// goRSA signs through crypto/rsa.
type goRSA struct{ key *rsa.PrivateKey }

func (g goRSA) signSHA256(digest []byte) ([]byte, error) {
	return rsa.SignPKCS1v15(rand.Reader, g.key, crypto.SHA256, digest)
}

func (goRSA) name() string { return RSAGo }

// NewSigner returns a Signer of key and cert whose signatures are made as
// impl says (RSAAuto, RSALibcrypto or RSAGo; empty is RSAAuto). The key is
// given to libcrypto once, here: build a Signer once per key, not per
// request. A Signer made as a literal signs through crypto/rsa.
func NewSigner(key *rsa.PrivateKey, cert *x509.Certificate, impl string) (Signer, error) {
	if key == nil || cert == nil {
		return Signer{}, errors.New("scsp: a signer needs a key and its certificate")
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return Signer{}, errors.New("scsp: the certificate is not the key's")
	}
	s := Signer{Key: key, Cert: cert}
	switch impl {
	case RSAGo:
		return s, nil
	case RSAAuto, "", RSALibcrypto:
		k, err := libcryptoKey(key)
		if err == nil {
			s.rsa = k
			return s, nil
		}
		if impl == RSALibcrypto {
			return Signer{}, fmt.Errorf("%w: %v", ErrNoLibcrypto, err)
		}
		return s, nil
	}
	return Signer{}, fmt.Errorf("scsp: RSA implementation %q is not auto, libcrypto or go", impl)
}

// RSA names what makes s's signatures: RSALibcrypto or RSAGo.
func (s Signer) RSA() string { return s.pkcs1().name() }

func (s Signer) pkcs1() pkcs1Signer {
	if s.rsa != nil {
		return s.rsa
	}
	return goRSA{s.Key}
}

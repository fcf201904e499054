package gateway

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/obert-gov/obert/connectors/scsp"
)

// devFile returns the content of a development key file, creating it with
// make on first use. Only dev mode calls it.
func devFile(path string, make func() (string, error)) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	v, err := make()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	return v, os.WriteFile(path, []byte(v+"\n"), 0o600)
}

func newHexSecret() (string, error) {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b), nil
}

func newNoteKey(name string) func() (string, error) {
	return func() (string, error) {
		skey, _, err := note.GenerateKey(rand.Reader, name)
		return skey, err
	}
}

// verifierKeyOf derives the public verifier key from a note signer key
// ("PRIVATE+KEY+name+hash+base64(alg‖seed)").
func verifierKeyOf(skey string) (string, error) {
	parts := strings.SplitN(skey, "+", 5)
	if len(parts) != 5 || parts[0] != "PRIVATE" || parts[1] != "KEY" {
		return "", fmt.Errorf("audit signing key is not a note signer key")
	}
	raw, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != 1 {
		return "", fmt.Errorf("audit signing key is not an Ed25519 note key")
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	return note.NewEd25519VerifierKey(parts[2], pub)
}

// devKeyPair returns the development RSA key and certificate stored at
// base+".key.pem" and base+".cert.pem", creating them on first use.
func devKeyPair(base, commonName string) (*rsa.PrivateKey, *x509.Certificate, error) {
	key, cert, err := keyPairFiles(base+".key.pem", base+".cert.pem")
	if err == nil {
		return key, cert, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, nil, err
	}
	key, cert, err = scsp.NewSelfSigned(commonName, time.Now())
	if err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(filepath.Dir(base), 0o700); err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(base+".key.pem", scsp.KeyPEM(key), 0o600); err != nil {
		return nil, nil, err
	}
	return key, cert, os.WriteFile(base+".cert.pem", scsp.CertPEM(cert), 0o644)
}

// keyPairFiles reads a PEM RSA key and its PEM certificate.
func keyPairFiles(keyFile, certFile string) (*rsa.PrivateKey, *x509.Certificate, error) {
	kb, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, nil, err
	}
	key, err := scsp.ParseKeyPEM(kb)
	if err != nil {
		return nil, nil, err
	}
	cert, err := readCert(certFile)
	if err != nil {
		return nil, nil, err
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, nil, fmt.Errorf("%s is not the certificate of %s", certFile, keyFile)
	}
	return key, cert, nil
}

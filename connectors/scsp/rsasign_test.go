package scsp

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"os"
	"testing"
)

// libcryptoSigner is s's key made a Signer through libcrypto; the test is
// skipped where libcrypto cannot be loaded, unless OBERT_REQUIRE_LIBCRYPTO
// says this machine has it (make test).
func libcryptoSigner(t *testing.T, key *rsa.PrivateKey, cert *x509.Certificate) Signer {
	t.Helper()
	s, err := NewSigner(key, cert, RSALibcrypto)
	if errors.Is(err, ErrNoLibcrypto) && os.Getenv("OBERT_REQUIRE_LIBCRYPTO") == "" {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if s.RSA() != RSALibcrypto {
		t.Fatalf("signs through %s", s.RSA())
	}
	return s
}

// TestLibcryptoSignsAsGo holds the libcrypto signer to crypto/rsa: RSASSA-
// PKCS1-v1_5 is deterministic, so for every key and digest the two must
// give the same bytes.
func TestLibcryptoSignsAsGo(t *testing.T) {
	k0, c0, err := NewSelfSigned("libcrypto", now)
	if err != nil {
		t.Fatal(err)
	}
	type pair struct {
		key  *rsa.PrivateKey
		cert *x509.Certificate
	}
	keys := []pair{{k0, c0}}
	for _, bits := range []int{2048, 3072} {
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, pair{k, &x509.Certificate{PublicKey: &k.PublicKey}})
	}
	// A key as PEM gives it, and one whose CRT values were never worked
	// out: the signer computes them without writing the caller's key.
	bare := &rsa.PrivateKey{PublicKey: keys[1].key.PublicKey, D: keys[1].key.D, Primes: keys[1].key.Primes}
	keys = append(keys, pair{bare, keys[1].cert})
	digests := [][]byte{make([]byte, 32), bytes.Repeat([]byte{0xff}, 32)}
	for range 300 {
		d := make([]byte, 32)
		rand.Read(d)
		digests = append(digests, d)
	}
	for i, p := range keys {
		s := libcryptoSigner(t, p.key, p.cert)
		g := goRSA{p.key}
		for _, d := range digests {
			want, err := g.signSHA256(d)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.pkcs1().signSHA256(d)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("key %d (%d bits), digest %x: libcrypto and crypto/rsa differ", i, p.key.N.BitLen(), d)
			}
		}
	}
	if bare.Precomputed.Dp != nil {
		t.Fatal("the signer wrote the caller's key")
	}
}

// TestLibcryptoEnvelope: an envelope signed through libcrypto verifies
// like any other, and its body is the one given.
func TestLibcryptoEnvelope(t *testing.T) {
	_, lit := signed(t)
	s := libcryptoSigner(t, lit.Key, lit.Cert)
	env, err := s.Envelope([]byte(`<Peticion xmlns="urn:x"><Atributos>A</Atributos></Peticion>`), now)
	if err != nil {
		t.Fatal(err)
	}
	msg, cert, err := VerifyPayload(env, []*x509.Certificate{lit.Cert})
	if err != nil || cert != lit.Cert || msg.Name.Local != "Peticion" {
		t.Fatalf("verified %v by %v: %v", msg.Name, cert, err)
	}
}

func TestNewSigner(t *testing.T) {
	k, c, err := NewSelfSigned("signer", now)
	if err != nil {
		t.Fatal(err)
	}
	_, other, _ := NewSelfSigned("other", now)
	if _, err := NewSigner(k, other, RSAAuto); err == nil {
		t.Error("a certificate of another key was taken")
	}
	if _, err := NewSigner(k, nil, RSAAuto); err == nil {
		t.Error("a signer without a certificate was made")
	}
	if _, err := NewSigner(k, c, "openssl"); err == nil {
		t.Error("an unknown implementation was taken")
	}
	s, err := NewSigner(k, c, RSAGo)
	if err != nil || s.RSA() != RSAGo {
		t.Fatalf("go: %s, %v", s.RSA(), err)
	}
	if (Signer{Key: k, Cert: c}).RSA() != RSAGo {
		t.Error("a literal Signer does not sign through crypto/rsa")
	}
	// Auto is libcrypto where RSALibcrypto succeeds, Go where it fails.
	auto, err := NewSigner(k, c, RSAAuto)
	if err != nil {
		t.Fatal(err)
	}
	_, lerr := NewSigner(k, c, RSALibcrypto)
	if want := map[bool]string{true: RSALibcrypto, false: RSAGo}[lerr == nil]; auto.RSA() != want {
		t.Errorf("auto signs through %s, want %s (libcrypto: %v)", auto.RSA(), want, lerr)
	}
}

func BenchmarkSign(b *testing.B) {
	k, c, err := NewSelfSigned("bench", now)
	if err != nil {
		b.Fatal(err)
	}
	d := make([]byte, 32)
	for _, impl := range []string{RSAGo, RSALibcrypto} {
		b.Run(impl, func(b *testing.B) {
			s, err := NewSigner(k, c, impl)
			if err != nil {
				b.Skip(err)
			}
			for b.Loop() {
				if _, err := s.pkcs1().signSHA256(d); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

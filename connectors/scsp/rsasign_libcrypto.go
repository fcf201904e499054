//go:build cgo && linux && !android

package scsp

import (
	"crypto"
	"crypto/rsa"
	"math/big"

	"github.com/microsoft/go-crypto-openssl/openssl"
	"github.com/microsoft/go-crypto-openssl/openssl/bbig"
)

// libcryptoRSA signs through the system's libcrypto, loaded at run time
// (dlopen of libcrypto.so.3, or 1.1): the binary does not link OpenSSL,
// and a machine without it signs through crypto/rsa (RSAAuto).
type libcryptoRSA struct{ key *openssl.PrivateKeyRSA }

func libcryptoKey(k *rsa.PrivateKey) (pkcs1Signer, error) {
	if err := openssl.Init(); err != nil {
		return nil, err
	}
	if len(k.Primes) != 2 {
		return nil, errMultiPrime
	}
	if k.Precomputed.Dp == nil {
		c := *k // Precompute writes the key, which others may be using
		c.Precompute()
		k = &c
	}
	pre := k.Precomputed
	key, err := openssl.NewPrivateKeyRSA(bbig.Enc(k.N), bbig.Enc(big.NewInt(int64(k.E))), bbig.Enc(k.D),
		bbig.Enc(k.Primes[0]), bbig.Enc(k.Primes[1]), bbig.Enc(pre.Dp), bbig.Enc(pre.Dq), bbig.Enc(pre.Qinv))
	if err != nil {
		return nil, err
	}
	return libcryptoRSA{key}, nil
}

func (l libcryptoRSA) signSHA256(digest []byte) ([]byte, error) {
	return openssl.SignRSAPKCS1v15(l.key, crypto.SHA256, digest)
}

func (libcryptoRSA) name() string { return RSALibcrypto }

//go:build !(cgo && linux && !android)

package scsp

import (
	"crypto/rsa"
	"errors"
)

// libcryptoKey is unavailable in a build without cgo: every Signer signs
// through crypto/rsa.
func libcryptoKey(*rsa.PrivateKey) (pkcs1Signer, error) {
	return nil, errors.New("this build has no cgo")
}

package credentials

import (
	"crypto/ecdsa"
	"fmt"
	"slices"
	"time"
)

// KeyBinding is what a holder adds to a presentation of a credential bound
// to its key: proof that it holds the key, for one verifier (Audience) and
// one request (Nonce).
type KeyBinding struct {
	Key      *ecdsa.PrivateKey
	Audience string
	Nonce    string
	IssuedAt time.Time
}

// Present is the holder's side: it returns the credential with only the
// disclosures of the named claims (the others are dropped, so the verifier
// learns nothing of them but their count), and, when kb is given, a Key
// Binding JWT over exactly that presentation. Naming a claim the credential
// does not hold is ErrClaims; a key binding for a credential without cnf,
// or with another key in it, is ErrKeyBinding.
func Present(credential string, names []string, kb *KeyBinding) (string, error) {
	s, err := Split(credential)
	if err != nil {
		return "", err
	}
	j, err := parseJWS(s.JWT)
	if err != nil {
		return "", err
	}
	kept := s.Disclosures[:0:0]
	found := map[string]bool{}
	for _, enc := range s.Disclosures {
		d, err := ParseDisclosure(enc)
		if err != nil {
			return "", err
		}
		if slices.Contains(names, d.Name) {
			kept = append(kept, enc)
			found[d.Name] = true
		}
	}
	for _, n := range names {
		if !found[n] {
			return "", fmt.Errorf("%w: the credential holds no disclosable claim %q", ErrClaims, n)
		}
	}
	p := SDJWT{JWT: s.JWT, Disclosures: kept}
	if kb == nil {
		return p.String(), nil
	}
	holder, err := cnfKey(j.payload)
	if err != nil {
		return "", err
	}
	if kb.Key == nil || !holder.Equal(&kb.Key.PublicKey) {
		return "", fmt.Errorf("%w: the key is not the one the credential is bound to", ErrKeyBinding)
	}
	if kb.Audience == "" || kb.Nonce == "" {
		return "", fmt.Errorf("%w: audience and nonce are required", ErrKeyBinding)
	}
	iat := kb.IssuedAt
	if iat.IsZero() {
		iat = time.Now()
	}
	p.KeyBinding, err = signJWS(kb.Key,
		map[string]any{"alg": "ES256", "typ": typKB},
		map[string]any{"iat": iat.Unix(), "aud": kb.Audience, "nonce": kb.Nonce, "sd_hash": digest(p.withoutKB())})
	if err != nil {
		return "", err
	}
	return p.String(), nil
}

// cnfKey reads cnf.jwk from an SD-JWT payload.
func cnfKey(payload map[string]any) (*ecdsa.PublicKey, error) {
	cnf, ok := payload["cnf"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: the credential is not bound to a key (no cnf)", ErrKeyBinding)
	}
	var k JWK
	if err := remarshal(cnf["jwk"], &k); err != nil {
		return nil, fmt.Errorf("%w: cnf.jwk: %v", ErrKeyBinding, err)
	}
	pub, err := k.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("%w: cnf.jwk: %v", ErrKeyBinding, err)
	}
	return pub, nil
}

package credentials

import (
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// VerifyOptions says what a verifier expects of a presentation.
type VerifyOptions struct {
	IssuerKey *ecdsa.PublicKey // required
	Issuer    string           // when set, iss must equal it
	Now       time.Time        // default time.Now()
	// Audience and Nonce, when set, require a Key Binding JWT for them.
	Audience string
	Nonce    string
	// MaxKBAge bounds how old the Key Binding JWT's iat may be; default 5
	// minutes.
	MaxKBAge time.Duration
}

// StatusRef points at a credential's entry in a status list.
type StatusRef struct {
	Index int64
	URI   string
}

// Verified is what a verifier learns from a valid presentation.
type Verified struct {
	Issuer   string
	VCT      string
	IssuedAt time.Time
	Expires  time.Time
	Claims   map[string]any // the disclosed claims only
	Status   *StatusRef     // nil when the credential carries none
	Holder   *JWK           // cnf.jwk, nil when not bound to a key
	KeyBound bool           // a Key Binding JWT was verified
}

// Verify checks a presentation (or a whole credential) per RFC 9901 §7: the
// issuer's ES256 signature over a dc+sd-jwt, every disclosure committed to
// in _sd exactly once, the validity period, and the Key Binding JWT when
// one is present or asked for. It does not fetch the status list: check
// Verified.Status with VerifyStatusListJWT.
func Verify(presentation string, opts VerifyOptions) (Verified, error) {
	if opts.IssuerKey == nil {
		return Verified{}, fmt.Errorf("%w: no issuer key", ErrKey)
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	s, err := Split(presentation)
	if err != nil {
		return Verified{}, err
	}
	j, err := parseJWS(s.JWT)
	if err != nil {
		return Verified{}, err
	}
	if err := j.verify(opts.IssuerKey, typSDJWTVC); err != nil {
		return Verified{}, err
	}
	var v Verified
	var c struct {
		Iss    string         `json:"iss"`
		Iat    int64          `json:"iat"`
		Exp    int64          `json:"exp"`
		Nbf    int64          `json:"nbf"`
		VCT    string         `json:"vct"`
		SD     []string       `json:"_sd"`
		SDAlg  string         `json:"_sd_alg"`
		Status map[string]any `json:"status"`
	}
	if err := remarshal(j.payload, &c); err != nil {
		return Verified{}, fmt.Errorf("%w: claims: %v", ErrMalformed, err)
	}
	if c.SDAlg != sdAlg {
		return Verified{}, fmt.Errorf("%w: _sd_alg %q", ErrMalformed, c.SDAlg)
	}
	if c.Iss == "" || c.VCT == "" {
		return Verified{}, fmt.Errorf("%w: iss and vct are required", ErrMalformed)
	}
	if opts.Issuer != "" && c.Iss != opts.Issuer {
		return Verified{}, fmt.Errorf("%w: iss %q, want %q", ErrMalformed, c.Iss, opts.Issuer)
	}
	if c.Exp != 0 && now.Unix() >= c.Exp || c.Nbf != 0 && now.Unix() < c.Nbf {
		return Verified{}, ErrExpired
	}
	v.Issuer, v.VCT = c.Iss, c.VCT
	v.IssuedAt, v.Expires = time.Unix(c.Iat, 0), time.Unix(c.Exp, 0)

	v.Claims = map[string]any{}
	seen := map[string]bool{}
	for _, enc := range s.Disclosures {
		d, err := ParseDisclosure(enc)
		if err != nil {
			return Verified{}, err
		}
		dg := d.Digest()
		// A disclosure the issuer did not sign, or one sent twice, is a
		// forgery or a mistake; either way the presentation is refused.
		if !slices.Contains(c.SD, dg) || seen[dg] {
			return Verified{}, fmt.Errorf("%w: %q", ErrDisclosure, d.Name)
		}
		seen[dg] = true
		_, clash := j.payload[d.Name]
		if _, twice := v.Claims[d.Name]; clash || twice {
			return Verified{}, fmt.Errorf("%w: claim %q disclosed twice", ErrDisclosure, d.Name)
		}
		v.Claims[d.Name] = plain(d.Value)
	}

	if sl, ok := c.Status["status_list"].(map[string]any); ok {
		var ref struct {
			Idx *int64 `json:"idx"`
			URI string `json:"uri"`
		}
		if err := remarshal(sl, &ref); err != nil || ref.Idx == nil || ref.URI == "" {
			return Verified{}, fmt.Errorf("%w: status.status_list", ErrMalformed)
		}
		v.Status = &StatusRef{Index: *ref.Idx, URI: ref.URI}
	}

	if _, bound := j.payload["cnf"]; bound {
		holder, err := cnfKey(j.payload)
		if err != nil {
			return Verified{}, err
		}
		hk, _ := PublicJWK(holder)
		v.Holder = &hk
		if s.KeyBinding != "" || opts.Nonce != "" || opts.Audience != "" {
			if err := verifyKB(s, holder, opts, now); err != nil {
				return Verified{}, err
			}
			v.KeyBound = true
		}
	} else if s.KeyBinding != "" || opts.Nonce != "" || opts.Audience != "" {
		return Verified{}, fmt.Errorf("%w: the credential is not bound to a key", ErrKeyBinding)
	}
	return v, nil
}

func verifyKB(s SDJWT, holder *ecdsa.PublicKey, opts VerifyOptions, now time.Time) error {
	if s.KeyBinding == "" {
		return fmt.Errorf("%w: no Key Binding JWT", ErrKeyBinding)
	}
	j, err := parseJWS(s.KeyBinding)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrKeyBinding, err)
	}
	if err := j.verify(holder, typKB); err != nil {
		return fmt.Errorf("%w: %v", ErrKeyBinding, err)
	}
	var c struct {
		Iat    int64  `json:"iat"`
		Aud    string `json:"aud"`
		Nonce  string `json:"nonce"`
		SDHash string `json:"sd_hash"`
	}
	if err := remarshal(j.payload, &c); err != nil {
		return fmt.Errorf("%w: claims: %v", ErrKeyBinding, err)
	}
	if c.SDHash != digest(s.withoutKB()) {
		return fmt.Errorf("%w: sd_hash does not match the presentation", ErrKeyBinding)
	}
	if opts.Audience != "" && c.Aud != opts.Audience || opts.Nonce != "" && c.Nonce != opts.Nonce {
		return fmt.Errorf("%w: aud or nonce", ErrKeyBinding)
	}
	maxAge := opts.MaxKBAge
	if maxAge == 0 {
		maxAge = 5 * time.Minute
	}
	iat := time.Unix(c.Iat, 0)
	if c.Iat == 0 || iat.After(now.Add(time.Minute)) || now.Sub(iat) > maxAge {
		return fmt.Errorf("%w: iat out of range", ErrKeyBinding)
	}
	return nil
}

// plain turns json.Number back into int64 or float64 so that callers see
// ordinary Go values.
func plain(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = plain(e)
		}
	case []any:
		for i, e := range x {
			x[i] = plain(e)
		}
	}
	return v
}

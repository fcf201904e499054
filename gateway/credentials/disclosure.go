package credentials

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Disclosure is one selectively disclosable object property (RFC 9901
// §4.2.1): the array [salt, name, value], base64url-encoded as Encoded. Its
// Digest is what the issuer signs in _sd.
type Disclosure struct {
	Salt    string
	Name    string
	Value   any
	Encoded string
}

// newDisclosure draws a 128-bit salt from rnd, as RFC 9901 §9.3 recommends,
// so that a digest reveals nothing of a value that is easy to guess (a
// postcode, "true").
func newDisclosure(rnd io.Reader, name string, value any) (Disclosure, error) {
	salt := make([]byte, 16)
	if _, err := io.ReadFull(rnd, salt); err != nil {
		return Disclosure{}, fmt.Errorf("credentials: salt: %w", err)
	}
	d := Disclosure{Salt: b64.EncodeToString(salt), Name: name, Value: value}
	raw, err := json.Marshal([]any{d.Salt, d.Name, d.Value})
	if err != nil {
		return Disclosure{}, fmt.Errorf("%w: claim %q: %v", ErrClaims, name, err)
	}
	d.Encoded = b64.EncodeToString(raw)
	return d, nil
}

// ParseDisclosure decodes an encoded disclosure of an object property. Array
// element disclosures (two elements) are refused: this issuer never writes
// them.
func ParseDisclosure(encoded string) (Disclosure, error) {
	var arr []any
	if err := decodeJSONPart(encoded, &arr); err != nil {
		return Disclosure{}, fmt.Errorf("%w: disclosure: %v", ErrMalformed, err)
	}
	if len(arr) != 3 {
		return Disclosure{}, fmt.Errorf("%w: disclosure of %d elements, want [salt, name, value]", ErrMalformed, len(arr))
	}
	salt, ok1 := arr[0].(string)
	name, ok2 := arr[1].(string)
	if !ok1 || !ok2 {
		return Disclosure{}, fmt.Errorf("%w: disclosure salt and name must be strings", ErrMalformed)
	}
	if name == "_sd" || name == "..." {
		return Disclosure{}, fmt.Errorf("%w: disclosure of reserved name %q", ErrMalformed, name)
	}
	return Disclosure{Salt: salt, Name: name, Value: arr[2], Encoded: encoded}, nil
}

// Digest is base64url(SHA-256(ASCII(Encoded))), the _sd entry (RFC 9901
// §4.2.3): over the encoded string as sent, never a re-encoding of it.
func (d Disclosure) Digest() string { return digest(d.Encoded) }

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return b64.EncodeToString(sum[:])
}

// SDJWT is a compact SD-JWT split into its parts: the issuer-signed JWT,
// the disclosures as sent, and the Key Binding JWT if any.
type SDJWT struct {
	JWT         string
	Disclosures []string
	KeyBinding  string
}

// Split parses the compact serialisation <jwt>~<d1>~…~<dn>~[<kb-jwt>]
// (RFC 9901 §4). It checks the shape only, not signatures.
func Split(compact string) (SDJWT, error) {
	parts := strings.Split(compact, "~")
	if len(parts) < 2 || parts[0] == "" {
		return SDJWT{}, fmt.Errorf("%w: not an SD-JWT (no '~')", ErrMalformed)
	}
	s := SDJWT{JWT: parts[0], KeyBinding: parts[len(parts)-1]}
	for _, d := range parts[1 : len(parts)-1] {
		if d == "" {
			return SDJWT{}, fmt.Errorf("%w: empty disclosure", ErrMalformed)
		}
		s.Disclosures = append(s.Disclosures, d)
	}
	return s, nil
}

// withoutKB is the SD-JWT up to and including the last '~', the input of
// the Key Binding JWT's sd_hash (RFC 9901 §4.3.1).
func (s SDJWT) withoutKB() string {
	var b strings.Builder
	b.WriteString(s.JWT)
	b.WriteByte('~')
	for _, d := range s.Disclosures {
		b.WriteString(d)
		b.WriteByte('~')
	}
	return b.String()
}

// String is the compact serialisation.
func (s SDJWT) String() string { return s.withoutKB() + s.KeyBinding }

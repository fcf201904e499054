package credentials

import (
	"bytes"
	"compress/zlib"
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// Status values of the Token Status List draft; with one bit per entry
// only these two exist.
const (
	StatusValid   byte = 0x00
	StatusInvalid byte = 0x01 // revoked
)

// maxStatusListBytes bounds what a decoder inflates, so that a hostile lst
// of a few bytes cannot ask for gigabytes.
const maxStatusListBytes = 1 << 24

// StatusList is a Token Status List: one entry of Bits bits per credential,
// entry i in byte i*Bits/8, least significant bits first (draft §4.1).
type StatusList struct {
	bits int
	size int
	data []byte
}

// NewStatusList returns a list of size one-bit entries, all valid. The draft
// advises lists of at least 16 KiB so that an index hides in a crowd.
func NewStatusList(size int) (*StatusList, error) {
	if size <= 0 {
		return nil, fmt.Errorf("%w: status list size %d", ErrMalformed, size)
	}
	return &StatusList{bits: 1, size: size, data: make([]byte, (size+7)/8)}, nil
}

// Len is the number of entries.
func (l *StatusList) Len() int { return l.size }

// Bits is the number of bits per entry.
func (l *StatusList) Bits() int { return l.bits }

// Get returns the status of entry idx.
func (l *StatusList) Get(idx int) (byte, error) {
	if idx < 0 || idx >= l.size {
		return 0, fmt.Errorf("%w: index %d of a list of %d", ErrNotFound, idx, l.size)
	}
	per := 8 / l.bits
	shift := (idx % per) * l.bits
	return (l.data[idx/per] >> shift) & byte(1<<l.bits-1), nil
}

// Set sets the status of entry idx.
func (l *StatusList) Set(idx int, status byte) error {
	if idx < 0 || idx >= l.size {
		return fmt.Errorf("%w: index %d of a list of %d", ErrNotFound, idx, l.size)
	}
	mask := byte(1<<l.bits - 1)
	if status&^mask != 0 {
		return fmt.Errorf("%w: status %d does not fit in %d bits", ErrMalformed, status, l.bits)
	}
	per := 8 / l.bits
	shift := (idx % per) * l.bits
	b := &l.data[idx/per]
	*b = *b&^(mask<<shift) | status<<shift
	return nil
}

// Encode returns lst: the entries ZLIB-compressed (RFC 1950) at the best
// level, base64url without padding.
func (l *StatusList) Encode() (string, error) {
	var buf bytes.Buffer
	w, err := zlib.NewWriterLevel(&buf, zlib.BestCompression)
	if err != nil {
		return "", err
	}
	if _, err := w.Write(l.data); err != nil {
		return "", err
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	return b64.EncodeToString(buf.Bytes()), nil
}

// DecodeStatusList reverses Encode for any of the draft's widths (1, 2, 4
// or 8 bits). The list's length is what the bytes hold: the format does
// not carry the issuer's count.
func DecodeStatusList(lst string, bits int) (*StatusList, error) {
	switch bits {
	case 1, 2, 4, 8:
	default:
		return nil, fmt.Errorf("%w: status list bits %d", ErrMalformed, bits)
	}
	raw, err := b64.DecodeString(lst)
	if err != nil {
		return nil, fmt.Errorf("%w: lst: %v", ErrMalformed, err)
	}
	r, err := zlib.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%w: lst: %v", ErrMalformed, err)
	}
	data, err := io.ReadAll(io.LimitReader(r, maxStatusListBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: lst: %v", ErrMalformed, err)
	}
	if len(data) > maxStatusListBytes {
		return nil, fmt.Errorf("%w: lst inflates beyond %d bytes", ErrMalformed, maxStatusListBytes)
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: empty status list", ErrMalformed)
	}
	return &StatusList{bits: bits, size: len(data) * 8 / bits, data: data}, nil
}

// statusListClaims is the payload of a statuslist+jwt (draft §5.1).
type statusListClaims struct {
	Sub        string        `json:"sub"`
	Iat        int64         `json:"iat"`
	Exp        int64         `json:"exp,omitempty"`
	TTL        int64         `json:"ttl,omitempty"`
	StatusList statusListRef `json:"status_list"`
}

type statusListRef struct {
	Bits int    `json:"bits"`
	Lst  string `json:"lst"`
}

// VerifyStatusListJWT checks a statuslist+jwt signed by pub for the list at
// uri (its sub) and not expired at now, and returns the list.
func VerifyStatusListJWT(token string, pub *ecdsa.PublicKey, uri string, now time.Time) (*StatusList, error) {
	j, err := parseJWS(token)
	if err != nil {
		return nil, err
	}
	if err := j.verify(pub, typStatusList); err != nil {
		return nil, err
	}
	var c statusListClaims
	if err := remarshal(j.payload, &c); err != nil {
		return nil, fmt.Errorf("%w: status list claims: %v", ErrMalformed, err)
	}
	if c.Sub != uri {
		return nil, fmt.Errorf("%w: status list sub %q, want %q", ErrMalformed, c.Sub, uri)
	}
	if c.Exp != 0 && now.Unix() >= c.Exp {
		return nil, fmt.Errorf("%w: status list expired", ErrExpired)
	}
	return DecodeStatusList(c.StatusList.Lst, c.StatusList.Bits)
}

// remarshal converts a decoded JSON object into a typed value.
func remarshal(from, to any) error {
	raw, err := json.Marshal(from)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, to)
}

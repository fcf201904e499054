package credentials

import "errors"

// Errors callers may test with errors.Is. A surface maps them to its own
// status codes: ErrUnknownType and ErrClaims are the caller's mistake,
// ErrStatusListFull and store failures the issuer's, and the verification
// errors mean "this presentation is not acceptable".
var (
	ErrMalformed      = errors.New("credentials: malformed")
	ErrSignature      = errors.New("credentials: signature does not verify")
	ErrKey            = errors.New("credentials: unusable key")
	ErrDisclosure     = errors.New("credentials: disclosure not committed to by the issuer")
	ErrExpired        = errors.New("credentials: expired or not yet valid")
	ErrKeyBinding     = errors.New("credentials: key binding missing or invalid")
	ErrUnknownType    = errors.New("credentials: unknown document type")
	ErrClaims         = errors.New("credentials: claims not acceptable")
	ErrNotFound       = errors.New("credentials: no such status index")
	ErrStatusListFull = errors.New("credentials: status list full")
)

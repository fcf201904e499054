package credentials

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Media types and JWT typ values this package writes.
const (
	MediaType         = "application/dc+sd-jwt"
	StatusListMedia   = "application/statuslist+jwt"
	typSDJWTVC        = "dc+sd-jwt"
	typKB             = "kb+jwt"
	typStatusList     = "statuslist+jwt"
	sdAlg             = "sha-256"
	statusListExpires = 24 * time.Hour // a stale list cannot hide a revocation for longer
)

// DocType is a kind of document Obert issues; its vct is the issuer's VCT
// base followed by the type.
type DocType string

// The documents that accredit a citizen's situation.
const (
	CensusCertificate        DocType = "census-certificate"
	TaxComplianceCertificate DocType = "tax-compliance-certificate"
	WorkingLifeReport        DocType = "working-life-report"
	ResidenceCertificate     DocType = "residence-certificate"
)

// DocTypes lists every DocType the issuer accepts.
func DocTypes() []DocType {
	return []DocType{CensusCertificate, ResidenceCertificate, TaxComplianceCertificate, WorkingLifeReport}
}

// reserved are the claims the issuer sets itself and that SD-JWT VC forbids
// disclosing selectively, plus SD-JWT's own names.
var reserved = []string{"iss", "iat", "nbf", "exp", "cnf", "vct", "vct#integrity", "status", "_sd", "_sd_alg", "..."}

// Config is what an Issuer needs; the zero value of an optional field takes
// the default written beside it.
type Config struct {
	Issuer        string            // required: the https URL in iss, also the metadata's "issuer"
	Key           *ecdsa.PrivateKey // required: P-256, signs credentials and the status list
	KeyID         string            // default: the key's RFC 7638 thumbprint
	VCTBase       string            // default: Issuer + "/vct"; vct = VCTBase + "/" + DocType
	StatusListURI string            // required: where StatusListHandler is reachable
	StatusListLen int               // default 131072 entries (16 KiB), the draft's advice
	Validity      time.Duration     // default 90 days
	StatusListTTL time.Duration     // default 5 minutes, the ttl claim and Cache-Control
	Store         Store             // required
	Now           func() time.Time  // default time.Now
	Rand          io.Reader         // salts; default crypto/rand
}

// Issuer signs SD-JWT VCs and their status list. It is safe for concurrent
// use; it holds no mutable state of its own.
type Issuer struct {
	cfg Config
	jwk JWK // public, with kid
}

// NewIssuer checks cfg and returns an Issuer; a missing key or URL fails
// here rather than at the first issuance.
func NewIssuer(cfg Config) (*Issuer, error) {
	if cfg.Key == nil || cfg.Key.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%w: the issuer needs a P-256 private key", ErrKey)
	}
	for name, u := range map[string]string{"Issuer": cfg.Issuer, "StatusListURI": cfg.StatusListURI} {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" || p.RawQuery != "" || p.Fragment != "" {
			return nil, fmt.Errorf("credentials: %s %q must be an absolute http(s) URL without query or fragment", name, u)
		}
	}
	if cfg.Store == nil {
		return nil, fmt.Errorf("credentials: a Store is required")
	}
	cfg.Issuer = strings.TrimSuffix(cfg.Issuer, "/")
	if cfg.VCTBase == "" {
		cfg.VCTBase = cfg.Issuer + "/vct"
	}
	cfg.VCTBase = strings.TrimSuffix(cfg.VCTBase, "/")
	if cfg.StatusListLen == 0 {
		cfg.StatusListLen = 16 * 1024 * 8
	}
	if cfg.StatusListLen < 0 || cfg.StatusListLen > maxStatusListBytes*8 {
		return nil, fmt.Errorf("credentials: StatusListLen %d out of range", cfg.StatusListLen)
	}
	if cfg.Validity == 0 {
		cfg.Validity = 90 * 24 * time.Hour
	}
	if cfg.StatusListTTL == 0 {
		cfg.StatusListTTL = 5 * time.Minute
	}
	if cfg.Validity < 0 || cfg.StatusListTTL < 0 {
		return nil, fmt.Errorf("credentials: negative duration in Config")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	jwk, err := PublicJWK(&cfg.Key.PublicKey)
	if err != nil {
		return nil, err
	}
	jwk.Kid, jwk.Alg, jwk.Use = cfg.KeyID, "ES256", "sig"
	if jwk.Kid == "" {
		jwk.Kid = jwk.Thumbprint()
	}
	return &Issuer{cfg: cfg, jwk: jwk}, nil
}

// Request is one credential to issue.
type Request struct {
	Type DocType
	// Claims are the document's facts, each top-level claim disclosable on
	// its own; a nested object is disclosed as a whole.
	Claims map[string]any
	// Holder, when set, binds the credential to the holder's key (cnf), so
	// that a presentation needs a Key Binding JWT signed with it.
	Holder *ecdsa.PublicKey
	// Validity overrides Config.Validity when positive.
	Validity time.Duration
}

// Credential is an issued SD-JWT VC.
type Credential struct {
	SDJWT       string // compact, with every disclosure: what the holder keeps
	Type        DocType
	VCT         string
	StatusIndex int64 // the credential's entry in the status list, for Revoke
	IssuedAt    time.Time
	Expires     time.Time
}

// VCT returns the vct of a document type.
func (i *Issuer) VCT(t DocType) string { return i.cfg.VCTBase + "/" + string(t) }

// PublicJWK is the issuer's public key with its kid.
func (i *Issuer) PublicJWK() JWK { return i.jwk }

// StatusListURI is the URI credentials name in status.status_list.uri.
func (i *Issuer) StatusListURI() string { return i.cfg.StatusListURI }

// Issue allocates a status index and signs a credential of req.
func (i *Issuer) Issue(ctx context.Context, req Request) (Credential, error) {
	if !slices.Contains(DocTypes(), req.Type) {
		return Credential{}, fmt.Errorf("%w: %q", ErrUnknownType, req.Type)
	}
	if len(req.Claims) == 0 {
		return Credential{}, fmt.Errorf("%w: no claims", ErrClaims)
	}
	names := make([]string, 0, len(req.Claims))
	for name := range req.Claims {
		if name == "" || slices.Contains(reserved, name) {
			return Credential{}, fmt.Errorf("%w: claim name %q is reserved", ErrClaims, name)
		}
		names = append(names, name)
	}
	slices.Sort(names)
	var cnf map[string]any
	if req.Holder != nil {
		hk, err := PublicJWK(req.Holder)
		if err != nil {
			return Credential{}, fmt.Errorf("holder: %w", err)
		}
		cnf = map[string]any{"jwk": hk}
	}

	// Disclosures first: they fail on bad claims without spending an index.
	sd := make([]string, 0, len(names))
	encoded := make([]string, 0, len(names))
	for _, name := range names {
		d, err := newDisclosure(i.cfg.Rand, name, req.Claims[name])
		if err != nil {
			return Credential{}, err
		}
		sd = append(sd, d.Digest())
		encoded = append(encoded, d.Encoded)
	}
	// Sorted digests say nothing of the claims' order (RFC 9901 §4.2.4.1).
	slices.Sort(sd)

	idx, err := i.cfg.Store.NextIndex(ctx, i.cfg.StatusListURI)
	if err != nil {
		return Credential{}, fmt.Errorf("credentials: allocating a status index: %w", err)
	}
	if idx < 0 || idx >= int64(i.cfg.StatusListLen) {
		return Credential{}, fmt.Errorf("%w: index %d, list of %d", ErrStatusListFull, idx, i.cfg.StatusListLen)
	}

	validity := i.cfg.Validity
	if req.Validity > 0 {
		validity = req.Validity
	}
	now := i.cfg.Now().Truncate(time.Second)
	exp := now.Add(validity)
	payload := map[string]any{
		"iss":     i.cfg.Issuer,
		"iat":     now.Unix(),
		"exp":     exp.Unix(),
		"vct":     i.VCT(req.Type),
		"_sd":     sd,
		"_sd_alg": sdAlg,
		"status":  map[string]any{"status_list": map[string]any{"idx": idx, "uri": i.cfg.StatusListURI}},
	}
	if cnf != nil {
		payload["cnf"] = cnf
	}
	header := map[string]any{"alg": "ES256", "typ": typSDJWTVC, "kid": i.jwk.Kid}
	jwt, err := signJWS(i.cfg.Key, header, payload)
	if err != nil {
		return Credential{}, fmt.Errorf("credentials: signing: %w", err)
	}
	return Credential{
		SDJWT:       SDJWT{JWT: jwt, Disclosures: encoded}.String(),
		Type:        req.Type,
		VCT:         i.VCT(req.Type),
		StatusIndex: idx,
		IssuedAt:    now,
		Expires:     exp,
	}, nil
}

// Revoke marks the credential at status index idx revoked; verifiers see
// it once they fetch the list again (within StatusListTTL of a cache).
func (i *Issuer) Revoke(ctx context.Context, idx int64) error {
	if idx < 0 || idx >= int64(i.cfg.StatusListLen) {
		return fmt.Errorf("%w: %d", ErrNotFound, idx)
	}
	return i.cfg.Store.SetRevoked(ctx, i.cfg.StatusListURI, idx)
}

// StatusListJWT returns the current status list as a signed statuslist+jwt.
func (i *Issuer) StatusListJWT(ctx context.Context) (string, error) {
	revoked, err := i.cfg.Store.Revoked(ctx, i.cfg.StatusListURI)
	if err != nil {
		return "", fmt.Errorf("credentials: reading revocations: %w", err)
	}
	l, err := NewStatusList(i.cfg.StatusListLen)
	if err != nil {
		return "", err
	}
	for _, idx := range revoked {
		if err := l.Set(int(idx), StatusInvalid); err != nil {
			return "", fmt.Errorf("credentials: store holds %w", err)
		}
	}
	lst, err := l.Encode()
	if err != nil {
		return "", err
	}
	now := i.cfg.Now().Truncate(time.Second)
	claims := statusListClaims{
		Sub:        i.cfg.StatusListURI,
		Iat:        now.Unix(),
		Exp:        now.Add(statusListExpires).Unix(),
		TTL:        int64(i.cfg.StatusListTTL / time.Second),
		StatusList: statusListRef{Bits: l.Bits(), Lst: lst},
	}
	header := map[string]any{"alg": "ES256", "typ": typStatusList, "kid": i.jwk.Kid}
	return signJWS(i.cfg.Key, header, claims)
}

package consent

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// ReceiptVersion names the shape of Obert's receipts: the Kantara Initiative
// Consent Receipt v1.1 fields, with the ISO/IEC TS 27560 additions a
// citizen needs (legal basis, text version, expiry, withdrawal).
const ReceiptVersion = "KI-CR-v1.1.0+ISO-27560"

// Controller is who is responsible for the processing a receipt covers.
type Controller struct {
	Name     string `json:"piiController"`
	OnBehalf bool   `json:"onBehalf"`
	Contact  string `json:"contact"`
	Address  string `json:"address"`
	Email    string `json:"email"`
	URL      string `json:"piiControllerUrl"`
}

// Receipt is a consent receipt: what the citizen agreed to (or withdrew),
// with whom, for what, under which basis and text, and when.
type Receipt struct {
	Version          string           `json:"version"`
	Jurisdiction     string           `json:"jurisdiction"`
	ConsentTimestamp int64            `json:"consentTimestamp"`
	CollectionMethod string           `json:"collectionMethod"`
	ReceiptID        string           `json:"consentReceiptID"`
	Language         string           `json:"language"`
	Principal        string           `json:"piiPrincipalId"` // the subject key, not the document number
	Controllers      []Controller     `json:"piiControllers"`
	PolicyURL        string           `json:"policyUrl"`
	Services         []ReceiptService `json:"services"`
	Sensitive        bool             `json:"sensitive"`
	// ISO/IEC TS 27560 additions.
	LegalBasis         string `json:"legalBasis"`
	TextVersion        string `json:"noticeVersion"`
	Status             string `json:"status"` // "active", "paused" or "withdrawn"
	ExpiresTimestamp   int64  `json:"expiryTimestamp"`
	WithdrawnTimestamp int64  `json:"withdrawalTimestamp,omitempty"`
	PausedTimestamp    int64  `json:"pauseTimestamp,omitempty"`
	// The citizen's limits: the least seconds between two requests to the
	// source, and how long fetched data may be kept, in seconds.
	FetchInterval int64 `json:"fetchIntervalSeconds,omitempty"`
	DataLife      int64 `json:"dataRetentionSeconds,omitempty"`
	// The tax years the source may be asked about (0: any).
	FromYear int    `json:"periodFromYear,omitempty"`
	ToYear   int    `json:"periodToYear,omitempty"`
	Source   string `json:"dataSource"`
}

// ReceiptService is one service of a receipt and the purposes consented for it.
type ReceiptService struct {
	Service  string    `json:"service"`
	Purposes []Purpose `json:"purposes"`
}

// Purpose is one purpose with the data it covers.
type Purpose struct {
	Purpose              string   `json:"purpose"`
	PurposeCategory      []string `json:"purposeCategory"`
	ConsentType          string   `json:"consentType"`
	PIICategory          []string `json:"piiCategory"`
	PrimaryPurpose       bool     `json:"primaryPurpose"`
	Termination          string   `json:"termination"`
	ThirdPartyDisclosure bool     `json:"thirdPartyDisclosure"`
}

// SignedReceipt is the downloadable document: the receipt, readable, and a
// JWS (EdDSA) whose payload is exactly the receipt's JSON.
type SignedReceipt struct {
	Receipt Receipt `json:"receipt"`
	JWS     string  `json:"jws"`
}

// ReceiptOf makes the receipt of grant g for the offer o. The receipt id is
// the grant id plus its state, so a withdrawal gets a receipt of its own.
func ReceiptOf(g Grant, o Offer, c Controller, policyURL string) Receipt {
	status, id, ts := "active", g.ID, g.GrantedAt.Unix()
	var withdrawn, paused int64
	switch {
	case !g.WithdrawnAt.IsZero():
		status, id, withdrawn = "withdrawn", g.ID+".withdrawn", g.WithdrawnAt.Unix()
	case !g.PausedAt.IsZero():
		status, id, paused = "paused", g.ID+".paused."+strconv.FormatInt(g.PausedAt.Unix(), 10), g.PausedAt.Unix()
	}
	text := o.Texts[g.Language]
	return Receipt{
		Version: ReceiptVersion, Jurisdiction: "ES-CT", ConsentTimestamp: ts, CollectionMethod: "web form, signed-in folder",
		ReceiptID: id, Language: g.Language, Principal: g.Subject, Controllers: []Controller{c}, PolicyURL: policyURL,
		Services: []ReceiptService{{Service: text.Requester, Purposes: []Purpose{{
			Purpose: g.Purpose, PurposeCategory: []string{text.Why}, ConsentType: "EXPLICIT",
			PIICategory: append([]string{g.Category}, o.Fields...), PrimaryPurpose: true,
			Termination: "withdrawal at any time in the folder, or expiry", ThirdPartyDisclosure: false,
		}}}},
		LegalBasis: g.LegalBasis, TextVersion: g.TextVersion, Status: status, ExpiresTimestamp: g.ExpiresAt.Unix(),
		WithdrawnTimestamp: withdrawn, PausedTimestamp: paused, Source: text.Source,
		FetchInterval: int64(g.MinInterval / time.Second), DataLife: int64(g.DataLife / time.Second),
		FromYear: g.FromYear, ToYear: g.ToYear,
	}
}

// ReceiptSigner signs receipts with an Ed25519 key whose public part is
// published (PublicKeys) for anyone to verify with.
type ReceiptSigner struct {
	key    ed25519.PrivateKey
	keyID  string
	signer jose.Signer
}

// NewReceiptSigner returns a signer for the Ed25519 key.
func NewReceiptSigner(key ed25519.PrivateKey) (*ReceiptSigner, error) {
	pub := key.Public().(ed25519.PublicKey)
	sum := sha256.Sum256(pub)
	kid := "obert-receipts-" + base64.RawURLEncoding.EncodeToString(sum[:8])
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: jose.JSONWebKey{Key: key, KeyID: kid, Algorithm: string(jose.EdDSA)}},
		(&jose.SignerOptions{}).WithType("consent-receipt+json"))
	if err != nil {
		return nil, err
	}
	return &ReceiptSigner{key: key, keyID: kid, signer: s}, nil
}

// PublicKeys is the key set to publish.
func (s *ReceiptSigner) PublicKeys() jose.JSONWebKeySet {
	return jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: s.key.Public(), KeyID: s.keyID, Algorithm: string(jose.EdDSA), Use: "sig"}}}
}

// Sign returns the signed, downloadable receipt.
func (s *ReceiptSigner) Sign(r Receipt) ([]byte, error) {
	compact, err := s.signJSON(r)
	if err != nil {
		return nil, err
	}
	return json.MarshalIndent(SignedReceipt{Receipt: r, JWS: compact}, "", "  ")
}

// signJSON signs v's JSON as a compact JWS.
func (s *ReceiptSigner) signJSON(v any) (string, error) {
	payload, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	obj, err := s.signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
}

// verifyJWS checks a compact JWS against the published keys (one EdDSA
// signature, by a key the set names) and returns its payload.
func verifyJWS(jws string, keys jose.JSONWebKeySet) ([]byte, error) {
	obj, err := jose.ParseSignedCompact(jws, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadReceipt, err)
	}
	if len(obj.Signatures) != 1 {
		return nil, fmt.Errorf("%w: want one signature", ErrBadReceipt)
	}
	found := keys.Key(obj.Signatures[0].Header.KeyID)
	if len(found) != 1 {
		return nil, fmt.Errorf("%w: signed by key %q, which is not published", ErrBadReceipt, obj.Signatures[0].Header.KeyID)
	}
	payload, err := obj.Verify(found[0].Key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadReceipt, err)
	}
	return payload, nil
}

// ErrBadReceipt is returned for a receipt that does not verify.
var ErrBadReceipt = errors.New("consent: receipt does not verify")

// VerifyReceipt checks a downloaded receipt against the published keys: the
// JWS must verify with the key it names, and the readable receipt must say
// exactly what the signed payload says.
func VerifyReceipt(doc []byte, keys jose.JSONWebKeySet) (Receipt, error) {
	var sr SignedReceipt
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sr); err != nil {
		return Receipt{}, fmt.Errorf("%w: not a receipt: %v", ErrBadReceipt, err)
	}
	payload, err := verifyJWS(sr.JWS, keys)
	if err != nil {
		return Receipt{}, err
	}
	var signed Receipt
	if err := json.Unmarshal(payload, &signed); err != nil {
		return Receipt{}, fmt.Errorf("%w: %v", ErrBadReceipt, err)
	}
	if !reflect.DeepEqual(signed, sr.Receipt) {
		return Receipt{}, fmt.Errorf("%w: the readable receipt differs from what was signed", ErrBadReceipt)
	}
	return signed, nil
}

// ReceiptStatus is what a receipt's grant is now: a verifier who holds a
// receipt learns whether it still stands, or which receipt superseded it.
// Signed like receipts, with the same keys.
type ReceiptStatus struct {
	ReceiptID string `json:"consentReceiptID"` // the receipt asked about
	Grant     string `json:"grant"`
	Status    string `json:"status"` // active, paused, withdrawn or expired
	// Current is the receipt id that states the grant as it is now; when
	// it is not ReceiptID, that receipt is superseded.
	Current    string `json:"currentReceiptID"`
	Superseded bool   `json:"superseded"`
	AsOf       int64  `json:"asOf"`
}

// StatusOf is the status of receipt id (a grant's id, or one of its
// receipts' ids) given the grant as it is at now.
func StatusOf(receiptID string, g Grant, now time.Time) ReceiptStatus {
	current := ReceiptOf(g, Offer{}, Controller{}, "").ReceiptID
	st := g.State(now)
	return ReceiptStatus{ReceiptID: receiptID, Grant: g.ID, Status: st, Current: current,
		Superseded: receiptID != current || st == "expired", AsOf: now.Unix()}
}

// SignStatus signs a status as a compact JWS whose payload is its JSON.
func (s *ReceiptSigner) SignStatus(st ReceiptStatus) (string, error) { return s.signJSON(st) }

// VerifyStatus checks a signed status against the published keys.
func VerifyStatus(jws string, keys jose.JSONWebKeySet) (ReceiptStatus, error) {
	payload, err := verifyJWS(jws, keys)
	if err != nil {
		return ReceiptStatus{}, fmt.Errorf("status: %w", err)
	}
	var st ReceiptStatus
	if err := json.Unmarshal(payload, &st); err != nil {
		return ReceiptStatus{}, fmt.Errorf("%w: status: %v", ErrBadReceipt, err)
	}
	return st, nil
}

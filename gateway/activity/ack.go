package activity

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// AckVersion names the shape of acknowledgements.
const AckVersion = "obert-notification-ack-v1"

// Acknowledgement is the record of a citizen accepting or rejecting one
// notification: who (by pseudonym), which, when, at which level of
// assurance, and a digest of the content they were given.
type Acknowledgement struct {
	Version       string    `json:"version"`
	Principal     string    `json:"principal"` // the subject key, never the document number
	Source        string    `json:"source"`
	Notification  string    `json:"notification"`
	Posted        time.Time `json:"made_available"`
	Decision      string    `json:"decision"` // accepted | rejected
	DecidedAt     time.Time `json:"decided_at"`
	LoA           string    `json:"level_of_assurance"`
	ContentSHA256 string    `json:"content_sha256,omitempty"`
	LegalBasis    string    `json:"legal_basis"`
}

// SignedAck is the downloadable document: the acknowledgement, readable,
// and a JWS (EdDSA) whose payload is exactly its JSON.
type SignedAck struct {
	Acknowledgement Acknowledgement `json:"acknowledgement"`
	JWS             string          `json:"jws"`
}

// AckSigner signs acknowledgements with an Ed25519 key whose public part is
// published (PublicKeys).
type AckSigner struct {
	key    ed25519.PrivateKey
	keyID  string
	signer jose.Signer
}

// NewAckSigner returns a signer for the key.
func NewAckSigner(key ed25519.PrivateKey) (*AckSigner, error) {
	sum := sha256.Sum256(key.Public().(ed25519.PublicKey))
	kid := "obert-acks-" + base64.RawURLEncoding.EncodeToString(sum[:8])
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: jose.JSONWebKey{Key: key, KeyID: kid, Algorithm: string(jose.EdDSA)}},
		(&jose.SignerOptions{}).WithType("notification-ack+json"))
	if err != nil {
		return nil, err
	}
	return &AckSigner{key: key, keyID: kid, signer: s}, nil
}

// PublicKeys is the key set to publish.
func (s *AckSigner) PublicKeys() jose.JSONWebKeySet {
	return jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: s.key.Public(), KeyID: s.keyID, Algorithm: string(jose.EdDSA), Use: "sig"}}}
}

// Sign returns the signed, downloadable acknowledgement.
func (s *AckSigner) Sign(a Acknowledgement) ([]byte, error) {
	payload, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	obj, err := s.signer.Sign(payload)
	if err != nil {
		return nil, err
	}
	compact, err := obj.CompactSerialize()
	if err != nil {
		return nil, err
	}
	return json.MarshalIndent(SignedAck{Acknowledgement: a, JWS: compact}, "", "  ")
}

// ErrBadAck is an acknowledgement that does not verify.
var ErrBadAck = errors.New("activity: acknowledgement does not verify")

// VerifyAck checks a downloaded acknowledgement against the published keys:
// the JWS verifies with the key it names, and the readable part says
// exactly what was signed.
func VerifyAck(doc []byte, keys jose.JSONWebKeySet) (Acknowledgement, error) {
	var sa SignedAck
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sa); err != nil {
		return Acknowledgement{}, fmt.Errorf("%w: %v", ErrBadAck, err)
	}
	obj, err := jose.ParseSignedCompact(sa.JWS, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil || len(obj.Signatures) != 1 {
		return Acknowledgement{}, fmt.Errorf("%w: not one EdDSA signature", ErrBadAck)
	}
	found := keys.Key(obj.Signatures[0].Header.KeyID)
	if len(found) != 1 {
		return Acknowledgement{}, fmt.Errorf("%w: key %q is not published", ErrBadAck, obj.Signatures[0].Header.KeyID)
	}
	payload, err := obj.Verify(found[0].Key)
	if err != nil {
		return Acknowledgement{}, fmt.Errorf("%w: %v", ErrBadAck, err)
	}
	var signed Acknowledgement
	if err := json.Unmarshal(payload, &signed); err != nil {
		return Acknowledgement{}, fmt.Errorf("%w: %v", ErrBadAck, err)
	}
	if !reflect.DeepEqual(signed, sa.Acknowledgement) {
		return Acknowledgement{}, fmt.Errorf("%w: the readable part differs from what was signed", ErrBadAck)
	}
	return signed, nil
}

// contentDigest is the SHA-256 of the content's texts, in a fixed order.
func contentDigest(t Text) string {
	if len(t) == 0 {
		return ""
	}
	sum := sha256.Sum256([]byte(strings.Join([]string{t["ca"], t["es"], t["en"]}, "\x00")))
	return hex.EncodeToString(sum[:])
}

// Package audit owns Obert's append-only, verifiable audit log: entries,
// their salted leaf commitments, the RFC 6962 Merkle tree over them, signed
// checkpoints (C2SP signed-note), tiles (C2SP tlog-tiles), inclusion and
// consistency proofs, and their verification.
//
// It must never import HTTP handlers or SQL drivers; it declares the Store it
// needs and gateway/store implements it.
package audit

import "time"

// Kinds of entries.
const (
	KindExchangeIntent  = "exchange.intent"
	KindExchangeOutcome = "exchange.outcome"
	KindSignIn          = "signin"
	KindSignInFailed    = "signin.failed"
	KindConsentGrant    = "consent.grant"
	KindConsentWithdraw = "consent.withdraw"
	KindFactsDelete     = "facts.delete"
	KindFactsExpire     = "facts.expire"
	KindRightsExport    = "rights.export"
	KindRightsErasure   = "rights.erasure"
	KindRightsObjection = "rights.objection"
)

// Entry is one audit record. It is stored in full (encrypted) for its
// subject and committed to the public tree only as a salted hash.
type Entry struct {
	ID            string    `json:"id"`
	Time          time.Time `json:"time"`
	Kind          string    `json:"kind"`
	Subject       string    `json:"subject"` // keyed hash of the citizen's identifier
	Requester     string    `json:"requester,omitempty"`
	Source        string    `json:"source,omitempty"`
	Connector     string    `json:"connector,omitempty"`
	Category      string    `json:"category,omitempty"`
	Purpose       string    `json:"purpose,omitempty"`
	Fields        []string  `json:"fields,omitempty"`
	ConsentID     string    `json:"consent_id,omitempty"`
	LegalBasis    string    `json:"legal_basis,omitempty"`
	DecisionID    string    `json:"decision_id,omitempty"`
	PolicyVersion string    `json:"policy_version,omitempty"`
	InputHash     string    `json:"input_hash,omitempty"`
	RequestID     string    `json:"request_id,omitempty"`   // SCSP IdPeticion
	IntentID      string    `json:"intent_id,omitempty"`    // an outcome points at its intent
	Outcome       string    `json:"outcome,omitempty"`      // "pending" | "ok" | "error" | "denied"
	Error         string    `json:"error,omitempty"`        // error class, never personal data
	SourceState   string    `json:"source_state,omitempty"` // the state code a source answered (SCSP CodigoEstado)
	LatencyMS     int64     `json:"latency_ms,omitempty"`
	// Client is where a sign-in came from, as its citizen sees it: the
	// browser and system families and a network prefix, never the
	// address itself.
	Client string `json:"client,omitempty"`
	// OnBehalfOf is the company (its NIF) a person acted for, and
	// Representative the pseudonym of the person who acted: an exchange
	// of a company's data says who acted for it.
	OnBehalfOf     string `json:"on_behalf_of,omitempty"`
	Representative string `json:"representative,omitempty"`
	// Officer is who made an exchange's request: an official, or the
	// automated action of the purpose; CaseFile the case file
	// (IdExpediente) it belongs to.
	Officer  string `json:"officer,omitempty"`
	CaseFile string `json:"case_file,omitempty"`
	// Period is the period (tax year) a source with periods was asked
	// about, when the citizen bounded them.
	Period int `json:"period,omitempty"`
}

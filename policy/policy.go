// Package policy embeds Open Policy Agent and decides, by default deny,
// whether an exchange of personal data may happen and which fields it may
// release. Its Rego modules live in policy/rego and are compiled once at
// start; the access guard's decisions are made by a native program of its
// policy, proven equal to OPA's, whenever that applies (see native.go).
//
// It must never import HTTP, SQL drivers or the connectors themselves: it
// receives facts about a request and returns a decision.
package policy

import "context"

// Input is everything the access guard decides from.
type Input struct {
	Subject        string   `json:"subject"`           // keyed hash of the citizen's identifier
	LoA            string   `json:"loa"`               // "low" | "substantial" | "high"
	Purpose        string   `json:"purpose"`           // e.g. "aid-recommendation"
	Requester      string   `json:"requester"`         // requesting administration code
	Connector      string   `json:"connector"`         // connector id
	Category       string   `json:"category"`          // data category
	Source         string   `json:"source"`            // source administration code
	RequestedField []string `json:"requested_fields"`  // a set to the policy: neither order nor repeats count
	Consent        *Consent `json:"consent,omitempty"` // the current consent record, nil when none
	LegalBasis     string   `json:"legal_basis,omitempty"`
	// Objected: the citizen objected to the purpose (a "noopo" law then
	// allows nothing).
	Objected bool `json:"objected,omitempty"`
	// LastFetch is when the source was last asked under the consent (Unix
	// seconds; 0: never).
	LastFetch int64 `json:"last_fetch,omitempty"`
	// Period is the period (tax year) the source is asked about, for a
	// source with periods (0: its default).
	Period int64 `json:"period,omitempty"`
	Now    int64 `json:"now"` // Unix time, in seconds
}

// Consent is the part of the consent record the policy reads.
type Consent struct {
	ID         string `json:"id"`
	Category   string `json:"category"`
	Purpose    string `json:"purpose"`
	Requester  string `json:"requester"`
	Source     string `json:"source"`
	LegalBasis string `json:"legal_basis"`
	Active     bool   `json:"active"`
	ExpiresAt  int64  `json:"expires_at"` // Unix time, in seconds
	// MinInterval is the citizen's limit on how often the source may be
	// asked under this consent, in seconds (0: none).
	MinInterval int64 `json:"min_interval,omitempty"`
	// FromYear and ToYear bound the periods (tax years) the source may be
	// asked about under this consent (0: any).
	FromYear int64 `json:"from_year,omitempty"`
	ToYear   int64 `json:"to_year,omitempty"`
}

// Decision is the guard's answer. Allow is false unless the policy said so.
type Decision struct {
	ID            string   // unique id of this decision
	Allow         bool     // explicit allow
	Reasons       []string // why, as stable reason codes
	Fields        []string // the minimal field set released for the purpose
	PolicyVersion string   // hash of the policy bundle
	InputHash     string   // hex SHA-256 of the canonical input
}

// Decider is the access guard's contract.
type Decider interface {
	Decide(ctx context.Context, in Input) (Decision, error)
}

// Package consent owns the citizen's consent: grants per data category,
// purpose and administration, their withdrawal and expiry, and the legal
// bases under which an administration may consult data without consent.
//
// A grant is an immutable record; withdrawing it stamps withdrawn_at once and
// never reopens it. The package declares the Store it needs; gateway/store
// implements it for SQLite and PostgreSQL. It must never import HTTP or SQL
// drivers.
package consent

import (
	"context"
	"errors"
	"time"
)

// Legal bases a grant can rest on.
const (
	// BasisConsent is GDPR Art. 6(1)(a): the citizen consented.
	BasisConsent = "gdpr-6-1-a"
)

// Grant is one consent record.
type Grant struct {
	ID          string
	Subject     string // keyed hash of the citizen's identifier
	Category    string // data category, e.g. "census"
	Purpose     string // e.g. "aid-recommendation"
	Requester   string // administration that asks for the data
	Source      string // administration that holds the data
	LegalBasis  string // BasisConsent, or "law:<reference>"
	TextVersion string // version of the text the citizen saw
	Language    string // language of that text
	GrantedAt   time.Time
	ExpiresAt   time.Time
	WithdrawnAt time.Time // zero while not withdrawn
	// PausedAt is when the citizen paused the grant (zero: not paused).
	// Paused, it authorises nothing until resumed.
	PausedAt time.Time
	// Limits the citizen set, as a consent artefact carries them:
	// MinInterval is the least time between two requests to the source
	// (0: none); DataLife how long fetched data may be kept (0: until
	// the grant ends).
	MinInterval, DataLife time.Duration
	// FromYear and ToYear bound the periods (tax years) the source may be
	// asked about, where it has periods (0: any).
	FromYear, ToYear int
	// LastRequest is when the source was last asked under the grant.
	LastRequest time.Time
}

// Period is the period (tax year) to ask the source about under g at t:
// the last year that has ended, or the last the grant allows if earlier;
// 0 when the grant bounds none (the source's own default, last year).
func (g Grant) Period(t time.Time) int {
	if g.ToYear == 0 && g.FromYear == 0 {
		return 0
	}
	y := t.Year() - 1
	if g.ToYear != 0 {
		y = min(y, g.ToYear)
	}
	return y
}

// ActiveAt reports whether the grant authorises processing at t.
func (g Grant) ActiveAt(t time.Time) bool {
	return g.WithdrawnAt.IsZero() && g.PausedAt.IsZero() && !t.Before(g.GrantedAt) && t.Before(g.ExpiresAt)
}

// InForceAt reports whether the grant still stands at t, paused or not:
// neither withdrawn nor expired.
func (g Grant) InForceAt(t time.Time) bool {
	return g.WithdrawnAt.IsZero() && !t.Before(g.GrantedAt) && t.Before(g.ExpiresAt)
}

// State is the grant's state at t: active, paused, withdrawn or expired.
func (g Grant) State(t time.Time) string {
	switch {
	case !g.WithdrawnAt.IsZero():
		return "withdrawn"
	case !t.Before(g.ExpiresAt):
		return "expired"
	case !g.PausedAt.IsZero():
		return "paused"
	}
	return "active"
}

// ObjectionTo is the kind of a citizen's objection to a purpose that runs
// on a law unless they object: what the objection is stored under, and
// what the exchange asks for before such a purpose's requests.
func ObjectionTo(purpose string) string { return "purpose:" + purpose }

// Errors of the consent domain.
var (
	ErrNotFound         = errors.New("consent: not found")
	ErrAlreadyExists    = errors.New("consent: already exists")
	ErrNoConsent        = errors.New("consent: no active consent for this category and purpose")
	ErrAlreadyWithdrawn = errors.New("consent: already withdrawn")
	ErrInvalid          = errors.New("consent: invalid request")
)

// Store persists grants. Implementations must make WithdrawGrant atomic: once
// it returns, ActiveGrant no longer returns that grant.
type Store interface {
	// CreateGrant stores a new grant; ErrAlreadyExists if the id is taken.
	CreateGrant(ctx context.Context, g Grant) error
	// GetGrant returns the grant with id owned by subject, or ErrNotFound
	// (also when it belongs to someone else).
	GetGrant(ctx context.Context, subject, id string) (Grant, error)
	// ListGrants returns every grant of subject, newest first.
	ListGrants(ctx context.Context, subject string) ([]Grant, error)
	// ActiveGrant returns the newest grant of subject for category and
	// purpose that is active at t, or ErrNotFound.
	ActiveGrant(ctx context.Context, subject, category, purpose string, at time.Time) (Grant, error)
	// ActiveGrants does what ActiveGrant does for each of categories, in
	// one lookup: the grants found, by category; a category without one is
	// absent.
	ActiveGrants(ctx context.Context, subject, purpose string, categories []string, at time.Time) (map[string]Grant, error)
	// WithdrawGrant stamps withdrawn_at on subject's grant id. ErrNotFound if
	// no such grant of subject; ErrAlreadyWithdrawn if already withdrawn.
	WithdrawGrant(ctx context.Context, subject, id string, at time.Time) (Grant, error)
	// PauseGrant pauses (pause) or resumes subject's grant id at at.
	// ErrNotFound if no such grant of subject; ErrAlreadyWithdrawn if
	// withdrawn; ErrInvalid if it already is as asked.
	PauseGrant(ctx context.Context, subject, id string, at time.Time, pause bool) (Grant, error)
	// ClaimRequest records a request to the source under grant id at at
	// in place of the last one, prev (zero: none), unless prev was less
	// than minInterval before at or is no longer the last (another claim
	// came first): it reports whether the request may go. Atomic across
	// processes.
	ClaimRequest(ctx context.Context, id string, prev, at time.Time, minInterval time.Duration) (bool, error)
	// ReleaseRequest undoes the claim that recorded at in place of prev,
	// if it is still the last: its request never reached the source. It
	// reports whether it did.
	ReleaseRequest(ctx context.Context, id string, prev, at time.Time) (bool, error)
	// GrantByID returns the grant id whoever it belongs to (its id is the
	// receipt's, which its holder knows), or ErrNotFound.
	GrantByID(ctx context.Context, id string) (Grant, error)
}

package adminapi

import (
	"context"
	"errors"
	"time"
)

// Errors of the registration store.
var (
	ErrNotFound = errors.New("adminapi: no such registration")
	ErrExists   = errors.New("adminapi: a registration with this id exists")
	// ErrStale is a change made against a version of the registration that
	// is no longer the current one.
	ErrStale = errors.New("adminapi: the registration changed since the version given")
)

// Registration is a stored connector registration.
type Registration struct {
	ID        string
	Owner     string // the administration that registered it
	Spec      []byte // the registration as accepted, JSON
	Active    bool
	CreatedAt time.Time
	UpdatedAt time.Time
	// Version is the catalogue version that last changed it: its entity
	// tag in the API.
	Version int64
}

// Store persists registrations. Each change is a new version of the
// catalogue, written in one transaction with the registration, which every
// replica then follows.
type Store interface {
	// CreateConnector stores r and returns it with its version.
	CreateConnector(ctx context.Context, r Registration) (Registration, error)
	// UpdateConnector replaces spec and active of the owner's connector if
	// its version is still ifVersion (ErrStale if not), and returns it with
	// its new version.
	UpdateConnector(ctx context.Context, r Registration, ifVersion int64) (Registration, error)
	// GetConnector returns the owner's connector; ErrNotFound also for
	// another administration's.
	GetConnector(ctx context.Context, owner, id string) (Registration, error)
	// ListConnectors lists the owner's connectors, or every one when owner
	// is empty (the gateway loads them at start).
	ListConnectors(ctx context.Context, owner string) ([]Registration, error)
}

// AidStore persists aid publications, with the same rules as Store.
type AidStore interface {
	CreateAid(ctx context.Context, r Registration) (Registration, error)
	UpdateAid(ctx context.Context, r Registration, ifVersion int64) (Registration, error)
	GetAid(ctx context.Context, owner, id string) (Registration, error)
	ListAids(ctx context.Context, owner string) ([]Registration, error)
}

package adminapi

import (
	"context"
	"errors"
	"time"
)

// Errors of the registration store.
var (
	ErrNotFound = errors.New("adminapi: no such connector")
	ErrExists   = errors.New("adminapi: a connector with this id exists")
)

// Registration is a stored connector registration.
type Registration struct {
	ID        string
	Owner     string // the administration that registered it
	Spec      []byte // the registration as accepted, JSON
	Active    bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Store persists registrations.
type Store interface {
	CreateConnector(ctx context.Context, r Registration) error
	// UpdateConnector replaces spec and active of the owner's connector.
	UpdateConnector(ctx context.Context, r Registration) error
	// GetConnector returns the owner's connector; ErrNotFound also for
	// another administration's.
	GetConnector(ctx context.Context, owner, id string) (Registration, error)
	// ListConnectors lists the owner's connectors, or every one when owner
	// is empty (the gateway loads them at start).
	ListConnectors(ctx context.Context, owner string) ([]Registration, error)
}

// AidStore persists aid publications, with the same rules as Store.
type AidStore interface {
	CreateAid(ctx context.Context, r Registration) error
	UpdateAid(ctx context.Context, r Registration) error
	GetAid(ctx context.Context, owner, id string) (Registration, error)
	ListAids(ctx context.Context, owner string) ([]Registration, error)
}

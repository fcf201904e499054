package signin

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned for an unknown, used or expired flow or session.
var ErrNotFound = errors.New("signin: not found")

// ErrReplay is returned when a one-time id was already used.
var ErrReplay = errors.New("signin: already used")

// StoredFlow is a sign-in flow in progress, its content sealed.
type StoredFlow struct {
	IDHash    string
	Sealed    []byte
	ExpiresAt time.Time
}

// StoredSession is a session as stored.
type StoredSession struct {
	IDHash    string
	Subject   string
	Sealed    []byte // identity and CSRF secret, sealed
	CreatedAt time.Time
	LastSeen  time.Time
	// Acting is the profile the session acts in, sealed; nil for the
	// person themself.
	Acting []byte
}

// TouchEvery is how stale a session's last use may be kept: a session in
// use is written at most once a minute, not at every request (a write,
// on SQLite the one writer's lock, on every page). The idle limit holds
// to within it, erring on the early side.
const TouchEvery = time.Minute

// Store persists flows and sessions.
type Store interface {
	PutFlow(ctx context.Context, f StoredFlow) error
	// TakeFlow returns and deletes the flow in one step, so a flow is used
	// at most once; ErrNotFound when absent or expired at now.
	TakeFlow(ctx context.Context, idHash string, now time.Time) (StoredFlow, error)
	PutSession(ctx context.Context, s StoredSession) error
	// GetSession returns the session and, if it is still valid at now under
	// the idle and absolute limits, touches its last_seen when that is
	// TouchEvery old or more; otherwise it deletes it and returns
	// ErrNotFound.
	GetSession(ctx context.Context, idHash string, now time.Time, idle, absolute time.Duration) (StoredSession, error)
	DeleteSession(ctx context.Context, idHash string) error
	// SetActing sets the sealed profile a session acts in (nil: the
	// person); ErrNotFound if the session is gone.
	SetActing(ctx context.Context, idHash string, sealed []byte) error
	DeleteSessionsOf(ctx context.Context, subject string) (int64, error)
	// ListSessions returns the subject's sessions still valid at now,
	// newest first, without touching them.
	ListSessions(ctx context.Context, subject string, now time.Time, idle, absolute time.Duration) ([]StoredSession, error)
	// DeleteSessionOf deletes the subject's session idHash; ErrNotFound
	// when there is no such session of theirs.
	DeleteSessionOf(ctx context.Context, subject, idHash string) error
	// UseOnce records that the id (a hash) was used, remembering it until
	// until; ErrReplay if it was already recorded. Every replica shares it.
	UseOnce(ctx context.Context, idHash string, until, now time.Time) error
}

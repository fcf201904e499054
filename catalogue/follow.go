package catalogue

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// VersionSource reports the catalogue's current version, which moves with
// every change committed by any replica.
type VersionSource interface {
	CatalogueVersion(ctx context.Context) (int64, error)
}

// ApplyFunc loads the stored catalogue and puts it into effect in this
// process. It returns the version it loaded, read before the contents: a
// change committed while it loads moves the version past it, so it is
// loaded again.
type ApplyFunc func(ctx context.Context) (int64, error)

// Follower keeps one process at the catalogue's newest version: every
// replica runs one, woken by a notification where the database has them
// and polling otherwise.
type Follower struct {
	src     VersionSource
	apply   ApplyFunc
	log     *slog.Logger
	mu      sync.Mutex // one load at a time
	applied atomic.Int64
}

// NewFollower returns a follower that has applied nothing yet.
func NewFollower(src VersionSource, apply ApplyFunc, log *slog.Logger) *Follower {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	f := &Follower{src: src, apply: apply, log: log}
	f.applied.Store(-1)
	return f
}

// Applied is the version in effect here (-1 before the first load).
func (f *Follower) Applied() int64 { return f.applied.Load() }

// Sync brings this process to the catalogue's current version: one read of
// the version when nothing changed, a load when it moved. A job or an
// exchange calls it before relying on the catalogue.
func (f *Follower) Sync(ctx context.Context) error {
	v, err := f.src.CatalogueVersion(ctx)
	if err != nil {
		return err
	}
	return f.SyncTo(ctx, v)
}

// SyncTo brings this process to version v of the catalogue, read by the
// caller (with other data, in one query): nothing when v is in effect
// here already, a load when it is not.
func (f *Follower) SyncTo(ctx context.Context, v int64) error {
	if v <= f.applied.Load() {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if v <= f.applied.Load() { // another caller loaded it meanwhile
		return nil
	}
	got, err := f.apply(ctx)
	if err != nil {
		return err
	}
	f.applied.Store(got)
	return nil
}

// Run follows the catalogue until ctx ends: at each wake-up and at every
// poll interval, so that a lost notification delays a change by one
// interval at most.
func (f *Follower) Run(ctx context.Context, poll time.Duration, wake <-chan struct{}) {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-wake:
		}
		if err := f.Sync(ctx); err != nil && ctx.Err() == nil {
			f.log.Error("catalogue: could not follow the stored catalogue; retrying", "applied", f.applied.Load(), "err", err)
		}
	}
}

package store

import (
	"context"
	"time"
)

// ListenCatalogue wakes the catalogue's follower whenever a replica commits
// a catalogue change (PostgreSQL LISTEN/NOTIFY), until ctx ends; on SQLite,
// which has no notifications, it returns at once and the follower polls.
// A lost connection is reopened after a second; the follower's polling
// covers the gap.
func (s *Store) ListenCatalogue(ctx context.Context, wake chan<- struct{}) {
	if s.pool == nil {
		return
	}
	for ctx.Err() == nil {
		s.listenOnce(ctx, wake)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (s *Store) listenOnce(ctx context.Context, wake chan<- struct{}) {
	pc, err := s.pool.Acquire(ctx)
	if err != nil {
		return
	}
	// The connection listens for as long as it lives: it never goes back
	// to the pool.
	conn := pc.Hijack()
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+CatalogueChannel); err != nil {
		return
	}
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return
		}
		select {
		case wake <- struct{}{}:
		default: // a wake-up is pending already
		}
	}
}

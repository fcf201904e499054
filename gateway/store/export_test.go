package store

import (
	"context"

	"github.com/obert-gov/obert/gateway/exchange"
)

// MigrateUpTo applies the migrations up to version only, for tests of a
// migration's carrying of data written under the schema before it.
func MigrateUpTo(ctx context.Context, s *Store, version int64) error {
	p, err := s.migrations()
	if err != nil {
		return err
	}
	_, err = p.UpTo(ctx, version)
	return err
}

// PutFacts is PutFactsAll of one set, for the tests of one set at a time:
// ErrGrantWithdrawn when its grant is no longer in force.
func (s *Store) PutFacts(ctx context.Context, f exchange.SealedFacts) error {
	errs, err := s.PutFactsAll(ctx, []exchange.SealedFacts{f})
	if err != nil {
		return err
	}
	return errs[0]
}

// AuditGuesses is how many of this handle's appends guessed their first
// index (one round trip), and how many of those guesses failed.
func (s *Store) AuditGuesses() (guessed, missed int64) {
	s.tail.mu.Lock()
	defer s.tail.mu.Unlock()
	return s.tail.guessed, s.tail.missed
}

// SetAuditTail makes this handle believe it made the log's last two
// appends and that the log's size is end.
func (s *Store) SetAuditTail(end int64) {
	s.tail.mu.Lock()
	defer s.tail.mu.Unlock()
	s.tail.end, s.tail.known, s.tail.sole = end, true, true
}

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

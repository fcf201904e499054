package store

import "context"

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

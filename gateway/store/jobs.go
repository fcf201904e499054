package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
)

// JobDriver is River's driver on this database: riversqlite on SQLite,
// riverdatabasesql on PostgreSQL (the same pgx pool, through database/sql,
// so that both backends run one job code path over *sql.Tx).
func (s *Store) JobDriver() riverdriver.Driver[*sql.Tx] {
	if s.flavor == Postgres {
		return riverdatabasesql.New(s.db)
	}
	return riversqlite.New(s.db)
}

// migrateJobs applies River's own migrations for its job tables.
func (s *Store) migrateJobs(ctx context.Context) error {
	m, err := rivermigrate.New(s.JobDriver(), nil)
	if err != nil {
		return fmt.Errorf("store: job migrations: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("store: job migrations: %w", err)
	}
	return nil
}

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/obert-gov/obert/gateway/adminapi"
)

var _ adminapi.Store = (*Store)(nil)

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// CreateConnector implements adminapi.Store.
func (s *Store) CreateConnector(ctx context.Context, r adminapi.Registration) error {
	_, err := s.q().ExecContext(ctx, `INSERT INTO admin_connectors (id, owner, spec, active, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?)`, r.ID, r.Owner, r.Spec, boolInt(r.Active), micros(r.CreatedAt), micros(r.UpdatedAt))
	if isUniqueViolation(err) {
		return adminapi.ErrExists
	}
	if err != nil {
		return fmt.Errorf("store: create connector: %w", err)
	}
	return nil
}

// UpdateConnector implements adminapi.Store.
func (s *Store) UpdateConnector(ctx context.Context, r adminapi.Registration) error {
	res, err := s.q().ExecContext(ctx, `UPDATE admin_connectors SET spec = ?, active = ?, updated_at = ? WHERE id = ? AND owner = ?`,
		r.Spec, boolInt(r.Active), micros(r.UpdatedAt), r.ID, r.Owner)
	if err != nil {
		return fmt.Errorf("store: update connector: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return adminapi.ErrNotFound
	}
	return nil
}

// GetConnector implements adminapi.Store.
func (s *Store) GetConnector(ctx context.Context, owner, id string) (adminapi.Registration, error) {
	rows, err := s.listConnectors(ctx, `WHERE owner = ? AND id = ?`, owner, id)
	if err != nil {
		return adminapi.Registration{}, err
	}
	if len(rows) == 0 {
		return adminapi.Registration{}, adminapi.ErrNotFound
	}
	return rows[0], nil
}

// ListConnectors implements adminapi.Store.
func (s *Store) ListConnectors(ctx context.Context, owner string) ([]adminapi.Registration, error) {
	if owner == "" {
		return s.listConnectors(ctx, ``)
	}
	return s.listConnectors(ctx, `WHERE owner = ?`, owner)
}

func (s *Store) listConnectors(ctx context.Context, where string, args ...any) ([]adminapi.Registration, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT id, owner, spec, active, created_at, updated_at FROM admin_connectors `+where+` ORDER BY created_at, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: connectors: %w", err)
	}
	defer rows.Close()
	var out []adminapi.Registration
	for rows.Next() {
		var r adminapi.Registration
		var active int
		var c, u int64
		if err := rows.Scan(&r.ID, &r.Owner, &r.Spec, &active, &c, &u); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				break
			}
			return nil, fmt.Errorf("store: connectors: %w", err)
		}
		r.Active, r.CreatedAt, r.UpdatedAt = active == 1, fromMicros(c), fromMicros(u)
		out = append(out, r)
	}
	return out, rows.Err()
}

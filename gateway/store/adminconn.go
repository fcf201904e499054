package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/obert-gov/obert/gateway/adminapi"
)

var (
	_ adminapi.Store    = (*Store)(nil)
	_ adminapi.AidStore = (*Store)(nil)
)

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// CreateConnector implements adminapi.Store.
func (s *Store) CreateConnector(ctx context.Context, r adminapi.Registration) error {
	return s.createReg(ctx, "admin_connectors", r)
}

// CreateAid implements adminapi.AidStore.
func (s *Store) CreateAid(ctx context.Context, r adminapi.Registration) error {
	return s.createReg(ctx, "admin_aids", r)
}

// UpdateAid implements adminapi.AidStore.
func (s *Store) UpdateAid(ctx context.Context, r adminapi.Registration) error {
	return s.updateReg(ctx, "admin_aids", r)
}

// GetAid implements adminapi.AidStore.
func (s *Store) GetAid(ctx context.Context, owner, id string) (adminapi.Registration, error) {
	return s.getReg(ctx, "admin_aids", owner, id)
}

// ListAids implements adminapi.AidStore.
func (s *Store) ListAids(ctx context.Context, owner string) ([]adminapi.Registration, error) {
	return s.listRegs(ctx, "admin_aids", owner)
}

func (s *Store) createReg(ctx context.Context, table string, r adminapi.Registration) error {
	_, err := s.q().ExecContext(ctx, `INSERT INTO `+table+` (id, owner, spec, active, created_at, updated_at)
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
	return s.updateReg(ctx, "admin_connectors", r)
}

func (s *Store) updateReg(ctx context.Context, table string, r adminapi.Registration) error {
	res, err := s.q().ExecContext(ctx, `UPDATE `+table+` SET spec = ?, active = ?, updated_at = ? WHERE id = ? AND owner = ?`,
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
	return s.getReg(ctx, "admin_connectors", owner, id)
}

func (s *Store) getReg(ctx context.Context, table, owner, id string) (adminapi.Registration, error) {
	rows, err := s.listWhere(ctx, table, `WHERE owner = ? AND id = ?`, owner, id)
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
	return s.listRegs(ctx, "admin_connectors", owner)
}

func (s *Store) listRegs(ctx context.Context, table, owner string) ([]adminapi.Registration, error) {
	if owner == "" {
		return s.listWhere(ctx, table, ``)
	}
	return s.listWhere(ctx, table, `WHERE owner = ?`, owner)
}

func (s *Store) listWhere(ctx context.Context, table, where string, args ...any) ([]adminapi.Registration, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT id, owner, spec, active, created_at, updated_at FROM `+table+` `+where+` ORDER BY created_at, id`, args...)
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

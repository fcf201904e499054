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

// CatalogueChannel is the PostgreSQL notification channel each catalogue
// change is announced on, with its version as payload.
const CatalogueChannel = "obert_catalogue"

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// CatalogueVersion returns the version of the catalogue: it moves with
// every change administrations make.
func (s *Store) CatalogueVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := s.q().QueryRowContext(ctx, `SELECT version FROM catalogue_head WHERE id = 1`).Scan(&v); err != nil {
		return 0, fmt.Errorf("store: catalogue version: %w", err)
	}
	return v, nil
}

// CreateConnector implements adminapi.Store.
func (s *Store) CreateConnector(ctx context.Context, r adminapi.Registration) (adminapi.Registration, error) {
	return s.changeReg(ctx, "admin_connectors", "connector", r, -1)
}

// UpdateConnector implements adminapi.Store.
func (s *Store) UpdateConnector(ctx context.Context, r adminapi.Registration, ifVersion int64) (adminapi.Registration, error) {
	return s.changeReg(ctx, "admin_connectors", "connector", r, ifVersion)
}

// CreateAid implements adminapi.AidStore.
func (s *Store) CreateAid(ctx context.Context, r adminapi.Registration) (adminapi.Registration, error) {
	return s.changeReg(ctx, "admin_aids", "aid", r, -1)
}

// UpdateAid implements adminapi.AidStore.
func (s *Store) UpdateAid(ctx context.Context, r adminapi.Registration, ifVersion int64) (adminapi.Registration, error) {
	return s.changeReg(ctx, "admin_aids", "aid", r, ifVersion)
}

// changeReg writes a registration (a new one when ifVersion < 0) as the
// next catalogue version, in one transaction with the catalogue's head and
// change log. Taking the head's row first serialises every catalogue change
// on PostgreSQL as the write lock does on SQLite; the notification is
// delivered when the transaction commits.
func (s *Store) changeReg(ctx context.Context, table, kind string, r adminapi.Registration, ifVersion int64) (adminapi.Registration, error) {
	err := s.inTx(ctx, func(q querier) error {
		if err := q.QueryRowContext(ctx, `UPDATE catalogue_head SET version = version + 1 WHERE id = 1 RETURNING version`).Scan(&r.Version); err != nil {
			return fmt.Errorf("store: catalogue version: %w", err)
		}
		if ifVersion < 0 {
			_, err := q.ExecContext(ctx, `INSERT INTO `+table+` (id, owner, spec, active, created_at, updated_at, version)
				VALUES (?, ?, ?, ?, ?, ?, ?)`, r.ID, r.Owner, r.Spec, boolInt(r.Active), micros(r.CreatedAt), micros(r.UpdatedAt), r.Version)
			if isUniqueViolation(err) {
				return adminapi.ErrExists
			}
			if err != nil {
				return fmt.Errorf("store: create %s: %w", kind, err)
			}
		} else {
			res, err := q.ExecContext(ctx, `UPDATE `+table+` SET spec = ?, active = ?, updated_at = ?, version = ?
				WHERE id = ? AND owner = ? AND version = ?`,
				r.Spec, boolInt(r.Active), micros(r.UpdatedAt), r.Version, r.ID, r.Owner, ifVersion)
			if err != nil {
				return fmt.Errorf("store: update %s: %w", kind, err)
			}
			if n, _ := res.RowsAffected(); n != 1 {
				var one int
				switch err := q.QueryRowContext(ctx, `SELECT 1 FROM `+table+` WHERE id = ? AND owner = ?`, r.ID, r.Owner).Scan(&one); {
				case errors.Is(err, sql.ErrNoRows):
					return adminapi.ErrNotFound
				case err != nil:
					return fmt.Errorf("store: update %s: %w", kind, err)
				}
				return adminapi.ErrStale
			}
		}
		if _, err := q.ExecContext(ctx, `INSERT INTO catalogue_changes (version, kind, item, owner, active, at) VALUES (?, ?, ?, ?, ?, ?)`,
			r.Version, kind, r.ID, r.Owner, boolInt(r.Active), micros(r.UpdatedAt)); err != nil {
			return fmt.Errorf("store: catalogue change: %w", err)
		}
		if s.flavor == Postgres {
			if _, err := q.ExecContext(ctx, `SELECT pg_notify(?, ?)`, CatalogueChannel, fmt.Sprint(r.Version)); err != nil {
				return fmt.Errorf("store: catalogue notify: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return adminapi.Registration{}, err
	}
	return r, nil
}

// GetConnector implements adminapi.Store.
func (s *Store) GetConnector(ctx context.Context, owner, id string) (adminapi.Registration, error) {
	return s.getReg(ctx, "admin_connectors", owner, id)
}

// GetAid implements adminapi.AidStore.
func (s *Store) GetAid(ctx context.Context, owner, id string) (adminapi.Registration, error) {
	return s.getReg(ctx, "admin_aids", owner, id)
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

// ListAids implements adminapi.AidStore.
func (s *Store) ListAids(ctx context.Context, owner string) ([]adminapi.Registration, error) {
	return s.listRegs(ctx, "admin_aids", owner)
}

func (s *Store) listRegs(ctx context.Context, table, owner string) ([]adminapi.Registration, error) {
	if owner == "" {
		return s.listWhere(ctx, table, ``)
	}
	return s.listWhere(ctx, table, `WHERE owner = ?`, owner)
}

func (s *Store) listWhere(ctx context.Context, table, where string, args ...any) ([]adminapi.Registration, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT id, owner, spec, active, created_at, updated_at, version FROM `+table+` `+where+` ORDER BY created_at, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: registrations: %w", err)
	}
	defer rows.Close()
	var out []adminapi.Registration
	for rows.Next() {
		var r adminapi.Registration
		var active int
		var c, u int64
		if err := rows.Scan(&r.ID, &r.Owner, &r.Spec, &active, &c, &u, &r.Version); err != nil {
			return nil, fmt.Errorf("store: registrations: %w", err)
		}
		r.Active, r.CreatedAt, r.UpdatedAt = active == 1, fromMicros(c), fromMicros(u)
		out = append(out, r)
	}
	return out, rows.Err()
}

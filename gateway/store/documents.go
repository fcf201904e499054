package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/obert-gov/obert/gateway/documents"
)

var _ documents.Store = (*Store)(nil)

// PutDocument implements documents.Store.
func (s *Store) PutDocument(ctx context.Context, d documents.Stored) error {
	_, err := s.q().ExecContext(ctx, `INSERT INTO documents (csv, subject, type, issued_at, valid_until, revoked_at, sealed)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, d.CSV, d.Subject, d.Type, micros(d.IssuedAt), micros(d.ValidUntil), micros(d.RevokedAt), d.Sealed)
	if isUniqueViolation(err) {
		return documents.ErrAlreadyExists
	}
	if err != nil {
		return fmt.Errorf("store: put document: %w", err)
	}
	return nil
}

const documentColumns = `csv, subject, type, issued_at, valid_until, revoked_at, sealed`

func scanDocument(row interface{ Scan(...any) error }) (documents.Stored, error) {
	var d documents.Stored
	var issued, valid, revoked int64
	if err := row.Scan(&d.CSV, &d.Subject, &d.Type, &issued, &valid, &revoked, &d.Sealed); err != nil {
		return documents.Stored{}, err
	}
	d.IssuedAt, d.ValidUntil, d.RevokedAt = fromMicros(issued), fromMicros(valid), fromMicros(revoked)
	return d, nil
}

// GetDocument implements documents.Store.
func (s *Store) GetDocument(ctx context.Context, csv string) (documents.Stored, error) {
	d, err := scanDocument(s.q().QueryRowContext(ctx, `SELECT `+documentColumns+` FROM documents WHERE csv = ?`, csv))
	if errors.Is(err, sql.ErrNoRows) {
		return documents.Stored{}, documents.ErrNotFound
	}
	if err != nil {
		return documents.Stored{}, fmt.Errorf("store: get document: %w", err)
	}
	return d, nil
}

// DocumentsOf implements documents.Store.
func (s *Store) DocumentsOf(ctx context.Context, subject string) ([]documents.Stored, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT `+documentColumns+` FROM documents WHERE subject = ?
		ORDER BY issued_at DESC, csv`, subject)
	if err != nil {
		return nil, fmt.Errorf("store: documents: %w", err)
	}
	defer rows.Close()
	var out []documents.Stored
	for rows.Next() {
		d, err := scanDocument(rows)
		if err != nil {
			return nil, fmt.Errorf("store: documents: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// RevokeDocument implements documents.Store: one conditional update, so
// two revocations at once stamp it once.
func (s *Store) RevokeDocument(ctx context.Context, subject, csv string, at time.Time) (documents.Stored, error) {
	var d documents.Stored
	err := s.inTx(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `UPDATE documents SET revoked_at = ? WHERE csv = ? AND subject = ? AND revoked_at = 0`,
			micros(at), csv, subject)
		if err != nil {
			return fmt.Errorf("store: revoke document: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		d, err = scanDocument(q.QueryRowContext(ctx, `SELECT `+documentColumns+` FROM documents WHERE csv = ? AND subject = ?`, csv, subject))
		if errors.Is(err, sql.ErrNoRows) {
			return documents.ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("store: revoke document: %w", err)
		}
		if n == 0 {
			return documents.ErrAlreadyRevoked
		}
		return nil
	})
	if err != nil {
		return documents.Stored{}, err
	}
	return d, nil
}

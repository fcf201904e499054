package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/obert-gov/obert/gateway/credentials"
)

var _ credentials.Store = (*Store)(nil)

// NextIndex implements credentials.Store: one row per list, incremented in
// a transaction, so concurrent issuers on every replica never share an
// index.
func (s *Store) NextIndex(ctx context.Context, list string) (int64, error) {
	var idx int64
	err := s.inTx(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx, `INSERT INTO credential_status_next (list, next) VALUES (?, 0) ON CONFLICT (list) DO NOTHING`, list); err != nil {
			return err
		}
		return q.QueryRowContext(ctx, `UPDATE credential_status_next SET next = next + 1 WHERE list = ? RETURNING next - 1`, list).Scan(&idx)
	})
	if err != nil {
		return 0, fmt.Errorf("store: credential status index: %w", err)
	}
	return idx, nil
}

// SetRevoked implements credentials.Store.
func (s *Store) SetRevoked(ctx context.Context, list string, idx int64) error {
	return s.inTx(ctx, func(q querier) error {
		var next int64
		err := q.QueryRowContext(ctx, `SELECT next FROM credential_status_next WHERE list = ?`, list).Scan(&next)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && idx >= next) || idx < 0 {
			return fmt.Errorf("%w: index %d of %s", credentials.ErrNotFound, idx, list)
		}
		if err != nil {
			return fmt.Errorf("store: revoke credential: %w", err)
		}
		if _, err := q.ExecContext(ctx, `INSERT INTO credential_status_revoked (list, idx) VALUES (?, ?) ON CONFLICT (list, idx) DO NOTHING`,
			list, idx); err != nil {
			return fmt.Errorf("store: revoke credential: %w", err)
		}
		return nil
	})
}

// Revoked implements credentials.Store.
func (s *Store) Revoked(ctx context.Context, list string) ([]int64, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT idx FROM credential_status_revoked WHERE list = ?`, list)
	if err != nil {
		return nil, fmt.Errorf("store: revoked credentials: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var i int64
		if err := rows.Scan(&i); err != nil {
			return nil, err
		}
		out = append(out, i)
	}
	return out, rows.Err()
}

// DocumentCredential is the credential issued with a document.
type DocumentCredential struct {
	CSV, Subject, StatusList string
	StatusIndex              int64
	Sealed                   []byte
}

// ErrNoCredential is a document without a credential.
var ErrNoCredential = errors.New("store: no credential for this document")

// PutDocumentCredential keeps the credential issued with a document.
func (s *Store) PutDocumentCredential(ctx context.Context, c DocumentCredential) error {
	_, err := s.q().ExecContext(ctx, `INSERT INTO document_credentials (csv, subject, status_list, status_idx, sealed) VALUES (?, ?, ?, ?, ?)`,
		c.CSV, c.Subject, c.StatusList, c.StatusIndex, c.Sealed)
	if err != nil {
		return fmt.Errorf("store: document credential: %w", err)
	}
	return nil
}

// DocumentCredentialOf returns the subject's document's credential.
func (s *Store) DocumentCredentialOf(ctx context.Context, subject, csv string) (DocumentCredential, error) {
	c := DocumentCredential{CSV: csv, Subject: subject}
	err := s.q().QueryRowContext(ctx, `SELECT status_list, status_idx, sealed FROM document_credentials WHERE csv = ? AND subject = ?`,
		csv, subject).Scan(&c.StatusList, &c.StatusIndex, &c.Sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return DocumentCredential{}, ErrNoCredential
	}
	if err != nil {
		return DocumentCredential{}, fmt.Errorf("store: document credential: %w", err)
	}
	return c, nil
}

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/obert-gov/obert/gateway/exchange"
)

var _ exchange.FactStore = (*Store)(nil)

// PutFacts implements exchange.FactStore: the newest fetch replaces the last.
func (s *Store) PutFacts(ctx context.Context, f exchange.SealedFacts) error {
	_, err := s.q().ExecContext(ctx, `INSERT INTO facts (subject, category, grant_id, sealed, fetched_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (subject, category) DO UPDATE SET grant_id = excluded.grant_id,
			sealed = excluded.sealed, fetched_at = excluded.fetched_at, expires_at = excluded.expires_at`,
		f.Subject, f.Category, f.GrantID, f.Sealed, micros(f.FetchedAt), micros(f.ExpiresAt))
	if err != nil {
		return fmt.Errorf("store: put facts: %w", err)
	}
	return nil
}

// GetFacts implements exchange.FactStore; expired facts are not returned.
func (s *Store) GetFacts(ctx context.Context, subject, category string, at time.Time) (exchange.SealedFacts, error) {
	f := exchange.SealedFacts{Subject: subject, Category: category}
	var fetched, expires int64
	err := s.q().QueryRowContext(ctx, `SELECT grant_id, sealed, fetched_at, expires_at FROM facts
		WHERE subject = ? AND category = ? AND expires_at > ?`, subject, category, micros(at)).
		Scan(&f.GrantID, &f.Sealed, &fetched, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return exchange.SealedFacts{}, exchange.ErrNoFacts
	}
	if err != nil {
		return exchange.SealedFacts{}, fmt.Errorf("store: get facts: %w", err)
	}
	f.FetchedAt, f.ExpiresAt = fromMicros(fetched), fromMicros(expires)
	return f, nil
}

// DeleteFactsOfGrant implements exchange.FactStore.
func (s *Store) DeleteFactsOfGrant(ctx context.Context, subject, grantID string) (int64, error) {
	res, err := s.q().ExecContext(ctx, `DELETE FROM facts WHERE subject = ? AND grant_id = ?`, subject, grantID)
	if err != nil {
		return 0, fmt.Errorf("store: delete facts: %w", err)
	}
	return res.RowsAffected()
}

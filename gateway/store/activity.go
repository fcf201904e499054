package store

import (
	"context"
	"fmt"

	"github.com/obert-gov/obert/gateway/activity"
)

var _ activity.Store = (*Store)(nil)

// PutAcknowledgement implements activity.Store: the primary key keeps one
// decision per notification, so two at once store one.
func (s *Store) PutAcknowledgement(ctx context.Context, a activity.Acknowledgement) error {
	_, err := s.q().ExecContext(ctx, `INSERT INTO activity_acks (subject, source, notification, posted_at, decision, decided_at, loa,
		content_sha256, legal_basis, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, a.Principal, a.Source, a.Notification,
		micros(a.Posted), a.Decision, micros(a.DecidedAt), a.LoA, a.ContentSHA256, a.LegalBasis, a.Version)
	if isUniqueViolation(err) {
		return activity.ErrDecided
	}
	if err != nil {
		return fmt.Errorf("store: put acknowledgement: %w", err)
	}
	return nil
}

// Acknowledgements implements activity.Store.
func (s *Store) Acknowledgements(ctx context.Context, subject string) ([]activity.Acknowledgement, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT subject, source, notification, posted_at, decision, decided_at, loa, content_sha256,
		legal_basis, version FROM activity_acks WHERE subject = ? ORDER BY decided_at DESC, source, notification`, subject)
	if err != nil {
		return nil, fmt.Errorf("store: acknowledgements: %w", err)
	}
	defer rows.Close()
	var out []activity.Acknowledgement
	for rows.Next() {
		var a activity.Acknowledgement
		var posted, decided int64
		if err := rows.Scan(&a.Principal, &a.Source, &a.Notification, &posted, &a.Decision, &decided, &a.LoA, &a.ContentSHA256,
			&a.LegalBasis, &a.Version); err != nil {
			return nil, fmt.Errorf("store: acknowledgements: %w", err)
		}
		a.Posted, a.DecidedAt = fromMicros(posted).UTC(), fromMicros(decided).UTC()
		out = append(out, a)
	}
	return out, rows.Err()
}

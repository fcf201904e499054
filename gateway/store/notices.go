package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ActivityNotice is a citizen's wish to be told by e-mail when a
// notification waits: the address and identity, sealed.
type ActivityNotice struct {
	Subject   string
	Sealed    []byte
	CreatedAt time.Time
}

// PutActivityNotice stores (or replaces) the subject's notice.
func (s *Store) PutActivityNotice(ctx context.Context, n ActivityNotice) error {
	_, err := s.q().ExecContext(ctx, `INSERT INTO activity_notices (subject, sealed, created_at) VALUES (?, ?, ?)
		ON CONFLICT (subject) DO UPDATE SET sealed = excluded.sealed, created_at = excluded.created_at`,
		n.Subject, n.Sealed, micros(n.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: activity notice: %w", err)
	}
	return nil
}

// DeleteActivityNotice removes the subject's notice.
func (s *Store) DeleteActivityNotice(ctx context.Context, subject string) error {
	if _, err := s.q().ExecContext(ctx, `DELETE FROM activity_notices WHERE subject = ?`, subject); err != nil {
		return fmt.Errorf("store: activity notice: %w", err)
	}
	return nil
}

// ActivityNoticeOf returns the subject's notice, if any.
func (s *Store) ActivityNoticeOf(ctx context.Context, subject string) (ActivityNotice, bool, error) {
	n := ActivityNotice{Subject: subject}
	var at int64
	err := s.q().QueryRowContext(ctx, `SELECT sealed, created_at FROM activity_notices WHERE subject = ?`, subject).Scan(&n.Sealed, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return ActivityNotice{}, false, nil
	}
	if err != nil {
		return ActivityNotice{}, false, fmt.Errorf("store: activity notice: %w", err)
	}
	n.CreatedAt = fromMicros(at)
	return n, true, nil
}

// ActivityNotices lists every notice.
func (s *Store) ActivityNotices(ctx context.Context) ([]ActivityNotice, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT subject, sealed, created_at FROM activity_notices ORDER BY subject`)
	if err != nil {
		return nil, fmt.Errorf("store: activity notices: %w", err)
	}
	defer rows.Close()
	var out []ActivityNotice
	for rows.Next() {
		var n ActivityNotice
		var at int64
		if err := rows.Scan(&n.Subject, &n.Sealed, &at); err != nil {
			return nil, err
		}
		n.CreatedAt = fromMicros(at)
		out = append(out, n)
	}
	return out, rows.Err()
}

// ClaimNoticed records that the subject is being told of a notification;
// false when they were already.
func (s *Store) ClaimNoticed(ctx context.Context, subject, source, notification string, at time.Time) (bool, error) {
	res, err := s.q().ExecContext(ctx, `INSERT INTO activity_noticed (subject, source, notification, at) VALUES (?, ?, ?, ?)
		ON CONFLICT (subject, source, notification) DO NOTHING`, subject, source, notification, micros(at))
	if err != nil {
		return false, fmt.Errorf("store: notice claim: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// TryLease takes the lease name for holder until until, if nobody else
// holds it now; a holder may renew its own.
func (s *Store) TryLease(ctx context.Context, name, holder string, now, until time.Time) (bool, error) {
	res, err := s.q().ExecContext(ctx, `INSERT INTO leases (name, holder, until) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
		WHERE leases.until <= ? OR leases.holder = excluded.holder`, name, holder, micros(until), micros(now))
	if err != nil {
		return false, fmt.Errorf("store: lease %s: %w", name, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

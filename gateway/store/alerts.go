package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/obert-gov/obert/consent"
	"github.com/obert-gov/obert/gateway/alerts"
	"github.com/obert-gov/obert/gateway/exchange"
)

var (
	_ alerts.Store        = (*Store)(nil)
	_ exchange.BatchStore = (*Store)(nil)
)

// PutSubscription implements alerts.Store: one subscription per channel,
// the newest replacing the last.
func (s *Store) PutSubscription(ctx context.Context, sub alerts.Subscription) error {
	_, err := s.q().ExecContext(ctx, `INSERT INTO alert_subscriptions
		(subject, channel, target, language, loa, quiet_from, quiet_to, created_at, confirmed_at, confirm_hash, confirm_until)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (subject, channel) DO UPDATE SET target = excluded.target, language = excluded.language,
			loa = excluded.loa, quiet_from = excluded.quiet_from, quiet_to = excluded.quiet_to, created_at = excluded.created_at,
			confirmed_at = excluded.confirmed_at, confirm_hash = excluded.confirm_hash, confirm_until = excluded.confirm_until`,
		sub.Subject, sub.Channel, sub.Target, sub.Lang, sub.LoA, sub.QuietFrom, sub.QuietTo, micros(sub.CreatedAt),
		micros(sub.ConfirmedAt), sub.ConfirmHash, micros(sub.ConfirmUntil))
	if err != nil {
		return fmt.Errorf("store: put subscription: %w", err)
	}
	return nil
}

// Subscriptions implements alerts.Store.
func (s *Store) Subscriptions(ctx context.Context, subject string) ([]alerts.Subscription, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT channel, target, language, loa, quiet_from, quiet_to, created_at,
		confirmed_at, confirm_hash, confirm_until FROM alert_subscriptions WHERE subject = ? ORDER BY channel`, subject)
	if err != nil {
		return nil, fmt.Errorf("store: subscriptions: %w", err)
	}
	defer rows.Close()
	var out []alerts.Subscription
	for rows.Next() {
		sub := alerts.Subscription{Subject: subject}
		var created, confirmed, until int64
		if err := rows.Scan(&sub.Channel, &sub.Target, &sub.Lang, &sub.LoA, &sub.QuietFrom, &sub.QuietTo, &created,
			&confirmed, &sub.ConfirmHash, &until); err != nil {
			return nil, fmt.Errorf("store: subscriptions: %w", err)
		}
		sub.CreatedAt, sub.ConfirmedAt, sub.ConfirmUntil = fromMicros(created), fromMicros(confirmed), fromMicros(until)
		out = append(out, sub)
	}
	return out, rows.Err()
}

// DeleteSubscription implements alerts.Store.
func (s *Store) DeleteSubscription(ctx context.Context, subject, channel string) (bool, error) {
	res, err := s.q().ExecContext(ctx, `DELETE FROM alert_subscriptions WHERE subject = ? AND channel = ?`, subject, channel)
	if err != nil {
		return false, fmt.Errorf("store: delete subscription: %w", err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// ConfirmSubscription implements alerts.Store: one statement, so that a
// link used twice at once confirms once.
func (s *Store) ConfirmSubscription(ctx context.Context, hash string, at time.Time) (string, string, bool, error) {
	if hash == "" {
		return "", "", false, nil
	}
	var subject, channel string
	err := s.q().QueryRowContext(ctx, `UPDATE alert_subscriptions SET confirmed_at = ?, confirm_hash = ''
		WHERE confirm_hash = ? AND confirm_until > ? AND confirmed_at = 0 RETURNING subject, channel`,
		micros(at), hash, micros(at)).Scan(&subject, &channel)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, fmt.Errorf("store: confirm subscription: %w", err)
	}
	return subject, channel, true, nil
}

// DeleteSubscriptions implements alerts.Store.
func (s *Store) DeleteSubscriptions(ctx context.Context, subject string) error {
	_, err := s.q().ExecContext(ctx, `DELETE FROM alert_subscriptions WHERE subject = ?`, subject)
	if err != nil {
		return fmt.Errorf("store: delete subscriptions: %w", err)
	}
	return nil
}

// Subscribers implements alerts.Store.
func (s *Store) Subscribers(ctx context.Context, after, upto string, limit int, objection string) ([]alerts.Subscriber, error) {
	bound := ""
	args := []any{after}
	if upto != "" {
		bound, args = " AND subject <= ?", append(args, upto)
	}
	// A citizen with several channels is presented at the weakest level of
	// assurance any of them was subscribed at.
	rows, err := s.q().QueryContext(ctx, `SELECT subject,
		CASE MIN(CASE loa WHEN 'high' THEN 3 WHEN 'substantial' THEN 2 ELSE 1 END)
			WHEN 3 THEN 'high' WHEN 2 THEN 'substantial' ELSE 'low' END,
		MIN(created_at)
		FROM alert_subscriptions a
		WHERE subject > ?`+bound+` AND NOT EXISTS (SELECT 1 FROM objections o WHERE o.subject = a.subject AND o.kind = ?)
		GROUP BY subject ORDER BY subject LIMIT ?`, append(args, objection, limit)...)
	if err != nil {
		return nil, fmt.Errorf("store: subscribers: %w", err)
	}
	defer rows.Close()
	var out []alerts.Subscriber
	for rows.Next() {
		var sub alerts.Subscriber
		var since int64
		if err := rows.Scan(&sub.Subject, &sub.LoA, &since); err != nil {
			return nil, fmt.Errorf("store: subscribers: %w", err)
		}
		sub.Since = fromMicros(since)
		out = append(out, sub)
	}
	return out, rows.Err()
}

// Told implements alerts.Store.
func (s *Store) Told(ctx context.Context, subjects []string, key string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(subjects) == 0 {
		return out, nil
	}
	rows, err := s.q().QueryContext(ctx, `SELECT DISTINCT subject FROM alert_deliveries
		WHERE subject >= ? AND subject <= ? AND alert_key = ?`, subjects[0], subjects[len(subjects)-1], key)
	if err != nil {
		return nil, fmt.Errorf("store: told: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var sub string
		if err := rows.Scan(&sub); err != nil {
			return nil, fmt.Errorf("store: told: %w", err)
		}
		if _, ok := slices.BinarySearch(subjects, sub); ok {
			out[sub] = true
		}
	}
	return out, rows.Err()
}

// KeysOf implements alerts.Store.
func (s *Store) KeysOf(ctx context.Context, subject string) (map[string]bool, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT DISTINCT alert_key FROM alert_deliveries WHERE subject = ?`, subject)
	if err != nil {
		return nil, fmt.Errorf("store: alert keys: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("store: alert keys: %w", err)
		}
		out[k] = true
	}
	return out, rows.Err()
}

// Claim implements alerts.Store.
func (s *Store) Claim(ctx context.Context, subject, key, channel string, at time.Time) (string, error) {
	var state string
	err := s.inTx(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx, `INSERT INTO alert_deliveries (subject, alert_key, channel, state, created_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (subject, alert_key, channel) DO NOTHING`,
			subject, key, channel, alerts.StateSending, micros(at)); err != nil {
			return err
		}
		return q.QueryRowContext(ctx, `SELECT state FROM alert_deliveries WHERE subject = ? AND alert_key = ? AND channel = ?`,
			subject, key, channel).Scan(&state)
	})
	if err != nil {
		return "", fmt.Errorf("store: claim delivery: %w", err)
	}
	return state, nil
}

// Mark implements alerts.Store.
func (s *Store) Mark(ctx context.Context, subject, key, channel, state string, at time.Time) error {
	_, err := s.q().ExecContext(ctx, `UPDATE alert_deliveries SET state = ?, sent_at = ?
		WHERE subject = ? AND alert_key = ? AND channel = ?`, state, micros(at), subject, key, channel)
	if err != nil {
		return fmt.Errorf("store: mark delivery: %w", err)
	}
	return nil
}

// MarkKnown implements alerts.Store.
func (s *Store) MarkKnown(ctx context.Context, subject string, keys []string, at time.Time) error {
	if len(keys) == 0 {
		return nil
	}
	return s.inTx(ctx, func(q querier) error {
		for _, k := range keys {
			if _, err := q.ExecContext(ctx, `INSERT INTO alert_deliveries (subject, alert_key, channel, state, created_at)
				VALUES (?, ?, '', ?, ?) ON CONFLICT (subject, alert_key, channel) DO NOTHING`,
				subject, k, alerts.StateKnown, micros(at)); err != nil {
				return fmt.Errorf("store: mark known: %w", err)
			}
		}
		return nil
	})
}

// QueueSweep implements alerts.Store.
func (s *Store) QueueSweep(ctx context.Context, aid, version string, at time.Time) (bool, error) {
	res, err := s.q().ExecContext(ctx, `INSERT INTO alert_sweeps (aid_id, version, queued_at) VALUES (?, ?, ?)
		ON CONFLICT (aid_id, version) DO NOTHING`, aid, version, micros(at))
	if err != nil {
		return false, fmt.Errorf("store: queue sweep: %w", err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// ActiveGrantsOf implements exchange.BatchStore with one range query over
// the sorted subjects.
func (s *Store) ActiveGrantsOf(ctx context.Context, subjects, purposes []string, at time.Time) ([]consent.Grant, error) {
	if len(subjects) == 0 || len(purposes) == 0 {
		return nil, nil
	}
	t := micros(at)
	args := []any{subjects[0], subjects[len(subjects)-1], t, t}
	for _, p := range purposes {
		args = append(args, p)
	}
	rows, err := s.q().QueryContext(ctx, `SELECT `+grantColumns+` FROM consent_grants
		WHERE subject >= ? AND subject <= ? AND withdrawn_at = 0 AND granted_at <= ? AND expires_at > ?
		  AND purpose IN (`+placeholders(len(purposes))+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: active grants: %w", err)
	}
	defer rows.Close()
	var out []consent.Grant
	for rows.Next() {
		g, err := scanGrant(rows)
		if err != nil {
			return nil, fmt.Errorf("store: active grants: %w", err)
		}
		if _, ok := slices.BinarySearch(subjects, g.Subject); ok {
			out = append(out, g)
		}
	}
	return out, rows.Err()
}

// FactsOf implements exchange.BatchStore.
func (s *Store) FactsOf(ctx context.Context, subjects, categories, purposes []string, at time.Time) ([]exchange.SealedFacts, error) {
	if len(subjects) == 0 || len(categories) == 0 || len(purposes) == 0 {
		return nil, nil
	}
	args := []any{subjects[0], subjects[len(subjects)-1], micros(at)}
	for _, c := range categories {
		args = append(args, c)
	}
	for _, p := range purposes {
		args = append(args, p)
	}
	rows, err := s.q().QueryContext(ctx, `SELECT subject, category, purpose, grant_id, sealed, fetched_at, expires_at FROM facts
		WHERE subject >= ? AND subject <= ? AND expires_at > ? AND category IN (`+placeholders(len(categories))+`)
		AND purpose IN (`+placeholders(len(purposes))+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: facts: %w", err)
	}
	defer rows.Close()
	var out []exchange.SealedFacts
	for rows.Next() {
		var f exchange.SealedFacts
		var fetched, expires int64
		if err := rows.Scan(&f.Subject, &f.Category, &f.Purpose, &f.GrantID, &f.Sealed, &fetched, &expires); err != nil {
			return nil, fmt.Errorf("store: facts: %w", err)
		}
		if _, ok := slices.BinarySearch(subjects, f.Subject); ok {
			f.FetchedAt, f.ExpiresAt = fromMicros(fetched), fromMicros(expires)
			out = append(out, f)
		}
	}
	return out, rows.Err()
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// tuples is the VALUES list of n rows of width placeholders each.
func tuples(n, width int) string {
	row := "(" + placeholders(width) + ")"
	return strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}

// SubjectsWith implements alerts.DateStore.
func (s *Store) SubjectsWith(ctx context.Context, key, after string, before time.Time, limit int) ([]string, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT DISTINCT subject FROM alert_deliveries
		WHERE alert_key = ? AND subject > ? AND created_at < ? ORDER BY subject LIMIT ?`, key, after, micros(before), limit)
	if err != nil {
		return nil, fmt.Errorf("store: subjects with: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var sub string
		if err := rows.Scan(&sub); err != nil {
			return nil, fmt.Errorf("store: subjects with: %w", err)
		}
		out = append(out, sub)
	}
	return out, rows.Err()
}

// ExpiringGrants implements alerts.DateStore.
func (s *Store) ExpiringGrants(ctx context.Context, purpose string, from, to time.Time) ([]consent.Grant, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT `+grantColumns+` FROM consent_grants g
		WHERE purpose = ? AND withdrawn_at = 0 AND granted_at <= ? AND expires_at > ? AND expires_at <= ?
		  AND EXISTS (SELECT 1 FROM alert_subscriptions a WHERE a.subject = g.subject)
		ORDER BY subject, expires_at`, purpose, micros(from), micros(from), micros(to))
	if err != nil {
		return nil, fmt.Errorf("store: expiring grants: %w", err)
	}
	defer rows.Close()
	var out []consent.Grant
	for rows.Next() {
		g, err := scanGrant(rows)
		if err != nil {
			return nil, fmt.Errorf("store: expiring grants: %w", err)
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// SweepQueued implements alerts.Store.
func (s *Store) SweepQueued(ctx context.Context, aid, version string) (time.Time, bool, error) {
	var at int64
	err := s.q().QueryRowContext(ctx, `SELECT queued_at FROM alert_sweeps WHERE aid_id = ? AND version = ?`, aid, version).Scan(&at)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return time.Time{}, false, nil
	case err != nil:
		return time.Time{}, false, fmt.Errorf("store: sweep queued: %w", err)
	}
	return fromMicros(at), true, nil
}

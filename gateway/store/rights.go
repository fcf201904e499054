package store

import (
	"context"
	"fmt"
	"time"

	"github.com/obert-gov/obert/consent"
	"github.com/obert-gov/obert/gateway/exchange"
)

// SetObjection records (on) or lifts (off) the subject's objection of kind.
func (s *Store) SetObjection(ctx context.Context, subject, kind string, on bool, at time.Time) error {
	var err error
	if on {
		_, err = s.q().ExecContext(ctx, `INSERT INTO objections (subject, kind, at) VALUES (?, ?, ?)
			ON CONFLICT (subject, kind) DO NOTHING`, subject, kind, micros(at))
	} else {
		_, err = s.q().ExecContext(ctx, `DELETE FROM objections WHERE subject = ? AND kind = ?`, subject, kind)
	}
	if err != nil {
		return fmt.Errorf("store: objection: %w", err)
	}
	return nil
}

// Objections returns the subject's standing objections and when each was made.
func (s *Store) Objections(ctx context.Context, subject string) (map[string]time.Time, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT kind, at FROM objections WHERE subject = ?`, subject)
	if err != nil {
		return nil, fmt.Errorf("store: objections: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var kind string
		var at int64
		if err := rows.Scan(&kind, &at); err != nil {
			return nil, fmt.Errorf("store: objections: %w", err)
		}
		out[kind] = fromMicros(at)
	}
	return out, rows.Err()
}

// SessionInfo describes one of a subject's sessions, without its content.
type SessionInfo struct {
	CreatedAt, LastSeen time.Time
}

// SessionsOf lists the subject's sessions, oldest first.
func (s *Store) SessionsOf(ctx context.Context, subject string) ([]SessionInfo, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT created_at, last_seen FROM sessions WHERE subject = ? ORDER BY created_at`, subject)
	if err != nil {
		return nil, fmt.Errorf("store: sessions of: %w", err)
	}
	defer rows.Close()
	var out []SessionInfo
	for rows.Next() {
		var c, l int64
		if err := rows.Scan(&c, &l); err != nil {
			return nil, fmt.Errorf("store: sessions of: %w", err)
		}
		out = append(out, SessionInfo{CreatedAt: fromMicros(c), LastSeen: fromMicros(l)})
	}
	return out, rows.Err()
}

// ObjectedToPurpose reports whether subject objected to purpose.
func (s *Store) ObjectedToPurpose(ctx context.Context, subject, purpose string) (bool, error) {
	var n int
	err := s.q().QueryRowContext(ctx, `SELECT COUNT(*) FROM objections WHERE subject = ? AND kind = ?`,
		subject, consent.ObjectionTo(purpose)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("store: objected: %w", err)
	}
	return n > 0, nil
}

// Erased counts what EraseSubject removed.
type Erased struct {
	Grants, Facts, Sessions, Objections, Subscriptions, Deliveries, Documents, Acknowledgements, AuditEntries int64
	// Personal is the favourites, life events and layout of the folder.
	Personal int64
}

// EraseSubject deletes, in one transaction, everything Obert holds about
// subject: consent grants, facts, sessions, objections, alert
// subscriptions and deliveries, documents and their credentials (revoked in
// their status lists), acknowledgements of notifications, favourites, life
// events and the folder's layout; of the audit log
// it deletes the sealed entries but keeps their public commitments, so the
// log still verifies and reveals nothing. The entry keep (the record of the
// erasure itself) stays readable.
func (s *Store) EraseSubject(ctx context.Context, subject, keep string) (Erased, error) {
	var e Erased
	err := s.inTx(ctx, func(q querier) error {
		// The credentials issued with the documents are revoked in their
		// status lists first: a verifier learns they no longer stand, and
		// nothing of the citizen stays to say what they said.
		if _, err := q.ExecContext(ctx, `INSERT INTO credential_status_revoked (list, idx)
			SELECT status_list, status_idx FROM document_credentials WHERE subject = ?
			ON CONFLICT (list, idx) DO NOTHING`, subject); err != nil {
			return fmt.Errorf("store: erase: revoke credentials: %w", err)
		}
		var credentials, notices, personal int64
		for _, st := range []struct {
			n   *int64
			sql string
		}{
			{&credentials, `DELETE FROM document_credentials WHERE subject = ?`},
			{&e.Documents, `DELETE FROM documents WHERE subject = ?`},
			{&e.Acknowledgements, `DELETE FROM activity_acks WHERE subject = ?`},
			{&notices, `DELETE FROM activity_notices WHERE subject = ?`},
			{&notices, `DELETE FROM activity_noticed WHERE subject = ?`},
			{&e.Grants, `DELETE FROM consent_grants WHERE subject = ?`},
			{&e.Facts, `DELETE FROM facts WHERE subject = ?`},
			{&e.Sessions, `DELETE FROM sessions WHERE subject = ?`},
			{&e.Objections, `DELETE FROM objections WHERE subject = ?`},
			{&e.Subscriptions, `DELETE FROM alert_subscriptions WHERE subject = ?`},
			{&e.Deliveries, `DELETE FROM alert_deliveries WHERE subject = ?`},
			{&e.Personal, `DELETE FROM favourites WHERE subject = ?`},
			{&personal, `DELETE FROM life_events WHERE subject = ?`},
			{&personal, `DELETE FROM folder_layouts WHERE subject = ?`},
		} {
			res, err := q.ExecContext(ctx, st.sql, subject)
			if err != nil {
				return fmt.Errorf("store: erase: %w", err)
			}
			n, _ := res.RowsAffected()
			*st.n += n
		}
		e.Personal += personal
		// The leaf keeps its index and commitment; the sealed entry and the
		// subject key go. A new random subject keeps the column's meaning
		// without linking the erased rows to each other.
		res, err := q.ExecContext(ctx, `UPDATE audit_leaves SET sealed = ?, subject = ? WHERE subject = ? AND entry_id <> ?`,
			[]byte{}, "erased", subject, keep)
		if err != nil {
			return fmt.Errorf("store: erase audit entries: %w", err)
		}
		e.AuditEntries, _ = res.RowsAffected()
		return nil
	})
	return e, err
}

// PurgeExpiredFacts deletes the facts whose retention ended at now and
// returns what it deleted (without the sealed values).
func (s *Store) PurgeExpiredFacts(ctx context.Context, now time.Time) ([]exchange.SealedFacts, error) {
	var out []exchange.SealedFacts
	err := s.inTx(ctx, func(q querier) error {
		rows, err := q.QueryContext(ctx, `SELECT subject, category, purpose, grant_id, fetched_at, expires_at FROM facts WHERE expires_at <= ?`, micros(now))
		if err != nil {
			return fmt.Errorf("store: expired facts: %w", err)
		}
		for rows.Next() {
			var f exchange.SealedFacts
			var fetched, expires int64
			if err := rows.Scan(&f.Subject, &f.Category, &f.Purpose, &f.GrantID, &fetched, &expires); err != nil {
				rows.Close()
				return fmt.Errorf("store: expired facts: %w", err)
			}
			f.FetchedAt, f.ExpiresAt = fromMicros(fetched), fromMicros(expires)
			out = append(out, f)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, f := range out {
			if _, err := q.ExecContext(ctx, `DELETE FROM facts WHERE subject = ? AND category = ? AND purpose = ? AND expires_at <= ?`,
				f.Subject, f.Category, f.Purpose, micros(now)); err != nil {
				return fmt.Errorf("store: purge facts: %w", err)
			}
		}
		return nil
	})
	return out, err
}

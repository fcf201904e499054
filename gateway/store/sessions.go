package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/obert-gov/obert/gateway/signin"
)

var _ signin.Store = (*Store)(nil)

// PutFlow implements signin.Store.
func (s *Store) PutFlow(ctx context.Context, f signin.StoredFlow) error {
	_, err := s.q().ExecContext(ctx, `INSERT INTO signin_flows (id_hash, sealed, expires_at) VALUES (?, ?, ?)`,
		f.IDHash, f.Sealed, micros(f.ExpiresAt))
	if err != nil {
		return fmt.Errorf("store: put flow: %w", err)
	}
	return nil
}

// TakeFlow implements signin.Store.
func (s *Store) TakeFlow(ctx context.Context, idHash string, now time.Time) (signin.StoredFlow, error) {
	var f signin.StoredFlow
	err := s.inTx(ctx, func(q querier) error {
		var exp int64
		err := q.QueryRowContext(ctx, `SELECT sealed, expires_at FROM signin_flows WHERE id_hash = ?`, idHash).Scan(&f.Sealed, &exp)
		if errors.Is(err, sql.ErrNoRows) {
			return signin.ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("store: take flow: %w", err)
		}
		res, err := q.ExecContext(ctx, `DELETE FROM signin_flows WHERE id_hash = ?`, idHash)
		if err != nil {
			return fmt.Errorf("store: take flow: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return signin.ErrNotFound // taken by a concurrent request
		}
		// Expired flows of anyone are swept on the way.
		if _, err := q.ExecContext(ctx, `DELETE FROM signin_flows WHERE expires_at <= ?`, micros(now)); err != nil {
			return fmt.Errorf("store: sweep flows: %w", err)
		}
		f.IDHash, f.ExpiresAt = idHash, fromMicros(exp)
		if !now.Before(f.ExpiresAt) {
			return signin.ErrNotFound
		}
		return nil
	})
	if errors.Is(err, signin.ErrNotFound) {
		return signin.StoredFlow{}, err
	}
	return f, err
}

// PutSession implements signin.Store.
func (s *Store) PutSession(ctx context.Context, ss signin.StoredSession) error {
	_, err := s.q().ExecContext(ctx, `INSERT INTO sessions (id_hash, subject, sealed, created_at, last_seen) VALUES (?, ?, ?, ?, ?)`,
		ss.IDHash, ss.Subject, ss.Sealed, micros(ss.CreatedAt), micros(ss.LastSeen))
	if err != nil {
		return fmt.Errorf("store: put session: %w", err)
	}
	return nil
}

// getSession reads a session by the hash of its id.
const getSession = `SELECT subject, sealed, acting, created_at, last_seen FROM sessions WHERE id_hash = ?`

var getSessionPG = dollars(getSession)

// GetSession implements signin.Store.
func (s *Store) GetSession(ctx context.Context, idHash string, now time.Time, idle, absolute time.Duration) (signin.StoredSession, error) {
	ss := signin.StoredSession{IDHash: idHash}
	var created, seen int64
	var row rowScanner
	if s.pool != nil {
		// The read of every signed-in request, on the pool itself:
		// database/sql's layer cost a third as much again.
		row = s.pool.QueryRow(ctx, getSessionPG, idHash)
	} else {
		row = s.q().QueryRowContext(ctx, getSession, idHash)
	}
	err := row.Scan(&ss.Subject, &ss.Sealed, &ss.Acting, &created, &seen)
	if errors.Is(err, sql.ErrNoRows) || errors.Is(err, pgx.ErrNoRows) {
		return signin.StoredSession{}, signin.ErrNotFound
	}
	if err != nil {
		return signin.StoredSession{}, fmt.Errorf("store: get session: %w", err)
	}
	ss.CreatedAt, ss.LastSeen = fromMicros(created), fromMicros(seen)
	if !now.Before(ss.LastSeen.Add(idle)) || !now.Before(ss.CreatedAt.Add(absolute)) {
		if err := s.DeleteSession(ctx, idHash); err != nil {
			return signin.StoredSession{}, err
		}
		return signin.StoredSession{}, signin.ErrNotFound
	}
	if now.Sub(ss.LastSeen) < signin.TouchEvery {
		return ss, nil
	}
	if _, err := s.q().ExecContext(ctx, `UPDATE sessions SET last_seen = ? WHERE id_hash = ?`, micros(now), idHash); err != nil {
		return signin.StoredSession{}, fmt.Errorf("store: touch session: %w", err)
	}
	ss.LastSeen = now
	return ss, nil
}

// SetActing implements signin.Store.
func (s *Store) SetActing(ctx context.Context, idHash string, sealed []byte) error {
	res, err := s.q().ExecContext(ctx, `UPDATE sessions SET acting = ? WHERE id_hash = ?`, sealed, idHash)
	if err != nil {
		return fmt.Errorf("store: set acting: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return signin.ErrNotFound
	}
	return nil
}

// DeleteSession implements signin.Store.
func (s *Store) DeleteSession(ctx context.Context, idHash string) error {
	if _, err := s.q().ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = ?`, idHash); err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	return nil
}

// DeleteSessionsOf implements signin.Store.
func (s *Store) DeleteSessionsOf(ctx context.Context, subject string) (int64, error) {
	res, err := s.q().ExecContext(ctx, `DELETE FROM sessions WHERE subject = ?`, subject)
	if err != nil {
		return 0, fmt.Errorf("store: delete sessions: %w", err)
	}
	return res.RowsAffected()
}

// UseOnce implements signin.Store.
func (s *Store) UseOnce(ctx context.Context, idHash string, until, now time.Time) error {
	return s.inTx(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx, `DELETE FROM signin_used WHERE expires_at <= ?`, micros(now)); err != nil {
			return fmt.Errorf("store: sweep used ids: %w", err)
		}
		res, err := q.ExecContext(ctx, `INSERT INTO signin_used (id_hash, expires_at) VALUES (?, ?) ON CONFLICT (id_hash) DO NOTHING`,
			idHash, micros(until))
		if err != nil {
			return fmt.Errorf("store: use once: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return signin.ErrReplay
		}
		return nil
	})
}

// LiveSessions counts the sessions that are neither idle for idle nor older
// than absolute at now (an operator's gauge; it reads no session).
func (s *Store) LiveSessions(ctx context.Context, now time.Time, idle, absolute time.Duration) (int, error) {
	var n int
	err := s.q().QueryRowContext(ctx, `SELECT COUNT(*) FROM sessions WHERE last_seen > ? AND created_at > ?`,
		micros(now.Add(-idle)), micros(now.Add(-absolute))).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: count sessions: %w", err)
	}
	return n, nil
}

// ListSessions implements signin.Store.
func (s *Store) ListSessions(ctx context.Context, subject string, now time.Time, idle, absolute time.Duration) ([]signin.StoredSession, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT id_hash, sealed, created_at, last_seen FROM sessions
		WHERE subject = ? AND last_seen > ? AND created_at > ? ORDER BY created_at DESC, id_hash`,
		subject, micros(now.Add(-idle)), micros(now.Add(-absolute)))
	if err != nil {
		return nil, fmt.Errorf("store: list sessions: %w", err)
	}
	defer rows.Close()
	var out []signin.StoredSession
	for rows.Next() {
		ss := signin.StoredSession{Subject: subject}
		var created, seen int64
		if err := rows.Scan(&ss.IDHash, &ss.Sealed, &created, &seen); err != nil {
			return nil, fmt.Errorf("store: list sessions: %w", err)
		}
		ss.CreatedAt, ss.LastSeen = fromMicros(created), fromMicros(seen)
		out = append(out, ss)
	}
	return out, rows.Err()
}

// DeleteSessionOf implements signin.Store.
func (s *Store) DeleteSessionOf(ctx context.Context, subject, idHash string) error {
	res, err := s.q().ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = ? AND subject = ?`, idHash, subject)
	if err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return signin.ErrNotFound
	}
	return nil
}

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
)

var _ consent.Store = (*Store)(nil)

const grantColumns = `id, subject, category, purpose, requester, source, legal_basis,
	text_version, language, granted_at, expires_at, withdrawn_at, paused_at, min_interval, data_life, last_request, from_year, to_year`

// CreateGrant implements consent.Store.
func (s *Store) CreateGrant(ctx context.Context, g consent.Grant) error {
	_, err := s.q().ExecContext(ctx, `INSERT INTO consent_grants (`+grantColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		g.ID, g.Subject, g.Category, g.Purpose, g.Requester, g.Source, g.LegalBasis,
		g.TextVersion, g.Language, micros(g.GrantedAt), micros(g.ExpiresAt), micros(g.WithdrawnAt), micros(g.PausedAt),
		int64(g.MinInterval/time.Second), int64(g.DataLife/time.Second), micros(g.LastRequest), g.FromYear, g.ToYear)
	if isUniqueViolation(err) {
		return fmt.Errorf("store: grant %s: %w", g.ID, consent.ErrAlreadyExists)
	}
	if err != nil {
		return fmt.Errorf("store: create grant: %w", err)
	}
	return nil
}

// GetGrant implements consent.Store.
func (s *Store) GetGrant(ctx context.Context, subject, id string) (consent.Grant, error) {
	return getGrant(ctx, s.q(), subject, id)
}

func getGrant(ctx context.Context, q querier, subject, id string) (consent.Grant, error) {
	g, err := scanGrant(q.QueryRowContext(ctx,
		`SELECT `+grantColumns+` FROM consent_grants WHERE id = ? AND subject = ?`, id, subject))
	if errors.Is(err, sql.ErrNoRows) {
		return consent.Grant{}, consent.ErrNotFound
	}
	if err != nil {
		return consent.Grant{}, fmt.Errorf("store: get grant: %w", err)
	}
	return g, nil
}

// ListGrants implements consent.Store.
func (s *Store) ListGrants(ctx context.Context, subject string) ([]consent.Grant, error) {
	rows, err := s.q().QueryContext(ctx,
		`SELECT `+grantColumns+` FROM consent_grants WHERE subject = ? ORDER BY granted_at DESC, id DESC`, subject)
	if err != nil {
		return nil, fmt.Errorf("store: list grants: %w", err)
	}
	defer rows.Close()
	var out []consent.Grant
	for rows.Next() {
		g, err := scanGrant(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list grants: %w", err)
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// activeGrants selects a subject's grants for a purpose that are active
// at an instant, with its four arguments: subject, purpose, and the
// instant twice. ActiveGrant and ActiveGrants narrow it by category.
const activeGrants = `SELECT ` + grantColumns + ` FROM consent_grants
	WHERE subject = ? AND purpose = ? AND withdrawn_at = 0 AND paused_at = 0 AND granted_at <= ? AND expires_at > ?`

// ActiveGrant implements consent.Store.
func (s *Store) ActiveGrant(ctx context.Context, subject, category, purpose string, at time.Time) (consent.Grant, error) {
	t := micros(at)
	g, err := scanGrant(s.q().QueryRowContext(ctx, activeGrants+` AND category = ?
		ORDER BY granted_at DESC, id DESC LIMIT 1`, subject, purpose, t, t, category))
	if errors.Is(err, sql.ErrNoRows) {
		return consent.Grant{}, consent.ErrNotFound
	}
	if err != nil {
		return consent.Grant{}, fmt.Errorf("store: active grant: %w", err)
	}
	return g, nil
}

// ActiveGrants implements consent.Store: the active grants of every
// category in one query, the newest of each kept.
func (s *Store) ActiveGrants(ctx context.Context, subject, purpose string, categories []string, at time.Time) (map[string]consent.Grant, error) {
	out := map[string]consent.Grant{}
	if len(categories) == 0 {
		return out, nil
	}
	t := micros(at)
	args := []any{subject, purpose, t, t}
	for _, c := range categories {
		args = append(args, c)
	}
	rows, err := s.q().QueryContext(ctx, activeGrants+` AND category IN (`+placeholders(len(categories))+`)
		ORDER BY category, granted_at DESC, id DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: active grants: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		g, err := scanGrant(rows)
		if err != nil {
			return nil, fmt.Errorf("store: active grants: %w", err)
		}
		if _, newer := out[g.Category]; !newer {
			out[g.Category] = g
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: active grants: %w", err)
	}
	return out, nil
}

// ActiveGrantsAndCatalogue returns what ActiveGrants returns for every
// category of purpose, together with the catalogue's version
// (CatalogueVersion), read in one statement: what an exchange needs to
// know before it decides, in one round trip instead of two. The grants
// are joined to the catalogue's one head row, so the version comes back
// even when there are none.
func (s *Store) ActiveGrantsAndCatalogue(ctx context.Context, subject, purpose string, at time.Time) (map[string]consent.Grant, int64, error) {
	t := micros(at)
	var rows rowsIter
	if s.pool != nil {
		// The first read of every fetch, on the pool itself, as
		// GetSession.
		r, err := s.pool.Query(ctx, activeGrantsAndCataloguePG, subject, purpose, t, t)
		if err != nil {
			return nil, 0, fmt.Errorf("store: active grants and catalogue: %w", err)
		}
		defer r.Close()
		rows = r
	} else {
		r, err := s.q().QueryContext(ctx, activeGrantsAndCatalogue, subject, purpose, t, t)
		if err != nil {
			return nil, 0, fmt.Errorf("store: active grants and catalogue: %w", err)
		}
		defer r.Close()
		rows = r
	}
	out := map[string]consent.Grant{}
	version := int64(-1)
	for rows.Next() {
		g, err := scanGrant(prefixScanner{rows, &version})
		if err != nil {
			return nil, 0, fmt.Errorf("store: active grants and catalogue: %w", err)
		}
		if _, newer := out[g.Category]; g.ID != "" && !newer {
			out[g.Category] = g
		}
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("store: active grants and catalogue: %w", err)
	}
	if version < 0 {
		return nil, 0, errors.New("store: active grants and catalogue: the catalogue has no head")
	}
	return out, version, nil
}

// activeGrantsAndCatalogue is activeGrants, for every category, left
// joined to the catalogue's head: a row of zero values beside the version
// when there is no grant.
var activeGrantsAndCatalogue = func() string {
	text := []string{"id", "subject", "category", "purpose", "requester", "source", "legal_basis", "text_version", "language"}
	cols := strings.Split(grantColumns, ",")
	for i, c := range cols {
		c, zero := strings.TrimSpace(c), "0"
		if slices.Contains(text, c) {
			zero = "''"
		}
		cols[i] = "COALESCE(g." + c + ", " + zero + ")"
	}
	return `SELECT h.version, ` + strings.Join(cols, ", ") + ` FROM catalogue_head h
	LEFT JOIN (` + activeGrants + `) g ON TRUE
	WHERE h.id = 1 ORDER BY g.category, g.granted_at DESC, g.id DESC`
}()

var activeGrantsAndCataloguePG = dollars(activeGrantsAndCatalogue)

// prefixScanner scans its first column into first and the rest as asked.
type prefixScanner struct {
	r     rowScanner
	first any
}

func (p prefixScanner) Scan(dest ...any) error { return p.r.Scan(append([]any{p.first}, dest...)...) }

// WithdrawGrant implements consent.Store. The conditional UPDATE makes the
// withdrawal atomic with respect to concurrent withdrawals and checks.
func (s *Store) WithdrawGrant(ctx context.Context, subject, id string, at time.Time) (consent.Grant, error) {
	var out consent.Grant
	err := s.inTx(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `UPDATE consent_grants SET withdrawn_at = ?
			WHERE id = ? AND subject = ? AND withdrawn_at = 0`, micros(at), id, subject)
		if err != nil {
			return fmt.Errorf("store: withdraw grant: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("store: withdraw grant: %w", err)
		}
		g, err := getGrant(ctx, q, subject, id)
		if err != nil {
			return err
		}
		if n == 0 {
			return consent.ErrAlreadyWithdrawn
		}
		out = g
		return nil
	})
	return out, err
}

// PauseGrant implements consent.Store: one conditional UPDATE, so a pause
// races neither a withdrawal nor another pause.
func (s *Store) PauseGrant(ctx context.Context, subject, id string, at time.Time, pause bool) (consent.Grant, error) {
	var out consent.Grant
	err := s.inTx(ctx, func(q querier) error {
		stmt := `UPDATE consent_grants SET paused_at = ? WHERE id = ? AND subject = ? AND withdrawn_at = 0 AND paused_at = 0`
		arg := micros(at)
		if !pause {
			stmt = `UPDATE consent_grants SET paused_at = ? WHERE id = ? AND subject = ? AND withdrawn_at = 0 AND paused_at <> 0`
			arg = 0
		}
		res, err := q.ExecContext(ctx, stmt, arg, id, subject)
		if err != nil {
			return fmt.Errorf("store: pause grant: %w", err)
		}
		n, _ := res.RowsAffected()
		g, err := getGrant(ctx, q, subject, id)
		if err != nil {
			return err
		}
		switch {
		case n == 0 && !g.WithdrawnAt.IsZero():
			return consent.ErrAlreadyWithdrawn
		case n == 0:
			return fmt.Errorf("%w: the grant is already %s", consent.ErrInvalid, map[bool]string{true: "paused", false: "in force"}[pause])
		}
		out = g
		return nil
	})
	return out, err
}

// ClaimRequest implements consent.Store: one conditional UPDATE, so that
// of requests racing on any replica only one within the interval wins.
func (s *Store) ClaimRequest(ctx context.Context, id string, prev, at time.Time, minInterval time.Duration) (bool, error) {
	res, err := s.q().ExecContext(ctx, `UPDATE consent_grants SET last_request = ?
		WHERE id = ? AND last_request = ? AND (last_request = 0 OR last_request <= ?)`,
		micros(at), id, micros(prev), micros(at.Add(-minInterval)))
	if err != nil {
		return false, fmt.Errorf("store: claim request: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ReleaseRequest implements consent.Store: one conditional UPDATE, which
// changes nothing once another claim has replaced this one.
func (s *Store) ReleaseRequest(ctx context.Context, id string, prev, at time.Time) (bool, error) {
	res, err := s.q().ExecContext(ctx, `UPDATE consent_grants SET last_request = ? WHERE id = ? AND last_request = ?`,
		micros(prev), id, micros(at))
	if err != nil {
		return false, fmt.Errorf("store: release request: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// GrantByID implements consent.Store.
func (s *Store) GrantByID(ctx context.Context, id string) (consent.Grant, error) {
	g, err := scanGrant(s.q().QueryRowContext(ctx, `SELECT `+grantColumns+` FROM consent_grants WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return consent.Grant{}, consent.ErrNotFound
	}
	if err != nil {
		return consent.Grant{}, fmt.Errorf("store: grant by id: %w", err)
	}
	return g, nil
}

type rowScanner interface{ Scan(dest ...any) error }

func scanGrant(r rowScanner) (consent.Grant, error) {
	var g consent.Grant
	var granted, expires, withdrawn, paused, interval, life, last, from, to int64
	err := r.Scan(&g.ID, &g.Subject, &g.Category, &g.Purpose, &g.Requester, &g.Source, &g.LegalBasis,
		&g.TextVersion, &g.Language, &granted, &expires, &withdrawn, &paused, &interval, &life, &last, &from, &to)
	if err != nil {
		return consent.Grant{}, err
	}
	g.GrantedAt, g.ExpiresAt, g.WithdrawnAt, g.PausedAt = fromMicros(granted), fromMicros(expires), fromMicros(withdrawn), fromMicros(paused)
	g.MinInterval, g.DataLife, g.LastRequest = time.Duration(interval)*time.Second, time.Duration(life)*time.Second, fromMicros(last)
	g.FromYear, g.ToYear = int(from), int(to)
	return g, nil
}

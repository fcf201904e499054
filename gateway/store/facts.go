package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/obert-gov/obert/gateway/exchange"
)

var _ exchange.FactStore = (*Store)(nil)

// PutFactsAll implements exchange.FactStore: the sets of one fetch in one
// transaction, each replacing the last fetched for its purpose if the
// grant it was fetched under is still in force (facts fetched on a law
// have none). Their grants are read in one statement, in the order of
// their ids, under a share lock on PostgreSQL (on SQLite, the write lock)
// until the commit: a withdrawal either commits first, and nothing is
// stored under its grant, or waits for this one, and its deletion of the
// grant's facts follows it.
func (s *Store) PutFactsAll(ctx context.Context, fs []exchange.SealedFacts) ([]error, error) {
	errs, _, err := s.PutFactsAllSubscribed(ctx, fs, "")
	return errs, err
}

// subscribed reads whether the subject given has any subscription to
// alerts.
const subscribed = `SELECT EXISTS (SELECT 1 FROM alert_subscriptions WHERE subject = ?)`

// PutFactsAllSubscribed is PutFactsAll, and says whether subscriber (when
// not empty) has subscribed to alerts (Subscriptions would list some),
// read in the same transaction and, on PostgreSQL, the same round trip: a
// fetch that brought a subscriber new data queues their re-evaluation
// without a read of its own.
func (s *Store) PutFactsAllSubscribed(ctx context.Context, fs []exchange.SealedFacts, subscriber string) ([]error, bool, error) {
	var ids []string
	for _, f := range fs {
		// Facts fetched on a law rather than on consent have no grant.
		if f.GrantID != "" && !slices.Contains(ids, f.GrantID) {
			ids = append(ids, f.GrantID)
		}
	}
	slices.Sort(ids)
	if s.flavor == Postgres {
		return s.putFactsPostgres(ctx, fs, ids, subscriber)
	}
	var errs []error
	var subs bool
	err := s.inTx(ctx, func(q querier) error {
		if subscriber != "" {
			if err := q.QueryRowContext(ctx, subscribed, subscriber).Scan(&subs); err != nil {
				return fmt.Errorf("store: put facts: subscribed: %w", err)
			}
		}
		grants := map[string]factsGrant{}
		if len(ids) > 0 {
			args := make([]any, len(ids))
			for i, id := range ids {
				args[i] = id
			}
			rows, err := q.QueryContext(ctx, `SELECT id, subject, withdrawn_at FROM consent_grants WHERE id IN (`+
				placeholders(len(ids))+`) ORDER BY id`, args...)
			if err != nil {
				return fmt.Errorf("store: put facts: %w", err)
			}
			err = readGrants(rows, grants)
			if cerr := rows.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("store: put facts: %w", err)
			}
		}
		var keep []exchange.SealedFacts
		keep, errs = keepable(fs, grants)
		const per = 1000 // 7 parameters a row: 7,000 a statement, under SQLite's limit
		for lo := 0; lo < len(keep); lo += per {
			part := keep[lo:min(lo+per, len(keep))]
			args := make([]any, 0, 7*len(part))
			for _, f := range part {
				args = append(args, f.Subject, f.Category, f.Purpose, f.GrantID, f.Sealed, micros(f.FetchedAt), micros(f.ExpiresAt))
			}
			if _, err := q.ExecContext(ctx, `INSERT INTO facts (subject, category, purpose, grant_id, sealed, fetched_at, expires_at)
			VALUES `+tuples(len(part), 7)+factsUpsert, args...); err != nil {
				return fmt.Errorf("store: put facts: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return errs, subs, nil
}

// factsUpsert replaces the set kept for a subject, category and purpose.
const factsUpsert = `
	ON CONFLICT (subject, category, purpose) DO UPDATE SET grant_id = excluded.grant_id,
		sealed = excluded.sealed, fetched_at = excluded.fetched_at, expires_at = excluded.expires_at`

// factsGrant is what PutFactsAll reads of a grant.
type factsGrant struct {
	subject   string
	withdrawn int64
}

// readGrants reads rows of (id, subject, withdrawn_at) into grants.
func readGrants(rows rowsIter, grants map[string]factsGrant) error {
	for rows.Next() {
		var id string
		var g factsGrant
		if err := rows.Scan(&id, &g.subject, &g.withdrawn); err != nil {
			return err
		}
		grants[id] = g
	}
	return rows.Err()
}

// keepable is the sets of fs that may be kept, given their grants: not
// under a grant withdrawn or that is not the subject's (errs says which),
// and a set given twice keeps the last, as one statement each did.
func keepable(fs []exchange.SealedFacts, grants map[string]factsGrant) (keep []exchange.SealedFacts, errs []error) {
	errs = make([]error, len(fs))
	keep = make([]exchange.SealedFacts, 0, len(fs))
	seen := map[[3]string]bool{}
	for i := len(fs) - 1; i >= 0; i-- {
		f := fs[i]
		if f.GrantID != "" {
			if g, ok := grants[f.GrantID]; !ok || g.subject != f.Subject || g.withdrawn != 0 {
				errs[i] = exchange.ErrGrantWithdrawn
				continue
			}
		}
		if k := [3]string{f.Subject, f.Category, f.Purpose}; !seen[k] {
			seen[k] = true
			keep = append(keep, f)
		}
	}
	slices.Reverse(keep)
	return keep, errs
}

// putFactsPostgres is PutFactsAll on PostgreSQL in one statement
// (putFactsPG) on its generic plan, in one round trip and its own
// transaction: the grants under a share lock, and the sets that keepable
// keeps, whatever their number, as arrays.
// The grants it returns give each set's error, by keepable itself.
func (s *Store) putFactsPostgres(ctx context.Context, fs []exchange.SealedFacts, ids []string, subscriber string) ([]error, bool, error) {
	n := len(fs)
	subjects, categories, purposes, grantIDs := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	sealed, fetched, expires := make([][]byte, n), make([]int64, n), make([]int64, n)
	for i, f := range fs {
		subjects[i], categories[i], purposes[i], grantIDs[i] = f.Subject, f.Category, f.Purpose, f.GrantID
		sealed[i], fetched[i], expires[i] = f.Sealed, micros(f.FetchedAt), micros(f.ExpiresAt)
	}
	if ids == nil {
		ids = []string{}
	}
	grants := map[string]factsGrant{}
	var subs bool
	err := s.pgTx(ctx, func(b *pgx.Batch) {
		b.Queue(genericPlan)
		b.Queue(factsAsync)
		b.Queue(putFactsPG, subjects, categories, purposes, grantIDs, sealed, fetched, expires, ids).
			Query(func(rows pgx.Rows) error { return readGrants(rows, grants) })
		if subscriber != "" {
			b.Queue(s.rebind(subscribed), subscriber).QueryRow(func(row pgx.Row) error { return row.Scan(&subs) })
		}
	}, nil)
	if err != nil {
		return nil, false, fmt.Errorf("store: put facts: %w", err)
	}
	_, errs := keepable(fs, grants)
	return errs, subs, nil
}

// genericPlan makes the statements after it in its transaction run on
// their generic plan. PostgreSQL plans a prepared statement anew at every
// execution while the plan it makes for the values given looks cheaper
// than the generic one; for putFactsPG, whose arrays it then reads as
// constants of three elements against ten for a parameter, that is at
// every execution, and its planning took longer than its execution.
const genericPlan = "SET LOCAL plan_cache_mode = force_generic_plan"

// factsAsync lets the facts' commit return before its WAL is flushed to
// disk: facts are a copy of what a source holds, fetched again if a crash
// loses the last of them, and the fetch's page waited on that flush. The
// audit log's commits stay synchronous, and a later one flushes every WAL
// record before it, these included: a crash never keeps an audit entry
// and loses facts committed before it.
const factsAsync = "SET LOCAL synchronous_commit = off"

// putFactsPG locks the grants ($8) in the order of their ids, so that
// fetches sharing grants take them in one order, and inserts the sets
// ($1-$7) keepable keeps: those on a law (no grant) or under a grant of
// their subject not withdrawn, the last of each subject, category and
// purpose. A grant withdrawn by a transaction that commits while this one
// waits for its lock is read as withdrawn (PostgreSQL reads the locked
// row's newest version), so nothing is kept under it.
const putFactsPG = `WITH g AS (
	SELECT id, subject, withdrawn_at FROM consent_grants WHERE id = ANY($8::text[]) ORDER BY id FOR SHARE
), u AS (
	SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[], $6::bigint[], $7::bigint[])
		WITH ORDINALITY AS u (subject, category, purpose, grant_id, sealed, fetched_at, expires_at, n)
	WHERE u.grant_id = '' OR EXISTS (SELECT FROM g WHERE g.id = u.grant_id AND g.subject = u.subject AND g.withdrawn_at = 0)
), kept AS (
	INSERT INTO facts (subject, category, purpose, grant_id, sealed, fetched_at, expires_at)
	SELECT DISTINCT ON (subject, category, purpose) subject, category, purpose, grant_id, sealed, fetched_at, expires_at
	FROM u ORDER BY subject, category, purpose, n DESC` + factsUpsert + `
)
SELECT id, subject, withdrawn_at FROM g`

// GetFacts implements exchange.FactStore; expired facts are not returned.
func (s *Store) GetFacts(ctx context.Context, subject, category, purpose string, at time.Time) (exchange.SealedFacts, error) {
	f := exchange.SealedFacts{Subject: subject, Category: category, Purpose: purpose}
	var fetched, expires int64
	err := s.q().QueryRowContext(ctx, `SELECT grant_id, sealed, fetched_at, expires_at FROM facts
		WHERE subject = ? AND category = ? AND purpose = ? AND expires_at > ?`, subject, category, purpose, micros(at)).
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

// FactsHeld implements exchange.FactStore.
func (s *Store) FactsHeld(ctx context.Context, subject string, at time.Time) ([]exchange.SealedFacts, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT category, purpose, grant_id, sealed, fetched_at, expires_at FROM facts
		WHERE subject = ? AND expires_at > ? ORDER BY category, purpose`, subject, micros(at))
	if err != nil {
		return nil, fmt.Errorf("store: facts held: %w", err)
	}
	defer rows.Close()
	var out []exchange.SealedFacts
	for rows.Next() {
		f := exchange.SealedFacts{Subject: subject}
		var fetched, expires int64
		if err := rows.Scan(&f.Category, &f.Purpose, &f.GrantID, &f.Sealed, &fetched, &expires); err != nil {
			return nil, fmt.Errorf("store: facts held: %w", err)
		}
		f.FetchedAt, f.ExpiresAt = fromMicros(fetched), fromMicros(expires)
		out = append(out, f)
	}
	return out, rows.Err()
}

// DeleteFactsOfGrant implements exchange.FactStore.
func (s *Store) DeleteFactsOfGrant(ctx context.Context, subject, grantID string) (int64, error) {
	res, err := s.q().ExecContext(ctx, `DELETE FROM facts WHERE subject = ? AND grant_id = ?`, subject, grantID)
	if err != nil {
		return 0, fmt.Errorf("store: delete facts: %w", err)
	}
	return res.RowsAffected()
}

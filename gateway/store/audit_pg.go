package store

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/obert-gov/obert/audit"
)

// appendPostgres is AppendBatch on PostgreSQL. When this handle made the
// log's last two appends, with no other appender between them, it guesses
// that it is still the only one and appends in one round trip
// (appendAt); otherwise, or when the guess is wrong, in two
// (appendRead), which read the size first.
func (s *Store) appendPostgres(ctx context.Context, leaves []audit.Leaf, integrate audit.Integrator) (int64, error) {
	if first, ok := s.tail.guess(); ok {
		err := s.appendAt(ctx, first, leaves, integrate)
		if err == nil {
			s.tail.appended(first, len(leaves))
			return first, nil
		}
		s.tail.doubt()
		if !errors.Is(err, errGuessWrong) {
			// Not known to have left nothing behind (a connection lost
			// around the COMMIT, say): no second attempt, as for an
			// append in two round trips.
			return 0, err
		}
		// Another appender came first, or the log is not as this handle
		// thought: nothing was written, and the two round trips decide.
	}
	first, err := s.appendRead(ctx, leaves, integrate)
	if err != nil {
		return 0, err
	}
	s.tail.appended(first, len(leaves))
	return first, nil
}

// appendAt appends leaves at index first in one round trip on one
// connection of the pool: the hashes and checkpoint are computed before,
// from the stored hashes of a log of size first (read outside the
// transaction: a stored hash never changes once written), then BEGIN, the
// advisory lock, the check that the log's size is first (auditSizeIs),
// the leaves, hashes, checkpoint and usage counts (auditBatchPG) and
// COMMIT are sent pipelined. If the size is not first, the check fails,
// the transaction is rolled back, and nothing was written. The lock is
// held for the statements alone, not for a round trip and the hashing in
// between as in appendRead.
func (s *Store) appendAt(ctx context.Context, first int64, leaves []audit.Leaf, integrate audit.Integrator) error {
	hashes, cp, err := integrate(first, leaves, tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		return s.ReadHashes(ctx, idx)
	}))
	if err != nil {
		// Nothing was sent. A guess past the log's end lacks stored
		// hashes; the append in two round trips reads what it needs.
		return fmt.Errorf("store: audit: integrate: %w: %w", errGuessWrong, err)
	}
	err = s.pgTx(ctx, func(b *pgx.Batch) {
		b.Queue("SELECT pg_advisory_xact_lock($1)", int64(auditLockKey))
		b.Queue(auditSizeIs, first)
		b.Queue(auditBatchPG, auditBatchArgs(first, leaves, hashes, cp)...)
	}, nil)
	if pe := (*pgconn.PgError)(nil); errors.As(err, &pe) && pe.Code == divisionByZero {
		err = fmt.Errorf("%w: the log's size is not %d", errGuessWrong, first)
	}
	if err != nil {
		return fmt.Errorf("store: audit: %w", err)
	}
	return nil
}

// divisionByZero is PostgreSQL's SQLSTATE for auditSizeIs's failure.
const divisionByZero = "22012"

// errGuessWrong is an append at a guessed index that wrote nothing, the
// guess being wrong.
var errGuessWrong = errors.New("the guessed first index is not the log's size")

// auditSizeIs fails (division by zero) unless the log's size is $1: an
// append that guessed its first index goes no further when another
// appender has moved the log on, or when the log is not as it thought.
const auditSizeIs = `SELECT 1 / (COALESCE(MAX(idx) + 1, 0) = $1)::int FROM audit_leaves`

// appendRead is AppendBatch on PostgreSQL in two round trips on one
// connection of the pool:
//
//  1. BEGIN, the advisory lock and the size, pipelined: the server runs
//     them in order and each statement takes its own snapshot, so the
//     size is read once the lock is held, as when they were three round
//     trips;
//  2. the leaves, stored hashes, checkpoint and usage counts in one
//     data-modifying WITH, then COMMIT, pipelined.
//
// (Between them, the integrator reads the hashes another replica wrote,
// when there are any.) The rows go in as arrays (unnest), so the
// statement's text is the same for every batch: PostgreSQL parses and
// plans it once per connection, where a VALUES list of each batch's size
// was a new statement, prepared anew, for most batches.
func (s *Store) appendRead(ctx context.Context, leaves []audit.Leaf, integrate audit.Integrator) (first int64, err error) {
	err = s.pgTx(ctx, func(b *pgx.Batch) {
		b.Queue("SELECT pg_advisory_xact_lock($1)", int64(auditLockKey))
		b.Queue("SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_leaves").QueryRow(func(r pgx.Row) error { return r.Scan(&first) })
	}, func(conn *pgx.Conn, b *pgx.Batch) error {
		hashes, cp, err := integrate(first, leaves, tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
			return hashesAt(idx, func(distinct []int64, row func(int64, []byte) error) error {
				rows, err := conn.Query(ctx, `SELECT idx, hash FROM audit_hashes WHERE idx = ANY($1)`, distinct)
				if err != nil {
					return err
				}
				defer rows.Close()
				return eachHash(rows, row)
			})
		}))
		if err != nil {
			return fmt.Errorf("integrate: %w", err)
		}
		b.Queue(auditBatchPG, auditBatchArgs(first, leaves, hashes, cp)...)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: audit: %w", err)
	}
	return first, nil
}

// auditBatchArgs are auditBatchPG's arguments for leaves appended at
// first, with the stored hashes and checkpoint they make.
func auditBatchArgs(first int64, leaves []audit.Leaf, hashes []tlog.Hash, cp []byte) []any {
	n := len(leaves)
	idx, ids, subjects, at, commitments, sealed := make([]int64, n), make([]string, n), make([]string, n), make([]int64, n), make([][]byte, n), make([][]byte, n)
	for i, lf := range leaves {
		idx[i], ids[i], subjects[i], at[i], commitments[i], sealed[i] = first+int64(i), lf.EntryID, lf.Subject, lf.Time, lf.Commitment, lf.Sealed
	}
	base := tlog.StoredHashIndex(0, first)
	hidx, hs := make([]int64, len(hashes)), make([][]byte, len(hashes))
	for i := range hashes {
		hidx[i], hs[i] = base+int64(i), hashes[i][:]
	}
	uses, counts := usesOf(leaves)
	var u [8][]string
	ns := make([]int64, len(uses))
	for i, x := range uses {
		for j, v := range [8]string{x.Day, x.Source, x.Requester, x.Purpose, x.Category, x.Kind, x.Outcome, x.State} {
			u[j] = append(u[j], v)
		}
		ns[i] = counts[x]
	}
	return []any{idx, ids, subjects, at, commitments, sealed, hidx, hs, first + int64(n), cp,
		u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], ns}
}

// auditTail is what a handle knows of the log's end from its own appends:
// whether its next append may guess its first index.
type auditTail struct {
	mu    sync.Mutex
	end   int64 // the log's size after this handle's last append
	known bool  // end is set
	sole  bool  // no other appender wrote between this handle's last two appends

	guessed, missed int64 // appends that guessed, and guesses that failed
}

// guess is the first index of the next append, if this handle appears to
// be the log's only appender.
func (t *auditTail) guess() (int64, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.known || !t.sole {
		return 0, false
	}
	t.guessed++
	return t.end, true
}

// appended records an append of n leaves at first.
func (t *auditTail) appended(first int64, n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sole = t.known && first == t.end
	t.end, t.known = first+int64(n), true
}

// doubt records a guess that failed: the next append reads the size.
func (t *auditTail) doubt() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sole = false
	t.missed++
}

// auditBatchPG writes a batch's leaves, stored hashes, checkpoint and
// usage counts (see usageUpsert) in one statement, whatever its size.
const auditBatchPG = `WITH leaves AS (
	INSERT INTO audit_leaves (idx, entry_id, subject, at, commitment, sealed)
	SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::bytea[], $6::bytea[])
), hashes AS (
	INSERT INTO audit_hashes (idx, hash) SELECT * FROM unnest($7::bigint[], $8::bytea[])
), checkpoint AS (
	INSERT INTO audit_checkpoints (size, note) VALUES ($9, $10)
)
INSERT INTO usage_counts (day, source, requester, purpose, category, kind, outcome, state, count)
SELECT * FROM unnest($11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[], $19::bigint[])
ON CONFLICT (day, source, requester, purpose, category, kind, outcome, state) DO UPDATE SET count = usage_counts.count + excluded.count`

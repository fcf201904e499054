package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/obert-gov/obert/audit"
)

// appendPostgres is AppendBatch on PostgreSQL, in two round trips on one
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
func (s *Store) appendPostgres(ctx context.Context, leaves []audit.Leaf, integrate audit.Integrator) (first int64, err error) {
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
		b.Queue(auditBatchPG, idx, ids, subjects, at, commitments, sealed, hidx, hs, first+int64(n), cp,
			u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], ns)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: audit: %w", err)
	}
	return first, nil
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

package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/obert-gov/obert/audit"
)

var _ audit.Store = (*Store)(nil)

// auditLockKey is the PostgreSQL advisory lock that makes one sequencer of
// many gateway processes.
const auditLockKey = 0x0be7a0d17

// AppendBatch implements audit.Store.
func (s *Store) AppendBatch(ctx context.Context, leaves []audit.Leaf, integrate audit.Integrator) (int64, error) {
	var first int64
	err := s.inTx(ctx, func(q querier) error {
		if s.flavor == Postgres {
			if _, err := q.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?)`, int64(auditLockKey)); err != nil {
				return fmt.Errorf("store: audit lock: %w", err)
			}
		}
		if err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_leaves`).Scan(&first); err != nil {
			return fmt.Errorf("store: audit size: %w", err)
		}
		hashes, cp, err := integrate(first, leaves, tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
			return readHashes(ctx, q, idx)
		}))
		if err != nil {
			return fmt.Errorf("store: audit integrate: %w", err)
		}
		if err := insertLeaves(ctx, q, first, leaves); err != nil {
			return err
		}
		base := tlog.StoredHashIndex(0, first)
		if err := insertHashes(ctx, q, base, hashes); err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, `INSERT INTO audit_checkpoints (size, note) VALUES (?, ?)`,
			first+int64(len(leaves)), cp); err != nil {
			return fmt.Errorf("store: audit checkpoint: %w", err)
		}
		return countUsage(ctx, q, leaves)
	})
	return first, err
}

// countUsage adds the batch's uses of sources' data to the usage counts,
// in the transaction of their entries: a use is counted exactly when its
// entry is committed. One statement for up to 1,000 distinct uses, in a
// stable order, each use once, as an upsert needs.
func countUsage(ctx context.Context, q querier, leaves []audit.Leaf) error {
	counts := map[audit.Usage]int64{}
	for _, l := range leaves {
		if l.Usage != nil {
			counts[*l.Usage]++
		}
	}
	if len(counts) == 0 {
		return nil
	}
	uses := slices.SortedFunc(maps.Keys(counts), func(a, b audit.Usage) int {
		return cmp.Or(strings.Compare(a.Day, b.Day), strings.Compare(a.Source, b.Source), strings.Compare(a.Requester, b.Requester),
			strings.Compare(a.Purpose, b.Purpose), strings.Compare(a.Category, b.Category), strings.Compare(a.Kind, b.Kind),
			strings.Compare(a.Outcome, b.Outcome), strings.Compare(a.State, b.State))
	})
	const per = 1000 // 9 parameters a row: 9,000 a statement, under every driver's limit
	for lo := 0; lo < len(uses); lo += per {
		part := uses[lo:min(lo+per, len(uses))]
		args := make([]any, 0, 9*len(part))
		for _, u := range part {
			args = append(args, u.Day, u.Source, u.Requester, u.Purpose, u.Category, u.Kind, u.Outcome, u.State, counts[u])
		}
		if _, err := q.ExecContext(ctx, `INSERT INTO usage_counts (day, source, requester, purpose, category, kind, outcome, state, count)
			VALUES `+tuples(len(part), 9)+`
			ON CONFLICT (day, source, requester, purpose, category, kind, outcome, state) DO UPDATE SET count = usage_counts.count + excluded.count`,
			args...); err != nil {
			return fmt.Errorf("store: usage counts: %w", err)
		}
	}
	return nil
}

// UsageRow is one count of a usage report.
type UsageRow struct {
	audit.Usage
	Count int64
}

// UsageOf returns the usage counts of sources, from day from to day to
// (YYYY-MM-DD, both included), by day and then the rest.
func (s *Store) UsageOf(ctx context.Context, sources []string, from, to string) ([]UsageRow, error) {
	if len(sources) == 0 {
		return nil, nil
	}
	args := []any{from, to}
	marks := make([]string, len(sources))
	for i, src := range sources {
		marks[i] = "?"
		args = append(args, src)
	}
	rows, err := s.q().QueryContext(ctx, `SELECT day, source, requester, purpose, category, kind, outcome, state, count FROM usage_counts
		WHERE day >= ? AND day <= ? AND source IN (`+strings.Join(marks, ", ")+`)
		ORDER BY day, source, purpose, category, kind, outcome, state, requester`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: usage: %w", err)
	}
	defer rows.Close()
	var out []UsageRow
	for rows.Next() {
		var r UsageRow
		if err := rows.Scan(&r.Day, &r.Source, &r.Requester, &r.Purpose, &r.Category, &r.Kind, &r.Outcome, &r.State, &r.Count); err != nil {
			return nil, fmt.Errorf("store: usage: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// insertLeaves writes a batch of leaves numbered from first in multi-row
// statements.
func insertLeaves(ctx context.Context, q querier, first int64, leaves []audit.Leaf) error {
	const per = 256 // 6 parameters a row: 1,536 a statement, well under every driver's limit
	for lo := 0; lo < len(leaves); lo += per {
		part := leaves[lo:min(lo+per, len(leaves))]
		args := make([]any, 0, 6*len(part))
		for i, lf := range part {
			args = append(args, first+int64(lo+i), lf.EntryID, lf.Subject, lf.Time, lf.Commitment, lf.Sealed)
		}
		if _, err := q.ExecContext(ctx, `INSERT INTO audit_leaves (idx, entry_id, subject, at, commitment, sealed) VALUES `+
			tuples(len(part), 6), args...); err != nil {
			return fmt.Errorf("store: audit leaves: %w", err)
		}
	}
	return nil
}

// insertHashes writes consecutive stored hashes in multi-row statements.
func insertHashes(ctx context.Context, q querier, base int64, hashes []tlog.Hash) error {
	const per = 1000
	for lo := 0; lo < len(hashes); lo += per {
		part := hashes[lo:min(lo+per, len(hashes))]
		args := make([]any, 0, 2*len(part))
		for i := range part {
			args = append(args, base+int64(lo+i), part[i][:])
		}
		if _, err := q.ExecContext(ctx, `INSERT INTO audit_hashes (idx, hash) VALUES `+tuples(len(part), 2), args...); err != nil {
			return fmt.Errorf("store: audit hashes: %w", err)
		}
	}
	return nil
}

func readHashes(ctx context.Context, q querier, idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	if len(idx) == 0 {
		return out, nil
	}
	pos := map[int64][]int{}
	args := make([]any, 0, len(idx))
	var b strings.Builder
	b.WriteString(`SELECT idx, hash FROM audit_hashes WHERE idx IN (`)
	for i, x := range idx {
		if _, seen := pos[x]; !seen {
			if len(args) > 0 {
				b.WriteString(", ")
			}
			b.WriteString("?")
			args = append(args, x)
		}
		pos[x] = append(pos[x], i)
	}
	b.WriteString(")")
	rows, err := q.QueryContext(ctx, b.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("store: read hashes: %w", err)
	}
	defer rows.Close()
	found := 0
	for rows.Next() {
		var x int64
		var h []byte
		if err := rows.Scan(&x, &h); err != nil {
			return nil, err
		}
		if len(h) != tlog.HashSize {
			return nil, fmt.Errorf("store: stored hash %d has %d bytes", x, len(h))
		}
		for _, i := range pos[x] {
			copy(out[i][:], h)
		}
		found++
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if found != len(pos) {
		return nil, fmt.Errorf("store: %d of %d stored hashes missing", len(pos)-found, len(pos))
	}
	return out, nil
}

// ReadHashes implements audit.Store.
func (s *Store) ReadHashes(ctx context.Context, idx []int64) ([]tlog.Hash, error) {
	return readHashes(ctx, s.q(), idx)
}

// Checkpoint implements audit.Store. An empty log has size 0 and no note.
func (s *Store) Checkpoint(ctx context.Context) ([]byte, int64, error) {
	var note []byte
	var size int64
	err := s.q().QueryRowContext(ctx, `SELECT size, note FROM audit_checkpoints ORDER BY size DESC LIMIT 1`).Scan(&size, &note)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, audit.ErrNotFound
	}
	if err != nil {
		return nil, 0, fmt.Errorf("store: checkpoint: %w", err)
	}
	return note, size, nil
}

const leafColumns = `idx, entry_id, subject, at, commitment, sealed`

func scanLeaf(r rowScanner) (audit.Leaf, error) {
	var l audit.Leaf
	err := r.Scan(&l.Index, &l.EntryID, &l.Subject, &l.Time, &l.Commitment, &l.Sealed)
	return l, err
}

// LeavesOf implements audit.Store.
func (s *Store) LeavesOf(ctx context.Context, subject string) ([]audit.Leaf, error) {
	rows, err := s.q().QueryContext(ctx, `SELECT `+leafColumns+` FROM audit_leaves WHERE subject = ? ORDER BY idx DESC`, subject)
	if err != nil {
		return nil, fmt.Errorf("store: audit leaves: %w", err)
	}
	defer rows.Close()
	var out []audit.Leaf
	for rows.Next() {
		l, err := scanLeaf(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// LeafByEntry implements audit.Store.
func (s *Store) LeafByEntry(ctx context.Context, subject, id string) (audit.Leaf, error) {
	l, err := scanLeaf(s.q().QueryRowContext(ctx, `SELECT `+leafColumns+` FROM audit_leaves WHERE entry_id = ? AND subject = ?`, id, subject))
	if errors.Is(err, sql.ErrNoRows) {
		return audit.Leaf{}, audit.ErrNotFound
	}
	if err != nil {
		return audit.Leaf{}, fmt.Errorf("store: audit leaf: %w", err)
	}
	return l, nil
}

var _ audit.WriteProber = (*Store)(nil)

// ProbeWrite implements audit.WriteProber: a write statement on the audit
// tables that changes no row, in a transaction that takes the write lock
// (SQLite) or fails on a read-only server (PostgreSQL).
//
// On PostgreSQL it also takes the sequencing lock, waiting at most a
// second: a log whose lock another session holds for longer cannot commit
// anything, and the replica must not say it is ready while every exchange
// would wait on it.
func (s *Store) ProbeWrite(ctx context.Context) error {
	return s.inTx(ctx, func(q querier) error {
		if s.flavor == Postgres {
			if _, err := q.ExecContext(ctx, `SET LOCAL lock_timeout = '1s'`); err != nil {
				return err
			}
			if _, err := q.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?)`, int64(auditLockKey)); err != nil {
				return fmt.Errorf("store: the audit log's lock is held elsewhere: %w", err)
			}
		}
		_, err := q.ExecContext(ctx, `DELETE FROM audit_checkpoints WHERE size < 0`)
		return err
	})
}

// AuditLockKey is the advisory lock the audit log's sequencer takes on
// PostgreSQL (for tests that hold it to see what a replica does then).
const AuditLockKey = auditLockKey

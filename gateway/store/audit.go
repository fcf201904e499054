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
	if s.flavor == Postgres {
		return s.appendPostgres(ctx, leaves, integrate)
	}
	var first int64
	err := s.inTx(ctx, func(q querier) error {
		if err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_leaves`).Scan(&first); err != nil {
			return fmt.Errorf("store: audit size: %w", err)
		}
		hashes, cp, err := integrate(first, leaves, tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
			return readHashes(ctx, q, idx)
		}))
		if err != nil {
			return fmt.Errorf("store: audit integrate: %w", err)
		}
		base := tlog.StoredHashIndex(0, first)
		size := first + int64(len(leaves))
		uses, counts := usesOf(leaves)
		// On SQLite, in statements of a bounded number of rows, each
		// under its limit of parameters.
		for lo := 0; lo < len(leaves); lo += leavesPer {
			st, args := leavesInsert(first+int64(lo), leaves[lo:min(lo+leavesPer, len(leaves))])
			if _, err := q.ExecContext(ctx, st, args...); err != nil {
				return fmt.Errorf("store: audit leaves: %w", err)
			}
		}
		for lo := 0; lo < len(hashes); lo += hashesPer {
			st, args := hashesInsert(base+int64(lo), hashes[lo:min(lo+hashesPer, len(hashes))])
			if _, err := q.ExecContext(ctx, st, args...); err != nil {
				return fmt.Errorf("store: audit hashes: %w", err)
			}
		}
		if _, err := q.ExecContext(ctx, `INSERT INTO audit_checkpoints (size, note) VALUES (?, ?)`, size, cp); err != nil {
			return fmt.Errorf("store: audit checkpoint: %w", err)
		}
		for lo := 0; lo < len(uses); lo += usesPer {
			st, args := usageUpsert(uses[lo:min(lo+usesPer, len(uses))], counts)
			if _, err := q.ExecContext(ctx, st, args...); err != nil {
				return fmt.Errorf("store: usage counts: %w", err)
			}
		}
		return nil
	})
	return first, err
}

// Rows a statement writes at most on SQLite: each well under its limit
// of parameters (6, 2 and 9 a row).
const (
	leavesPer = 256
	hashesPer = 1000
	usesPer   = 1000
)

// usesOf is the batch's uses of sources' data, counted, in a stable
// order: they are added to the usage counts in the transaction of their
// entries, so a use is counted exactly when its entry is committed.
func usesOf(leaves []audit.Leaf) ([]audit.Usage, map[audit.Usage]int64) {
	counts := map[audit.Usage]int64{}
	for _, l := range leaves {
		if l.Usage != nil {
			counts[*l.Usage]++
		}
	}
	uses := slices.SortedFunc(maps.Keys(counts), func(a, b audit.Usage) int {
		return cmp.Or(strings.Compare(a.Day, b.Day), strings.Compare(a.Source, b.Source), strings.Compare(a.Requester, b.Requester),
			strings.Compare(a.Purpose, b.Purpose), strings.Compare(a.Category, b.Category), strings.Compare(a.Kind, b.Kind),
			strings.Compare(a.Outcome, b.Outcome), strings.Compare(a.State, b.State))
	})
	return uses, counts
}

// usageUpsert adds uses, each once, as an upsert needs, to the counts.
func usageUpsert(uses []audit.Usage, counts map[audit.Usage]int64) (string, []any) {
	args := make([]any, 0, 9*len(uses))
	for _, u := range uses {
		args = append(args, u.Day, u.Source, u.Requester, u.Purpose, u.Category, u.Kind, u.Outcome, u.State, counts[u])
	}
	return `INSERT INTO usage_counts (day, source, requester, purpose, category, kind, outcome, state, count)
		VALUES ` + tuples(len(uses), 9) + `
		ON CONFLICT (day, source, requester, purpose, category, kind, outcome, state) DO UPDATE SET count = usage_counts.count + excluded.count`, args
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

// leavesInsert writes leaves from index first.
func leavesInsert(first int64, leaves []audit.Leaf) (string, []any) {
	args := make([]any, 0, 6*len(leaves))
	for i, lf := range leaves {
		args = append(args, first+int64(i), lf.EntryID, lf.Subject, lf.Time, lf.Commitment, lf.Sealed)
	}
	return `INSERT INTO audit_leaves (idx, entry_id, subject, at, commitment, sealed) VALUES ` + tuples(len(leaves), 6), args
}

// hashesInsert writes consecutive stored hashes from index base.
func hashesInsert(base int64, hashes []tlog.Hash) (string, []any) {
	args := make([]any, 0, 2*len(hashes))
	for i := range hashes {
		args = append(args, base+int64(i), hashes[i][:])
	}
	return `INSERT INTO audit_hashes (idx, hash) VALUES ` + tuples(len(hashes), 2), args
}

func readHashes(ctx context.Context, q querier, idx []int64) ([]tlog.Hash, error) {
	return hashesAt(idx, func(distinct []int64, row func(int64, []byte) error) error {
		args := make([]any, len(distinct))
		for i, x := range distinct {
			args[i] = x
		}
		rows, err := q.QueryContext(ctx, `SELECT idx, hash FROM audit_hashes WHERE idx IN (`+placeholders(len(distinct))+`)`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		return eachHash(rows, row)
	})
}

// eachHash calls row with each of rows, a query of (idx, hash).
func eachHash(rows rowsIter, row func(x int64, h []byte) error) error {
	for rows.Next() {
		var x int64
		var h []byte
		if err := rows.Scan(&x, &h); err != nil {
			return err
		}
		if err := row(x, h); err != nil {
			return err
		}
	}
	return rows.Err()
}

// hashesAt returns the stored hashes idx (repeats allowed): query reads
// the distinct indexes and calls row with each one found; one missing is
// an error.
func hashesAt(idx []int64, query func(distinct []int64, row func(x int64, h []byte) error) error) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	if len(idx) == 0 {
		return out, nil
	}
	pos := map[int64][]int{}
	var distinct []int64
	for i, x := range idx {
		if _, seen := pos[x]; !seen {
			distinct = append(distinct, x)
		}
		pos[x] = append(pos[x], i)
	}
	found := 0
	err := query(distinct, func(x int64, h []byte) error {
		if len(h) != tlog.HashSize {
			return fmt.Errorf("stored hash %d has %d bytes", x, len(h))
		}
		for _, i := range pos[x] {
			copy(out[i][:], h)
		}
		found++
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: read hashes: %w", err)
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

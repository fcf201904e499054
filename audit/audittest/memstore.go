package audittest

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/obert-gov/obert/audit"
)

// MemStore is an audit.Store in memory, for tests of what reads the log
// (tiles, proofs, the HTTP handler, fuzz targets) that need no database. It
// passes RunStore's tests but the tamper ones, which need SQL.
type MemStore struct {
	mu     sync.Mutex
	leaves []audit.Leaf
	hashes []tlog.Hash // by tlog stored-hash index
	cp     []byte
}

var _ audit.Store = (*MemStore)(nil)

// AppendBatch implements audit.Store.
func (m *MemStore) AppendBatch(ctx context.Context, leaves []audit.Leaf, integrate audit.Integrator) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	size := int64(len(m.leaves))
	hs, cp, err := integrate(size, leaves, tlog.HashReaderFunc(m.read))
	if err != nil {
		return 0, err
	}
	if want := tlog.StoredHashIndex(0, size+int64(len(leaves))); int64(len(m.hashes)+len(hs)) != want {
		return 0, fmt.Errorf("audittest: %d stored hashes after the batch, want %d", len(m.hashes)+len(hs), want)
	}
	for i, lf := range leaves {
		lf.Index = size + int64(i)
		m.leaves = append(m.leaves, lf)
	}
	m.hashes = append(m.hashes, hs...)
	m.cp = cp
	return size, nil
}

func (m *MemStore) read(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		if x < 0 || x >= int64(len(m.hashes)) {
			return nil, fmt.Errorf("audittest: no stored hash %d", x)
		}
		out[i] = m.hashes[x]
	}
	return out, nil
}

// ReadHashes implements audit.Store.
func (m *MemStore) ReadHashes(ctx context.Context, idx []int64) ([]tlog.Hash, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.read(idx)
}

// Checkpoint implements audit.Store.
func (m *MemStore) Checkpoint(ctx context.Context) ([]byte, int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cp == nil {
		return nil, 0, audit.ErrNotFound
	}
	return m.cp, int64(len(m.leaves)), nil
}

// LeavesOf implements audit.Store.
func (m *MemStore) LeavesOf(ctx context.Context, subject string) ([]audit.Leaf, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []audit.Leaf
	for _, lf := range slices.Backward(m.leaves) {
		if lf.Subject == subject {
			out = append(out, lf)
		}
	}
	return out, nil
}

// LeafByEntry implements audit.Store.
func (m *MemStore) LeafByEntry(ctx context.Context, subject, id string) (audit.Leaf, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, lf := range m.leaves {
		if lf.Subject == subject && lf.EntryID == id {
			return lf, nil
		}
	}
	return audit.Leaf{}, audit.ErrNotFound
}

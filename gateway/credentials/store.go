package credentials

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

// Store keeps the status-list indices the issuer has handed out and which
// of them are revoked. A list is named by its URI. Implementations must be
// safe for concurrent use, and NextIndex must never return an index twice
// for one list, also across processes sharing a database.
type Store interface {
	// NextIndex allocates the next unused index of list, starting at 0.
	NextIndex(ctx context.Context, list string) (int64, error)
	// SetRevoked marks an allocated index revoked; revoking twice is not
	// an error. An index never allocated is ErrNotFound.
	SetRevoked(ctx context.Context, list string, idx int64) error
	// Revoked returns every revoked index of list, in any order.
	Revoked(ctx context.Context, list string) ([]int64, error)
}

// MemoryStore is a Store in memory, for tests and development.
type MemoryStore struct {
	mu    sync.Mutex
	lists map[string]*memList
}

type memList struct {
	next    int64
	revoked map[int64]bool
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{lists: map[string]*memList{}} }

func (m *MemoryStore) list(name string) *memList {
	l := m.lists[name]
	if l == nil {
		l = &memList{revoked: map[int64]bool{}}
		m.lists[name] = l
	}
	return l
}

// NextIndex implements Store.
func (m *MemoryStore) NextIndex(ctx context.Context, list string) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.list(list)
	l.next++
	return l.next - 1, nil
}

// SetRevoked implements Store.
func (m *MemoryStore) SetRevoked(ctx context.Context, list string, idx int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.list(list)
	if idx < 0 || idx >= l.next {
		return fmt.Errorf("%w: %d in %s", ErrNotFound, idx, list)
	}
	l.revoked[idx] = true
	return nil
}

// Revoked implements Store.
func (m *MemoryStore) Revoked(ctx context.Context, list string) ([]int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []int64
	for idx := range m.list(list).revoked {
		out = append(out, idx)
	}
	slices.Sort(out)
	return out, nil
}

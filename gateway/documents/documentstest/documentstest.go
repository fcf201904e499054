// Package documentstest holds the conformance tests every documents.Store
// passes, and an in-memory store for the package's own tests.
package documentstest

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/obert-gov/obert/gateway/documents"
)

// RunStore checks a store: documents are kept as given, found by code,
// listed for their subject only, newest first, and revoked once by their
// subject only.
func RunStore(t *testing.T, open func(t *testing.T) documents.Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	s := open(t)
	a1 := documents.Stored{CSV: documents.NewCSV(), Subject: "alice", Type: string(documents.Census), IssuedAt: t0,
		ValidUntil: t0.Add(90 * 24 * time.Hour), Sealed: []byte{1, 2, 3}}
	a2 := a1
	a2.CSV, a2.Type, a2.IssuedAt, a2.Sealed = documents.NewCSV(), string(documents.Tax), t0.Add(time.Minute), []byte{4}
	b1 := a1
	b1.CSV, b1.Subject = documents.NewCSV(), "bob"
	for _, d := range []documents.Stored{a1, a2, b1} {
		if err := s.PutDocument(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	dup := b1
	dup.Subject = "mallory"
	if err := s.PutDocument(ctx, dup); !errors.Is(err, documents.ErrAlreadyExists) {
		t.Fatalf("a code used twice: %v", err)
	}
	got, err := s.GetDocument(ctx, a1.CSV)
	if err != nil || !same(got, a1) {
		t.Fatalf("GetDocument = %+v, %v; want %+v", got, err, a1)
	}
	if _, err := s.GetDocument(ctx, documents.NewCSV()); !errors.Is(err, documents.ErrNotFound) {
		t.Fatalf("an unknown code: %v", err)
	}
	list, err := s.DocumentsOf(ctx, "alice")
	if err != nil || len(list) != 2 || !same(list[0], a2) || !same(list[1], a1) {
		t.Fatalf("DocumentsOf(alice) = %+v, %v", list, err)
	}
	if list, err := s.DocumentsOf(ctx, "nobody"); err != nil || len(list) != 0 {
		t.Fatalf("DocumentsOf(nobody) = %+v, %v", list, err)
	}
	// Only its subject revokes a document, and only once.
	at := t0.Add(time.Hour)
	if _, err := s.RevokeDocument(ctx, "bob", a1.CSV, at); !errors.Is(err, documents.ErrNotFound) {
		t.Fatalf("bob revoked alice's document: %v", err)
	}
	r, err := s.RevokeDocument(ctx, "alice", a1.CSV, at)
	if err != nil || !r.RevokedAt.Equal(at) || r.CSV != a1.CSV || !bytes.Equal(r.Sealed, a1.Sealed) {
		t.Fatalf("RevokeDocument = %+v, %v", r, err)
	}
	if _, err := s.RevokeDocument(ctx, "alice", a1.CSV, at.Add(time.Hour)); !errors.Is(err, documents.ErrAlreadyRevoked) {
		t.Fatalf("revoked twice: %v", err)
	}
	if got, _ := s.GetDocument(ctx, a1.CSV); !got.RevokedAt.Equal(at) {
		t.Fatalf("revocation not kept: %+v", got)
	}
	if got, _ := s.GetDocument(ctx, a2.CSV); !got.RevokedAt.IsZero() {
		t.Fatalf("another document revoked too: %+v", got)
	}
}

func same(a, b documents.Stored) bool {
	return a.CSV == b.CSV && a.Subject == b.Subject && a.Type == b.Type && a.IssuedAt.Equal(b.IssuedAt) &&
		a.ValidUntil.Equal(b.ValidUntil) && a.RevokedAt.Equal(b.RevokedAt) && bytes.Equal(a.Sealed, b.Sealed)
}

// Memory is an in-memory documents.Store.
type Memory struct {
	mu   sync.Mutex
	docs map[string]documents.Stored
}

var _ documents.Store = (*Memory)(nil)

func (m *Memory) PutDocument(_ context.Context, d documents.Stored) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.docs == nil {
		m.docs = map[string]documents.Stored{}
	}
	if _, ok := m.docs[d.CSV]; ok {
		return documents.ErrAlreadyExists
	}
	m.docs[d.CSV] = d
	return nil
}

func (m *Memory) GetDocument(_ context.Context, csv string) (documents.Stored, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.docs[csv]
	if !ok {
		return documents.Stored{}, documents.ErrNotFound
	}
	return d, nil
}

func (m *Memory) DocumentsOf(_ context.Context, subject string) ([]documents.Stored, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []documents.Stored
	for _, d := range m.docs {
		if d.Subject == subject {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b documents.Stored) int { return b.IssuedAt.Compare(a.IssuedAt) })
	return out, nil
}

func (m *Memory) RevokeDocument(_ context.Context, subject, csv string, at time.Time) (documents.Stored, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.docs[csv]
	if !ok || d.Subject != subject {
		return documents.Stored{}, documents.ErrNotFound
	}
	if !d.RevokedAt.IsZero() {
		return documents.Stored{}, documents.ErrAlreadyRevoked
	}
	d.RevokedAt = at
	m.docs[csv] = d
	return d, nil
}

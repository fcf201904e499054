// Package credentialstest holds the contract every credentials.Store must
// meet; each backend's tests call RunStore.
package credentialstest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/obert-gov/obert/gateway/credentials"
)

// RunStore runs the Store contract against fresh stores from newStore.
func RunStore(t *testing.T, newStore func(t *testing.T) credentials.Store) {
	t.Run("indices from zero, per list", func(t *testing.T) {
		s, ctx := newStore(t), context.Background()
		for want := int64(0); want < 3; want++ {
			if got, err := s.NextIndex(ctx, "https://a/1"); err != nil || got != want {
				t.Fatalf("NextIndex = %d, %v; want %d", got, err, want)
			}
		}
		if got, err := s.NextIndex(ctx, "https://a/2"); err != nil || got != 0 {
			t.Fatalf("another list starts at %d, %v", got, err)
		}
	})
	t.Run("concurrent allocation never repeats", func(t *testing.T) {
		s, ctx := newStore(t), context.Background()
		var mu sync.Mutex
		var got []int64
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				idx, err := s.NextIndex(ctx, "https://a/1")
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				got = append(got, idx)
				mu.Unlock()
			})
		}
		wg.Wait()
		slices.Sort(got)
		if len(slices.Compact(got)) != 20 || got[19] != 19 {
			t.Errorf("indices %v", got)
		}
	})
	t.Run("revocation", func(t *testing.T) {
		s, ctx := newStore(t), context.Background()
		for range 4 {
			s.NextIndex(ctx, "https://a/1")
		}
		if r, err := s.Revoked(ctx, "https://a/1"); err != nil || len(r) != 0 {
			t.Fatalf("fresh list revoked %v, %v", r, err)
		}
		for _, idx := range []int64{3, 1, 3} { // twice is not an error
			if err := s.SetRevoked(ctx, "https://a/1", idx); err != nil {
				t.Fatalf("SetRevoked(%d): %v", idx, err)
			}
		}
		r, err := s.Revoked(ctx, "https://a/1")
		slices.Sort(r)
		if err != nil || !slices.Equal(r, []int64{1, 3}) {
			t.Errorf("Revoked = %v, %v", r, err)
		}
		if r, _ := s.Revoked(ctx, "https://a/2"); len(r) != 0 {
			t.Errorf("another list sees %v", r)
		}
		for _, idx := range []int64{4, -1} {
			if err := s.SetRevoked(ctx, "https://a/1", idx); !errors.Is(err, credentials.ErrNotFound) {
				t.Errorf("SetRevoked(%d) never allocated: %v", idx, err)
			}
		}
		if err := s.SetRevoked(ctx, "https://a/2", 0); !errors.Is(err, credentials.ErrNotFound) {
			t.Errorf("SetRevoked on an empty list: %v", err)
		}
	})
}

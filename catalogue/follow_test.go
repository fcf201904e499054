package catalogue_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/obert-gov/obert/catalogue"
)

type fakeHead struct {
	v   atomic.Int64
	err atomic.Pointer[error]
}

func (h *fakeHead) CatalogueVersion(context.Context) (int64, error) {
	if e := h.err.Load(); e != nil {
		return 0, *e
	}
	return h.v.Load(), nil
}

func TestFollowerLoadsOnlyWhenTheVersionMoves(t *testing.T) {
	ctx := context.Background()
	head := &fakeHead{}
	var loads atomic.Int32
	f := catalogue.NewFollower(head, func(context.Context) (int64, error) {
		loads.Add(1)
		return head.v.Load(), nil
	}, nil)
	if f.Applied() != -1 {
		t.Fatalf("applied before any load: %d", f.Applied())
	}
	for range 3 {
		if err := f.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if loads.Load() != 1 || f.Applied() != 0 {
		t.Fatalf("%d loads, applied %d: the first sync loads, the others find nothing new", loads.Load(), f.Applied())
	}
	head.v.Store(7)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { f.Sync(ctx) })
	}
	wg.Wait()
	if loads.Load() != 2 || f.Applied() != 7 {
		t.Fatalf("%d loads, applied %d after one change seen by 8 callers at once", loads.Load(), f.Applied())
	}
	// The head cannot be read: Sync says so (an exchange then fails closed).
	boom := errors.New("database down")
	head.err.Store(&boom)
	if err := f.Sync(ctx); !errors.Is(err, boom) {
		t.Fatalf("sync with the head unreadable: %v", err)
	}
}

// SyncTo takes a version read elsewhere: it loads only past what is in
// effect, and a version older than that (read before a load another
// caller made) changes nothing.
func TestFollowerSyncToAVersionReadElsewhere(t *testing.T) {
	ctx := context.Background()
	head := &fakeHead{}
	head.v.Store(3)
	var loads atomic.Int32
	f := catalogue.NewFollower(head, func(context.Context) (int64, error) {
		loads.Add(1)
		return head.v.Load(), nil
	}, nil)
	for _, step := range []struct {
		v, head int64
		loads   int32
		applied int64
	}{
		{v: 3, head: 3, loads: 1, applied: 3}, // first: loads what the store holds
		{v: 3, head: 3, loads: 1, applied: 3}, // nothing new
		{v: 2, head: 5, loads: 1, applied: 3}, // an old read: nothing, even though the head moved
		{v: 5, head: 5, loads: 2, applied: 5}, // moved: loads
		{v: 5, head: 6, loads: 2, applied: 5}, // the version read is the one in effect
	} {
		head.v.Store(step.head)
		if err := f.SyncTo(ctx, step.v); err != nil {
			t.Fatal(err)
		}
		if loads.Load() != step.loads || f.Applied() != step.applied {
			t.Fatalf("SyncTo(%d) with the head at %d: %d loads, applied %d; want %d and %d",
				step.v, step.head, loads.Load(), f.Applied(), step.loads, step.applied)
		}
	}
}

func TestFollowerRetriesAFailedLoad(t *testing.T) {
	ctx := context.Background()
	head := &fakeHead{}
	head.v.Store(3)
	fail := atomic.Bool{}
	fail.Store(true)
	f := catalogue.NewFollower(head, func(context.Context) (int64, error) {
		if fail.Load() {
			return 0, errors.New("store unreadable")
		}
		return head.v.Load(), nil
	}, nil)
	if err := f.Sync(ctx); err == nil || f.Applied() != -1 {
		t.Fatalf("a failed load counted as applied: %v %d", err, f.Applied())
	}
	fail.Store(false)
	if err := f.Sync(ctx); err != nil || f.Applied() != 3 {
		t.Fatalf("retry: %v %d", err, f.Applied())
	}
}

func TestFollowerRunFollowsWakeUpsAndPolls(t *testing.T) {
	head := &fakeHead{}
	f := catalogue.NewFollower(head, func(context.Context) (int64, error) { return head.v.Load(), nil }, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wake := make(chan struct{}, 1)
	done := make(chan struct{})
	// A poll interval far longer than the test: only the wake-up can
	// bring the change in.
	go func() { f.Run(ctx, time.Hour, wake); close(done) }()
	head.v.Store(5)
	wake <- struct{}{}
	waitFor(t, func() bool { return f.Applied() == 5 })
	cancel()
	<-done

	// Without wake-ups, polling brings it in.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	go f.Run(ctx, 10*time.Millisecond, nil)
	head.v.Store(9)
	waitFor(t, func() bool { return f.Applied() == 9 })
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

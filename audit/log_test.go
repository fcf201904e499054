package audit_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/obert-gov/obert/audit"
	"github.com/obert-gov/obert/audit/audittest"
)

// testKey signs the checkpoints of the deterministic test logs; it signs
// nothing else.
const (
	testKey      = "PRIVATE+KEY+obert.test/fuzz+f1338842+ARK/sc0IaajNEmQDSXc+Ckg9KViFiy4ARtuTZTT6f1HJ"
	testVerifier = "obert.test/fuzz+f1338842+AUjo1Os6H0Q0eDHg39Ibc8OIrWjFbpmPLiydL8BzcJ+7"
)

// detLog starts a log in memory whose salts and signatures are the same at
// every run, so that committed fuzz seeds stay genuine.
func detLog(t testing.TB) (*audit.Log, *audittest.MemStore, note.Verifier) {
	t.Helper()
	signer, err := note.NewSigner(testKey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(testVerifier)
	if err != nil {
		t.Fatal(err)
	}
	s := &audittest.MemStore{}
	l, err := audit.New(audit.Config{Store: s, Sealer: audittest.Sealer(), Signer: signer, Origin: "obert.test/audit",
		Rand: rand.NewChaCha8([32]byte{'o', 'b', 'e', 'r', 't'})})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(context.Background()) })
	return l, s, v
}

func detEntry(i int) audit.Entry {
	return audit.Entry{ID: fmt.Sprintf("e%05d", i), Time: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second),
		Kind: audit.KindExchangeIntent, Subject: []string{"alice", "bob"}[i%2], Requester: "gencat-drets-socials",
		Category: "census", Purpose: "aid-recommendation", Outcome: "pending"}
}

// grow appends entries until the log holds n.
func grow(t testing.TB, l *audit.Log, s *audittest.MemStore, n int) {
	t.Helper()
	_, have, err := s.Checkpoint(context.Background())
	if err != nil && !errors.Is(err, audit.ErrNotFound) {
		t.Fatal(err)
	}
	var batch []audit.Entry
	for i := int(have); i < n; i++ {
		batch = append(batch, detEntry(i))
	}
	if len(batch) > 0 {
		if _, err := l.AppendAll(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMemStore(t *testing.T) {
	audittest.RunStore(t, func(testing.TB) (audit.Store, func(string, ...any), func(string, ...any) []byte) {
		return &audittest.MemStore{}, nil, nil
	})
}

// TestAppendRefusesUnencodableEntry: an entry whose time JSON cannot encode
// would commit to its salt alone.
func TestAppendRefusesUnencodableEntry(t *testing.T) {
	l, _, _ := detLog(t)
	e := detEntry(0)
	e.Time = e.Time.AddDate(10000, 0, 0)
	if _, err := l.Append(context.Background(), e); err == nil {
		t.Fatal("appended an entry of year 12026")
	}
}

// failingStore integrates a batch as a store does and then fails it, as a
// commit that does not happen.
type failingStore struct {
	*audittest.MemStore
	fail bool
}

func (f *failingStore) AppendBatch(ctx context.Context, leaves []audit.Leaf, integrate audit.Integrator) (int64, error) {
	if f.fail {
		f.fail = false
		_, size, err := f.MemStore.Checkpoint(ctx)
		if err != nil && !errors.Is(err, audit.ErrNotFound) {
			return 0, err
		}
		integrate(size, leaves, tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
			return f.MemStore.ReadHashes(ctx, idx)
		}))
		return 0, errors.New("commit failed")
	}
	return f.MemStore.AppendBatch(ctx, leaves, integrate)
}

// TestFailedBatchIsForgotten: the tree's hashes a batch computed are kept
// for the next batches only once it commits. After a failed batch,
// another replica writes other entries at its indices, and the tree this
// replica extends still verifies.
func TestFailedBatchIsForgotten(t *testing.T) {
	ctx := context.Background()
	s := &failingStore{MemStore: &audittest.MemStore{}}
	skey, vkey, _ := note.GenerateKey(nil, "obert-test-audit")
	v, _ := note.NewVerifier(vkey)
	a, b := audittest.OpenLog(t, s, skey, 0), audittest.OpenLog(t, s, skey, 0)
	var last *audit.Checkpoint
	n := 0
	batch := func(k int, requester string) []audit.Entry {
		var out []audit.Entry
		for range k {
			e := detEntry(n)
			e.Requester = requester
			out = append(out, e)
			n++
		}
		return out
	}
	for round := range 12 {
		if _, err := a.AppendAll(ctx, batch(1+round%3, "a")); err != nil {
			t.Fatal(err)
		}
		s.fail = true
		mark := n
		if _, err := a.AppendAll(ctx, batch(5, "never committed")); err == nil {
			t.Fatal("a failed batch was acknowledged")
		}
		n = mark
		if _, err := b.AppendAll(ctx, batch(5, "b")); err != nil {
			t.Fatal(err)
		}
		if _, err := a.AppendAll(ctx, batch(2, "a")); err != nil {
			t.Fatal(err)
		}
		cp, err := audit.VerifyLog(ctx, a, v, last)
		if err != nil || cp.Size != int64(n) {
			t.Fatalf("round %d: size %d of %d, %v", round, cp.Size, n, err)
		}
		last = &cp
	}
}

// batchStore counts the batches committed and the entries of each; while
// hold is set the next commit waits for it to be closed.
type batchStore struct {
	*audittest.MemStore
	mu    sync.Mutex
	sizes []int
	hold  chan struct{}
}

func (s *batchStore) AppendBatch(ctx context.Context, leaves []audit.Leaf, integrate audit.Integrator) (int64, error) {
	s.mu.Lock()
	s.sizes = append(s.sizes, len(leaves))
	hold := s.hold
	s.hold = nil
	s.mu.Unlock()
	if hold != nil {
		<-hold
	}
	return s.MemStore.AppendBatch(ctx, leaves, integrate)
}

func (s *batchStore) batches() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sizes)
}

// TestLingerUnderLoad: after a batch of several callers' entries, the next
// batch waits for more appends (up to Linger) and takes them; after a lone
// append, the next is committed at once.
func TestLingerUnderLoad(t *testing.T) {
	ctx := context.Background()
	const linger = time.Second // long enough that no scheduling delay passes for it
	s := &batchStore{MemStore: &audittest.MemStore{}, hold: make(chan struct{})}
	signer, _ := note.NewSigner(testKey)
	l, err := audit.New(audit.Config{Store: s, Sealer: audittest.Sealer(), Signer: signer, Origin: "obert.test/audit", Linger: linger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(context.Background()) })
	n := 0
	appendOne := func() error {
		n++
		_, err := l.Append(ctx, detEntry(n))
		return err
	}
	var wg sync.WaitGroup
	release := s.hold
	// A commits and is held; B and C wait meanwhile, and go together.
	wg.Go(func() {
		if _, err := l.Append(ctx, detEntry(1000)); err != nil {
			t.Error(err)
		}
	})
	for len(s.batches()) == 0 {
		time.Sleep(time.Millisecond)
	}
	for i := range 2 {
		wg.Go(func() {
			if _, err := l.Append(ctx, detEntry(1001+i)); err != nil {
				t.Error(err)
			}
		})
	}
	time.Sleep(200 * time.Millisecond) // B and C are waiting to be taken
	close(release)
	wg.Wait()
	if got := s.batches(); !slices.Equal(got, []int{1, 2}) {
		t.Fatalf("batches %v, want A alone, then B and C", got)
	}
	// Under load: D waits the whole linger, and E, appended meanwhile,
	// goes with it.
	start := time.Now()
	wg.Go(func() {
		if err := appendOne(); err != nil {
			t.Error(err)
		}
	})
	time.Sleep(100 * time.Millisecond)
	e := detEntry(2000)
	if _, err := l.Append(ctx, e); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if got := s.batches(); !slices.Equal(got, []int{1, 2, 2}) {
		t.Fatalf("batches %v, want D and E together", got)
	}
	if took := time.Since(start); took < linger {
		t.Fatalf("D and E were committed after %s, before the linger of %s ended", took, linger)
	}
	// Load over: F, alone, waits once (the batch before held two callers');
	// G, after a lone batch, is committed at once.
	if err := appendOne(); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	if err := appendOne(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took >= linger/2 {
		t.Fatalf("a lone append after a lone append waited %s", took)
	}
	if got := s.batches(); !slices.Equal(got, []int{1, 2, 2, 1, 1}) {
		t.Fatalf("batches %v", got)
	}
}

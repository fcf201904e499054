package audit_test

import (
	"bytes"
	"context"
	"errors"
	"math/big"
	"math/rand/v2"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/obert-gov/obert/audit"
	"github.com/obert-gov/obert/audit/audittest"
)

// TestEmptyLog: a fresh log publishes a signed checkpoint of size 0 whose
// root is SHA-256 of the empty string, and has no tiles.
func TestEmptyLog(t *testing.T) {
	ctx := context.Background()
	l, _, v := detLog(t)
	raw, err := l.Checkpoint(ctx)
	if err != nil {
		t.Fatalf("checkpoint of a fresh log: %v", err)
	}
	cp, err := audit.OpenCheckpoint(raw, v)
	if err != nil {
		t.Fatal(err)
	}
	if cp.Size != 0 || cp.Root != audittest.EmptyRoot() || cp.Origin != "obert.test/audit" {
		t.Fatalf("empty checkpoint: %q", raw)
	}
	if want := "obert.test/audit\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"; !bytes.HasPrefix(raw, []byte(want)) {
		t.Fatalf("empty checkpoint body %q, want %q", raw, want)
	}
	if _, err := l.Tile(ctx, 0, 0, 1); !errors.Is(err, audit.ErrNotFound) {
		t.Fatalf("tile of the empty tree: %v", err)
	}
}

// tileInTree is TileInTree in arbitrary precision: (index*256+w)*256^level
// leaves are needed.
func tileInTree(size int64, level int, index int64, w int) bool {
	if level < 0 || index < 0 || w < 1 || w > 256 {
		return false
	}
	level = min(level, 8) // from level 8 on, even one hash stands for 2^64 leaves
	need := new(big.Int).Mul(big.NewInt(index), big.NewInt(256))
	need.Add(need, big.NewInt(int64(w)))
	need.Lsh(need, uint(8*level))
	return need.Cmp(big.NewInt(size)) <= 0
}

func TestTileInTree(t *testing.T) {
	const max = int64(1<<63 - 1)
	cases := []struct {
		size  int64
		level int
		index int64
		w     int
		want  bool
	}{
		{0, 0, 0, 1, false},
		{1, 0, 0, 1, true},
		{1, 0, 0, 2, false},
		{256, 0, 0, 256, true},
		{256, 1, 0, 1, true},
		{256, 1, 0, 2, false},
		{600, 0, 2, 88, true},
		{600, 0, 2, 89, false},
		{600, 8, 0, 256, false},       // once overflowed to a shift of 64
		{600, 7, 0, 256, false},       // 256<<56 overflowed to 0
		{600, 0, 1 << 55, 256, false}, // index*256 overflowed to a negative end
		{600, 1000000, 0, 256, false},
		{600, 1 << 60, 0, 1, false}, // level*8 would overflow
		{max, 7, 0, 127, true},
		{max, 7, 0, 128, false},
		{max, 0, max / 256, 255, true},
		{max, 0, max / 256, 256, false},
		{max, 0, max, 1, false},
		{600, -1, 0, 1, false},
		{600, 0, -1, 1, false},
		{600, 0, 0, 0, false},
		{600, 0, 0, 257, false},
	}
	for _, c := range cases {
		if got := audit.TileInTree(c.size, c.level, c.index, c.w); got != c.want {
			t.Errorf("TileInTree(%d, %d, %d, %d) = %v, want %v", c.size, c.level, c.index, c.w, got, c.want)
		}
		if ref := tileInTree(c.size, c.level, c.index, c.w); ref != c.want {
			t.Errorf("reference disagrees on %+v", c)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		size := r.Int64N(1 << uint(r.IntN(63)))
		level, index, w := r.IntN(10), r.Int64N(1<<uint(r.IntN(63))), 1+r.IntN(256)
		if got, want := audit.TileInTree(size, level, index, w), tileInTree(size, level, index, w); got != want {
			t.Fatalf("TileInTree(%d, %d, %d, %d) = %v, want %v", size, level, index, w, got, want)
		}
	}
}

// TestTile: the log serves exactly the tiles of its tree, full or at any
// width it has reached, and refuses the rest at once (a level that once
// overflowed the bounds check took seconds of CPU).
func TestTile(t *testing.T) {
	ctx := context.Background()
	l, s, _ := detLog(t)
	grow(t, l, s, 600)
	hr := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) { return s.ReadHashes(ctx, idx) })
	for _, c := range []struct {
		level int
		index int64
		w     int
	}{{0, 0, 256}, {0, 1, 256}, {0, 2, 88}, {0, 2, 1}, {0, 1, 7}, {1, 0, 2}, {1, 0, 1}} {
		got, err := l.Tile(ctx, c.level, c.index, c.w)
		if err != nil {
			t.Fatalf("tile %+v: %v", c, err)
		}
		want, _ := tlog.ReadTileData(tlog.Tile{H: audit.TileHeight, L: c.level, N: c.index, W: c.w}, hr)
		if !bytes.Equal(got, want) || len(got) != c.w*tlog.HashSize {
			t.Fatalf("tile %+v: %d bytes, not the tree's", c, len(got))
		}
	}
	start := time.Now()
	for _, c := range []struct {
		level int
		index int64
		w     int
	}{{0, 2, 89}, {0, 2, 256}, {0, 3, 1}, {1, 0, 3}, {2, 0, 1}, {7, 0, 256}, {8, 0, 256}, {63, 0, 256},
		{1000000, 0, 256}, {0, 1 << 55, 256}, {0, 1<<63 - 1, 1}, {0, 0, 0}, {0, 0, 257}, {-1, 0, 1}} {
		if _, err := l.Tile(ctx, c.level, c.index, c.w); !errors.Is(err, audit.ErrNotFound) {
			t.Errorf("tile %+v outside the tree: %v", c, err)
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("refusing tiles outside the tree took %v", d)
	}
}

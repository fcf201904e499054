package audit

import (
	"context"
	"fmt"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// VerifyBundle checks a downloaded entry offline: the checkpoint's
// signature, the entry's commitment, and its inclusion in the checkpoint's
// tree (RFC 6962 proof, checked with transparency-dev/merkle).
func VerifyBundle(b Bundle, verifier note.Verifier) error {
	cp, err := OpenCheckpoint([]byte(b.Checkpoint), verifier)
	if err != nil {
		return err
	}
	if len(b.Salt) != SaltSize {
		return fmt.Errorf("%w: the salt has %d bytes, not %d", ErrInvalidProof, len(b.Salt), SaltSize)
	}
	leaf := rfc6962.DefaultHasher.HashLeaf(Commitment(b.Entry, b.Salt))
	p := make([][]byte, len(b.Proof))
	for i := range b.Proof {
		p[i] = b.Proof[i][:]
	}
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(b.Index), uint64(cp.Size), leaf, p, cp.Root[:]); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidProof, err)
	}
	return nil
}

// Fetcher reads the public log.
type Fetcher interface {
	Checkpoint(ctx context.Context) ([]byte, error)
	// Tile returns the data of tile (level, index, width) in C2SP layout.
	Tile(ctx context.Context, level int, index int64, width int) ([]byte, error)
}

// VerifyLog fetches the checkpoint and every tile of the tree, checks the
// signature, recomputes the root from the tiles and compares it, and, when
// since is given, proves that tree extends since's. It returns the verified
// checkpoint.
func VerifyLog(ctx context.Context, f Fetcher, verifier note.Verifier, since *Checkpoint) (Checkpoint, error) {
	raw, err := f.Checkpoint(ctx)
	if err != nil {
		return Checkpoint{}, err
	}
	cp, err := OpenCheckpoint(raw, verifier)
	if err != nil {
		return Checkpoint{}, err
	}
	if since != nil && (since.Origin != cp.Origin || since.Size > cp.Size) {
		return Checkpoint{}, fmt.Errorf("%w: the log is smaller than, or not the same log as, the older checkpoint", ErrInvalidProof)
	}
	// Read every level-0 hash through the tiles, which tlog checks against
	// the tree hash as it goes, then recompute the root independently.
	tr := tileReader{ctx: ctx, f: f}
	hr := tlog.TileHashReader(tlog.Tree{N: cp.Size, Hash: cp.Root}, &tr)
	leaves := make([][]byte, 0, min(cp.Size, 1<<20)) // the size is the log's word until the tiles bear it out
	const chunk = 1 << TileHeight
	for lo := int64(0); lo < cp.Size; lo += chunk {
		hi := min(lo+chunk, cp.Size)
		idx := make([]int64, 0, hi-lo)
		for n := lo; n < hi; n++ {
			idx = append(idx, tlog.StoredHashIndex(0, n))
		}
		hs, err := hr.ReadHashes(idx)
		if err != nil {
			return Checkpoint{}, fmt.Errorf("%w: %v", ErrInvalidProof, err)
		}
		for _, h := range hs {
			leaves = append(leaves, h[:])
		}
	}
	// The empty tree too: a checkpoint of size 0 must carry the empty root.
	if root := rootOf(leaves); string(root) != string(cp.Root[:]) {
		return Checkpoint{}, fmt.Errorf("%w: tiles do not hash to the signed root", ErrInvalidProof)
	}
	if since != nil {
		// The older tree is a prefix of this one: same root from the same
		// leaves (also when the sizes are equal, or the older one is empty),
		// and the consistency proof the log would give checks out.
		if old := rootOf(leaves[:since.Size]); string(old) != string(since.Root[:]) {
			return Checkpoint{}, fmt.Errorf("%w: the log was rewritten since the older checkpoint", ErrInvalidProof)
		}
	}
	if since != nil && since.Size > 0 && since.Size < cp.Size {
		p, err := tlog.ProveTree(cp.Size, since.Size, hr)
		if err != nil {
			return Checkpoint{}, fmt.Errorf("%w: %v", ErrInvalidProof, err)
		}
		pp := make([][]byte, len(p))
		for i := range p {
			pp[i] = p[i][:]
		}
		if err := proof.VerifyConsistency(rfc6962.DefaultHasher, uint64(since.Size), uint64(cp.Size), pp, since.Root[:], cp.Root[:]); err != nil {
			return Checkpoint{}, fmt.Errorf("%w: %v", ErrInvalidProof, err)
		}
	}
	return cp, nil
}

// rootOf is the RFC 6962 root of leaf hashes, computed from scratch.
func rootOf(leaves [][]byte) []byte {
	switch len(leaves) {
	case 0:
		return rfc6962.DefaultHasher.EmptyRoot()
	case 1:
		return leaves[0]
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	return rfc6962.DefaultHasher.HashChildren(rootOf(leaves[:k]), rootOf(leaves[k:]))
}

type tileReader struct {
	ctx context.Context
	f   Fetcher
}

func (t *tileReader) Height() int { return TileHeight }

func (t *tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, tl := range tiles {
		b, err := t.f.Tile(t.ctx, tl.L, tl.N, tl.W)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

func (t *tileReader) SaveTiles([]tlog.Tile, [][]byte) {}

package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// TileHeight is the C2SP tlog-tiles height: 2^8 hashes per full tile.
const TileHeight = 8

// StoredEntry is an entry opened for its subject, with its place in the log.
type StoredEntry struct {
	Entry
	Index int64
	Salt  []byte
}

// Bundle is what a citizen downloads to check one entry offline: the entry
// and its salt, its index, the signed checkpoint and the inclusion proof.
type Bundle struct {
	Entry      Entry       `json:"entry"`
	Salt       []byte      `json:"salt"`
	Index      int64       `json:"index"`
	Checkpoint string      `json:"checkpoint"`
	Proof      []tlog.Hash `json:"inclusion_proof"`
}

// Checkpoint returns the latest signed checkpoint; before the first append,
// the checkpoint of the empty tree.
func (l *Log) Checkpoint(ctx context.Context) ([]byte, error) {
	cp, _, err := l.checkpoint(ctx)
	return cp, err
}

// checkpoint returns the latest signed checkpoint and its tree size.
func (l *Log) checkpoint(ctx context.Context) ([]byte, int64, error) {
	cp, size, err := l.cfg.Store.Checkpoint(ctx)
	if errors.Is(err, ErrNotFound) {
		return l.empty, 0, nil
	}
	return cp, size, err
}

func (l *Log) hashReader(ctx context.Context) tlog.HashReader {
	return tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) { return l.cfg.Store.ReadHashes(ctx, idx) })
}

// Tile returns the data of a C2SP tile of height TileHeight at level and
// index, width w (256 for a full tile), or ErrNotFound unless the tree of
// the current checkpoint holds that tile at that width.
func (l *Log) Tile(ctx context.Context, level int, index int64, w int) ([]byte, error) {
	_, size, err := l.checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	if !TileInTree(size, level, index, w) {
		return nil, ErrNotFound
	}
	return tlog.ReadTileData(tlog.Tile{H: TileHeight, L: level, N: index, W: w}, l.hashReader(ctx))
}

// TileInTree reports whether the tree of size leaves holds the tile at
// level and index with w of its hashes: each hash of a level-L tile stands
// for 256^L leaves, so the tile needs index*256+w such complete subtrees.
// Nothing here overflows, whatever the arguments.
func TileInTree(size int64, level int, index int64, w int) bool {
	const full = 1 << TileHeight
	if size <= 0 || level < 0 || index < 0 || w < 1 || w > full {
		return false
	}
	if level > 62/TileHeight {
		return false // its subtrees have 2^63 leaves or more: more than size can count
	}
	subtrees := size >> (level * TileHeight)
	return subtrees >= int64(w) && index <= (subtrees-int64(w))/full
}

// InclusionProof proves leaf index in the tree of size.
func (l *Log) InclusionProof(ctx context.Context, index, size int64) ([]tlog.Hash, error) {
	if index < 0 || index >= size {
		return nil, ErrNotFound
	}
	return tlog.ProveRecord(size, index, l.hashReader(ctx))
}

// ConsistencyProof proves the tree of size old is a prefix of the tree of
// size new.
func (l *Log) ConsistencyProof(ctx context.Context, old, new int64) ([]tlog.Hash, error) {
	if old < 1 || old > new {
		return nil, ErrNotFound
	}
	return tlog.ProveTree(new, old, l.hashReader(ctx))
}

func (l *Log) open(lf Leaf) (StoredEntry, error) {
	plain, err := l.cfg.Sealer.Open(lf.Sealed, sealContext(lf.EntryID))
	if err != nil {
		return StoredEntry{}, fmt.Errorf("audit: entry %d: %w", lf.Index, err)
	}
	var se sealedEntry
	if err := json.Unmarshal(plain, &se); err != nil {
		return StoredEntry{}, fmt.Errorf("audit: entry %d: %w", lf.Index, err)
	}
	return StoredEntry{Entry: se.Entry, Index: lf.Index, Salt: se.Salt}, nil
}

// Filter narrows a citizen's entries. Administration matches either end of
// an exchange: the requester or the source.
type Filter struct {
	Category, Requester, Administration string
	From, To                            time.Time // To is exclusive
}

// Match reports whether e passes the filter.
func (f Filter) Match(e Entry) bool {
	return (f.Category == "" || e.Category == f.Category) &&
		(f.Requester == "" || e.Requester == f.Requester) &&
		(f.Administration == "" || e.Requester == f.Administration || e.Source == f.Administration) &&
		(f.From.IsZero() || !e.Time.Before(f.From)) &&
		(f.To.IsZero() || e.Time.Before(f.To))
}

// EntriesOf returns the subject's entries matching f, newest first.
func (l *Log) EntriesOf(ctx context.Context, subject string, f Filter) ([]StoredEntry, error) {
	leaves, err := l.cfg.Store.LeavesOf(ctx, subject)
	if err != nil {
		return nil, err
	}
	var out []StoredEntry
	for _, lf := range leaves {
		e, err := l.open(lf)
		if err != nil {
			return nil, err
		}
		if f.Match(e.Entry) {
			out = append(out, e)
		}
	}
	return out, nil
}

// Bundle returns the subject's entry id with its proof against the latest
// checkpoint; ErrNotFound also for another subject's entry.
func (l *Log) Bundle(ctx context.Context, subject, id string) (Bundle, error) {
	lf, err := l.cfg.Store.LeafByEntry(ctx, subject, id)
	if err != nil {
		return Bundle{}, err
	}
	e, err := l.open(lf)
	if err != nil {
		return Bundle{}, err
	}
	cp, size, err := l.checkpoint(ctx)
	if err != nil {
		return Bundle{}, err
	}
	p, err := l.InclusionProof(ctx, lf.Index, size)
	if err != nil {
		return Bundle{}, err
	}
	return Bundle{Entry: e.Entry, Salt: e.Salt, Index: lf.Index, Checkpoint: string(cp), Proof: p}, nil
}

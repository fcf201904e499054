package audit

import (
	"context"
	"errors"

	"golang.org/x/mod/sumdb/tlog"
)

// Errors of the audit log.
var (
	ErrNotFound      = errors.New("audit: not found")
	ErrUnavailable   = errors.New("audit: log cannot be written")
	ErrInvalidProof  = errors.New("audit: proof does not verify")
	ErrBadCheckpoint = errors.New("audit: checkpoint invalid")
)

// Leaf is one sequenced record as the store keeps it.
type Leaf struct {
	Index      int64
	EntryID    string
	Subject    string // keyed hash; lets a citizen list their own entries
	Time       int64  // Unix microseconds, for filtering
	Commitment []byte // SHA-256(salt ‖ canonical entry): the public leaf data
	Sealed     []byte // entry and salt, sealed for the subject
	// Usage is what the entry adds to the sources' usage reports, nil for
	// an entry that is not a use of a source's data. It holds nothing
	// that says who.
	Usage *Usage
}

// Usage is one use of a source's data, as usage reports count it.
type Usage struct {
	Day                                  string // YYYY-MM-DD, UTC
	Source, Requester, Purpose, Category string
	Kind, Outcome, State                 string
}

// UsageOf is e's usage: exchanges (their outcomes, and refusals before
// any request) and uses of stored facts; nil for any other entry.
func UsageOf(e Entry) *Usage {
	switch {
	case e.Source == "":
		return nil
	case e.Kind == KindExchangeOutcome, e.Kind == KindExchangeIntent && e.Outcome == "denied", e.Kind == "facts.use":
	default:
		return nil
	}
	state := e.SourceState
	if state == "" && e.Error != "" {
		state = e.Error // a refusal before any request: the guard's reason
	}
	return &Usage{Day: e.Time.UTC().Format("2006-01-02"), Source: e.Source, Requester: e.Requester, Purpose: e.Purpose,
		Category: e.Category, Kind: e.Kind, Outcome: e.Outcome, State: state}
}

// Integrator turns a batch appended at size n into the tree's new stored
// hashes and the signed checkpoint; the store calls it inside the same
// transaction that sequences the batch, so that the hashes and checkpoint
// are committed with the leaves or not at all.
type Integrator func(size int64, leaves []Leaf, r tlog.HashReader) (hashes []tlog.Hash, checkpoint []byte, err error)

// Store persists the log. AppendBatch is the single sequencer: under one
// lock (an advisory lock on PostgreSQL, the write lock on SQLite) it reads
// the current size, numbers the leaves from it, stores them, the new
// stored hashes and the checkpoint, and commits.
type Store interface {
	AppendBatch(ctx context.Context, leaves []Leaf, integrate Integrator) (first int64, err error)
	// ReadHashes returns stored hashes by tlog stored-hash index.
	ReadHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error)
	// Checkpoint returns the latest signed checkpoint and the tree size.
	Checkpoint(ctx context.Context) (note []byte, size int64, err error)
	// LeavesOf returns the subject's leaves, newest first.
	LeavesOf(ctx context.Context, subject string) ([]Leaf, error)
	// LeafByEntry returns the subject's leaf of entry id, or ErrNotFound.
	LeafByEntry(ctx context.Context, subject, entryID string) (Leaf, error)
}

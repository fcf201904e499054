package audit_test

import (
	"context"
	"errors"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/obert-gov/obert/audit"
)

// forged is a log that serves a checkpoint its operator signed (with the
// test key) over any size and root, and the tiles of another log.
type forged struct {
	audit.Fetcher
	cp []byte
}

func (f forged) Checkpoint(context.Context) ([]byte, error) { return f.cp, nil }

func sign(t *testing.T, size int64, root tlog.Hash) []byte {
	t.Helper()
	signer, _ := note.NewSigner(testKey)
	b, err := note.Sign(&note.Note{Text: audit.FormatCheckpoint("obert.test/audit", size, root)}, signer)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func open(t *testing.T, b []byte, v note.Verifier) audit.Checkpoint {
	t.Helper()
	cp, err := audit.OpenCheckpoint(b, v)
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

// TestVerifyLogEmpty: a log of size 0 verifies only with the empty root;
// its checkpoint is a valid --since for any later tree, and an "empty"
// checkpoint with another root is not.
func TestVerifyLogEmpty(t *testing.T) {
	ctx := context.Background()
	l, s, v := detLog(t)
	cp, err := audit.VerifyLog(ctx, l, v, nil)
	if err != nil || cp.Size != 0 {
		t.Fatalf("verify a fresh log: %+v, %v", cp, err)
	}
	empty := cp
	bad := sign(t, 0, tlog.Hash{1})
	if _, err := audit.VerifyLog(ctx, forged{l, bad}, v, nil); !errors.Is(err, audit.ErrInvalidProof) {
		t.Fatalf("a size-0 checkpoint with a non-empty root: %v", err)
	}
	grow(t, l, s, 3)
	if _, err := audit.VerifyLog(ctx, l, v, &empty); err != nil {
		t.Fatalf("verify since the empty tree: %v", err)
	}
	badEmpty := open(t, bad, v)
	if _, err := audit.VerifyLog(ctx, l, v, &badEmpty); !errors.Is(err, audit.ErrInvalidProof) {
		t.Fatalf("since a size-0 checkpoint with a non-empty root: %v", err)
	}
}

// TestVerifyLogSinceSameSize: an older checkpoint of the same size as the
// current one must have the same root; two trees of one size with two roots
// are a fork, however both are signed.
func TestVerifyLogSinceSameSize(t *testing.T) {
	ctx := context.Background()
	l, s, v := detLog(t)
	grow(t, l, s, 5)
	cur, err := audit.VerifyLog(ctx, l, v, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := audit.VerifyLog(ctx, l, v, &cur); err != nil {
		t.Fatalf("since the current checkpoint: %v", err)
	}
	fork := open(t, sign(t, cur.Size, tlog.Hash{2}), v)
	if _, err := audit.VerifyLog(ctx, l, v, &fork); !errors.Is(err, audit.ErrInvalidProof) {
		t.Fatalf("since a fork of the same size: %v", err)
	}
}

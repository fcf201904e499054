package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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

func TestVerifyBundleSaltSize(t *testing.T) {
	ctx := context.Background()
	l, s, v := detLog(t)
	grow(t, l, s, 3)
	b, err := l.Bundle(ctx, "alice", "e00000")
	if err != nil {
		t.Fatal(err)
	}
	if err := audit.VerifyBundle(b, v); err != nil {
		t.Fatal(err)
	}
	b.Salt = append(b.Salt, 0)
	if err := audit.VerifyBundle(b, v); !errors.Is(err, audit.ErrInvalidProof) {
		t.Fatalf("a 33-byte salt: %v", err)
	}
}

// bundleFixture is a deterministic log of 300 entries, the checkpoints it
// signed as it grew, and bundles proving entries against several of them.
type bundleFixture struct {
	v       note.Verifier
	roots   map[int64]tlog.Hash // published tree roots by size
	leaves  [][]byte            // commitments by index
	bundles [][]byte            // genuine bundles, as a citizen downloads them
}

func newBundleFixture(t testing.TB) *bundleFixture {
	ctx := context.Background()
	l, s, v := detLog(t)
	f := &bundleFixture{v: v, roots: map[int64]tlog.Hash{}}
	for _, size := range []int{1, 2, 7, 256, 300} {
		grow(t, l, s, size)
		cp, err := l.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		c, err := audit.OpenCheckpoint(cp, v)
		if err != nil {
			t.Fatal(err)
		}
		f.roots[c.Size] = c.Root
		for _, i := range []int{0, size / 2, size - 1} {
			e := detEntry(i)
			b, err := l.Bundle(ctx, e.Subject, e.ID)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := json.Marshal(b)
			f.bundles = append(f.bundles, raw)
		}
	}
	for _, subject := range []string{"alice", "bob"} {
		leaves, _ := s.LeavesOf(ctx, subject)
		for _, lf := range leaves {
			for int(lf.Index) >= len(f.leaves) {
				f.leaves = append(f.leaves, nil)
			}
			f.leaves[lf.Index] = lf.Commitment
		}
	}
	return f
}

// FuzzProofBundle: what `gatewayctl audit prove` does with a downloaded
// file (decode, then audit.VerifyBundle) never panics, and accepts only a
// bundle that proves a leaf of the log against a checkpoint the log signed:
// the entry and salt commit to that leaf, at its index, in a tree the log
// published.
func FuzzProofBundle(f *testing.F) {
	fx := newBundleFixture(f)
	for _, b := range fx.bundles {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var b audit.Bundle
		if err := json.Unmarshal(raw, &b); err != nil {
			return
		}
		err := audit.VerifyBundle(b, fx.v)
		if err != nil {
			if !errors.Is(err, audit.ErrInvalidProof) && !errors.Is(err, audit.ErrBadCheckpoint) {
				t.Fatalf("refused with an error of no kind: %v", err)
			}
			return
		}
		cp, err := audit.OpenCheckpoint([]byte(b.Checkpoint), fx.v)
		if err != nil {
			t.Fatalf("accepted a bundle whose checkpoint does not open: %v", err)
		}
		if root, ok := fx.roots[cp.Size]; !ok || root != cp.Root {
			t.Fatalf("accepted a bundle against a tree of size %d the log never published", cp.Size)
		}
		if b.Index < 0 || b.Index >= cp.Size || !bytes.Equal(audit.Commitment(b.Entry, b.Salt), fx.leaves[b.Index]) {
			t.Fatalf("accepted entry %+v as leaf %d, which commits to something else", b.Entry, b.Index)
		}
	})
}

// TestProofBundleCorpusIsDeep: the committed seeds that are genuine bundles
// still verify, so the fuzzer starts from inputs that reach every check.
// (A change to Entry's JSON or to the fixture makes them stale: regenerate
// them from newBundleFixture.)
func TestProofBundleCorpusIsDeep(t *testing.T) {
	fx := newBundleFixture(t)
	dir := filepath.Join("testdata", "fuzz", "FuzzProofBundle")
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	genuine := 0
	for _, fe := range files {
		raw := readSeed(t, filepath.Join(dir, fe.Name()))
		var b audit.Bundle
		err := json.Unmarshal(raw, &b)
		if err == nil {
			err = audit.VerifyBundle(b, fx.v)
		}
		switch {
		case strings.HasPrefix(fe.Name(), "genuine-") && err != nil:
			t.Errorf("%s does not verify: %v", fe.Name(), err)
		case strings.HasPrefix(fe.Name(), "genuine-"):
			genuine++
		case err == nil:
			t.Errorf("%s, a mutated bundle, verifies", fe.Name())
		}
	}
	if genuine == 0 {
		t.Error("no genuine seed")
	}
}

// readSeed returns the one []byte value of a Go fuzz corpus file.
func readSeed(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitN(string(b), "\n", 3)
	if len(lines) < 2 || lines[0] != "go test fuzz v1" {
		t.Fatalf("%s is not a fuzz corpus file", path)
	}
	s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return []byte(s)
}

// Package audittest holds the conformance tests of audit.Store: each backend
// runs RunStore, which drives a real audit.Log over it and verifies the
// result the way a citizen and an outside auditor would.
package audittest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/obert-gov/obert/audit"
	"github.com/obert-gov/obert/gateway/keys"
)

// Harness opens a fresh store and returns functions that run raw SQL
// against it, as an operator with database access could (for the
// tamper-evidence tests): exec runs a statement, read returns one value.
// A store without SQL returns nil for both, and skips those tests.
type Harness func(t testing.TB) (s audit.Store, exec func(sql string, args ...any), read func(sql string, args ...any) []byte)

// Sealer returns the sealing key of every test log, so that a test can open
// what another log or another process sealed, as an operator could.
func Sealer() *keys.Keys {
	k, err := keys.New(bytes.Repeat([]byte{3}, 32))
	if err != nil {
		panic(err)
	}
	return k
}

// OpenLog starts a log over s whose checkpoints skey (a note signer key)
// signs; maxBatch 0 is the default batch. It is closed with t.
func OpenLog(t testing.TB, s audit.Store, skey string, maxBatch int) *audit.Log {
	t.Helper()
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	l, err := audit.New(audit.Config{Store: s, Sealer: Sealer(), Signer: signer, Origin: "obert.test/audit", MaxBatch: maxBatch})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(context.Background()) })
	return l
}

// NewLog starts a log over s with a fresh signing key; it is closed with t.
// It returns the log, its verifier and the verifier key's text form.
func NewLog(t testing.TB, s audit.Store) (*audit.Log, note.Verifier, string) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, "obert-test-audit")
	if err != nil {
		t.Fatal(err)
	}
	verifier, _ := note.NewVerifier(vkey)
	return OpenLog(t, s, skey, 0), verifier, vkey
}

// EmptyRoot is the root of the empty tree per RFC 6962: SHA-256 of the
// empty string.
func EmptyRoot() tlog.Hash { return sha256.Sum256(nil) }

func entry(i int, subject string) audit.Entry {
	return audit.Entry{ID: fmt.Sprintf("e%04d", i), Time: time.Date(2026, 11, 24, 10, 0, i, 0, time.UTC),
		Kind: audit.KindExchangeIntent, Subject: subject, Requester: "gencat-drets-socials",
		Category: []string{"census", "tax"}[i%2], Purpose: "aid-recommendation", Outcome: "pending"}
}

// RunStore runs the suite.
func RunStore(t *testing.T, h Harness) {
	t.Run("AppendVerifyProve", func(t *testing.T) { testAppendVerify(t, h) })
	t.Run("Replicas", func(t *testing.T) { testReplicas(t, h) })
	t.Run("Tamper", func(t *testing.T) {
		if s, exec, _ := h(t); exec == nil {
			t.Skipf("%T has no SQL to tamper with", s)
		}
		testTamper(t, h)
	})
	t.Run("FailedBatch", func(t *testing.T) {
		if s, exec, _ := h(t); exec == nil {
			t.Skipf("%T keeps no index of entry ids", s)
		}
		testFailedBatch(t, h)
	})
}

// testFailedBatch: a batch the database refuses (an entry id already in
// the log) is refused whole: none of its entries is kept, the log goes on
// from where it was, on every connection the store holds, and verifies.
func testFailedBatch(t *testing.T, h Harness) {
	ctx := context.Background()
	s, _, _ := h(t)
	l, v, _ := NewLog(t, s)
	n := 0
	for round := range 24 {
		var ok []audit.Entry
		for range 1 + round%3 {
			ok = append(ok, entry(n, "alice"))
			n++
		}
		if _, err := l.AppendAll(ctx, ok); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		lost := entry(10000+round, "bob")
		if _, err := l.AppendAll(ctx, []audit.Entry{lost, entry(n-1, "alice")}); err == nil {
			t.Fatalf("round %d: an entry id already in the log was appended again", round)
		} else if round == 0 {
			t.Logf("refused: %v", err)
		}
		if got, err := l.EntriesOf(ctx, "bob", audit.Filter{}); err != nil || len(got) != 0 {
			t.Fatalf("round %d: an entry of a refused batch was kept", round)
		}
	}
	if cp, err := audit.VerifyLog(ctx, l, v, nil); err != nil || cp.Size != int64(n) {
		t.Fatalf("after refused batches: size %d of %d, %v", cp.Size, n, err)
	}
}

func testAppendVerify(t *testing.T, h Harness) {
	ctx := context.Background()
	s, _, _ := h(t)
	l, v, _ := NewLog(t, s)
	// A fresh log publishes the signed empty tree, which verifies.
	empty, err := audit.VerifyLog(ctx, l, v, nil)
	if err != nil || empty.Size != 0 || empty.Root != EmptyRoot() {
		t.Fatalf("verify of an empty log: size %d, root %x, %v", empty.Size, empty.Root[:], err)
	}
	// Many concurrent appenders: every index used once, none skipped.
	const n = 300
	idx := make([]int64, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var err error
			subject := "alice"
			if i%3 == 0 {
				subject = "bob"
			}
			if idx[i], err = l.Append(ctx, entry(i, subject)); err != nil {
				t.Errorf("append %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	seen := make([]bool, n)
	for _, x := range idx {
		if x < 0 || x >= n || seen[x] {
			t.Fatalf("index %d out of range or used twice", x)
		}
		seen[x] = true
	}
	old, err := audit.VerifyLog(ctx, l, v, nil)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if old.Size != n {
		t.Fatalf("checkpoint size %d, want %d", old.Size, n)
	}
	if _, err := audit.VerifyLog(ctx, l, v, &empty); err != nil {
		t.Fatalf("verify since the empty tree: %v", err)
	}
	for i := n; i < n+40; i++ {
		if _, err := l.Append(ctx, entry(i, "alice")); err != nil {
			t.Fatal(err)
		}
	}
	cp, err := audit.VerifyLog(ctx, l, v, &old)
	if err != nil || cp.Size != n+40 {
		t.Fatalf("verify since the older checkpoint: %v (size %d)", err, cp.Size)
	}

	es, err := l.EntriesOf(ctx, "bob", audit.Filter{Category: "census"})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if e.Subject != "bob" || e.Category != "census" {
			t.Fatalf("filter leaked %+v", e.Entry)
		}
	}
	if len(es) != 50 { // i%3==0 and i%2==0 for i < 300
		t.Fatalf("bob has %d census entries, want 50", len(es))
	}
	b, err := l.Bundle(ctx, "bob", es[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := audit.VerifyBundle(b, v); err != nil {
		t.Fatalf("bundle: %v", err)
	}
	if _, err := l.Bundle(ctx, "alice", es[0].ID); !errors.Is(err, audit.ErrNotFound) {
		t.Fatalf("alice got bob's entry: %v", err)
	}
	// A bundle whose entry was changed after download does not verify.
	b2 := b
	b2.Entry.Requester = "someone-else"
	if err := audit.VerifyBundle(b2, v); !errors.Is(err, audit.ErrInvalidProof) {
		t.Fatalf("altered bundle: %v", err)
	}
	// Nor does one checked with another log's key.
	_, other, _ := note.GenerateKey(rand.Reader, "obert-test-audit")
	ov, _ := note.NewVerifier(other)
	if err := audit.VerifyBundle(b, ov); !errors.Is(err, audit.ErrBadCheckpoint) {
		t.Fatalf("bundle under another key: %v", err)
	}
}

// testReplicas: two logs on one store, as two replicas, append in turns
// and in batches of every size; each keeps the tree's hashes it has seen,
// and after every append the tree verifies from its tiles and extends the
// one before it, whichever replica wrote it.
func testReplicas(t *testing.T, h Harness) {
	ctx := context.Background()
	s, _, _ := h(t)
	skey, vkey, err := note.GenerateKey(rand.Reader, "obert-test-audit")
	if err != nil {
		t.Fatal(err)
	}
	v, _ := note.NewVerifier(vkey)
	logs := []*audit.Log{OpenLog(t, s, skey, 0), OpenLog(t, s, skey, 0)}
	var last *audit.Checkpoint
	n := 0
	for round := range 60 {
		l := logs[(round/2+round/7)%2] // turns of irregular length
		var batch []audit.Entry
		for range 1 + round%9 {
			batch = append(batch, entry(n, "alice"))
			n++
		}
		if _, err := l.AppendAll(ctx, batch); err != nil {
			t.Fatal(err)
		}
		cp, err := audit.VerifyLog(ctx, l, v, last)
		if err != nil || cp.Size != int64(n) {
			t.Fatalf("round %d: size %d of %d, %v", round, cp.Size, n, err)
		}
		last = &cp
	}
}

func testTamper(t *testing.T, h Harness) {
	ctx := context.Background()
	k := Sealer() // the operator holds the keys too
	cases := map[string]func(exec func(string, ...any), read func(string, ...any) []byte){
		"rewrite an entry": func(exec func(string, ...any), read func(string, ...any) []byte) {
			plain, err := k.Open(read(`SELECT sealed FROM audit_leaves WHERE idx = 5`), []byte("audit/e0005"))
			if err != nil {
				t.Fatal(err)
			}
			altered := bytes.Replace(plain, []byte("gencat-drets-socials"), []byte("somebody-else"), 1)
			exec(`UPDATE audit_leaves SET sealed = ? WHERE idx = 5`, k.Seal(altered, []byte("audit/e0005")))
		},
		"change a tree hash": func(exec func(string, ...any), _ func(string, ...any) []byte) {
			exec(`UPDATE audit_hashes SET hash = ? WHERE idx = 3`, bytes.Repeat([]byte{0xee}, 32))
		},
		"delete a hash": func(exec func(string, ...any), _ func(string, ...any) []byte) {
			exec(`DELETE FROM audit_hashes WHERE idx = 7`)
		},
		"reorder two leaves": func(exec func(string, ...any), read func(string, ...any) []byte) {
			h0, h1 := read(`SELECT hash FROM audit_hashes WHERE idx = 0`), read(`SELECT hash FROM audit_hashes WHERE idx = 1`)
			exec(`UPDATE audit_hashes SET hash = ? WHERE idx = 0`, h1)
			exec(`UPDATE audit_hashes SET hash = ? WHERE idx = 1`, h0)
		},
	}
	for name, tamper := range cases {
		t.Run(name, func(t *testing.T) {
			s, exec, read := h(t)
			l, v, _ := NewLog(t, s)
			for i := range 20 {
				if _, err := l.Append(ctx, entry(i, "alice")); err != nil {
					t.Fatal(err)
				}
			}
			before, err := l.Bundle(ctx, "alice", "e0005")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := audit.VerifyLog(ctx, l, v, nil); err != nil {
				t.Fatalf("verify before tampering: %v", err)
			}
			tamper(exec, read)
			_, verr := audit.VerifyLog(ctx, l, v, nil)
			after, berr := l.Bundle(ctx, "alice", "e0005")
			if berr == nil {
				berr = audit.VerifyBundle(after, v)
			}
			switch {
			case name == "rewrite an entry" && berr == nil:
				t.Fatal("the citizen's proof did not notice a rewritten entry")
			case name != "rewrite an entry" && verr == nil:
				t.Fatal("audit verify did not notice a changed tree")
			}
			// The proof downloaded before the tampering still verifies against
			// its own checkpoint: the citizen keeps evidence of the original.
			if err := audit.VerifyBundle(before, v); err != nil {
				t.Fatalf("earlier bundle: %v", err)
			}
		})
	}
}

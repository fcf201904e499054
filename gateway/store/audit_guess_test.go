package store_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/obert-gov/obert/audit"
	"github.com/obert-gov/obert/audit/audittest"
	"github.com/obert-gov/obert/gateway/store"
	"github.com/obert-gov/obert/gateway/store/storetest"
	"github.com/obert-gov/obert/gateway/transparency"
)

// TestAuditAppendGuess: on PostgreSQL a handle that made the log's last
// two appends alone appends the next in one round trip, guessing its
// first index. Two handles (two replicas) take turns on one log: every
// guess another replica made wrong, or that was set beyond the log's end,
// is caught before anything is written, the append goes on in two round
// trips at the right index, and the log has every entry once, in order,
// with no gap, and verifies.
func TestAuditAppendGuess(t *testing.T) {
	if storetest.PostgresURL() == "" {
		t.Skip("OBERT_TEST_POSTGRES not set")
	}
	ctx := context.Background()
	u, _ := storetest.SchemaURL(t, storetest.PostgresURL())
	open := func() *store.Store {
		s, err := store.Open(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	a, b := open(), open()
	if _, err := a.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, "obert-test-audit")
	if err != nil {
		t.Fatal(err)
	}
	logs := map[*store.Store]*audit.Log{a: audittest.OpenLog(t, a, skey, 0), b: audittest.OpenLog(t, b, skey, 0)}
	var n int64
	appendOn := func(s *store.Store) {
		t.Helper()
		e := audit.Entry{ID: fmt.Sprintf("e-%03d", n), Time: time.Now(), Kind: audit.KindExchangeIntent,
			Subject: "subject", Requester: "gencat-drets-socials", Category: "census", Outcome: "pending"}
		idx, err := logs[s].Append(ctx, e)
		if err != nil {
			t.Fatalf("append %s: %v", e.ID, err)
		}
		if idx != n {
			t.Fatalf("append %s at %d, want %d", e.ID, idx, n)
		}
		n++
	}
	guesses := func(s *store.Store, wantGuessed, wantMissed int64) {
		t.Helper()
		if g, m := s.AuditGuesses(); g != wantGuessed || m != wantMissed {
			t.Fatalf("after %d appends: %d guesses, %d missed; want %d and %d", n, g, m, wantGuessed, wantMissed)
		}
	}

	// Alone: the first two appends read the size, the next ones guess.
	appendOn(a)
	appendOn(a)
	guesses(a, 0, 0)
	appendOn(a)
	appendOn(a)
	guesses(a, 2, 0)
	// Another replica appends: a's guess is wrong, and caught.
	appendOn(b)
	appendOn(a)
	guesses(a, 3, 1)
	appendOn(a) // read: the last guess failed
	appendOn(a) // a was alone since its last append: it guesses again
	guesses(a, 4, 1)
	// Turns: every guess after the other's append fails.
	for range 5 {
		appendOn(b)
		appendOn(a)
	}
	// A guess beyond the log's end (a log not as the handle thought) is
	// caught too, and leaves no gap.
	appendOn(a)
	appendOn(a)
	ga, ma := a.AuditGuesses()
	a.SetAuditTail(n + 3)
	appendOn(a)
	guesses(a, ga+1, ma+1)
	a.SetAuditTail(n - 1)
	appendOn(a)
	guesses(a, ga+2, ma+2)

	var rows, distinct, lo, hi int64
	err = a.DB().QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT entry_id), MIN(idx), MAX(idx) FROM audit_leaves`).Scan(&rows, &distinct, &lo, &hi)
	if err != nil {
		t.Fatal(err)
	}
	if rows != n || distinct != n || lo != 0 || hi != n-1 {
		t.Fatalf("leaves: %d (%d distinct), indexes %d..%d; want %d, no duplicates, no gaps", rows, distinct, lo, hi, n)
	}
	var misplaced int64
	a.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_leaves WHERE entry_id <> 'e-' || lpad(idx::text, 3, '0')`).Scan(&misplaced)
	if misplaced != 0 {
		t.Fatalf("%d entries are not at the index their append returned", misplaced)
	}
	srv := httptest.NewServer(transparency.Handler(logs[a], vkey))
	defer srv.Close()
	verifier, _ := note.NewVerifier(vkey)
	cp, err := audit.VerifyLog(ctx, &transparency.Client{Base: srv.URL + "/log"}, verifier, nil)
	if err != nil {
		t.Fatalf("the log does not verify: %v", err)
	}
	if cp.Size != n {
		t.Fatalf("checkpoint size %d, want %d", cp.Size, n)
	}
}

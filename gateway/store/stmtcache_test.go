package store

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
)

// TestStmtCache: SQLite's statements are prepared once and reused, inside
// transactions and out, by concurrent callers; past its bound the cache
// stops growing and statements still run; a closed cache hands out none,
// and a memory database, of one connection, has none.
func TestStmtCache(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.q().ExecContext(ctx, "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 50 {
				k := w*1000 + i
				err := s.inTx(ctx, func(q querier) error {
					if _, err := q.ExecContext(ctx, "INSERT INTO t (k, v) VALUES (?, ?)", k, fmt.Sprint("v", k)); err != nil {
						return err
					}
					var v string
					if err := q.QueryRowContext(ctx, "SELECT v FROM t WHERE k = ?", k).Scan(&v); err != nil || v != fmt.Sprint("v", k) {
						return fmt.Errorf("read back %d: %q, %v", k, v, err)
					}
					return nil
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	var n int
	if err := s.q().QueryRowContext(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil || n != 400 {
		t.Fatalf("%d rows, %v", n, err)
	}
	if len(s.stmts.m) != 4 {
		t.Fatalf("%d statements cached, want the 4 texts run", len(s.stmts.m))
	}
	first := s.stmts.get(ctx, s.db, "SELECT v FROM t WHERE k = ?")
	if again := s.stmts.get(ctx, s.db, "SELECT v FROM t WHERE k = ?"); first == nil || again != first {
		t.Fatal("a statement was prepared twice")
	}

	// Past the bound: statements run, uncached.
	for i := range maxStmts + 10 {
		var got int
		if err := s.q().QueryRowContext(ctx, fmt.Sprintf("SELECT %d", i)).Scan(&got); err != nil || got != i {
			t.Fatalf("SELECT %d: %d, %v", i, got, err)
		}
	}
	if len(s.stmts.m) != maxStmts {
		t.Fatalf("%d statements cached, bound %d", len(s.stmts.m), maxStmts)
	}
	// A statement that does not prepare reports its error when run.
	if _, err := s.q().ExecContext(ctx, "INSERT INTO nowhere VALUES (1)"); err == nil {
		t.Fatal("a statement on a missing table ran")
	}

	s.stmts.close()
	if s.stmts.get(ctx, s.db, "SELECT 1") != nil {
		t.Fatal("a closed cache gave a statement")
	}
	mem, err := Open(ctx, "sqlite::memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	if mem.stmts != nil {
		t.Fatal("a memory database caches statements")
	}
}

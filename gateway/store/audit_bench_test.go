package store_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/obert-gov/obert/audit"
	"github.com/obert-gov/obert/audit/audittest"
	"github.com/obert-gov/obert/gateway/keys"
	"github.com/obert-gov/obert/gateway/store"
	"github.com/obert-gov/obert/gateway/store/storetest"
)

func benchLog(b *testing.B, s *store.Store, maxBatch int) *audit.Log {
	b.Helper()
	skey, _, err := note.GenerateKey(rand.Reader, "obert-bench-audit")
	if err != nil {
		b.Fatal(err)
	}
	return audittest.OpenLog(b, s, skey, maxBatch)
}

func benchEntry(i int) audit.Entry {
	return audit.Entry{ID: fmt.Sprintf("bench-%09d", i), Time: time.Now(), Kind: audit.KindExchangeOutcome,
		Subject: fmt.Sprintf("subject-%04d", i%1000), Requester: "gencat-drets-socials", Source: "padro-municipal",
		Connector: "census-viaoberta", Category: "census", Purpose: "aid-recommendation",
		Fields: []string{"municipality", "registered_since", "household_size"}, ConsentID: "cg_BENCH", Outcome: "ok"}
}

// appendConcurrently appends n entries from writers goroutines, as a busy
// gateway does, and returns the time taken.
func appendConcurrently(b *testing.B, l *audit.Log, from, n, writers int) time.Duration {
	var next atomic.Int64
	next.Store(int64(from))
	end := int64(from + n)
	start := time.Now()
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= end {
					return
				}
				if _, err := l.Append(context.Background(), benchEntry(int(i))); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

// plainInsert writes the same rows the log writes (sealed entry and its
// commitment) into a table of the same shape, in transactions of batch rows
// and statements of 256 rows, as the log does: no tree, no checkpoint. It is the baseline.
func plainInsert(b *testing.B, s *store.Store, k *keys.Keys, from, n, batch int) time.Duration {
	ctx := context.Background()
	db := s.DB()
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS bench_plain (idx BIGINT PRIMARY KEY, entry_id TEXT NOT NULL UNIQUE,
		subject TEXT NOT NULL, at BIGINT NOT NULL, commitment BYTEA NOT NULL, sealed BYTEA NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	ph := func(i int) string {
		if s.Flavor() == store.Postgres {
			return fmt.Sprintf("$%d", i)
		}
		return "?"
	}
	start := time.Now()
	for lo := from; lo < from+n; lo += batch {
		hi := min(lo+batch, from+n)
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		for slo := lo; slo < hi; slo += 256 {
			shi := min(slo+256, hi)
			var q strings.Builder
			q.WriteString(`INSERT INTO bench_plain (idx, entry_id, subject, at, commitment, sealed) VALUES `)
			var args []any
			for i := slo; i < shi; i++ {
				if i > slo {
					q.WriteString(", ")
				}
				p := len(args)
				fmt.Fprintf(&q, "(%s, %s, %s, %s, %s, %s)", ph(p+1), ph(p+2), ph(p+3), ph(p+4), ph(p+5), ph(p+6))
				e := benchEntry(i)
				salt := make([]byte, 32)
				rand.Read(salt)
				plain, _ := json.Marshal(struct {
					Entry audit.Entry `json:"entry"`
					Salt  []byte      `json:"salt"`
				}{e, salt})
				args = append(args, int64(i), e.ID, e.Subject, e.Time.UnixMicro(), audit.Commitment(e, salt), k.Seal(plain, []byte("audit/"+e.ID)))
			}
			if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
				tx.Rollback()
				b.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start)
}

// BenchmarkAuditAppend measures sustained appends with batching on each
// backend, and a plain batched INSERT of the same rows in the same run.
// Metrics: entries/s of the log, entries/s of the plain insert, and their
// ratio (log / plain).
func BenchmarkAuditAppend(b *testing.B) {
	const batch, writers = 256, 512
	for _, be := range storetest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			s := be.Open(b)
			l := benchLog(b, s, batch)
			k := audittest.Sealer()
			n := max(b.N, 2000) // enough entries to fill batches
			b.ResetTimer()
			logTime := appendConcurrently(b, l, 0, n, writers)
			b.StopTimer()
			plainTime := plainInsert(b, s, k, 0, n, batch)
			logRate := float64(n) / logTime.Seconds()
			plainRate := float64(n) / plainTime.Seconds()
			b.ReportMetric(logRate, "entries/s")
			b.ReportMetric(plainRate, "plain-entries/s")
			b.ReportMetric(logRate/plainRate, "ratio")
		})
	}
}

// BenchmarkAuditAppendFew measures appends in small batches, as a gateway
// makes them: eight writers append one entry at a time, so that a batch
// holds about as many entries as there are writers. Metrics: entries/s,
// the mean latency of an append (every writer always waiting on one:
// elapsed × writers ÷ entries), and this process's CPU time per entry
// (user and system: the round trips' cost on the gateway's side).
func BenchmarkAuditAppendFew(b *testing.B) {
	const writers = 8
	for _, be := range storetest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			s := be.Open(b)
			l := benchLog(b, s, 0)
			cpu0 := processCPU()
			b.ResetTimer()
			elapsed := appendConcurrently(b, l, 0, b.N, writers)
			b.StopTimer()
			cpu := processCPU() - cpu0
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "entries/s")
			b.ReportMetric(float64(elapsed.Microseconds())*writers/float64(b.N), "µs/append")
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/entry")
		})
	}
}

// processCPU is the CPU time (user and system) this process has used.
func processCPU() time.Duration {
	var r syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &r)
	return time.Duration(r.Utime.Nano() + r.Stime.Nano())
}

// BenchmarkInclusionProof generates inclusion proofs in a log of 1,000,000
// entries on SQLite. The tree is built once (a minute or two) and kept in
// .cache/bench for later runs (with -short, a log of 20,000 in a temporary
// directory).
func BenchmarkInclusionProof(b *testing.B) {
	size, path := int64(1_000_000), filepath.Join(repoRoot(b), ".cache", "bench", "audit-1m.db")
	if testing.Short() {
		// make test's run of every benchmark: a small log of its own.
		size, path = 20_000, filepath.Join(b.TempDir(), "audit.db")
	}
	ctx := context.Background()
	os.MkdirAll(filepath.Dir(path), 0o755)
	s, err := store.Open(ctx, "sqlite:"+path)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	l := benchLog(b, s, 4096)
	_, have, err := s.Checkpoint(ctx)
	if err != nil && err != audit.ErrNotFound {
		b.Fatal(err)
	}
	if have < size {
		b.Logf("building a %d-entry log in %s (once)", size, path)
		d := appendConcurrently(b, l, int(have), int(size-have), 8192)
		b.Logf("built in %s", d.Round(time.Second))
	}
	b.ResetTimer()
	for b.Loop() {
		r, _ := rand.Int(rand.Reader, big.NewInt(size))
		if _, err := l.InclusionProof(ctx, r.Int64(), size); err != nil {
			b.Fatal(err)
		}
	}
}

func repoRoot(t testing.TB) string {
	wd, _ := os.Getwd()
	for d := wd; d != "/"; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
	}
	t.Fatal("no go.mod")
	return ""
}

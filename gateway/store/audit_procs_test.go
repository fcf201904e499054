package store_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/obert-gov/obert/audit"
	"github.com/obert-gov/obert/audit/audittest"
	"github.com/obert-gov/obert/gateway/store"
	"github.com/obert-gov/obert/gateway/store/storetest"
	"github.com/obert-gov/obert/gateway/transparency"
)

const (
	procs        = 4
	perProc      = 300
	writersPerPr = 12
)

// TestAuditManyProcesses: four separate processes append to one PostgreSQL
// audit log at once. The advisory lock makes one sequencer of them: the
// log has every entry exactly once, no gaps, and verifies from its tiles.
func TestAuditManyProcesses(t *testing.T) {
	if storetest.PostgresURL() == "" {
		t.Skip("OBERT_TEST_POSTGRES not set")
	}
	u, _ := storetest.SchemaURL(t, storetest.PostgresURL())
	ctx := context.Background()
	s, err := store.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, "obert-test-audit")
	if err != nil {
		t.Fatal(err)
	}

	start := time.Now().Add(1500 * time.Millisecond) // all four begin together
	var wg sync.WaitGroup
	for p := range procs {
		cmd := exec.Command(os.Args[0], "-test.run=^TestAuditAppenderProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), "OBERT_AUDIT_CHILD_URL="+u, "OBERT_AUDIT_CHILD_KEY="+skey,
			"OBERT_AUDIT_CHILD_ID="+strconv.Itoa(p), "OBERT_AUDIT_CHILD_START="+strconv.FormatInt(start.UnixMilli(), 10))
		wg.Go(func() {
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("appender process %d: %v\n%s", p, err, out)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	var n, distinct, lo, hi int64
	err = s.DB().QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT entry_id), MIN(idx), MAX(idx) FROM audit_leaves`).Scan(&n, &distinct, &lo, &hi)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(procs * perProc); n != want || distinct != want || lo != 0 || hi != want-1 {
		t.Fatalf("leaves: %d (%d distinct), indexes %d..%d; want %d, no duplicates, no gaps", n, distinct, lo, hi, want)
	}
	var batches int64
	s.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_checkpoints`).Scan(&batches)
	t.Logf("%d entries from %d processes in %d batches", n, procs, batches)

	l := audittest.OpenLog(t, s, skey, 0)
	srv := httptest.NewServer(transparency.Handler(l, vkey))
	defer srv.Close()
	verifier, _ := note.NewVerifier(vkey)
	cp, err := audit.VerifyLog(ctx, &transparency.Client{Base: srv.URL + "/log"}, verifier, nil)
	if err != nil {
		t.Fatalf("the log written by %d processes does not verify: %v", procs, err)
	}
	if cp.Size != int64(procs*perProc) {
		t.Fatalf("checkpoint size %d, want %d", cp.Size, procs*perProc)
	}
}

// TestAuditAppenderProcess is the child of TestAuditManyProcesses; run on its
// own it does nothing.
func TestAuditAppenderProcess(t *testing.T) {
	u := os.Getenv("OBERT_AUDIT_CHILD_URL")
	if u == "" {
		t.Skip("only run as a child of TestAuditManyProcesses")
	}
	ctx := context.Background()
	s, err := store.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l := audittest.OpenLog(t, s, os.Getenv("OBERT_AUDIT_CHILD_KEY"), 0)
	id := os.Getenv("OBERT_AUDIT_CHILD_ID")
	ms, _ := strconv.ParseInt(os.Getenv("OBERT_AUDIT_CHILD_START"), 10, 64)
	time.Sleep(time.Until(time.UnixMilli(ms)))
	var wg sync.WaitGroup
	for w := range writersPerPr {
		wg.Go(func() {
			for i := w; i < perProc; i += writersPerPr {
				e := audit.Entry{ID: fmt.Sprintf("p%s-%04d", id, i), Time: time.Now(), Kind: audit.KindExchangeIntent,
					Subject: "subject-" + id, Requester: "gencat-drets-socials", Category: "census", Outcome: "pending"}
				if _, err := l.Append(ctx, e); err != nil {
					t.Errorf("append %s: %v", e.ID, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

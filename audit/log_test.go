package audit_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/obert-gov/obert/audit"
	"github.com/obert-gov/obert/audit/audittest"
)

// testKey signs the checkpoints of the deterministic test logs; it signs
// nothing else.
const (
	testKey      = "PRIVATE+KEY+obert.test/fuzz+f1338842+ARK/sc0IaajNEmQDSXc+Ckg9KViFiy4ARtuTZTT6f1HJ"
	testVerifier = "obert.test/fuzz+f1338842+AUjo1Os6H0Q0eDHg39Ibc8OIrWjFbpmPLiydL8BzcJ+7"
)

// detLog starts a log in memory whose salts and signatures are the same at
// every run, so that committed fuzz seeds stay genuine.
func detLog(t testing.TB) (*audit.Log, *audittest.MemStore, note.Verifier) {
	t.Helper()
	signer, err := note.NewSigner(testKey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(testVerifier)
	if err != nil {
		t.Fatal(err)
	}
	s := &audittest.MemStore{}
	l, err := audit.New(audit.Config{Store: s, Sealer: audittest.Sealer(), Signer: signer, Origin: "obert.test/audit",
		Rand: rand.NewChaCha8([32]byte{'o', 'b', 'e', 'r', 't'})})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(context.Background()) })
	return l, s, v
}

func detEntry(i int) audit.Entry {
	return audit.Entry{ID: fmt.Sprintf("e%05d", i), Time: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second),
		Kind: audit.KindExchangeIntent, Subject: []string{"alice", "bob"}[i%2], Requester: "gencat-drets-socials",
		Category: "census", Purpose: "aid-recommendation", Outcome: "pending"}
}

// grow appends entries until the log holds n.
func grow(t testing.TB, l *audit.Log, s *audittest.MemStore, n int) {
	t.Helper()
	_, have, err := s.Checkpoint(context.Background())
	if err != nil && !errors.Is(err, audit.ErrNotFound) {
		t.Fatal(err)
	}
	var batch []audit.Entry
	for i := int(have); i < n; i++ {
		batch = append(batch, detEntry(i))
	}
	if len(batch) > 0 {
		if _, err := l.AppendAll(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMemStore(t *testing.T) {
	audittest.RunStore(t, func(testing.TB) (audit.Store, func(string, ...any), func(string, ...any) []byte) {
		return &audittest.MemStore{}, nil, nil
	})
}

// TestAppendRefusesUnencodableEntry: an entry whose time JSON cannot encode
// would commit to its salt alone.
func TestAppendRefusesUnencodableEntry(t *testing.T) {
	l, _, _ := detLog(t)
	e := detEntry(0)
	e.Time = e.Time.AddDate(10000, 0, 0)
	if _, err := l.Append(context.Background(), e); err == nil {
		t.Fatal("appended an entry of year 12026")
	}
}

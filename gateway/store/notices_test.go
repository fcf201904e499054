package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/obert-gov/obert/gateway/store"
	"github.com/obert-gov/obert/gateway/store/storetest"
)

func TestActivityNotices(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			s := b.Open(t)
			if _, ok, err := s.ActivityNoticeOf(ctx, "alice"); ok || err != nil {
				t.Fatalf("a notice nobody asked for: %v %v", ok, err)
			}
			for _, v := range []string{"a", "b"} {
				if err := s.PutActivityNotice(ctx, store.ActivityNotice{Subject: "alice", Sealed: []byte(v), CreatedAt: t0}); err != nil {
					t.Fatal(err)
				}
			}
			if n, ok, _ := s.ActivityNoticeOf(ctx, "alice"); !ok || string(n.Sealed) != "b" {
				t.Fatalf("the notice after replacing it: %+v", n)
			}
			if all, _ := s.ActivityNotices(ctx); len(all) != 1 {
				t.Fatalf("notices: %+v", all)
			}
			first, err := s.ClaimNoticed(ctx, "alice", "enotum", "n1", t0)
			second, _ := s.ClaimNoticed(ctx, "alice", "enotum", "n1", t0)
			if err != nil || !first || second {
				t.Fatalf("claims: %v %v %v", first, second, err)
			}
			if err := s.DeleteActivityNotice(ctx, "alice"); err != nil {
				t.Fatal(err)
			}
			if _, ok, _ := s.ActivityNoticeOf(ctx, "alice"); ok {
				t.Fatal("the notice outlived its deletion")
			}
			// Leases: one holder at a time, until it runs out.
			if ok, err := s.TryLease(ctx, "round", "r1", t0, t0.Add(time.Minute)); !ok || err != nil {
				t.Fatalf("first lease: %v %v", ok, err)
			}
			if ok, _ := s.TryLease(ctx, "round", "r2", t0.Add(30*time.Second), t0.Add(2*time.Minute)); ok {
				t.Fatal("a second holder took a lease in force")
			}
			if ok, _ := s.TryLease(ctx, "round", "r1", t0.Add(30*time.Second), t0.Add(2*time.Minute)); !ok {
				t.Fatal("the holder could not renew")
			}
			if ok, _ := s.TryLease(ctx, "round", "r2", t0.Add(3*time.Minute), t0.Add(4*time.Minute)); !ok {
				t.Fatal("a lease that ran out was not taken")
			}
		})
	}
}

package store_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/obert-gov/obert/consent"
	"github.com/obert-gov/obert/gateway/exchange"
	"github.com/obert-gov/obert/gateway/store/storetest"
)

func TestFactStore(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			s := b.Open(t)
			ctx := context.Background()
			t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
			for _, g := range []consent.Grant{{ID: "g1", Subject: "alice"}, {ID: "g2", Subject: "alice"}, {ID: "g3", Subject: "alice"}} {
				g.Category, g.Purpose, g.ExpiresAt, g.Requester, g.Source, g.LegalBasis, g.TextVersion, g.Language, g.GrantedAt =
					"census", "aid-recommendation", t0.Add(time.Hour), "r", "s", consent.BasisConsent, "v", "ca", t0.Add(-time.Hour)
				if err := s.CreateGrant(ctx, g); err != nil {
					t.Fatal(err)
				}
			}
			// Under a grant that does not exist, or another subject's,
			// nothing is stored.
			if err := s.PutFacts(ctx, exchange.SealedFacts{Subject: "alice", Category: "census", GrantID: "nope", Sealed: []byte{1},
				FetchedAt: t0, ExpiresAt: t0.Add(time.Hour)}); !errors.Is(err, exchange.ErrGrantWithdrawn) {
				t.Fatalf("facts under no grant: %v", err)
			}
			if err := s.PutFacts(ctx, exchange.SealedFacts{Subject: "bob", Category: "census", GrantID: "g1", Sealed: []byte{1},
				FetchedAt: t0, ExpiresAt: t0.Add(time.Hour)}); !errors.Is(err, exchange.ErrGrantWithdrawn) {
				t.Fatalf("facts under another subject's grant: %v", err)
			}
			// Under a withdrawn grant, nothing is stored either.
			if _, err := s.WithdrawGrant(ctx, "alice", "g3", t0); err != nil {
				t.Fatal(err)
			}
			if err := s.PutFacts(ctx, exchange.SealedFacts{Subject: "alice", Category: "census", GrantID: "g3", Sealed: []byte{1},
				FetchedAt: t0, ExpiresAt: t0.Add(time.Hour)}); !errors.Is(err, exchange.ErrGrantWithdrawn) {
				t.Fatalf("facts under a withdrawn grant: %v", err)
			}
			if _, err := s.GetFacts(ctx, "alice", "census", t0); !errors.Is(err, exchange.ErrNoFacts) {
				t.Fatalf("refused facts were stored: %v", err)
			}
			f := exchange.SealedFacts{Subject: "alice", Category: "census", GrantID: "g1",
				Sealed: []byte{1, 2, 3}, FetchedAt: t0, ExpiresAt: t0.Add(time.Hour)}
			if err := s.PutFacts(ctx, f); err != nil {
				t.Fatal(err)
			}
			got, err := s.GetFacts(ctx, "alice", "census", t0.Add(time.Minute))
			if err != nil || got.GrantID != "g1" || !bytes.Equal(got.Sealed, f.Sealed) || !got.ExpiresAt.Equal(f.ExpiresAt) {
				t.Fatalf("GetFacts = %+v, %v", got, err)
			}
			if _, err := s.GetFacts(ctx, "alice", "census", t0.Add(time.Hour)); !errors.Is(err, exchange.ErrNoFacts) {
				t.Fatalf("expired facts returned: %v", err)
			}
			if _, err := s.GetFacts(ctx, "bob", "census", t0); !errors.Is(err, exchange.ErrNoFacts) {
				t.Fatalf("another subject's facts returned: %v", err)
			}
			// A new fetch replaces the old one.
			f2 := f
			f2.GrantID, f2.Sealed = "g2", []byte{9}
			if err := s.PutFacts(ctx, f2); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.GetFacts(ctx, "alice", "census", t0); got.GrantID != "g2" {
				t.Fatalf("facts not replaced: %+v", got)
			}
			if n, err := s.DeleteFactsOfGrant(ctx, "bob", "g2"); err != nil || n != 0 {
				t.Fatalf("bob deleted alice's facts: %d, %v", n, err)
			}
			if n, err := s.DeleteFactsOfGrant(ctx, "alice", "g2"); err != nil || n != 1 {
				t.Fatalf("DeleteFactsOfGrant = %d, %v", n, err)
			}
			if _, err := s.GetFacts(ctx, "alice", "census", t0); !errors.Is(err, exchange.ErrNoFacts) {
				t.Fatalf("deleted facts returned: %v", err)
			}
		})
	}
}

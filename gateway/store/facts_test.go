package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/obert-gov/obert/consent"
	"github.com/obert-gov/obert/gateway/alerts"
	"github.com/obert-gov/obert/gateway/exchange"
	"github.com/obert-gov/obert/gateway/store"
	"github.com/obert-gov/obert/gateway/store/storetest"
)

const aids = "aid-recommendation"

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
			if err := s.PutFacts(ctx, exchange.SealedFacts{Subject: "alice", Category: "census", Purpose: aids, GrantID: "nope", Sealed: []byte{1},
				FetchedAt: t0, ExpiresAt: t0.Add(time.Hour)}); !errors.Is(err, exchange.ErrGrantWithdrawn) {
				t.Fatalf("facts under no grant: %v", err)
			}
			if err := s.PutFacts(ctx, exchange.SealedFacts{Subject: "bob", Category: "census", Purpose: aids, GrantID: "g1", Sealed: []byte{1},
				FetchedAt: t0, ExpiresAt: t0.Add(time.Hour)}); !errors.Is(err, exchange.ErrGrantWithdrawn) {
				t.Fatalf("facts under another subject's grant: %v", err)
			}
			// Under a withdrawn grant, nothing is stored either.
			if _, err := s.WithdrawGrant(ctx, "alice", "g3", t0); err != nil {
				t.Fatal(err)
			}
			if err := s.PutFacts(ctx, exchange.SealedFacts{Subject: "alice", Category: "census", Purpose: aids, GrantID: "g3", Sealed: []byte{1},
				FetchedAt: t0, ExpiresAt: t0.Add(time.Hour)}); !errors.Is(err, exchange.ErrGrantWithdrawn) {
				t.Fatalf("facts under a withdrawn grant: %v", err)
			}
			if _, err := s.GetFacts(ctx, "alice", "census", aids, t0); !errors.Is(err, exchange.ErrNoFacts) {
				t.Fatalf("refused facts were stored: %v", err)
			}
			f := exchange.SealedFacts{Subject: "alice", Category: "census", Purpose: aids, GrantID: "g1",
				Sealed: []byte{1, 2, 3}, FetchedAt: t0, ExpiresAt: t0.Add(time.Hour)}
			if err := s.PutFacts(ctx, f); err != nil {
				t.Fatal(err)
			}
			got, err := s.GetFacts(ctx, "alice", "census", aids, t0.Add(time.Minute))
			if err != nil || got.GrantID != "g1" || !bytes.Equal(got.Sealed, f.Sealed) || !got.ExpiresAt.Equal(f.ExpiresAt) {
				t.Fatalf("GetFacts = %+v, %v", got, err)
			}
			if _, err := s.GetFacts(ctx, "alice", "census", aids, t0.Add(time.Hour)); !errors.Is(err, exchange.ErrNoFacts) {
				t.Fatalf("expired facts returned: %v", err)
			}
			if _, err := s.GetFacts(ctx, "bob", "census", aids, t0); !errors.Is(err, exchange.ErrNoFacts) {
				t.Fatalf("another subject's facts returned: %v", err)
			}
			// A new fetch replaces the old one.
			f2 := f
			f2.GrantID, f2.Sealed = "g2", []byte{9}
			if err := s.PutFacts(ctx, f2); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.GetFacts(ctx, "alice", "census", aids, t0); got.GrantID != "g2" {
				t.Fatalf("facts not replaced: %+v", got)
			}
			// A minimised answer for another purpose is kept beside the
			// full one, not instead of it.
			g4 := consent.Grant{ID: "g4", Subject: "alice", Category: "census", Purpose: "residence-certificate",
				ExpiresAt: t0.Add(time.Hour), Requester: "r", Source: "s", LegalBasis: consent.BasisConsent,
				TextVersion: "v", Language: "ca", GrantedAt: t0.Add(-time.Hour)}
			if err := s.CreateGrant(ctx, g4); err != nil {
				t.Fatal(err)
			}
			min := exchange.SealedFacts{Subject: "alice", Category: "census", Purpose: g4.Purpose, GrantID: "g4",
				Sealed: []byte{4}, FetchedAt: t0, ExpiresAt: t0.Add(time.Hour)}
			if err := s.PutFacts(ctx, min); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.GetFacts(ctx, "alice", "census", aids, t0); got.GrantID != "g2" || !bytes.Equal(got.Sealed, []byte{9}) {
				t.Fatalf("the full answer after a minimised one: %+v", got)
			}
			if got, _ := s.GetFacts(ctx, "alice", "census", g4.Purpose, t0); got.GrantID != "g4" || !bytes.Equal(got.Sealed, []byte{4}) {
				t.Fatalf("the minimised answer: %+v", got)
			}
			held, err := s.FactsHeld(ctx, "alice", t0)
			if err != nil || len(held) != 2 || held[0].Purpose != aids || held[1].Purpose != g4.Purpose {
				t.Fatalf("FactsHeld = %+v, %v", held, err)
			}
			if held, _ := s.FactsHeld(ctx, "alice", t0.Add(time.Hour)); len(held) != 0 {
				t.Fatalf("expired facts held: %+v", held)
			}
			if n, err := s.DeleteFactsOfGrant(ctx, "alice", "g4"); err != nil || n != 1 {
				t.Fatalf("DeleteFactsOfGrant(g4) = %d, %v", n, err)
			}
			if n, err := s.DeleteFactsOfGrant(ctx, "bob", "g2"); err != nil || n != 0 {
				t.Fatalf("bob deleted alice's facts: %d, %v", n, err)
			}
			if n, err := s.DeleteFactsOfGrant(ctx, "alice", "g2"); err != nil || n != 1 {
				t.Fatalf("DeleteFactsOfGrant = %d, %v", n, err)
			}
			if _, err := s.GetFacts(ctx, "alice", "census", aids, t0); !errors.Is(err, exchange.ErrNoFacts) {
				t.Fatalf("deleted facts returned: %v", err)
			}
			// One fetch's sets go in one transaction: each is kept unless
			// its grant was withdrawn, and a set on a law has no grant.
			batch := []exchange.SealedFacts{
				{Subject: "alice", Category: "census", Purpose: aids, GrantID: "g1", Sealed: []byte{11}, FetchedAt: t0, ExpiresAt: t0.Add(time.Hour)},
				{Subject: "alice", Category: "tax", Purpose: aids, GrantID: "g3", Sealed: []byte{12}, FetchedAt: t0, ExpiresAt: t0.Add(time.Hour)},
				{Subject: "alice", Category: "representation", Purpose: "representation", Sealed: []byte{13}, FetchedAt: t0, ExpiresAt: t0.Add(time.Hour)},
			}
			errs, err := s.PutFactsAll(ctx, batch)
			if err != nil || len(errs) != 3 || errs[0] != nil || !errors.Is(errs[1], exchange.ErrGrantWithdrawn) || errs[2] != nil {
				t.Fatalf("PutFactsAll = %v, %v", errs, err)
			}
			for i, want := range []bool{true, false, true} {
				f := batch[i]
				got, err := s.GetFacts(ctx, f.Subject, f.Category, f.Purpose, t0)
				if want != (err == nil) || (want && !bytes.Equal(got.Sealed, f.Sealed)) {
					t.Errorf("set %d (%s) after the batch: %+v, %v", i, f.Category, got, err)
				}
			}
			// A set given twice in a batch: the last is kept.
			twice := []exchange.SealedFacts{
				{Subject: "alice", Category: "census", Purpose: aids, GrantID: "g1", Sealed: []byte{21}, FetchedAt: t0, ExpiresAt: t0.Add(time.Hour)},
				{Subject: "alice", Category: "representation", Purpose: "representation", Sealed: []byte{22}, FetchedAt: t0, ExpiresAt: t0.Add(time.Hour)},
				{Subject: "alice", Category: "census", Purpose: aids, GrantID: "g1", Sealed: []byte{23}, FetchedAt: t0, ExpiresAt: t0.Add(time.Hour)},
			}
			if errs, err := s.PutFactsAll(ctx, twice); err != nil || errs[0] != nil || errs[1] != nil || errs[2] != nil {
				t.Fatalf("PutFactsAll = %v, %v", errs, err)
			}
			for _, want := range twice[1:] {
				if got, err := s.GetFacts(ctx, want.Subject, want.Category, want.Purpose, t0); err != nil || !bytes.Equal(got.Sealed, want.Sealed) {
					t.Errorf("%s: %+v, %v", want.Category, got, err)
				}
			}
			// Given twice with the last refused (its grant withdrawn, or
			// another subject's), the one before it is kept; a set of
			// another subject under their own grant is kept beside them.
			if err := s.CreateGrant(ctx, consent.Grant{ID: "gb", Subject: "bob", Category: "tax", Purpose: aids, ExpiresAt: t0.Add(time.Hour),
				Requester: "r", Source: "s", LegalBasis: consent.BasisConsent, TextVersion: "v", Language: "ca", GrantedAt: t0.Add(-time.Hour)}); err != nil {
				t.Fatal(err)
			}
			refusedLast := []exchange.SealedFacts{
				{Subject: "alice", Category: "census", Purpose: aids, GrantID: "g1", Sealed: []byte{31}, FetchedAt: t0, ExpiresAt: t0.Add(time.Hour)},
				{Subject: "bob", Category: "tax", Purpose: aids, GrantID: "gb", Sealed: []byte{32}, FetchedAt: t0, ExpiresAt: t0.Add(time.Hour)},
				{Subject: "alice", Category: "census", Purpose: aids, GrantID: "g3", Sealed: []byte{33}, FetchedAt: t0, ExpiresAt: t0.Add(time.Hour)},
				{Subject: "alice", Category: "census", Purpose: aids, GrantID: "gb", Sealed: []byte{34}, FetchedAt: t0, ExpiresAt: t0.Add(time.Hour)},
			}
			errs, err = s.PutFactsAll(ctx, refusedLast)
			if err != nil || errs[0] != nil || errs[1] != nil || !errors.Is(errs[2], exchange.ErrGrantWithdrawn) || !errors.Is(errs[3], exchange.ErrGrantWithdrawn) {
				t.Fatalf("PutFactsAll = %v, %v", errs, err)
			}
			for _, want := range refusedLast[:2] {
				if got, err := s.GetFacts(ctx, want.Subject, want.Category, want.Purpose, t0); err != nil || !bytes.Equal(got.Sealed, want.Sealed) || got.GrantID != want.GrantID {
					t.Errorf("%s's %s: %+v, %v", want.Subject, want.Category, got, err)
				}
			}
			// A batch that fails keeps none of its sets.
			bad := []exchange.SealedFacts{
				{Subject: "alice", Category: "employment", Purpose: aids, GrantID: "g1", Sealed: []byte{14}, FetchedAt: t0, ExpiresAt: t0.Add(time.Hour)},
				{Subject: "alice", Category: "census", Purpose: aids, GrantID: "g1", Sealed: nil, FetchedAt: t0, ExpiresAt: t0.Add(time.Hour)},
			}
			if _, err := s.PutFactsAll(ctx, bad); err == nil {
				t.Fatal("a set without its sealed facts was stored")
			}
			if _, err := s.GetFacts(ctx, "alice", "employment", aids, t0); !errors.Is(err, exchange.ErrNoFacts) {
				t.Fatalf("a failed batch kept a set: %v", err)
			}
			// Its transaction was rolled back: the next batch is kept.
			if errs, err := s.PutFactsAll(ctx, bad[:1]); err != nil || errs[0] != nil {
				t.Fatalf("after a failed batch: %v, %v", errs, err)
			}
			if got, err := s.GetFacts(ctx, "alice", "employment", aids, t0); err != nil || !bytes.Equal(got.Sealed, bad[0].Sealed) {
				t.Fatalf("after a failed batch, the next one's set: %+v, %v", got, err)
			}
		})
	}
}

// TestFactsRaceWithdrawal: fetches keep their facts while the grant is
// withdrawn and its facts deleted, as the consent service does. Whatever
// the interleaving, nothing is left under the grant once both are done: a
// fetch that read the grant in force holds its lock until it commits, so
// the withdrawal (and the deletion after it) waits for it, and one that
// comes after reads it withdrawn.
func TestFactsRaceWithdrawal(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			s := b.Open(t)
			ctx := context.Background()
			t0 := time.Now()
			var kept, refused atomic.Int32
			for round := range 12 {
				id := fmt.Sprintf("g%d", round)
				if err := s.CreateGrant(ctx, consent.Grant{ID: id, Subject: "alice", Category: "census", Purpose: aids, ExpiresAt: t0.Add(time.Hour),
					Requester: "r", Source: "s", LegalBasis: consent.BasisConsent, TextVersion: "v", Language: "ca", GrantedAt: t0}); err != nil {
					t.Fatal(err)
				}
				stop := make(chan struct{})
				var wg sync.WaitGroup
				for w := range 4 {
					wg.Go(func() {
						for i := 0; ; i++ {
							select {
							case <-stop:
								return
							default:
							}
							errs, err := s.PutFactsAll(ctx, []exchange.SealedFacts{
								{Subject: "alice", Category: "census", Purpose: aids, GrantID: id, Sealed: []byte{byte(w), byte(i)}, FetchedAt: t0, ExpiresAt: t0.Add(time.Hour)},
								{Subject: "alice", Category: "representation", Purpose: "representation", Sealed: []byte{byte(w)}, FetchedAt: t0, ExpiresAt: t0.Add(time.Hour)},
							})
							switch {
							case err != nil:
								t.Error(err)
								return
							case errs[0] == nil:
								kept.Add(1)
							case errors.Is(errs[0], exchange.ErrGrantWithdrawn):
								refused.Add(1)
								return
							default:
								t.Error(errs[0])
								return
							}
						}
					})
				}
				time.Sleep(time.Duration(round) * time.Millisecond)
				if _, err := s.WithdrawGrant(ctx, "alice", id, time.Now()); err != nil {
					t.Fatal(err)
				}
				if _, err := s.DeleteFactsOfGrant(ctx, "alice", id); err != nil {
					t.Fatal(err)
				}
				close(stop)
				wg.Wait()
				if f, err := s.GetFacts(ctx, "alice", "census", aids, t0); !errors.Is(err, exchange.ErrNoFacts) {
					t.Fatalf("round %d: facts left under the withdrawn grant %s: %+v, %v", round, id, f, err)
				}
			}
			if kept.Load() == 0 || refused.Load() == 0 {
				t.Errorf("the race was not run: %d kept, %d refused", kept.Load(), refused.Load())
			}
		})
	}
}

// TestFactsMigrateToPurposes writes facts under the schema of one set per
// category, migrates, and finds each set under the purpose it was fetched
// for: its grant's, or for facts fetched on a law, the law's purpose.
func TestFactsMigrateToPurposes(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s := storetest.OpenUnmigrated(t, b)
			if err := store.MigrateUpTo(ctx, s, 21); err != nil {
				t.Fatal(err)
			}
			t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
			// The grant as the schema of then holds it.
			if _, err := s.DB().ExecContext(ctx, rebind(s, `INSERT INTO consent_grants (id, subject, category, purpose, requester, source,
				legal_basis, text_version, language, granted_at, expires_at, withdrawn_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
				"g1", "alice", "tax", aids, "r", "s", consent.BasisConsent, "v", "ca", t0.UnixMicro(), t0.Add(time.Hour).UnixMicro(), 0); err != nil {
				t.Fatal(err)
			}
			for _, row := range [][]any{{"alice", "tax", "g1"}, {"alice", "representation", ""}} {
				if _, err := s.DB().ExecContext(ctx, rebind(s, `INSERT INTO facts (subject, category, grant_id, sealed, fetched_at, expires_at)
					VALUES (?, ?, ?, ?, ?, ?)`), row[0], row[1], row[2], []byte("sealed-"+row[1].(string)), t0.UnixMicro(), t0.Add(time.Hour).UnixMicro()); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			for cat, purpose := range map[string]string{"tax": aids, "representation": "acting-for"} {
				f, err := s.GetFacts(ctx, "alice", cat, purpose, t0)
				if err != nil || string(f.Sealed) != "sealed-"+cat || !f.ExpiresAt.Equal(t0.Add(time.Hour)) {
					t.Errorf("%s for %s after the migration: %+v, %v", cat, purpose, f, err)
				}
			}
		})
	}
}

// PutFactsAllSubscribed keeps what PutFactsAll keeps, refuses what it
// refuses, and says whether the subscriber has subscriptions as
// Subscriptions does, on both stores.
func TestPutFactsAllSubscribedEqualsTheTwoCalls(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			s := b.Open(t)
			for _, g := range []consent.Grant{
				{ID: "g1", Subject: "alice", Category: "census"}, {ID: "g2", Subject: "alice", Category: "tax"},
				{ID: "gb", Subject: "bob", Category: "census"},
			} {
				g.Purpose, g.Requester, g.Source, g.LegalBasis, g.TextVersion, g.Language = aids, "r", "s", consent.BasisConsent, "v", "ca"
				g.GrantedAt, g.ExpiresAt = t0.Add(-time.Hour), t0.Add(time.Hour)
				if err := s.CreateGrant(ctx, g); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := s.WithdrawGrant(ctx, "alice", "g2", t0); err != nil {
				t.Fatal(err)
			}
			batch := func(n byte) []exchange.SealedFacts {
				return []exchange.SealedFacts{
					{Subject: "alice", Category: "census", Purpose: aids, GrantID: "g1", Sealed: []byte{n}, FetchedAt: t0, ExpiresAt: t0.Add(time.Hour)},
					{Subject: "alice", Category: "tax", Purpose: aids, GrantID: "g2", Sealed: []byte{n + 1}, FetchedAt: t0, ExpiresAt: t0.Add(time.Hour)},
					{Subject: "alice", Category: "employment", Purpose: aids, GrantID: "gb", Sealed: []byte{n + 2}, FetchedAt: t0, ExpiresAt: t0.Add(time.Hour)},
				}
			}
			check := func(subscriber string, n byte) {
				t.Helper()
				want, err := s.PutFactsAll(ctx, batch(n))
				if err != nil {
					t.Fatal(err)
				}
				subs, err := s.Subscriptions(ctx, subscriber)
				if err != nil {
					t.Fatal(err)
				}
				got, subscribed, err := s.PutFactsAllSubscribed(ctx, batch(n+10), subscriber)
				if err != nil {
					t.Fatal(err)
				}
				if subscribed != (len(subs) > 0) || len(got) != len(want) {
					t.Fatalf("%s: subscribed %v with %d subscriptions; %d results for %d", subscriber, subscribed, len(subs), len(got), len(want))
				}
				for i := range want {
					if !errors.Is(got[i], want[i]) && (got[i] != nil || want[i] != nil) {
						t.Errorf("%s, set %d: %v; PutFactsAll: %v", subscriber, i, got[i], want[i])
					}
				}
				if f, err := s.GetFacts(ctx, "alice", "census", aids, t0); err != nil || !bytes.Equal(f.Sealed, []byte{n + 10}) {
					t.Errorf("the set kept: %+v, %v", f, err)
				}
			}
			check("alice", 1)
			if err := s.PutSubscription(ctx, alerts.Subscription{Subject: "alice", Channel: "email", Target: []byte{1}, Lang: "ca",
				LoA: "substantial", CreatedAt: t0}); err != nil {
				t.Fatal(err)
			}
			check("alice", 21)
			check("bob", 41)
			if _, err := s.DeleteSubscription(ctx, "alice", "email"); err != nil {
				t.Fatal(err)
			}
			check("alice", 61)
		})
	}
}

package store_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/obert-gov/obert/consent"
	"github.com/obert-gov/obert/consent/consenttest"
	"github.com/obert-gov/obert/gateway/adminapi"
	"github.com/obert-gov/obert/gateway/store/storetest"
)

func TestConsentStore(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			consenttest.RunStore(t, func(t testing.TB) consent.Store { return b.Open(t) })
		})
	}
}

// ActiveGrantsAndCatalogue, one statement, answers what ActiveGrants and
// CatalogueVersion answer apart, on both stores: for a citizen with
// grants in every state, at instants around their changes, with no grant
// at all, and after the catalogue moves.
func TestActiveGrantsAndCatalogueEqualsTheTwoReads(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	grant := func(id, subject, category, purpose string, at time.Time) consent.Grant {
		return consent.Grant{ID: id, Subject: subject, Category: category, Purpose: purpose,
			Requester: "gencat-drets-socials", Source: "padro-municipal", LegalBasis: consent.BasisConsent,
			TextVersion: "v1", Language: "ca", GrantedAt: at, ExpiresAt: at.Add(30 * 24 * time.Hour),
			MinInterval: time.Minute, DataLife: time.Hour, FromYear: 2024, ToYear: 2025}
	}
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			s := b.Open(t)
			const purpose = "aid-recommendation"
			for _, g := range []consent.Grant{
				grant("c1", "alice", "census", purpose, t0),
				grant("c2", "alice", "census", purpose, t0.Add(time.Hour)), // newer: replaces c1 from then
				grant("t1", "alice", "tax", purpose, t0.Add(time.Minute)),  // withdrawn below
				grant("e1", "alice", "employment", purpose, t0.Add(2*time.Minute)),
				grant("e2", "alice", "employment", purpose, t0.Add(3*time.Minute)), // paused below
				grant("o1", "alice", "census", "other-purpose", t0.Add(2*time.Hour)),
				grant("b1", "bob", "tax", purpose, t0),
				grant("x1", "alice", "company", purpose, t0.Add(-31*24*time.Hour)), // expired
			} {
				if err := s.CreateGrant(ctx, g); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := s.WithdrawGrant(ctx, "alice", "t1", t0.Add(4*time.Hour)); err != nil {
				t.Fatal(err)
			}
			if _, err := s.PauseGrant(ctx, "alice", "e2", t0.Add(4*time.Hour), true); err != nil {
				t.Fatal(err)
			}
			all := []string{"census", "tax", "employment", "company"}
			check := func(subject, purpose string, at time.Time) {
				t.Helper()
				want, err := s.ActiveGrants(ctx, subject, purpose, all, at)
				if err != nil {
					t.Fatal(err)
				}
				wantV, err := s.CatalogueVersion(ctx)
				if err != nil {
					t.Fatal(err)
				}
				got, v, err := s.ActiveGrantsAndCatalogue(ctx, subject, purpose, at)
				if err != nil {
					t.Fatal(err)
				}
				if v != wantV || !reflect.DeepEqual(got, want) {
					t.Errorf("%s/%s at %s: got version %d and %v; the two reads give %d and %v", subject, purpose, at, v, got, wantV, want)
				}
			}
			for _, at := range []time.Time{t0.Add(-time.Second), t0, t0.Add(90 * time.Second), t0.Add(time.Hour),
				t0.Add(5 * time.Hour), t0.Add(31 * 24 * time.Hour)} {
				for _, sp := range [][2]string{{"alice", purpose}, {"alice", "other-purpose"}, {"bob", purpose}, {"carol", purpose}} {
					check(sp[0], sp[1], at)
				}
			}
			// The catalogue moves: the one statement follows.
			r := adminapi.Registration{ID: "dep", Owner: "gencat", Spec: []byte(`{"id":"dep"}`), Active: true, CreatedAt: t0, UpdatedAt: t0}
			if _, err := s.CreateConnector(ctx, r); err != nil {
				t.Fatal(err)
			}
			check("alice", purpose, t0.Add(5*time.Hour))
			check("carol", purpose, t0.Add(5*time.Hour))
			if _, v, _ := s.ActiveGrantsAndCatalogue(ctx, "carol", purpose, t0); v != 1 {
				t.Fatalf("the catalogue's version after one change, with no grant: %d", v)
			}
		})
	}
}

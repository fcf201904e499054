package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/obert-gov/obert/consent"
	"github.com/obert-gov/obert/gateway/alerts"
	"github.com/obert-gov/obert/gateway/exchange"
	"github.com/obert-gov/obert/gateway/store/storetest"
)

// TestAlertsStore: subscriptions, paging of subscribers without the
// objectors, claims that let an alert out once, and the batch reads of
// grants and facts, on both backends.
func TestAlertsStore(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			s := b.Open(t)
			for _, subj := range []string{"s1", "s2", "s3", "s4"} {
				for _, ch := range []string{alerts.Email, alerts.Push} {
					if err := s.PutSubscription(ctx, alerts.Subscription{Subject: subj, Channel: ch, Target: []byte("t-" + subj),
						Lang: "ca", LoA: "substantial", QuietFrom: 21 * 60, QuietTo: 9 * 60, CreatedAt: t0}); err != nil {
						t.Fatal(err)
					}
				}
			}
			// Replacing keeps one row per channel.
			if err := s.PutSubscription(ctx, alerts.Subscription{Subject: "s1", Channel: alerts.Email, Target: []byte("new"),
				Lang: "es", LoA: "low", CreatedAt: t0}); err != nil {
				t.Fatal(err)
			}
			subs, err := s.Subscriptions(ctx, "s1")
			if err != nil || len(subs) != 2 || string(subs[0].Target) != "new" || subs[0].Lang != "es" || subs[1].QuietFrom != 21*60 {
				t.Fatalf("subscriptions of s1: %+v %v", subs, err)
			}
			if err := s.SetObjection(ctx, "s3", alerts.Objection, true, t0); err != nil {
				t.Fatal(err)
			}
			page, err := s.Subscribers(ctx, "", "", 2, alerts.Objection)
			// s1 subscribed by push at substantial and by e-mail at low:
			// the weakest counts.
			if err != nil || len(page) != 2 || page[0].Subject != "s1" || page[0].LoA != "low" || page[1].Subject != "s2" {
				t.Fatalf("first page %+v %v", page, err)
			}
			// Since is the first subscription of the citizen.
			if err := s.PutSubscription(ctx, alerts.Subscription{Subject: "s2", Channel: alerts.Push, Target: []byte("p"),
				Lang: "ca", LoA: "substantial", CreatedAt: t0.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
			if page, _ = s.Subscribers(ctx, "s1", "s2", 10, alerts.Objection); len(page) != 1 || !page[0].Since.Equal(t0) {
				t.Fatalf("since: %+v, want %s", page, t0)
			}
			page, _ = s.Subscribers(ctx, "s2", "", 2, alerts.Objection)
			if len(page) != 1 || page[0].Subject != "s4" {
				t.Fatalf("second page leaves out the objector: %+v", page)
			}
			if page, _ = s.Subscribers(ctx, "", "s2", 10, alerts.Objection); len(page) != 2 || page[1].Subject != "s2" {
				t.Fatalf("bounded page: %+v", page)
			}

			// Claims: the first attempt claims, an unfinished one is
			// claimed again, a sent one never.
			if st, err := s.Claim(ctx, "s1", "new:a", alerts.Email, t0); err != nil || st != alerts.StateSending {
				t.Fatalf("claim: %q %v", st, err)
			}
			if st, _ := s.Claim(ctx, "s1", "new:a", alerts.Email, t0); st != alerts.StateSending {
				t.Fatalf("unfinished claim: %q", st)
			}
			if err := s.Mark(ctx, "s1", "new:a", alerts.Email, alerts.StateSent, t0); err != nil {
				t.Fatal(err)
			}
			if st, _ := s.Claim(ctx, "s1", "new:a", alerts.Email, t0); st != alerts.StateSent {
				t.Fatalf("claim after sending: %q", st)
			}
			if err := s.MarkKnown(ctx, "s2", []string{"new:a", "new:b"}, t0); err != nil {
				t.Fatal(err)
			}
			told, err := s.Told(ctx, []string{"s1", "s2", "s4"}, "new:a")
			if err != nil || !told["s1"] || !told["s2"] || told["s4"] || len(told) != 2 {
				t.Fatalf("told %v %v", told, err)
			}
			if keys, _ := s.KeysOf(ctx, "s2"); len(keys) != 2 || !keys["new:b"] {
				t.Fatalf("keys of s2: %v", keys)
			}
			if subj, _ := s.SubjectsWith(ctx, "new:a", "", t0.Add(time.Second), 10); len(subj) != 2 || subj[0] != "s1" || subj[1] != "s2" {
				t.Fatalf("subjects with new:a: %v", subj)
			}
			if subj, _ := s.SubjectsWith(ctx, "new:a", "", t0, 10); len(subj) != 0 {
				t.Fatalf("subjects told before t0: %v", subj)
			}
			if _, queued, err := s.SweepQueued(ctx, "a", "v1"); queued || err != nil {
				t.Fatalf("a sweep never queued: %v %v", queued, err)
			}
			if fresh, _ := s.QueueSweep(ctx, "a", "v1", t0); !fresh {
				t.Fatal("first sweep not fresh")
			}
			if fresh, _ := s.QueueSweep(ctx, "a", "v1", t0.Add(time.Hour)); fresh {
				t.Fatal("second sweep of the same version fresh")
			}
			if at, queued, err := s.SweepQueued(ctx, "a", "v1"); !queued || err != nil || !at.Equal(t0) {
				t.Fatalf("sweep queued: %s %v %v, want the first time, %s", at, queued, err, t0)
			}

			// Batch reads: only in-force grants of the subjects asked for.
			for i, g := range []consent.Grant{
				{ID: "g1", Subject: "s1", Category: "census", Purpose: alerts.Purpose, ExpiresAt: t0.Add(48 * time.Hour)},
				{ID: "g2", Subject: "s1", Category: "census", Purpose: "aid-recommendation", ExpiresAt: t0.Add(24 * time.Hour)},
				{ID: "g3", Subject: "s2", Category: "census", Purpose: alerts.Purpose, ExpiresAt: t0.Add(-time.Hour)},
				{ID: "g4", Subject: "s25", Category: "census", Purpose: alerts.Purpose, ExpiresAt: t0.Add(24 * time.Hour)},
			} {
				g.Requester, g.Source, g.LegalBasis, g.TextVersion, g.Language, g.GrantedAt = "r", "s", consent.BasisConsent, "v", "ca", t0.Add(-time.Duration(i+2)*time.Hour)
				if err := s.CreateGrant(ctx, g); err != nil {
					t.Fatal(err)
				}
			}
			gs, err := s.ActiveGrantsOf(ctx, []string{"s1", "s2", "s4"}, []string{alerts.Purpose, "aid-recommendation"}, t0)
			if err != nil || len(gs) != 2 {
				t.Fatalf("active grants: %+v %v", gs, err)
			}
			if exp, _ := s.ExpiringGrants(ctx, alerts.Purpose, t0, t0.Add(72*time.Hour)); len(exp) != 1 || exp[0].ID != "g1" {
				t.Fatalf("expiring: %+v", exp)
			}
			// Facts are stored only under grants in force: these need theirs.
			for _, g := range []consent.Grant{{ID: "gx", Subject: "s1", Category: "tax"}, {ID: "gy", Subject: "s25", Category: "census"},
				{ID: "gz", Subject: "s4", Category: "census"}} {
				g.Purpose, g.ExpiresAt, g.Requester, g.Source, g.LegalBasis, g.TextVersion, g.Language, g.GrantedAt =
					"aid-recommendation", t0.Add(time.Hour), "r", "s", consent.BasisConsent, "v", "ca", t0.Add(-time.Hour)
				if err := s.CreateGrant(ctx, g); err != nil {
					t.Fatal(err)
				}
			}
			for _, f := range []exchange.SealedFacts{
				{Subject: "s1", Category: "census", GrantID: "g2", ExpiresAt: t0.Add(time.Hour)},
				{Subject: "s1", Category: "tax", GrantID: "gx", ExpiresAt: t0.Add(time.Hour)},
				{Subject: "s25", Category: "census", GrantID: "gy", ExpiresAt: t0.Add(time.Hour)},
				{Subject: "s4", Category: "census", GrantID: "gz", ExpiresAt: t0.Add(-time.Hour)},
			} {
				f.Sealed, f.FetchedAt, f.Purpose = []byte("x"), t0, "aid-recommendation"
				if err := s.PutFacts(ctx, f); err != nil {
					t.Fatal(err)
				}
			}
			fs, err := s.FactsOf(ctx, []string{"s1", "s2", "s4"}, []string{"census"}, []string{"proactive-alerts", "aid-recommendation"}, t0)
			if err != nil || len(fs) != 1 || fs[0].Subject != "s1" || fs[0].GrantID != "g2" || fs[0].Purpose != "aid-recommendation" {
				t.Fatalf("facts of: %+v %v", fs, err)
			}
			if fs, _ := s.FactsOf(ctx, []string{"s1"}, []string{"census"}, []string{"residence-certificate"}, t0); len(fs) != 0 {
				t.Fatalf("facts of another purpose: %+v", fs)
			}

			if ok, _ := s.DeleteSubscription(ctx, "s1", alerts.Push); !ok {
				t.Fatal("delete push")
			}
			if ok, _ := s.DeleteSubscription(ctx, "s1", alerts.Push); ok {
				t.Fatal("deleted twice")
			}
			if err := s.DeleteSubscriptions(ctx, "s2"); err != nil {
				t.Fatal(err)
			}
			if subs, _ := s.Subscriptions(ctx, "s2"); len(subs) != 0 {
				t.Fatalf("s2 still subscribed: %v", subs)
			}
		})
	}
}

// TestConfirmSubscription: a confirmation link works once and before it
// expires, on both stores.
func TestConfirmSubscription(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			s := b.Open(t)
			put := func(subject, hash string) {
				if err := s.PutSubscription(ctx, alerts.Subscription{Subject: subject, Channel: alerts.Email, Target: []byte("x"),
					Lang: "ca", LoA: "substantial", CreatedAt: t0, ConfirmHash: hash, ConfirmUntil: t0.Add(24 * time.Hour)}); err != nil {
					t.Fatal(err)
				}
			}
			put("alice", "h1")
			put("bob", "h2")
			if _, _, ok, _ := s.ConfirmSubscription(ctx, "h2", t0.Add(25*time.Hour)); ok {
				t.Fatal("an expired link confirmed")
			}
			subject, channel, ok, err := s.ConfirmSubscription(ctx, "h1", t0.Add(time.Hour))
			if err != nil || !ok || subject != "alice" || channel != alerts.Email {
				t.Fatalf("confirm: %q %q %v %v", subject, channel, ok, err)
			}
			if _, _, ok, _ := s.ConfirmSubscription(ctx, "h1", t0.Add(time.Hour)); ok {
				t.Fatal("a link confirmed twice")
			}
			if _, _, ok, _ := s.ConfirmSubscription(ctx, "", t0); ok {
				t.Fatal("an empty hash confirmed")
			}
			subs, _ := s.Subscriptions(ctx, "alice")
			if len(subs) != 1 || !subs[0].Confirmed() || subs[0].ConfirmHash != "" {
				t.Fatalf("alice's subscription: %+v", subs)
			}
			if subs, _ := s.Subscriptions(ctx, "bob"); subs[0].Confirmed() {
				t.Fatal("bob's expired link confirmed him")
			}
		})
	}
}

package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/obert-gov/obert/audit"
	"github.com/obert-gov/obert/audit/audittest"
	"github.com/obert-gov/obert/consent"
	"github.com/obert-gov/obert/gateway/alerts"
	"github.com/obert-gov/obert/gateway/documents"
	"github.com/obert-gov/obert/gateway/exchange"
	"github.com/obert-gov/obert/gateway/signin"
	"github.com/obert-gov/obert/gateway/store"
	"github.com/obert-gov/obert/gateway/store/storetest"
)

// TestRights: erasure removes everything of one subject and nothing of
// anyone else, and the audit log still verifies; objections and the
// retention purge behave on both backends.
func TestRights(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			s := b.Open(t)
			l, v, _ := audittest.NewLog(t, s)
			for _, subj := range []string{"alice", "bob"} {
				if err := s.CreateGrant(ctx, consent.Grant{ID: "g-" + subj, Subject: subj, Category: "census", Purpose: "p", Requester: "r",
					Source: "s", LegalBasis: consent.BasisConsent, TextVersion: "v", Language: "ca", GrantedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
					t.Fatal(err)
				}
				if err := s.PutFacts(ctx, exchange.SealedFacts{Subject: subj, Category: "census", Purpose: "aid-recommendation", GrantID: "g-" + subj, Sealed: []byte("x"),
					FetchedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
					t.Fatal(err)
				}
				if err := s.PutSession(ctx, signin.StoredSession{IDHash: "sess-" + subj, Subject: subj, Sealed: []byte("x"), CreatedAt: t0, LastSeen: t0}); err != nil {
					t.Fatal(err)
				}
				if err := s.SetObjection(ctx, subj, "proactive-profiling", true, t0); err != nil {
					t.Fatal(err)
				}
				for i := range 3 {
					if _, err := l.Append(ctx, audit.Entry{ID: subj + string(rune('0'+i)), Time: t0, Kind: audit.KindSignIn, Subject: subj}); err != nil {
						t.Fatal(err)
					}
				}
			}
			if _, err := l.Append(ctx, audit.Entry{ID: "alice-erasure", Time: t0, Kind: "rights.erasure", Subject: "alice"}); err != nil {
				t.Fatal(err)
			}
			if ss, _ := s.SessionsOf(ctx, "alice"); len(ss) != 1 || !ss[0].CreatedAt.Equal(t0) {
				t.Fatalf("sessions of alice: %+v", ss)
			}

			if err := s.PutSubscription(ctx, alerts.Subscription{Subject: "alice", Channel: alerts.Email, Target: []byte("sealed"),
				Lang: "ca", LoA: "substantial", CreatedAt: t0}); err != nil {
				t.Fatal(err)
			}
			if err := s.MarkKnown(ctx, "alice", []string{"new:x"}, t0); err != nil {
				t.Fatal(err)
			}
			if err := s.PutDocument(ctx, documents.Stored{CSV: "ALICEDOC", Subject: "alice", Type: "census-certificate", IssuedAt: t0,
				ValidUntil: t0.Add(time.Hour), Sealed: []byte("x")}); err != nil {
				t.Fatal(err)
			}
			list := "https://obert.example/credentials/status/1"
			idx, err := s.NextIndex(ctx, list)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.PutDocumentCredential(ctx, store.DocumentCredential{CSV: "ALICEDOC", Subject: "alice", StatusList: list,
				StatusIndex: idx, Sealed: []byte("x")}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.DB().ExecContext(ctx, rebind(s, `INSERT INTO activity_acks (subject, source, notification, posted_at, decision,
				decided_at, loa, content_sha256, legal_basis, version) VALUES (?, 'enotum', 'n1', 1, 'accept', 2, 'high', 'x', 'own', 'v1')`), "alice"); err != nil {
				t.Fatal(err)
			}
			e, err := s.EraseSubject(ctx, "alice", "alice-erasure")
			if err != nil {
				t.Fatal(err)
			}
			if e != (store.Erased{Grants: 1, Facts: 1, Sessions: 1, Objections: 1, Subscriptions: 1, Deliveries: 1, Documents: 1, Acknowledgements: 1, AuditEntries: 3}) {
				t.Fatalf("erased %+v", e)
			}
			if _, err := s.GetDocument(ctx, "ALICEDOC"); !errors.Is(err, documents.ErrNotFound) {
				t.Fatalf("the document outlived the erasure: %v", err)
			}
			if _, err := s.DocumentCredentialOf(ctx, "alice", "ALICEDOC"); !errors.Is(err, store.ErrNoCredential) {
				t.Fatalf("the credential outlived the erasure: %v", err)
			}
			if revoked, _ := s.Revoked(ctx, list); len(revoked) != 1 || revoked[0] != idx {
				t.Fatalf("the erased document's credential is not revoked: %v", revoked)
			}
			if gs, _ := s.ListGrants(ctx, "alice"); len(gs) != 0 {
				t.Fatalf("grants left: %v", gs)
			}
			if _, err := s.GetFacts(ctx, "alice", "census", "aid-recommendation", t0); err != exchange.ErrNoFacts {
				t.Fatalf("facts left: %v", err)
			}
			if o, _ := s.Objections(ctx, "alice"); len(o) != 0 {
				t.Fatalf("objections left: %v", o)
			}
			es, err := l.EntriesOf(ctx, "alice", audit.Filter{})
			if err != nil || len(es) != 1 || es[0].ID != "alice-erasure" {
				t.Fatalf("alice's audit entries after erasure: %+v %v", es, err)
			}
			// Bob is untouched.
			if gs, _ := s.ListGrants(ctx, "bob"); len(gs) != 1 {
				t.Fatal("bob's grant went")
			}
			if es, _ := l.EntriesOf(ctx, "bob", audit.Filter{}); len(es) != 3 {
				t.Fatalf("bob's entries: %d", len(es))
			}
			if o, _ := s.Objections(ctx, "bob"); len(o) != 1 {
				t.Fatal("bob's objection went")
			}
			// The public log still verifies: commitments and hashes stayed.
			if _, err := audit.VerifyLog(ctx, l, v, nil); err != nil {
				t.Fatalf("log after erasure: %v", err)
			}

			// Objection off.
			s.SetObjection(ctx, "bob", "proactive-profiling", false, t0)
			if o, _ := s.Objections(ctx, "bob"); len(o) != 0 {
				t.Fatal("objection not lifted")
			}
			// Retention: nothing before expiry, bob's facts at it.
			if p, err := s.PurgeExpiredFacts(ctx, t0.Add(59*time.Minute)); err != nil || len(p) != 0 {
				t.Fatalf("purge before expiry: %v %v", p, err)
			}
			p, err := s.PurgeExpiredFacts(ctx, t0.Add(time.Hour))
			if err != nil || len(p) != 1 || p[0].Subject != "bob" || p[0].GrantID != "g-bob" {
				t.Fatalf("purge at expiry: %+v %v", p, err)
			}
		})
	}
}

func TestQuestionnaireStats(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			s := b.Open(t)
			for i := range 5 {
				s.CountPlacement(ctx, "older-alone", t0.AddDate(0, 0, -i*10))
			}
			s.CountPlacement(ctx, "single-parent", t0)
			if n, err := s.Placements(ctx, "older-alone", t0.AddDate(0, 0, -30)); err != nil || n != 4 {
				t.Fatalf("older-alone in 30 days: %d %v", n, err)
			}
			if n, _ := s.Placements(ctx, "young-at-risk", t0.AddDate(0, 0, -30)); n != 0 {
				t.Fatalf("young-at-risk: %d", n)
			}
		})
	}
}

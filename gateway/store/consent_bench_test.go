package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/obert-gov/obert/consent"
	"github.com/obert-gov/obert/gateway/store"
	"github.com/obert-gov/obert/gateway/store/storetest"
)

// BenchmarkConsentCheck measures the consent check on the exchange's hot
// path (consent.Service.Active: the newest unexpired, unwithdrawn grant of a
// subject, category and purpose) against a plain primary-key lookup of the
// same grant rows on the same store, in the same run. Metrics: ns of each
// and their ratio (check / pk).
func BenchmarkConsentCheck(b *testing.B) {
	const subjects = 2000
	ctx := context.Background()
	for _, be := range storetest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			s := be.Open(b)
			offers, err := consent.DefaultOffers()
			if err != nil {
				b.Fatal(err)
			}
			svc, err := consent.NewService(s, offers)
			if err != nil {
				b.Fatal(err)
			}
			var ids []string
			for i := range subjects {
				sub := fmt.Sprintf("subject-%05d", i)
				for _, cat := range []string{"census", "tax", "employment"} {
					o, _ := svc.Offer(cat, "aid-recommendation")
					g, err := svc.Grant(ctx, sub, cat, "aid-recommendation", o.TextVersion, "ca")
					if err != nil {
						b.Fatal(err)
					}
					if cat == "census" {
						ids = append(ids, g.ID)
					}
				}
				if i%3 == 0 { // history: a withdrawn grant and a newer one
					g, _ := svc.Active(ctx, sub, "census", "aid-recommendation")
					svc.Withdraw(ctx, sub, g.ID)
					o, _ := svc.Offer("census", "aid-recommendation")
					ng, _ := svc.Grant(ctx, sub, "census", "aid-recommendation", o.TextVersion, "ca")
					ids[i] = ng.ID
				}
			}
			pk := pkLookup(s)

			b.ResetTimer()
			start := time.Now()
			n := 0
			for b.Loop() {
				sub := fmt.Sprintf("subject-%05d", n%subjects)
				if _, err := svc.Active(ctx, sub, "census", "aid-recommendation"); err != nil {
					b.Fatal(err)
				}
				n++
			}
			check := time.Since(start) / time.Duration(n)
			b.StopTimer()

			start = time.Now()
			for i := range n {
				_ = fmt.Sprintf("subject-%05d", i%subjects) // the same formatting work as the check loop
				if err := pk(ctx, ids[i%subjects]); err != nil {
					b.Fatal(err)
				}
			}
			plain := time.Since(start) / time.Duration(n)
			b.ReportMetric(float64(check.Nanoseconds()), "check-ns")
			b.ReportMetric(float64(plain.Nanoseconds()), "pk-ns")
			b.ReportMetric(float64(check)/float64(plain), "ratio")
		})
	}
}

// pkLookup reads a whole grant row by primary key: the same columns and
// row the check returns, without the check's conditions.
func pkLookup(s *store.Store) func(ctx context.Context, id string) error {
	q := `SELECT id, subject, category, purpose, requester, source, legal_basis, text_version, language, granted_at, expires_at, withdrawn_at FROM consent_grants WHERE id = ?`
	if s.Flavor() == store.Postgres {
		q = q[:len(q)-1] + "$1"
	}
	return func(ctx context.Context, id string) error {
		var (
			a, b2, c, d, e, f, g, h, i string
			j, k, l                    int64
		)
		return s.DB().QueryRowContext(ctx, q, id).Scan(&a, &b2, &c, &d, &e, &f, &g, &h, &i, &j, &k, &l)
	}
}

package consent_test

import (
	"context"
	"fmt"
	"time"

	"github.com/obert-gov/obert/consent"
)

func Example() {
	ctx := context.Background()
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	offers, _ := consent.DefaultOffers()
	svc, _ := consent.NewService(&memStore{}, offers,
		consent.WithClock(func() time.Time { return now }),
		consent.WithIDs(func() string { return "cg_1" }))

	o, _ := svc.Offer("census", "aid-recommendation")
	g, _ := svc.Grant(ctx, "subject-key", "census", "aid-recommendation", o.TextVersion, "ca")
	fmt.Println(g.ID, g.Source, g.LegalBasis, g.ExpiresAt.Format(time.DateOnly))

	svc.Withdraw(ctx, "subject-key", g.ID)
	_, err := svc.Active(ctx, "subject-key", "census", "aid-recommendation")
	fmt.Println(err)
	// Output:
	// cg_1 padro-municipal gdpr-6-1-a 2026-12-24
	// consent: no active consent for this category and purpose
}

package policy_test

import (
	"context"
	"fmt"
	"time"

	"github.com/obert-gov/obert/policy"
)

func ExampleGuard_Decide() {
	ctx := context.Background()
	g, _ := policy.NewGuard(ctx)
	in := policy.Input{
		Subject: "subject-key", LoA: "substantial", Purpose: "aid-recommendation",
		Requester: "gencat-drets-socials", Connector: "census", Category: "census", Source: "padro-municipal",
		RequestedField: []string{"municipality", "household_size", "phone"},
		Consent: &policy.Consent{ID: "cg_1", Category: "census", Purpose: "aid-recommendation",
			Requester: "gencat-drets-socials", Source: "padro-municipal", LegalBasis: "gdpr-6-1-a",
			Active: true, ExpiresAt: time.Date(2026, 12, 24, 0, 0, 0, 0, time.UTC).Unix()},
		Now: time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC).Unix(),
	}
	d, _ := g.Decide(ctx, in)
	fmt.Println(d.Allow, d.Fields, d.Reasons)

	in.Consent = nil
	d, _ = g.Decide(ctx, in)
	fmt.Println(d.Allow, d.Fields, d.Reasons)
	// Output:
	// true [household_size municipality] [consent-active]
	// false [] [no-consent]
}

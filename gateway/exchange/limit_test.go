package exchange_test

import (
	"context"
	"testing"
	"time"

	"github.com/obert-gov/obert/connectors/sim"
	"github.com/obert-gov/obert/consent"
	"github.com/obert-gov/obert/gateway/exchange"
)

// limitedGrant grants the census for a day's interval between requests.
func (r *rig) limitedGrant(t *testing.T) consent.Grant {
	t.Helper()
	o, ok := r.consents.Offer("census", "aid-recommendation")
	if !ok {
		t.Fatal("no census offer")
	}
	g, err := r.consents.GrantWithLimits(context.Background(), r.citizen.Subject, "census", "aid-recommendation", o.TextVersion, "ca",
		consent.Limits{MinInterval: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// lastRequest is when the census was last asked under g, as stored.
func (r *rig) lastRequest(t *testing.T, g consent.Grant) time.Time {
	t.Helper()
	got, err := r.consents.Get(context.Background(), r.citizen.Subject, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got.LastRequest
}

// TestLimitCountsRequestsThatReachedTheSource: a citizen who limited how
// often the source may be asked loses nothing to a request that never
// reached it (the intent could not be committed; no connection could be
// made): its claim is given back and the next fetch goes. A request that
// reached the source counts, even when the source then failed.
func TestLimitCountsRequestsThatReachedTheSource(t *testing.T) {
	t.Run("intent not committed", func(t *testing.T) {
		r := newRig(t, options{failAt: []int{1}})
		g := r.limitedGrant(t)
		if res := r.fetch(); res.Status != exchange.StatusAuditUnavailable {
			t.Fatalf("first fetch: %+v", res)
		}
		if last := r.lastRequest(t, g); !last.IsZero() {
			t.Fatalf("the claim of a request never sent stays: last request %v", last)
		}
		if res := r.fetch(); res.Status != exchange.StatusOK || r.hits.Load() != 1 {
			t.Fatalf("second fetch: %+v, %d requests", res, r.hits.Load())
		}
		if last := r.lastRequest(t, g); last.IsZero() {
			t.Fatal("the request that went was not counted")
		}
		if res := r.fetch(); res.Status != exchange.StatusDenied || res.Reason != "too-frequent" || r.hits.Load() != 1 {
			t.Fatalf("third fetch: %+v, %d requests", res, r.hits.Load())
		}
	})
	t.Run("source unreachable", func(t *testing.T) {
		r := newRig(t, options{unreachable: true})
		g := r.limitedGrant(t)
		for i := range 2 {
			if res := r.fetch(); res.Status != exchange.StatusFailed || res.Reason != "source-unavailable" {
				t.Fatalf("fetch %d: %+v, want the source unavailable, not refused", i, res)
			}
			if last := r.lastRequest(t, g); !last.IsZero() {
				t.Fatalf("fetch %d: the claim of a request that never connected stays: last request %v", i, last)
			}
		}
	})
	t.Run("source failed", func(t *testing.T) {
		r := newRig(t, options{})
		g := r.limitedGrant(t)
		r.sim.SetFault(sim.FaultHTTP503)
		if res := r.fetch(); res.Status != exchange.StatusFailed || r.hits.Load() != 1 {
			t.Fatalf("first fetch: %+v, %d requests", res, r.hits.Load())
		}
		if last := r.lastRequest(t, g); last.IsZero() {
			t.Fatal("a request the source received was not counted")
		}
		r.sim.SetFault(sim.FaultNone)
		if res := r.fetch(); res.Status != exchange.StatusDenied || res.Reason != "too-frequent" || r.hits.Load() != 1 {
			t.Fatalf("second fetch: %+v, %d requests", res, r.hits.Load())
		}
	})
}

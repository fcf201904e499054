package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/obert-gov/obert/audit"
	"github.com/obert-gov/obert/audit/audittest"
	"github.com/obert-gov/obert/gateway/store/storetest"
)

// TestUsageCounts: uses of a source's data are counted with their entries
// (outcomes, refusals, uses of stored facts; not pending intents or other
// entries), by day, purpose, outcome and state, and a report gives only
// the sources asked for.
func TestUsageCounts(t *testing.T) {
	ctx := context.Background()
	day := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			s := b.Open(t)
			l, _, _ := audittest.NewLog(t, s)
			e := func(id, kind, source, outcome, errClass, state string, at time.Time) audit.Entry {
				return audit.Entry{ID: id, Time: at, Kind: kind, Subject: "s-" + id, Requester: "gencat-drets-socials", Source: source,
					Category: "dependency", Purpose: "aid-recommendation", Outcome: outcome, Error: errClass, SourceState: state}
			}
			if _, err := l.AppendAll(ctx, []audit.Entry{
				e("1", audit.KindExchangeIntent, "sisaad", "pending", "", "", day),
				e("2", audit.KindExchangeOutcome, "sisaad", "ok", "", "", day),
				e("3", audit.KindExchangeOutcome, "sisaad", "ok", "", "", day),
				e("4", audit.KindExchangeOutcome, "sisaad", "error", "source-not-found", "0233", day),
				e("5", audit.KindExchangeIntent, "sisaad", "denied", "no-consent", "", day),
				e("6", "facts.use", "sisaad", "ok", "", "", day.AddDate(0, 0, 1)),
				e("7", audit.KindExchangeOutcome, "aeat", "ok", "", "", day),
				e("8", "consent.grant", "sisaad", "ok", "", "", day),
			}); err != nil {
				t.Fatal(err)
			}
			l.Append(ctx, e("9", audit.KindExchangeOutcome, "sisaad", "ok", "", "", day))
			rows, err := s.UsageOf(ctx, []string{"sisaad"}, "2026-11-29", "2026-11-30")
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]int64{}
			for _, r := range rows {
				if r.Source != "sisaad" {
					t.Fatalf("another source's usage: %+v", r)
				}
				got[r.Day+" "+r.Kind+" "+r.Outcome+" "+r.State] += r.Count
			}
			want := map[string]int64{
				"2026-11-29 exchange.outcome ok ":              3,
				"2026-11-29 exchange.outcome error 0233":       1,
				"2026-11-29 exchange.intent denied no-consent": 1,
				"2026-11-30 facts.use ok ":                     1,
			}
			if len(got) != len(want) {
				t.Fatalf("usage %v, want %v", got, want)
			}
			for k, n := range want {
				if got[k] != n {
					t.Errorf("%s: %d, want %d", k, got[k], n)
				}
			}
			if rows, _ := s.UsageOf(ctx, []string{"sisaad"}, "2026-11-30", "2026-11-30"); len(rows) != 1 {
				t.Fatalf("one day: %+v", rows)
			}
			// A batch of more distinct uses than one statement counts
			// (1,000), twice: every one is counted, and added to.
			for round := range 2 {
				var many []audit.Entry
				for i := range 1001 {
					x := e(fmt.Sprint("m", round, "-", i), audit.KindExchangeOutcome, "many", "ok", "", "", day)
					x.Requester = fmt.Sprint("requester-", i)
					many = append(many, x)
				}
				if _, err := l.AppendAll(ctx, many); err != nil {
					t.Fatal(err)
				}
			}
			rows, err = s.UsageOf(ctx, []string{"many"}, "2026-11-29", "2026-11-29")
			if err != nil || len(rows) != 1001 {
				t.Fatalf("%d rows, %v", len(rows), err)
			}
			for _, r := range rows {
				if r.Count != 2 {
					t.Fatalf("%+v", r)
				}
			}
		})
	}
}

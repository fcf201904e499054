package recommend_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/obert-gov/obert/gateway/recommend"
)

// TestSlowRuleIsLeftOut: a rule that finishes with no data (so it passed
// publication) but runs on and on with a citizen's data is stopped at its
// budget and left out of that recommendation, while the aids beside it
// (in its shard) are still decided; a sweep's evaluation of it says
// ErrTooSlow.
func TestSlowRuleIsLeftOut(t *testing.T) {
	ctx := context.Background()
	mods := map[string]string{
		"rego/aids/slow.rego": `package obert.aids.slow

import rego.v1

criteria["counts"] := count([x | some x in numbers.range(1, input.facts.census.household_size * 100000000); x == 0]) == 0
`,
		"rego/aids/quick.rego": `package obert.aids.quick

import rego.v1

criteria["large-household"] := input.facts.census.household_size > 2
`,
	}
	crit := func(n string) []recommend.CriterionSpec {
		return []recommend.CriterionSpec{{Name: n, Category: "census"}}
	}
	cat, _ := json.Marshal([]recommend.Aid{
		{ID: "slow", ValidFrom: "2026-01-01", Categories: []string{"census"}, Criteria: crit("counts")},
		{ID: "quick", ValidFrom: "2026-01-01", Categories: []string{"census"}, Criteria: crit("large-household")},
	})
	r, err := recommend.New(ctx, cat, mods, func() time.Time { return time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC) })
	if err != nil {
		t.Fatal(err)
	}
	// With no data the slow rule is quick (it counts nothing).
	if res, err := r.Recommend(ctx, recommend.Situation{}); err != nil || len(res) != 2 {
		t.Fatalf("with no data: %v %v", res, err)
	}
	start := time.Now()
	res, err := r.Recommend(ctx, recommend.Situation{Facts: map[string]map[string]any{"census": {"household_size": 5}}})
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].Aid.ID != "quick" || res[0].Status != recommend.Eligible {
		t.Fatalf("with data: %+v", res)
	}
	if took > recommend.ShardBudget+recommend.AidBudget*2+time.Second {
		t.Errorf("the recommendation took %v", took)
	}
	ev, err := r.Evaluator(ctx, "slow")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ev.Evaluate(ctx, recommend.Situation{Facts: map[string]map[string]any{"census": {"household_size": 5}}}); !errors.Is(err, recommend.ErrTooSlow) {
		t.Fatalf("a sweep's evaluation of the slow rule: %v", err)
	}
}

package recommend_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/obert-gov/obert/gateway/recommend"
	"github.com/obert-gov/obert/policy"
)

// TestEachAidSeesOnlyItsCategories: whatever a rule's syntax, the facts of a
// category its aid does not declare are absent when it is evaluated, for
// its own rule and for the helpers it calls. The rules here never went
// through Check.
func TestEachAidSeesOnlyItsCategories(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	shipped, err := policy.AidModules()
	if err != nil {
		t.Fatal(err)
	}
	mods := map[string]string{
		"rego/aids/lib.rego": shipped["rego/aids/lib.rego"],
		"rego/aids/snoop.rego": `package obert.aids.snoop

import rego.v1

criteria["sees-census"] := input.facts.census.household_size == 3

criteria["sees-tax"] := input.facts.tax.income_annual == 7000

f := input

criteria["sees-tax-through-a-variable"] := f.facts.tax.income_annual == 7000

criteria["sees-any-tax"] := count([v | some k, v in input.facts; k == "tax"]) > 0

criteria["sees-any-employment"] := count([v | walk(input, [p, v]); p[1] == "employment"]) > 0
`,
		"rego/aids/tax_only.rego": `package obert.aids.tax_only

import rego.v1

import data.obert.aids.lib

criteria["older-than-one"] := lib.age > 1

criteria["some-income"] := input.facts.tax.income_annual > 0
`,
	}
	names := func(ns ...string) (out []recommend.CriterionSpec) {
		for _, n := range ns {
			out = append(out, recommend.CriterionSpec{Name: n})
		}
		return out
	}
	cat, _ := json.Marshal([]recommend.Aid{
		{ID: "snoop", ValidFrom: "2026-01-01", Categories: []string{"census"},
			Criteria: names("sees-census", "sees-tax", "sees-tax-through-a-variable", "sees-any-tax", "sees-any-employment")},
		{ID: "tax_only", ValidFrom: "2026-01-01", Categories: []string{"tax"}, Criteria: names("older-than-one", "some-income")},
	})
	r, err := recommend.New(ctx, cat, mods, func() time.Time { return time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC) })
	if err != nil {
		t.Fatal(err)
	}
	s := recommend.Situation{Facts: map[string]map[string]any{
		"census":     {"birth_date": "1988-05-05", "household_size": 3},
		"tax":        {"income_annual": 7000},
		"employment": {"employed": false},
	}}
	yes, no := true, false
	want := map[string]map[string]*bool{
		"snoop": {"sees-census": &yes, "sees-tax": nil, "sees-tax-through-a-variable": nil, "sees-any-tax": &no, "sees-any-employment": &no},
		// The helper reads census, which this aid did not declare.
		"tax_only": {"older-than-one": nil, "some-income": &yes},
	}
	check := func(how string, res recommend.Result) {
		t.Helper()
		for _, c := range res.Criteria {
			w := want[res.Aid.ID][c.Name]
			if (w == nil) != (c.Met == nil) || (w != nil && *w != *c.Met) {
				got := "undecided"
				if c.Met != nil {
					got = map[bool]string{true: "true", false: "false"}[*c.Met]
				}
				t.Errorf("%s: %s.%s is %s", how, res.Aid.ID, c.Name, got)
			}
		}
	}
	rs, err := r.Recommend(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 {
		t.Fatalf("%d results", len(rs))
	}
	for _, res := range rs {
		check("Recommend", res)
	}
	for id := range want {
		ev, err := r.Evaluator(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		res, err := ev.Evaluate(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		check("Evaluator", res)
	}
}

package recommend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/obert-gov/obert/catalogue"
	"github.com/obert-gov/obert/connectors/sim"
	"github.com/obert-gov/obert/policy"
)

// TestNativeEqualsOPA is the differential test of native evaluation: on
// every shipped aid, for every synthetic citizen of the simulator and for
// thousands of random fact sets (fields missing, of the wrong type, dates
// at month ends and leap days, numbers at the rules' thresholds, fractions
// and numbers past 2^53), on several days, native code decides exactly
// the criteria OPA decides, leaves exactly the same ones undecided, and so
// gives the same verdicts and explanations; where it declines (errFallback)
// OPA's answer is the one used, and it declines rarely.
func TestNativeEqualsOPA(t *testing.T) {
	ctx := context.Background()
	t.Parallel()
	mods, err := policy.AidModules()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := policy.AidCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	var aids []Aid
	if err := json.Unmarshal(raw, &aids); err != nil {
		t.Fatal(err)
	}
	r, err := New(ctx, raw, mods, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range aids {
		if r.natives[a.ID] == nil {
			t.Errorf("shipped aid %s is not evaluated natively", a.ID)
		}
	}
	// OPA's own path over the whole catalogue: the shards recommendations
	// used before native evaluation.
	shards, _, err := compile(ctx, aids, aids, r.modules, r.caps)
	if err != nil {
		t.Fatal(err)
	}

	citizens, randoms := 1000, 2000
	if testing.Short() {
		citizens, randoms = 200, 300
	}
	asOf := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	var situations []Situation
	for _, c := range sim.NewPopulation(11, citizens, asOf).Citizens() {
		f, err := sim.Facts(c, asOf)
		if err != nil {
			t.Fatal(err)
		}
		situations = append(situations, Situation{Facts: f})
	}
	rng := rand.New(rand.NewPCG(7, 22))
	fields := categoryFields(t)
	for range randoms {
		situations = append(situations, randomSituation(rng, fields))
	}
	days := []string{"2026-11-24", "2028-02-29", "2027-03-31", "2026-01-01"}

	var evaluations, fallbacks, conflicts int
	for i, s := range situations {
		today := days[i%len(days)]
		inputs, err := shardInputs(shards, s, today)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]map[string]bool{}
		opaErr := map[string]bool{}
		for j, sh := range shards {
			part, err := evalShard(ctx, sh.query, inputs[j])
			if err != nil {
				// A conflict in one aid fails its shard: ask each aid alone.
				for _, id := range sh.aids {
					ev, _ := r.Evaluator(ctx, id)
					ev.now = func() time.Time { return mustDay(today) }
					met, err := ev.criteria(ctx, s)
					if err != nil {
						opaErr[id] = true
						continue
					}
					want[id] = met
				}
				continue
			}
			for id, met := range part {
				want[id] = met
			}
		}
		// The same aids as one recommendation evaluates them: the shared
		// helpers' values worked out once for the aids that read the same
		// categories.
		plan := make([]decision, len(r.aids))
		planned := make([]bool, len(r.aids))
		if _, _, err := evalPlan(r.aids, r.plan, s, today, plan, planned, criteriaFor(r.aids)); err != nil {
			t.Fatalf("the plan on %s: %v", describe(s), err)
		}
		cache := make([]cached, 0)
		for k, a := range r.aids {
			n := r.natives[a.ID]
			if len(cache) < n.nRules {
				cache = make([]cached, n.nRules)
			}
			got, err := n.criteria(s, today, cache[:n.nRules])
			evaluations++
			switch {
			case errors.Is(err, errFallback):
				fallbacks++
				if opaErr[a.ID] {
					conflicts++
				}
				if planned[k] {
					t.Fatalf("%s on %s (today %s): declined alone, decided in the plan", a.ID, describe(s), today)
				}
				continue
			case err != nil:
				t.Fatalf("%s on %v: %v", a.ID, s.Facts, err)
			case opaErr[a.ID]:
				t.Fatalf("%s on %v (today %s): OPA fails, native decided %v", a.ID, describe(s), today, got)
			}
			w := want[a.ID]
			if w == nil {
				w = map[string]bool{}
			}
			if !reflect.DeepEqual(got, w) {
				t.Fatalf("%s on %s (today %s):\nnative %v\nOPA    %v", a.ID, describe(s), today, got, w)
			}
			vg, vw := verdict(a, got), verdict(a, w)
			if !reflect.DeepEqual(vg, vw) {
				t.Fatalf("%s: verdicts differ: %+v vs %+v", a.ID, vg, vw)
			}
			if !a.validOn(today) {
				if planned[k] {
					t.Fatalf("%s decided on %s, outside its validity", a.ID, today)
				}
			} else if d := plan[k]; !planned[k] || !reflect.DeepEqual(Result{Aid: a, Status: d.Status, Criteria: d.Criteria}, vg) {
				t.Fatalf("%s on %s (today %s): the plan decided %v %+v, alone %+v", a.ID, describe(s), today, planned[k], d, vg)
			}
		}
	}
	t.Logf("%d evaluations over %d aids and %d situations; %d left to OPA (%d of them conflicts OPA reports)",
		evaluations, len(aids), len(situations), fallbacks, conflicts)
	if fallbacks*20 > evaluations {
		t.Fatalf("native evaluation declined %d of %d evaluations", fallbacks, evaluations)
	}
}

func mustDay(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}

func describe(s Situation) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// categoryFields are the catalogue's fields of the categories aids read.
func categoryFields(t *testing.T) map[string][]string {
	snap, err := catalogue.Seed()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, c := range snap.Categories {
		out[c.ID] = c.Fields
	}
	return out
}

// randomSituation is a fact set made to find where two evaluators part:
// each field missing at times, usually of its kind but at times of
// another, with values at the thresholds the shipped rules use.
func randomSituation(rng *rand.Rand, fields map[string][]string) Situation {
	pick := func(vs ...any) any { return vs[rng.IntN(len(vs))] }
	date := func() any {
		switch rng.IntN(6) {
		case 0:
			return pick("2000-02-29", "1961-11-24", "1958-11-25", "2026-11-24", "2026-11-25", "2008-02-29", "1961-03-31",
				"2026-02-30", "not a date", "", "2026-1-5", "0001-01-01", "9999-12-31")
		default:
			return fmt.Sprintf("%04d-%02d-%02d", 1920+rng.IntN(112), 1+rng.IntN(12), 1+rng.IntN(31))
		}
	}
	number := func() any {
		switch rng.IntN(5) {
		case 0:
			return pick(-1, 0, 1, 2, 3, 4, 12, 18, 23, 35, 52, 65, 8639, 8640, 9000, 12000, 14999, 15000, 16800, 25200, 36000)
		case 1:
			return pick(2.5, 0.5, 1e16, -3.0, 9007199254740993.0, 1.0)
		default:
			return rng.IntN(60000)
		}
	}
	code := func() any {
		return pick("08019", "17079", "25120", "43148", "08187", "08279", "08101", "08015", "43123", "28079", "40", "13", "02",
			"", "0", "8019", fmt.Sprintf("%05d", rng.IntN(100000)), "ÀÉ08")
	}
	wrong := func() any {
		return pick(nil, true, false, "abc", "", 0, 7.5, []any{1, "a"}, map[string]any{"a": 1}, "08019", "1990-01-01")
	}
	s := Situation{Facts: map[string]map[string]any{}}
	// In a fixed order, so that a seed draws the same sets every run.
	for _, cat := range slices.Sorted(maps.Keys(fields)) {
		fs := fields[cat]
		if rng.IntN(10) == 0 {
			continue
		}
		f := map[string]any{}
		for _, name := range fs {
			if rng.IntN(5) == 0 {
				continue
			}
			var v any
			switch {
			case rng.IntN(10) == 0:
				v = wrong()
			case strings.HasSuffix(name, "_code"), name == "municipality", name == "county":
				v = code()
			case strings.HasSuffix(name, "_since"), strings.HasSuffix(name, "_date"):
				v = date()
			case slices.Contains([]string{"employed", "lives_alone", "tax_compliant", "filed_last_year", "receives_unemployment_benefit",
				"resident_in_catalonia", "over_65", "income_below_twice_iprem", "registered_unemployed"}, name):
				v = pick(true, false)
			default:
				v = number()
			}
			f[name] = v
		}
		s.Facts[cat] = f
	}
	if rng.IntN(4) == 0 {
		s.Answers = map[string]any{"children": number(), "situation": pick("unemployed", "retired", "")}
	}
	return s
}

// TestNativeDeclines: a rule native code does not run (a comprehension)
// is evaluated by OPA, and a conflict between two definitions of one
// criterion fails the recommendation as it does in OPA: native code never
// answers where it cannot answer as OPA does.
func TestNativeDeclines(t *testing.T) {
	ctx := context.Background()
	t3 := map[string]string{"ca": "x", "es": "x", "en": "x"}
	aid := func(id string) Aid {
		return Aid{ID: id, Level: "state", Administration: t3, Title: t3, Summary: t3, ValidFrom: "2026-01-01",
			Categories: []string{"census"}, Criteria: []CriterionSpec{{Name: "minors", Category: "census", Text: t3}}}
	}
	aids := []Aid{aid("by_comprehension"), aid("in_conflict"), aid("reads_another"), aid("with_helper"), aid("reads_helper")}
	raw, _ := json.Marshal(aids)
	mods := map[string]string{
		"by_comprehension.rego": "package obert.aids.by_comprehension\n\nimport rego.v1\n\n" +
			"criteria[\"minors\"] := count([m | some m in [input.facts.census.minors_in_household]; m > 0]) > 0\n",
		"in_conflict.rego": "package obert.aids.in_conflict\n\nimport rego.v1\n\n" +
			"criteria[\"minors\"] := true if input.facts.census.minors_in_household > 0\n\n" +
			"criteria[\"minors\"] := false if input.facts.census.household_size > 1\n",
		// Another aid's criteria read whole: an object, which native code
		// does not build.
		"reads_another.rego": "package obert.aids.reads_another\n\nimport rego.v1\n\n" +
			"criteria[\"minors\"] := count(data.obert.aids.by_comprehension.criteria) > 0\n",
		// A helper of its own, and another aid reading it: what OPA's
		// shard of the reader may not hold, so native code declines.
		"with_helper.rego": "package obert.aids.with_helper\n\nimport rego.v1\n\nlimit := 2\n\n" +
			"criteria[\"minors\"] := input.facts.census.minors_in_household >= limit\n",
		"reads_helper.rego": "package obert.aids.reads_helper\n\nimport rego.v1\n\n" +
			"criteria[\"minors\"] := input.facts.census.minors_in_household >= data.obert.aids.with_helper.limit\n",
	}
	r, err := New(ctx, raw, mods, func() time.Time { return mustDay("2026-11-24") })
	if err != nil {
		t.Fatal(err)
	}
	if r.natives["by_comprehension"] != nil {
		t.Fatal("a comprehension compiled natively")
	}
	if r.natives["reads_another"] != nil || r.natives["reads_helper"] != nil {
		t.Fatal("a rule reading another aid's package compiled natively")
	}
	if r.natives["with_helper"] == nil {
		t.Fatal("a rule with a helper of its own did not compile natively")
	}
	if r.natives["in_conflict"] == nil {
		t.Fatal("two definitions of one criterion did not compile natively")
	}
	rs, err := r.Recommend(ctx, Situation{Facts: map[string]map[string]any{"census": {"minors_in_household": 2, "household_size": 1}}})
	if err != nil || len(rs) != 5 {
		t.Fatalf("Recommend = %v, %v", rs, err)
	}
	// As OPA decides them (what a reader of another aid's package gets
	// depends on OPA's shards, which the publication cage forbids).
	want := map[string]string{"by_comprehension": Eligible, "in_conflict": Eligible, "with_helper": Eligible}
	for _, res := range rs {
		if w, ok := want[res.Aid.ID]; ok && res.Status != w {
			t.Errorf("%s: %s, want %s", res.Aid.ID, res.Status, want[res.Aid.ID])
		}
	}
	// Both definitions hold and disagree: OPA's conflict error, natively
	// too.
	if _, err := r.Recommend(ctx, Situation{Facts: map[string]map[string]any{"census": {"minors_in_household": 2, "household_size": 3}}}); err == nil {
		t.Fatal("a conflict went unreported")
	}
}

// TestNativeIntegerOperands: a built-in that takes integers (substring)
// gets them from the data as OPA does: an integer in OPA's text form, so a
// number the input holds as 1e+06, a fraction or one past int64 is
// undefined, never an index out of range; native and OPA agree on each.
func TestNativeIntegerOperands(t *testing.T) {
	ctx := context.Background()
	t3 := map[string]string{"ca": "x", "es": "x", "en": "x"}
	a := Aid{ID: "cut", Level: "state", Administration: t3, Title: t3, Summary: t3, ValidFrom: "2026-01-01",
		Categories: []string{"census"}, Criteria: []CriterionSpec{{Name: "prefix", Category: "census", Text: t3}}}
	raw, _ := json.Marshal([]Aid{a})
	mods := map[string]string{"cut.rego": "package obert.aids.cut\n\nimport rego.v1\n\n" +
		"criteria[\"prefix\"] := substring(\"08019\", input.facts.census.household_size, input.facts.census.minors_in_household) == \"80\"\n"}
	r, err := New(ctx, raw, mods, func() time.Time { return mustDay("2026-11-24") })
	if err != nil {
		t.Fatal(err)
	}
	n := r.natives["cut"]
	ev, err := r.Evaluator(ctx, "cut")
	if n == nil || err != nil {
		t.Fatalf("native %v, evaluator %v", n, err)
	}
	for _, start := range []any{1, 1.0, 0, -1, 2.5, 1e6, 1e300, 9007199254740993.0, "1"} {
		for _, length := range []any{2, 2.0, -1, 1e6, 1e300, 0.5} {
			s := Situation{Facts: map[string]map[string]any{"census": {"household_size": start, "minors_in_household": length}}}
			want, err := ev.criteria(ctx, s)
			if err != nil {
				t.Fatal(err)
			}
			got, err := n.criteria(s, "2026-11-24", make([]cached, n.nRules))
			if errors.Is(err, errFallback) {
				continue
			}
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("substring from %v for %v: native %v (%v), OPA %v", start, length, got, err, want)
			}
		}
	}
}

// TestPlanHelpersPerCategories: one recommendation works out a shared
// helper once for the aids that read the same categories, and anew for
// those that read others: a helper reading the census is undefined for an
// aid that does not declare it, even after an aid that does has worked it
// out, as OPA evaluates each aid with its own categories.
func TestPlanHelpersPerCategories(t *testing.T) {
	ctx := context.Background()
	t3 := map[string]string{"ca": "x", "es": "x", "en": "x"}
	aid := func(id string, cats ...string) Aid {
		return Aid{ID: id, Level: "state", Administration: t3, Title: t3, Summary: t3, ValidFrom: "2026-01-01",
			Categories: cats, Criteria: []CriterionSpec{{Name: "minors", Category: cats[0], Text: t3}}}
	}
	// In both orders of the catalogue: the plan orders them by category.
	for _, aids := range [][]Aid{
		{aid("census_first", "census"), aid("tax_second", "tax"), aid("census_too", "census")},
		{aid("tax_second", "tax"), aid("census_first", "census"), aid("census_too", "census")},
	} {
		raw, _ := json.Marshal(aids)
		rule := func(id string) string {
			return "package obert.aids." + id + "\n\nimport rego.v1\n\ncriteria[\"minors\"] := data.obert.aids.shared.minors >= 2\n"
		}
		mods := map[string]string{
			"shared.rego":       "package obert.aids.shared\n\nimport rego.v1\n\nminors := input.facts.census.minors_in_household\n",
			"census_first.rego": rule("census_first"), "tax_second.rego": rule("tax_second"), "census_too.rego": rule("census_too"),
		}
		r, err := New(ctx, raw, mods, func() time.Time { return mustDay("2026-11-24") })
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range aids {
			if r.natives[a.ID] == nil {
				t.Fatalf("%s did not compile natively", a.ID)
			}
		}
		s := Situation{Facts: map[string]map[string]any{"census": {"minors_in_household": 2}, "tax": {"income_annual": 1000}}}
		rs, err := r.Recommend(ctx, s)
		if err != nil || len(rs) != 3 {
			t.Fatalf("Recommend = %v, %v", rs, err)
		}
		for _, res := range rs {
			ev, _ := r.Evaluator(ctx, res.Aid.ID)
			met, err := ev.criteria(ctx, s) // OPA's
			if err != nil {
				t.Fatal(err)
			}
			if want := verdict(res.Aid, met); res.Status != want.Status || !reflect.DeepEqual(res.Criteria, want.Criteria) {
				t.Errorf("%s: %s %+v, OPA %s %+v", res.Aid.ID, res.Status, res.Criteria, want.Status, want.Criteria)
			}
		}
		if st := map[string]string{rs[0].Aid.ID: rs[0].Status, rs[1].Aid.ID: rs[1].Status, rs[2].Aid.ID: rs[2].Status}; st["tax_second"] != Maybe || st["census_first"] != Eligible || st["census_too"] != Eligible {
			t.Errorf("statuses %v", st)
		}
	}
}

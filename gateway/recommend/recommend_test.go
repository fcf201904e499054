package recommend_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/obert-gov/obert/gateway/recommend"
	"github.com/obert-gov/obert/policy"
)

func newRecommender(t testing.TB) *recommend.Recommender {
	t.Helper()
	cat, err := policy.AidCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	mods, err := policy.AidModules()
	if err != nil {
		t.Fatal(err)
	}
	r, err := recommend.New(context.Background(), cat, mods, func() time.Time { return time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC) })
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestEveryAidRuleTestPasses(t *testing.T) {
	mods, _ := policy.AidModules()
	rep, err := policy.RunRegoTests(context.Background(), mods, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Failures {
		t.Errorf("aid rule test: %s", f)
	}
	if rep.Passed < 12 {
		t.Fatalf("only %d aid rule tests ran", rep.Passed)
	}
	t.Logf("aid rules: %d tests passed, coverage %.1f%%", rep.Passed, rep.Coverage)
}

func statuses(rs []recommend.Result) map[string]string {
	m := map[string]string{}
	for _, r := range rs {
		m[r.Aid.ID] = r.Status
	}
	return m
}

func TestRecommendFromCensusOnly(t *testing.T) {
	r := newRecommender(t)
	// An older person living alone in Lleida.
	rs, err := r.Recommend(context.Background(), recommend.Situation{Facts: map[string]map[string]any{
		"census": {"municipality_code": "25120", "birth_date": "1948-02-10", "registered_since": "1990-01-01",
			"lives_alone": true, "household_size": 1, "minors_in_household": 0},
	}})
	if err != nil {
		t.Fatal(err)
	}
	got := statuses(rs)
	want := map[string]string{"teleassistance": "eligible", "bcn_family_card": "not-eligible", "bono_social": "maybe",
		"rgc": "maybe", "school_dining": "not-eligible", "employment_plan": "not-eligible"}
	for id, st := range want {
		if got[id] != st {
			t.Errorf("%s: %s, want %s", id, got[id], st)
		}
	}
	if rs[0].Status != recommend.Eligible {
		t.Fatal("eligible aids do not come first")
	}
	for _, res := range rs {
		if res.Aid.ID != "bono_social" {
			continue
		}
		for _, c := range res.Criteria {
			if c.Met != nil || c.Category != "tax" {
				t.Fatalf("bono social criterion %s should be undecided and need tax data: %+v", c.Name, c)
			}
		}
	}
}

func TestRecommendFamilyInBarcelonaWithTax(t *testing.T) {
	r := newRecommender(t)
	rs, err := r.Recommend(context.Background(), recommend.Situation{Facts: map[string]map[string]any{
		"census": {"municipality_code": "08019", "birth_date": "1988-05-05", "registered_since": "2019-03-01",
			"lives_alone": false, "household_size": 3, "minors_in_household": 2},
		"tax": {"income_annual": 7000, "tax_compliant": true},
	}})
	if err != nil {
		t.Fatal(err)
	}
	got := statuses(rs)
	for _, id := range []string{"bcn_family_card", "school_dining", "bono_social", "rgc"} {
		if got[id] != recommend.Eligible {
			t.Errorf("%s: %s, want eligible", id, got[id])
		}
	}
	if got["teleassistance"] != recommend.NotEligible {
		t.Errorf("teleassistance: %s", got["teleassistance"])
	}
}

func TestNothingKnownMeansMaybe(t *testing.T) {
	r := newRecommender(t)
	rs, err := r.Recommend(context.Background(), recommend.Situation{})
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range rs {
		if res.Status != recommend.Maybe {
			t.Errorf("%s without data: %s", res.Aid.ID, res.Status)
		}
	}
}

func TestBrokenRuleStopsConstruction(t *testing.T) {
	cat, _ := policy.AidCatalogue()
	mods, _ := policy.AidModules()
	mods["rego/aids/broken.rego"] = "package obert.aids.broken\ncriteria[x] := {"
	if _, err := recommend.New(context.Background(), cat, mods, nil); err == nil {
		t.Fatal("a broken aid rule compiled")
	}
	mods, _ = policy.AidModules()
	delete(mods, "rego/aids/rgc.rego")
	delete(mods, "rego/aids/rgc_test.rego")
	if _, err := recommend.New(context.Background(), cat, mods, nil); err == nil {
		t.Fatal("an aid without a rule was accepted")
	}
}

// BenchmarkRecommend: one citizen against 300 aids (the 42 of the seed
// catalogue, then copies of them under other ids, each with its own rule),
// with census, tax and working-life facts; p50 and p99 per evaluation.
func BenchmarkRecommend(b *testing.B) {
	benchRecommend(b, 300, func(_, _, rule string) string { return rule })
}

// BenchmarkRecommend1000 is BenchmarkRecommend over 1,000 aids: the cost
// of one more aid (cpu-us/aid).
func BenchmarkRecommend1000(b *testing.B) {
	benchRecommend(b, 1000, func(_, _, rule string) string { return rule })
}

// BenchmarkRecommendConstantRules is BenchmarkRecommend with every
// criterion of every aid replaced by a constant (each aid keeps its
// criteria's names and its own package): what is left is the cost of OPA's
// evaluator looking up a thousand criteria, the floor under any rule.
// cpuTime is the CPU time (user and system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkRecommendConstantRules(b *testing.B) {
	raw, _ := policy.AidCatalogue()
	var seed []recommend.Aid
	json.Unmarshal(raw, &seed)
	names := map[string][]string{}
	for _, a := range seed {
		for _, c := range a.Criteria {
			names[a.ID] = append(names[a.ID], c.Name)
		}
	}
	benchRecommend(b, 300, func(id, src, _ string) string {
		var out strings.Builder
		fmt.Fprintf(&out, "package obert.aids.%s\n\nimport rego.v1\n\n", id)
		for i, n := range names[src] {
			fmt.Fprintf(&out, "criteria[%q] := %v\n", n, i%4 != 3)
		}
		return out.String()
	})
}

// benchRecommend measures one recommendation over n aids whose rules are
// rule(id, the seed aid it copies, that aid's rule under id's package):
// wall time (p50, p99) and the process's CPU time per recommendation and
// per aid.
func benchRecommend(b *testing.B, n int, rule func(id, seedID, seedRule string) string) {
	mods, err := policy.AidModules()
	if err != nil {
		b.Fatal(err)
	}
	raw, _ := policy.AidCatalogue()
	var seed []map[string]any
	json.Unmarshal(raw, &seed)
	all := append([]map[string]any(nil), seed...)
	seedOf := map[string]string{}
	for _, a := range seed {
		seedOf[a["id"].(string)] = a["id"].(string)
	}
	for i := 0; len(all) < n; i++ {
		src := seed[i%len(seed)]
		id := fmt.Sprintf("%s_copy%d", src["id"], i)
		cp := map[string]any{}
		for k, v := range src {
			cp[k] = v
		}
		cp["id"] = id
		all = append(all, cp)
		seedOf[id] = src["id"].(string)
		r := mods["rego/aids/"+src["id"].(string)+".rego"]
		mods["rego/aids/"+id+".rego"] = strings.Replace(r, "package obert.aids."+src["id"].(string)+"\n", "package obert.aids."+id+"\n", 1)
	}
	for _, a := range all {
		id := a["id"].(string)
		mods["rego/aids/"+id+".rego"] = rule(id, seedOf[id], mods["rego/aids/"+id+".rego"])
	}
	cat, _ := json.Marshal(all)
	r, err := recommend.New(context.Background(), cat, mods, func() time.Time { return time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC) })
	if err != nil {
		b.Fatal(err)
	}
	if got := len(r.Aids()); got != n {
		b.Fatalf("%d aids", got)
	}
	s := recommend.Situation{Facts: map[string]map[string]any{
		"census": {"municipality_code": "08019", "birth_date": "1988-05-05", "registered_since": "2019-03-01",
			"lives_alone": false, "household_size": 3, "minors_in_household": 2, "over_65_in_household": 0},
		"tax":        {"income_annual": 7000, "tax_compliant": true, "filed_last_year": true},
		"employment": {"employed": false, "unemployed_since": "2025-01-10", "months_worked_last_5y": 20, "receives_unemployment_benefit": false},
	}}
	ctx := context.Background()
	durs := make([]time.Duration, 0, 1024)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		start := time.Now()
		rs, err := r.Recommend(ctx, s)
		if err != nil || len(rs) != n {
			b.Fatal(len(rs), err)
		}
		durs = append(durs, time.Since(start))
	}
	cpu := cpuTime() - cpu0
	b.StopTimer()
	perOp := cpu / time.Duration(len(durs))
	b.ReportMetric(float64(perOp.Microseconds())/1e3, "cpu-ms/op")
	b.ReportMetric(float64(perOp.Nanoseconds())/1e3/float64(n), "cpu-us/aid")
	slices.Sort(durs)
	b.ReportMetric(float64(durs[len(durs)/2].Microseconds())/1e3, "p50-ms")
	b.ReportMetric(float64(durs[len(durs)*99/100].Microseconds())/1e3, "p99-ms")
}

package policy

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

func TestRegoUnitTests(t *testing.T) {
	mods, err := Modules()
	if err != nil {
		t.Fatal(err)
	}
	data, err := Data()
	if err != nil {
		t.Fatal(err)
	}
	rep, err := RunRegoTests(context.Background(), mods, data)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Failures {
		t.Errorf("rego: %s", f)
	}
	if rep.Passed < 9 {
		t.Fatalf("only %d Rego tests passed; the guard's tests did not all run", rep.Passed)
	}
	t.Logf("rego tests: %d passed, %d failed, coverage of the guard %.1f%%", rep.Passed, rep.Failed, rep.Coverage)
	if rep.Coverage < 80 {
		t.Errorf("guard rule coverage %.1f%% is below 80%%", rep.Coverage)
	}
}

// at is the Unix time of an RFC 3339 instant.
func at(s string) int64 {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.Unix()
}

func validInput() Input {
	return Input{
		Subject: "s1", LoA: "substantial", Purpose: "aid-recommendation", Requester: "gencat-drets-socials",
		Connector: "census", Category: "census", Source: "padro-municipal",
		RequestedField: []string{"municipality", "birth_date", "household_size", "address"},
		Consent: &Consent{ID: "g1", Category: "census", Purpose: "aid-recommendation", Requester: "gencat-drets-socials",
			Source: "padro-municipal", LegalBasis: "gdpr-6-1-a", Active: true, ExpiresAt: at("2026-12-24T10:00:00Z")},
		Now: at("2026-11-24T10:00:00Z"),
	}
}

func TestDecide(t *testing.T) {
	ctx := context.Background()
	g, err := NewGuard(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d, err := g.Decide(ctx, validInput())
	if err != nil || !d.Allow {
		t.Fatalf("valid input: %+v, %v", d, err)
	}
	if !slices.Equal(d.Fields, []string{"birth_date", "household_size", "municipality"}) {
		t.Fatalf("fields not minimised: %v", d.Fields)
	}
	if d.ID == "" || d.PolicyVersion != g.Version() || len(d.InputHash) != 64 {
		t.Fatalf("decision not identified: %+v", d)
	}
	d2, _ := g.Decide(ctx, validInput())
	if d2.ID == d.ID || d2.InputHash != d.InputHash {
		t.Fatalf("ids must differ and input hashes match: %s %s / %s %s", d.ID, d2.ID, d.InputHash, d2.InputHash)
	}

	deny := map[string]func(*Input){
		"no-consent":                   func(in *Input) { in.Consent = nil },
		"consent-withdrawn-or-expired": func(in *Input) { in.Consent.Active = false },
		"expired":                      func(in *Input) { in.Now = at("2026-12-25T00:00:00Z") },
		"other purpose":                func(in *Input) { in.Consent.Purpose = "proactive-alerts" },
		"other category":               func(in *Input) { in.Consent.Category = "tax" },
		"other requester":              func(in *Input) { in.Requester = "ajuntament-x" },
		"other source":                 func(in *Input) { in.Consent.Source = "aeat" },
		"purpose-unknown":              func(in *Input) { in.Purpose = "marketing" },
		"loa-too-low":                  func(in *Input) { in.LoA = "low" },
		"no-fields":                    func(in *Input) { in.RequestedField = []string{"address"} },
		"unknown law":                  func(in *Input) { in.Consent = nil; in.LegalBasis = "law:none" },
	}
	for name, mutate := range deny {
		in := validInput()
		c := *in.Consent
		in.Consent = &c
		mutate(&in)
		d, err := g.Decide(ctx, in)
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if d.Allow || len(d.Fields) != 0 {
			t.Errorf("%s: allowed: %+v", name, d)
		}
		if len(d.Reasons) == 0 {
			t.Errorf("%s: no reason given", name)
		}
	}
}

func TestEvaluationFailureDenies(t *testing.T) {
	ctx := context.Background()
	// A cancelled context is a deny.
	g, err := NewGuard(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	d, err := g.Decide(cctx, validInput())
	if !errors.Is(err, ErrEvaluation) || d.Allow {
		t.Fatalf("cancelled: %+v, %v", d, err)
	}
	// A policy that does not compile stops construction.
	if _, err := NewGuard(ctx, func(c *guardConfig) {
		c.extra = map[string]string{"rego/bad.rego": "package obert.guard\nallow if {"}
	}); err == nil {
		t.Fatal("a broken module compiled")
	}
	// A timeout is a deny.
	slow := "package obert.guard\nimport rego.v1\nslow if { some i in numbers.range(1, 3000); some j in numbers.range(1, 3000); i * j < 0 }\nreasons contains \"slow\" if slow\n"
	g, err = NewGuard(ctx, WithTimeout(5*time.Millisecond), func(c *guardConfig) { c.extra = map[string]string{"rego/slow.rego": slow} })
	if err != nil {
		t.Fatal(err)
	}
	// (On the deny path, where every reason is worked out.)
	slowIn := validInput()
	slowIn.Consent = nil
	d, err = g.Decide(ctx, slowIn)
	if !errors.Is(err, ErrEvaluation) || d.Allow {
		t.Fatalf("timeout: %+v, %v", d, err)
	}
}

func TestDecideConcurrently(t *testing.T) {
	ctx := context.Background()
	g, err := NewGuard(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			in := validInput()
			if i%2 == 1 {
				in.Consent = nil
			}
			d, err := g.Decide(ctx, in)
			if err != nil || d.Allow != (i%2 == 0) {
				t.Errorf("goroutine %d: %+v, %v", i, d, err)
			}
		})
	}
	wg.Wait()
}

// BenchmarkGuardDecision: one decision on the path nearly every exchange
// takes (an active consent), as the gateway decides it.
func BenchmarkGuardDecision(b *testing.B) {
	benchmarkDecision(b)
}

// BenchmarkGuardDecisionOPA: the same decision evaluated by OPA, as it is
// when the native program does not apply.
func BenchmarkGuardDecisionOPA(b *testing.B) {
	benchmarkDecision(b, func(c *guardConfig) { c.opaOnly = true })
}

func benchmarkDecision(b *testing.B, opts ...GuardOption) {
	ctx := context.Background()
	g, err := NewGuard(ctx, opts...)
	if err != nil {
		b.Fatal(err)
	}
	in := validInput()
	durs := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		if d, err := g.Decide(ctx, in); err != nil || !d.Allow {
			b.Fatal(d, err)
		}
		durs = append(durs, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(durs, func(i, j int) bool { return durs[i] < durs[j] })
	b.ReportMetric(float64(durs[len(durs)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(durs[len(durs)*99/100].Nanoseconds())/1e3, "p99-µs")
}

// TestInputHashIsOverItsJSON: the bytes hashed for a decision are exactly
// json.Marshal of the input, escapes included.
func TestInputHashIsOverItsJSON(t *testing.T) {
	odd := validInput()
	odd.Subject = "a\"b\\c<d>&e\n\u2028 é \xff\x7f"
	// One escape per string, so that each is needed on its own.
	odd.RequestedField = []string{"a<", "b>", "c&", `d"`, `e\`, "f\n", "g\x7f", "h\u2028", "ç", "\xff", ""}
	law := validInput()
	law.Consent = nil
	law.LegalBasis = "llei-12-2007"
	noFields := validInput()
	noFields.RequestedField = nil
	emptyFields := validInput()
	emptyFields.RequestedField = []string{}
	limited := validInput()
	limited.Consent.MinInterval, limited.LastFetch, limited.Objected = 86400, 1_700_000_000, true
	limited.Consent.FromYear, limited.Consent.ToYear, limited.Period = 2022, 2024, 2023
	for name, in := range map[string]Input{"full": validInput(), "odd": odd, "law": law, "no fields": noFields, "empty fields": emptyFields,
		"limited": limited, "zero": {}} {
		want, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := in.appendJSON(nil); string(got) != string(want) {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
}

// TestInputValueIsItsJSON: the AST input handed to OPA is exactly the JSON
// form of Input, whatever is set, with the requested fields as a set.
func TestInputValueIsItsJSON(t *testing.T) {
	full := validInput()
	noConsent := validInput()
	noConsent.Consent = nil
	law := noConsent
	law.LegalBasis = "llei-12-2007"
	noFields := validInput()
	noFields.RequestedField = nil
	for name, in := range map[string]Input{"full": full, "no consent": noConsent, "law": law, "no fields": noFields, "zero": {}} {
		b, _ := json.Marshal(in)
		var v map[string]any
		json.Unmarshal(b, &v)
		if rf, ok := v["requested_fields"].([]any); ok { // the one set
			set, err := fieldSet(rf)
			if err != nil {
				t.Fatal(err)
			}
			v["requested_fields"] = set
		}
		want, err := ast.InterfaceToValue(v)
		if err != nil {
			t.Fatal(err)
		}
		if got := in.value(); got.Compare(want) != 0 {
			t.Errorf("%s: value\n%v\nJSON\n%v", name, got, want)
		}
	}
}

// TestAllowCategoryAtRuntime: a category registered later is decided by
// the same rules, with its own minimal field set, and the version changes.
func TestAllowCategoryAtRuntime(t *testing.T) {
	ctx := context.Background()
	g, err := NewGuard(ctx)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	in := Input{Subject: "s", LoA: "substantial", Purpose: "aid-recommendation", Requester: "gencat-drets-socials",
		Connector: "disability-gencat", Category: "disability", Source: "gencat-dsf", RequestedField: []string{"disability_degree", "secret"},
		Consent: &Consent{ID: "c", Category: "disability", Purpose: "aid-recommendation", Requester: "gencat-drets-socials",
			Source: "gencat-dsf", LegalBasis: "gdpr-6-1-a", Active: true, ExpiresAt: now.Add(time.Hour).Unix()},
		Now: now.Unix()}
	if d, _ := g.Decide(ctx, in); d.Allow {
		t.Fatal("an unregistered category was allowed")
	}
	v0 := g.Version()
	if err := g.AllowCategory(ctx, "aid-recommendation", "disability", "substantial", []string{"disability_degree"}); err != nil {
		t.Fatal(err)
	}
	d, err := g.Decide(ctx, in)
	if err != nil || !d.Allow || len(d.Fields) != 1 || d.Fields[0] != "disability_degree" || d.PolicyVersion == v0 {
		t.Fatalf("after registration: %+v %v", d, err)
	}
	if err := g.AllowCategory(ctx, "no-such-purpose", "disability", "substantial", []string{"x"}); err == nil {
		t.Fatal("a category under an unknown purpose was accepted")
	}
	if err := g.RemoveCategory(ctx, "aid-recommendation", "disability"); err != nil {
		t.Fatal(err)
	}
	if d, _ := g.Decide(ctx, in); d.Allow {
		t.Fatal("a removed category is still allowed")
	}
}

// TestAllowLawAtRuntime: a category registered for a purpose that runs on
// a law is allowed once the law covers it too, refused once objected to,
// and no longer once removed; an unknown law is an error.
func TestAllowLawAtRuntime(t *testing.T) {
	ctx := context.Background()
	g, err := NewGuard(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const law = "noopo:ley-39-2015-art-28"
	in := Input{Subject: "s", LoA: "substantial", Purpose: "company-folder", Requester: "gencat-drets-socials",
		Connector: "registry", Category: "company_registry", Source: "registre-mercantil", RequestedField: []string{"company_name"},
		LegalBasis: law, Now: time.Now().Unix()}
	if err := g.AllowCategory(ctx, "company-folder", "company_registry", "substantial", []string{"company_name"}); err != nil {
		t.Fatal(err)
	}
	if d, _ := g.Decide(ctx, in); d.Allow {
		t.Fatal("a category the law does not cover was allowed")
	}
	v0 := g.Version()
	if err := g.AllowLaw(ctx, law, "company_registry"); err != nil {
		t.Fatal(err)
	}
	if err := g.AllowLaw(ctx, law, "company_registry"); err != nil {
		t.Fatal("twice:", err)
	}
	if got := g.Laws(ctx, "company_registry"); !slices.Equal(got, []string{law}) {
		t.Fatalf("Laws = %v", got)
	}
	d, err := g.Decide(ctx, in)
	if err != nil || !d.Allow || d.Reasons[0] != "legal-basis" || d.PolicyVersion == v0 {
		t.Fatalf("covered by the law: %+v %v", d, err)
	}
	in.Objected = true
	if d, _ := g.Decide(ctx, in); d.Allow || !slices.Contains(d.Reasons, "objected") {
		t.Fatalf("objected: %+v", d)
	}
	in.Objected = false
	if err := g.RemoveLaw(ctx, law, "company_registry"); err != nil {
		t.Fatal(err)
	}
	if d, _ := g.Decide(ctx, in); d.Allow {
		t.Fatal("allowed after the law stopped covering it")
	}
	if err := g.AllowLaw(ctx, "law:none", "company_registry"); err == nil {
		t.Fatal("an unknown law was accepted")
	}
	// The law's own categories are untouched.
	if got := g.Laws(ctx, "company"); !slices.Equal(got, []string{law}) {
		t.Fatalf("Laws(company) = %v", got)
	}
}

// TestMalformedDecisionDenies: a decision document not exactly of its
// shape is malformed, whatever part is wrong.
func TestMalformedDecisionDenies(t *testing.T) {
	good := `{"allow": true, "reasons": ["consent-active"], "fields": {"b", "a"}}`
	if d, ok := decisionOf(ast.MustParseTerm(good)); !ok || !d.Allow || !slices.Equal(d.Fields, []string{"a", "b"}) || d.Reasons[0] != "consent-active" {
		t.Fatalf("a well-formed decision was not read: %+v %v", d, ok)
	}
	for _, doc := range []string{
		`true`, `[]`, `{}`,
		`{"allow": "yes", "reasons": [], "fields": set()}`,
		`{"reasons": [], "fields": set()}`,
		`{"allow": true, "fields": set()}`,
		`{"allow": true, "reasons": [], "fields": ["a"]}`,
		`{"allow": true, "reasons": {"r"}, "fields": set()}`,
		`{"allow": true, "reasons": [1], "fields": set()}`,
		`{"allow": true, "reasons": [], "fields": {"a", null}}`,
	} {
		if _, ok := decisionOf(ast.MustParseTerm(doc)); ok {
			t.Errorf("%s was read as a decision", doc)
		}
	}
	if _, ok := decisionOf(map[string]any{"allow": true, "reasons": []any{}, "fields": ast.NewSet()}); ok {
		t.Error("a Go map was read as a decision: the query must hand over OPA's value")
	}
}

// TestCategories: the categories a purpose may receive follow the data and
// its changes at runtime.
func TestCategories(t *testing.T) {
	ctx := context.Background()
	g, err := NewGuard(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := g.Categories(ctx, "aid-recommendation"); !slices.Contains(got, "census") || slices.Contains(got, "company") {
		t.Fatalf("aid-recommendation receives %v", got)
	}
	if err := g.AllowCategory(ctx, "aid-recommendation", "dependency", "substantial", []string{"recognised"}); err != nil {
		t.Fatal(err)
	}
	if got := g.Categories(ctx, "aid-recommendation"); !slices.Contains(got, "dependency") {
		t.Fatalf("after allowing dependency: %v", got)
	}
	if got := g.Categories(ctx, "no-such-purpose"); len(got) != 0 {
		t.Fatalf("an unknown purpose receives %v", got)
	}
}

// TestNoVirtualCacheSameDecisions: OPA evaluates the guard without its
// memo of rule values; on every path (consent, either law, each reason for
// a deny) its decision is the one OPA gives with the memo, over 6,000 of
// TestNativeEqualsOPA's inputs.
func TestNoVirtualCacheSameDecisions(t *testing.T) {
	ctx := context.Background()
	g, err := NewGuard(ctx)
	if err != nil {
		t.Fatal(err)
	}
	gen := randomGen(2)
	now := at("2026-11-24T10:00:00Z")
	seen := map[string]int{}
	for range 6000 {
		in := gen.input(now)
		got, gerr := g.decideOPA(ctx, Decision{}, in)
		rs, werr := EvalWithin(ctx, g.timeout, g.query, rego.EvalParsedInput(in.value()), rego.EvalMetrics(noMetrics), rego.EvalBaseCache(noBaseCache{}))
		if gerr != nil || werr != nil || len(rs) != 1 {
			t.Fatalf("%+v: %v, %v", in, gerr, werr)
		}
		want, ok := decisionOf(rs[0].Expressions[0].Value)
		if !ok {
			t.Fatalf("%+v: malformed decision", in)
		}
		if !want.Allow {
			want.Fields = nil
		}
		if got.Allow != want.Allow || !slices.Equal(got.Reasons, want.Reasons) || !slices.Equal(got.Fields, want.Fields) {
			t.Fatalf("%+v:\n without the memo %v %v %v\n with it          %v %v %v", in, got.Allow, got.Reasons, got.Fields,
				want.Allow, want.Reasons, want.Fields)
		}
		for _, r := range want.Reasons {
			seen[r]++
		}
	}
	// Every path was taken.
	for _, reason := range []string{"consent-active", "legal-basis", "purpose-unknown", "category-not-allowed-for-purpose",
		"loa-too-low", "no-consent", "objected", "consent-withdrawn-or-expired", "outside-period", "too-frequent", "no-fields"} {
		if seen[reason] == 0 {
			t.Errorf("no decision gave %s", reason)
		}
	}
}

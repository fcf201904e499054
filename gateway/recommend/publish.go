package recommend

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

// Publication is an aid as an administration publishes it: the catalogue
// entry, its eligibility rule in Rego, and the rule's tests.
type Publication struct {
	Aid   Aid    `json:"aid"`
	Rule  string `json:"rule"`
	Tests string `json:"tests"`
}

// TestRunner runs Rego tests (policy.RunRegoTests).
type TestRunner func(ctx context.Context, modules map[string]string) (passed int, failures []string, err error)

// Check lists every problem of a publication: the entry, the rule (it must
// compile with the catalogue, call only pure built-ins, read only the
// categories it declares and its own package, and finish quickly) and its
// tests (at least two, all passing, held to the same bounds). known are the
// data categories a connector serves.
func (r *Recommender) Check(ctx context.Context, p Publication, known []string, run TestRunner) []string {
	ps := checkEntry(p, known)
	if len(ps) > 0 {
		return ps
	}
	bad := func(format string, a ...any) { ps = append(ps, fmt.Sprintf(format, a...)) }
	a := p.Aid
	// The rule: its package, what it reads, that it compiles with the rest.
	mod, err := ast.ParseModuleWithOpts("aid.rego", p.Rule, ast.ParserOptions{RegoVersion: ast.RegoV1})
	if err != nil {
		return append(ps, "rule: does not parse: "+err.Error())
	}
	if got := mod.Package.Path.String(); got != "data.obert.aids."+a.ID {
		return append(ps, fmt.Sprintf("rule: package must be obert.aids.%s (is %s)", a.ID, strings.TrimPrefix(got, "data.")))
	}
	rr := reach{what: "rule", packages: []string{a.ID}, categories: a.Categories, helpers: r.helpers, pure: r.pure}
	ps = append(ps, vet(mod, rr)...)
	defined := map[string]bool{}
	for _, rule := range mod.Rules {
		if len(rule.Head.Ref()) == 2 && rule.Head.Ref()[0].Value.Compare(ast.Var("criteria")) == 0 {
			if s, ok := rule.Head.Ref()[1].Value.(ast.String); ok {
				defined[string(s)] = true
			}
		}
	}
	for _, c := range a.Criteria {
		if !defined[c.Name] {
			bad("rule: criterion %q is described but the rule never sets criteria[%q]", c.Name, c.Name)
		}
	}
	tests, err := ast.ParseModuleWithOpts("aid_test.rego", p.Tests, ast.ParserOptions{RegoVersion: ast.RegoV1})
	if err != nil {
		return append(ps, "tests: do not parse: "+err.Error())
	}
	if got := tests.Package.Path.String(); got != "data.obert.aids."+a.ID+"_test" {
		bad("tests: package must be obert.aids.%s_test", a.ID)
	}
	rr.what, rr.packages = "tests", []string{a.ID, a.ID + "_test"}
	ps = append(ps, vet(tests, rr)...)
	if len(ps) > 0 {
		return ps
	}
	// Compile with the catalogue's modules, and evaluate once with nothing
	// known, under a deadline (a rule that does not finish is refused).
	mods := r.modulesWith(a.ID, p.Rule)
	opts := []func(*rego.Rego){rego.Query("data.obert.aids." + a.ID + ".criteria"), rego.Capabilities(r.caps)}
	for n, src := range mods {
		opts = append(opts, rego.Module(n, src))
	}
	q, err := rego.New(opts...).PrepareForEval(ctx)
	if err != nil {
		return append(ps, "rule: does not compile: "+err.Error())
	}
	ectx, cancel := context.WithTimeout(ctx, 250*time.Millisecond)
	_, err = q.Eval(ectx, rego.EvalInput(map[string]any{"today": "2026-11-24", "facts": map[string]any{}}))
	cancel()
	if err != nil {
		return append(ps, "rule: does not finish evaluating in 250 ms with no data: "+err.Error())
	}
	// The tests: at least two, all passing, run with the rules alone (the
	// catalogue's own tests are not run again).
	tmods := map[string]string{"aid_test.rego": p.Tests}
	for n, src := range mods {
		tmods[n] = src
	}
	tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	passed, failures, err := run(tctx, tmods)
	switch {
	case err != nil:
		bad("tests: could not run: %v", err)
	case len(failures) > 0:
		for _, f := range failures {
			bad("tests: %s", f)
		}
	case passed < 2:
		bad("tests: at least two tests (a case that is eligible and one that is not)")
	}
	return ps
}

package recommend

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"slices"
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

// libCategories are the categories each shared helper reads.
var libCategories = map[string]string{"age": "census", "years_registered": "census", "catalan_municipality": "census"}

var levels = []string{"state", "generalitat", "county", "city"}

var critName = regexp.MustCompile(`^[a-z][a-z0-9-]{1,63}$`)

// Check lists every problem of a publication: the entry, the rule (it must
// compile with the catalogue, read only the categories it declares, and
// finish quickly) and its tests (at least two, all passing). known are the
// data categories a connector serves.
func (r *Recommender) Check(ctx context.Context, p Publication, known []string, run TestRunner) []string {
	var ps []string
	bad := func(format string, a ...any) { ps = append(ps, fmt.Sprintf(format, a...)) }
	a := p.Aid
	if !aidID.MatchString(a.ID) {
		bad("aid.id: lower-case letters, digits and _, 2 to 64")
	} else if reserved(a.ID) {
		bad("aid.id: %q is reserved (lib and recommend are the shared modules, a name ending in _test is an aid's tests)", a.ID)
	}
	if !slices.Contains(levels, a.Level) {
		bad("aid.level: one of %s", strings.Join(levels, ", "))
	}
	for _, f := range []struct {
		name string
		m    map[string]string
	}{{"administration", a.Administration}, {"title", a.Title}, {"summary", a.Summary}} {
		for _, l := range []string{"ca", "es", "en"} {
			if strings.TrimSpace(f.m[l]) == "" {
				bad("aid.%s.%s is required", f.name, l)
			}
		}
	}
	if strings.TrimSpace(a.LegalReference) == "" {
		bad("aid.legal_reference is required")
	}
	if u, err := url.Parse(a.ApplyURL); err != nil || u.Scheme != "https" || u.Host == "" {
		bad("aid.apply_url: an https:// address")
	}
	from, err1 := time.Parse(time.DateOnly, a.ValidFrom)
	until, err2 := time.Parse(time.DateOnly, a.ValidUntil)
	if err1 != nil || (a.ValidUntil != "" && (err2 != nil || until.Before(from))) {
		bad("aid.valid_from / valid_until: dates YYYY-MM-DD, the end after the start")
	}
	if len(a.Categories) == 0 {
		bad("aid.categories: at least one")
	}
	for _, c := range a.Categories {
		if !slices.Contains(known, c) {
			bad("aid.categories: %q is not a category any connector serves (%s)", c, strings.Join(known, ", "))
		}
	}
	for _, k := range a.Archetypes {
		if !slices.Contains(Archetypes, k) {
			bad("aid.archetypes: %q is not one of %s", k, strings.Join(Archetypes, ", "))
		}
	}
	if len(a.Criteria) == 0 {
		bad("aid.criteria: at least one")
	}
	for _, c := range a.Criteria {
		if !critName.MatchString(c.Name) {
			bad("aid.criteria: name %q: lower-case letters, digits and -", c.Name)
		}
		if !slices.Contains(a.Categories, c.Category) {
			bad("aid.criteria.%s: category %q is not declared", c.Name, c.Category)
		}
		for _, l := range []string{"ca", "es", "en"} {
			if strings.TrimSpace(c.Text[l]) == "" {
				bad("aid.criteria.%s.text.%s is required", c.Name, l)
			}
		}
	}
	if len(ps) > 0 {
		return ps
	}
	// The rule: its package, what it reads, that it compiles with the rest.
	mod, err := ast.ParseModuleWithOpts("aid.rego", p.Rule, ast.ParserOptions{RegoVersion: ast.RegoV1})
	if err != nil {
		return append(ps, "rule: does not parse: "+err.Error())
	}
	if got := mod.Package.Path.String(); got != "data.obert.aids."+a.ID {
		return append(ps, fmt.Sprintf("rule: package must be obert.aids.%s (is %s)", a.ID, strings.TrimPrefix(got, "data.")))
	}
	used, dyn := categoriesRead(mod)
	if dyn {
		bad("rule: reads input.facts with a computed key; name each category")
	}
	for _, c := range used {
		if !slices.Contains(a.Categories, c) {
			bad("rule: reads category %q, which the aid does not declare", c)
		}
	}
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

// categoriesRead returns the fact categories a rule reads, directly or
// through the shared helpers, and whether it reads facts by a computed key.
func categoriesRead(m *ast.Module) ([]string, bool) {
	seen := map[string]bool{}
	dynamic := false
	ast.WalkRefs(m, func(ref ast.Ref) bool {
		switch {
		case len(ref) >= 2 && ref[0].Equal(ast.InputRootDocument) && ref[1].Equal(ast.StringTerm("facts")):
			if len(ref) < 3 {
				dynamic = true
				break
			}
			if s, ok := ref[2].Value.(ast.String); ok {
				seen[string(s)] = true
			} else {
				dynamic = true
			}
		case len(ref) >= 2 && ref[0].Equal(ast.VarTerm("lib")):
			if s, ok := ref[1].Value.(ast.String); ok && libCategories[string(s)] != "" {
				seen[libCategories[string(s)]] = true
			}
		case len(ref) >= 5 && ref[0].Equal(ast.DefaultRootDocument) && ref[3].Equal(ast.StringTerm("lib")):
			if s, ok := ref[4].Value.(ast.String); ok && libCategories[string(s)] != "" {
				seen[libCategories[string(s)]] = true
			}
		}
		return false
	})
	out := make([]string, 0, len(seen))
	for c := range seen {
		out = append(out, c)
	}
	slices.Sort(out)
	return out, dynamic
}

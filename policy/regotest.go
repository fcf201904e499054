package policy

import (
	"context"
	"fmt"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/cover"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"
)

// TestReport is the outcome of running Rego unit tests.
type TestReport struct {
	Passed, Failed int
	Failures       []string // "package.test: reason"
	Coverage       float64  // percent of the non-test modules' lines covered
}

// RunRegoTests runs every test_ rule in modules (Rego v1) over data, as
// `opa test --coverage` would, and reports the results. Administrations'
// aid rules are checked by the same function before they are published, so
// the modules are compiled with PureCapabilities: a test cannot call the
// network or any other impure built-in while it runs.
func RunRegoTests(ctx context.Context, modules map[string]string, data map[string]any) (TestReport, error) {
	parsed := map[string]*ast.Module{}
	for name, src := range modules {
		m, err := ast.ParseModuleWithOpts(name, src, ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			return TestReport{}, fmt.Errorf("policy: parse %s: %w", name, err)
		}
		parsed[name] = m
	}
	if data == nil {
		data = map[string]any{}
	}
	cov := cover.New()
	r := tester.NewRunner().
		SetCompiler(ast.NewCompiler().WithCapabilities(PureCapabilities()).WithDefaultRegoVersion(ast.RegoV1)).
		SetStore(inmem.NewFromObjectWithOpts(data, inmem.OptReturnASTValuesOnRead(true))).
		SetDefaultRegoVersion(ast.RegoV1).
		SetCoverageQueryTracer(cov).
		SetCoverageRuns(nil).
		CapturePrintOutput(false).
		SetModules(parsed)
	ch, err := r.RunTests(ctx, nil)
	if err != nil {
		return TestReport{}, fmt.Errorf("policy: run tests: %w", err)
	}
	var rep TestReport
	for res := range ch {
		if res.Pass() {
			rep.Passed++
			continue
		}
		rep.Failed++
		why := "failed"
		if res.Error != nil {
			why = res.Error.Error()
		}
		rep.Failures = append(rep.Failures, res.Package+"."+res.Name+": "+why)
	}
	tested := map[string]*ast.Module{}
	for name, m := range parsed {
		if !strings.HasSuffix(name, "_test.rego") {
			tested[name] = m
		}
	}
	rep.Coverage = cov.Report(tested).Coverage
	return rep, nil
}

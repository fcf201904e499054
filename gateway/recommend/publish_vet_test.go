package recommend

import (
	"reflect"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/obert-gov/obert/policy"
)

// TestHelperCategories: the categories of the shipped helpers are read
// from lib.rego, through the helpers they use.
func TestHelperCategories(t *testing.T) {
	t.Parallel()
	mods, err := policy.AidModules()
	if err != nil {
		t.Fatal(err)
	}
	lib, err := ast.ParseModuleWithOpts("lib.rego", mods["rego/aids/lib.rego"], ast.ParserOptions{RegoVersion: ast.RegoV1})
	if err != nil {
		t.Fatal(err)
	}
	got, err := helperCategories(lib)
	if err != nil {
		t.Fatal(err)
	}
	census := []string{"census"}
	want := map[string][]string{"today_ns": nil, "age": census, "years_registered": census, "catalan_municipality": census, "months_since": nil}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	through, _ := ast.ParseModuleWithOpts("lib.rego", "package obert.aids.lib\n\nimport rego.v1\n\nincome := input.facts.tax.income_annual\n\npoor if income < 100\n\nold_and_poor if {\n\tpoor\n\tinput.facts.census.lives_alone\n}\n", ast.ParserOptions{RegoVersion: ast.RegoV1})
	got, _ = helperCategories(through)
	if want := []string{"census", "tax"}; !reflect.DeepEqual(got["old_and_poor"], want) {
		t.Errorf("old_and_poor reads %v, want %v", got["old_and_poor"], want)
	}
}

package recommend

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Each aid's rule, and the helpers it calls, see input.facts reduced to the
// categories the aid declares, whatever the rule's syntax: Check reads the
// syntax, this holds for a rule that slips past it. A recommendation's input
// carries one view per distinct set of declared categories, and the gather
// module evaluates each group of aids with input as its view.

// viewKey names the view of the categories cats: the sorted set as JSON,
// so that no two sets share a name.
func viewKey(cats []string) string {
	s := slices.Clone(cats)
	slices.Sort(s)
	b, _ := json.Marshal(slices.Compact(s))
	return string(b)
}

// viewsOf returns the categories of each view the aids need, by key.
func viewsOf(aids []Aid) map[string][]string {
	out := map[string][]string{}
	for _, a := range aids {
		k := viewKey(a.Categories)
		if _, ok := out[k]; !ok {
			out[k] = slices.Clone(a.Categories)
		}
	}
	return out
}

// viewInput is a recommendation's input: {"views": {key: {"today",
// "answers", "facts"}}}, each view holding only its categories' facts.
// Each category is converted once and shared by the views that hold it.
func viewInput(views map[string][]string, s Situation, today string) (ast.Value, error) {
	facts := make(map[string]*ast.Term, len(s.Facts))
	for c, f := range s.Facts {
		v, err := ast.InterfaceToValue(f)
		if err != nil {
			return nil, fmt.Errorf("recommend: input: %s: %w", c, err)
		}
		facts[c] = ast.NewTerm(v)
	}
	answers, err := ast.InterfaceToValue(s.Answers)
	if err != nil {
		return nil, fmt.Errorf("recommend: input: answers: %w", err)
	}
	todayTerm, answersTerm := ast.StringTerm(today), ast.NewTerm(answers)
	all := ast.NewObject()
	for key, cats := range views {
		seen := ast.NewObject()
		for _, c := range cats {
			if f, ok := facts[c]; ok {
				seen.Insert(ast.StringTerm(c), f)
			}
		}
		all.Insert(ast.StringTerm(key), ast.ObjectTerm(
			ast.Item(ast.InternedTerm("today"), todayTerm),
			ast.Item(ast.InternedTerm("answers"), answersTerm),
			ast.Item(ast.InternedTerm("facts"), ast.NewTerm(seen))))
	}
	return ast.NewObject(ast.Item(ast.InternedTerm("views"), ast.NewTerm(all))), nil
}

// only returns the facts of the categories cats.
func only(facts map[string]map[string]any, cats []string) map[string]map[string]any {
	out := make(map[string]map[string]any, len(cats))
	for _, c := range cats {
		if f, ok := facts[c]; ok {
			out[c] = f
		}
	}
	return out
}

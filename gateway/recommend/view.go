package recommend

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

// Each aid's rule, and the helpers it calls, see input.facts reduced to the
// categories the aid declares, whatever the rule's syntax: Check reads the
// syntax, this holds for a rule that slips past it. The shards group aids
// by their declared categories, and each shard is evaluated with only those
// categories' facts as input.

// viewKey names a set of categories: the sorted set as JSON, so that no
// two sets share a name.
func viewKey(cats []string) string {
	s := slices.Clone(cats)
	slices.Sort(s)
	b, _ := json.Marshal(slices.Compact(s))
	return string(b)
}

// shardInputs returns each shard's input: today, the answers, and the facts
// of the categories its aids declare. Each category is converted once and
// shared by the inputs that hold it, and shards of the same categories
// share one input.
func shardInputs(shards []shard, s Situation, today string) ([]rego.EvalOption, error) {
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
	out := make([]rego.EvalOption, len(shards))
	byKey := map[string]rego.EvalOption{}
	for i, sh := range shards {
		k := viewKey(sh.categories)
		if in, ok := byKey[k]; ok {
			out[i] = in
			continue
		}
		seen := ast.NewObject()
		for _, c := range sh.categories {
			if f, ok := facts[c]; ok {
				seen.Insert(ast.StringTerm(c), f)
			}
		}
		byKey[k] = rego.EvalParsedInput(ast.NewObject(
			ast.Item(ast.InternedTerm("today"), todayTerm),
			ast.Item(ast.InternedTerm("answers"), answersTerm),
			ast.Item(ast.InternedTerm("facts"), ast.NewTerm(seen))))
		out[i] = byKey[k]
	}
	return out, nil
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

// Package recommend tells a citizen which social aids of every
// administration fit them, and why: each aid's eligibility rule is Rego whose
// named criteria become the explanation. A criterion the data cannot decide
// makes the aid a "maybe", with the data that would decide it.
//
// Recommendations are advice, not decisions. The package never fetches data:
// it is given facts that already passed the policy guard.
package recommend

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/rego"
)

var aidID = regexp.MustCompile(`^[a-z][a-z0-9_]{1,63}$`)

// Statuses of an aid for a citizen.
const (
	Eligible    = "eligible"
	Maybe       = "maybe"
	NotEligible = "not-eligible"
)

// Aid is one published aid.
type Aid struct {
	ID             string            `json:"id"`
	Level          string            `json:"level"` // state | generalitat | county | city
	Administration map[string]string `json:"administration"`
	Title          map[string]string `json:"title"`
	Summary        map[string]string `json:"summary"`
	LegalReference string            `json:"legal_reference"`
	ApplyURL       string            `json:"apply_url"`
	ValidFrom      string            `json:"valid_from"`
	ValidUntil     string            `json:"valid_until"`
	Categories     []string          `json:"categories"`
	// Archetypes are the profiles of the anonymous questionnaire whose
	// standard package includes this aid.
	Archetypes []string        `json:"archetypes,omitempty"`
	Criteria   []CriterionSpec `json:"criteria"`
}

// CriterionSpec names one criterion of an aid and explains it.
type CriterionSpec struct {
	Name     string            `json:"name"`
	Category string            `json:"category"` // the data that decides it
	Text     map[string]string `json:"text"`
}

// Criterion is one criterion evaluated for a citizen.
type Criterion struct {
	CriterionSpec
	Met *bool // nil: the data at hand cannot decide it
}

// Result is one aid's verdict for a citizen.
type Result struct {
	Aid      Aid
	Status   string
	Criteria []Criterion
}

// Situation is what is known of a citizen: facts per category (only
// fields released by the guard) and questionnaire answers.
type Situation struct {
	Facts   map[string]map[string]any `json:"facts"`
	Answers map[string]any            `json:"answers,omitempty"`
}

// Recommender evaluates the catalogue.
type Recommender struct {
	aids  []Aid
	query rego.PreparedEvalQuery
	now   func() time.Time
}

// New compiles the aid rules once; a rule that does not compile, or an aid
// without a rule, is an error.
func New(ctx context.Context, catalogue []byte, modules map[string]string, now func() time.Time) (*Recommender, error) {
	var aids []Aid
	if err := json.Unmarshal(catalogue, &aids); err != nil {
		return nil, fmt.Errorf("recommend: catalogue: %w", err)
	}
	// One generated module gathers every aid's criteria by direct
	// reference: evaluating the whole data.obert.aids tree instead merges
	// hundreds of package documents on every recommendation.
	var gather strings.Builder
	gather.WriteString("package obert.recommend\n\nimport rego.v1\n\nall := {\n")
	for _, a := range aids {
		if !aidID.MatchString(a.ID) {
			return nil, fmt.Errorf("recommend: aid id %q: lower-case letters, digits and _", a.ID)
		}
		// Criteria are looked up one by one by name: the rules have ref
		// heads, and the whole criteria object would be assembled from them.
		names, _ := json.Marshal(criterionNames(a))
		fmt.Fprintf(&gather, "\t%q: {n: v | some n in %s; v := data.obert.aids.%s.criteria[n]},\n", a.ID, names, a.ID)
	}
	gather.WriteString("}\n")
	opts := []func(*rego.Rego){rego.Query("data.obert.recommend.all"), rego.Module("obert/recommend.rego", gather.String())}
	for name, src := range modules {
		if !strings.HasSuffix(name, "_test.rego") {
			opts = append(opts, rego.Module(name, src))
		}
	}
	q, err := rego.New(opts...).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("recommend: compile aid rules: %w", err)
	}
	for _, a := range aids {
		if !strings.Contains(strings.Join(mapsValues(modules), "\n"), "package obert.aids."+a.ID+"\n") {
			return nil, fmt.Errorf("recommend: aid %s has no rule (package obert.aids.%s)", a.ID, a.ID)
		}
	}
	if now == nil {
		now = time.Now
	}
	return &Recommender{aids: aids, query: q, now: now}, nil
}

func criterionNames(a Aid) []string {
	out := make([]string, 0, len(a.Criteria))
	for _, c := range a.Criteria {
		out = append(out, c.Name)
	}
	return out
}

func mapsValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// Aids returns the catalogue.
func (r *Recommender) Aids() []Aid { return slices.Clone(r.aids) }

// Recommend evaluates every aid valid today for s, eligible first.
func (r *Recommender) Recommend(ctx context.Context, s Situation) ([]Result, error) {
	today := r.now().UTC().Format(time.DateOnly)
	facts := s.Facts
	if facts == nil {
		facts = map[string]map[string]any{}
	}
	rs, err := r.query.Eval(ctx, rego.EvalInput(map[string]any{"facts": facts, "answers": s.Answers, "today": today}))
	if err != nil {
		return nil, fmt.Errorf("recommend: evaluate: %w", err)
	}
	all := map[string]map[string]bool{}
	if len(rs) == 1 && len(rs[0].Expressions) == 1 {
		byAid, _ := rs[0].Expressions[0].Value.(map[string]any)
		for id, v := range byAid {
			crit, _ := v.(map[string]any)
			m := make(map[string]bool, len(crit))
			for name, met := range crit {
				if b, ok := met.(bool); ok {
					m[name] = b
				}
			}
			all[id] = m
		}
	}
	var out []Result
	for _, a := range r.aids {
		if today < a.ValidFrom || (a.ValidUntil != "" && today > a.ValidUntil) {
			continue
		}
		res := Result{Aid: a, Status: Eligible}
		got := all[a.ID]
		for _, spec := range a.Criteria {
			c := Criterion{CriterionSpec: spec}
			if v, ok := got[spec.Name]; ok {
				c.Met = &v
				if !v {
					res.Status = NotEligible
				}
			} else if res.Status == Eligible {
				res.Status = Maybe
			}
			res.Criteria = append(res.Criteria, c)
		}
		out = append(out, res)
	}
	rank := map[string]int{Eligible: 0, Maybe: 1, NotEligible: 2}
	slices.SortStableFunc(out, func(a, b Result) int { return rank[a.Status] - rank[b.Status] })
	return out, nil
}

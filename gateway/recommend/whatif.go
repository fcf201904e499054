package recommend

import (
	"encoding/json"
	"maps"
)

// WhatIf is a change to a citizen's situation to simulate ("if my income
// were…", "if one more child lived with me", "if I lost my job"). It is
// computed on the spot from the facts at hand: nothing is fetched for it
// and nothing of it is stored.
type WhatIf struct {
	IncomeAnnual *int // the household's yearly income, in euros
	MoreChildren int  // children who would come to live at home, 0 to 5
	LoseJob      bool
}

// Empty reports whether w changes nothing.
func (w WhatIf) Empty() bool { return w.IncomeAnnual == nil && w.MoreChildren == 0 && !w.LoseJob }

// Valid reports whether w is within what the page offers.
func (w WhatIf) Valid() bool {
	return (w.IncomeAnnual == nil || (*w.IncomeAnnual >= 0 && *w.IncomeAnnual <= 1_000_000)) &&
		w.MoreChildren >= 0 && w.MoreChildren <= 5
}

// Apply returns s as w would change it, leaving s as it is; today
// (YYYY-MM-DD) dates a lost job. A change to a category of which s holds
// no facts makes them from the change alone ("income_annual" without the
// rest of the tax data), so what the rest would decide stays unknown; more
// children need the census data, which says who lives at home.
func (w WhatIf) Apply(s Situation, today string) Situation {
	out := Situation{Facts: map[string]map[string]any{}, Answers: s.Answers}
	for c, f := range s.Facts {
		out.Facts[c] = maps.Clone(f)
	}
	category := func(c string) map[string]any {
		if out.Facts[c] == nil {
			out.Facts[c] = map[string]any{}
		}
		return out.Facts[c]
	}
	if w.IncomeAnnual != nil {
		category("tax")["income_annual"] = *w.IncomeAnnual
	}
	if census := out.Facts["census"]; w.MoreChildren > 0 && census != nil {
		if n, ok := number(census["minors_in_household"]); ok {
			census["minors_in_household"] = n + float64(w.MoreChildren)
		}
		if n, ok := number(census["household_size"]); ok {
			census["household_size"] = n + float64(w.MoreChildren)
		}
		if _, ok := census["lives_alone"]; ok {
			census["lives_alone"] = false
		}
	}
	if w.LoseJob {
		e := category("employment")
		if employed, _ := e["employed"].(bool); employed || e["employed"] == nil {
			e["employed"], e["unemployed_since"] = false, today
		}
		e["receives_unemployment_benefit"] = false
	}
	return out
}

// number reads a fact that is a number, whichever way it was decoded.
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

// Change is an aid whose verdict a simulation changes, with the criteria
// whose verdicts changed (why).
type Change struct {
	Aid           Aid
	Before, After string
	Criteria      []CriterionChange
}

// CriterionChange is one criterion's verdict before and after (nil:
// undecided).
type CriterionChange struct {
	CriterionSpec
	Before, After *bool
}

// Compare lists the aids whose status differs between before and after,
// in after's order; an aid only in one of them is left out.
func Compare(before, after []Result) []Change {
	was := map[string]Result{}
	for _, r := range before {
		was[r.Aid.ID] = r
	}
	var out []Change
	for _, a := range after {
		b, ok := was[a.Aid.ID]
		if !ok || b.Status == a.Status {
			continue
		}
		ch := Change{Aid: a.Aid, Before: b.Status, After: a.Status}
		verdicts := map[string]*bool{}
		for _, c := range b.Criteria {
			verdicts[c.Name] = c.Met
		}
		for _, c := range a.Criteria {
			if old := verdicts[c.Name]; !sameVerdict(old, c.Met) {
				ch.Criteria = append(ch.Criteria, CriterionChange{CriterionSpec: c.CriterionSpec, Before: old, After: c.Met})
			}
		}
		out = append(out, ch)
	}
	return out
}

func sameVerdict(a, b *bool) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

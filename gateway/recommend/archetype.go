package recommend

import (
	"fmt"
	"slices"
)

// The five archetype profiles of the anonymous questionnaire, in the order
// that breaks ties.
const (
	DependentHousehold = "dependent-household"
	SingleParent       = "single-parent"
	OlderAlone         = "older-alone"
	LongTermUnemployed = "long-term-unemployed"
	YoungAtRisk        = "young-at-risk"
)

// Archetypes lists them in tie-break order.
var Archetypes = []string{DependentHousehold, SingleParent, OlderAlone, LongTermUnemployed, YoungAtRisk}

// Work situations the questionnaire offers.
var WorkSituations = []string{"working", "unemployed-short", "unemployed-long", "retired", "studying", "other"}

// Answers are the anonymous questionnaire's answers. Nothing here
// identifies anyone, and none of it is stored.
type Answers struct {
	Age           int    // years
	HouseholdSize int    // people living at home, the person included
	Minors        int    // of them, under 18
	Dependent     bool   // someone at home needs daily care
	Work          string // one of WorkSituations
	MonthlyIncome int    // the household's, in euros
	// Where the visitor lives, if they say: the county, and the
	// municipality when it is one the questionnaire names. It chooses the
	// county's and the city's aids of the package.
	Where Area
}

// Problem is one answer out of range.
type Problem struct{ Field, Reason string }

// Validate lists every answer out of range.
func (a Answers) Validate() []Problem {
	var ps []Problem
	if a.Age < 16 || a.Age > 120 {
		ps = append(ps, Problem{"age", "between 16 and 120"})
	}
	if a.HouseholdSize < 1 || a.HouseholdSize > 20 {
		ps = append(ps, Problem{"household", "between 1 and 20"})
	}
	if a.Minors < 0 || a.Minors >= max(a.HouseholdSize, 1) {
		ps = append(ps, Problem{"minors", fmt.Sprintf("between 0 and %d (fewer than the people at home)", max(a.HouseholdSize-1, 0))})
	}
	if !slices.Contains(WorkSituations, a.Work) {
		ps = append(ps, Problem{"work", "one of the options"})
	}
	if a.MonthlyIncome < 0 || a.MonthlyIncome > 100000 {
		ps = append(ps, Problem{"income", "between 0 and 100,000"})
	}
	return ps
}

// Placement is where the questionnaire places someone: the closest of the
// five profiles, and whether it fits closely; no archetype when none fits
// at all.
type Placement struct {
	Archetype string // "" (None): no profile fits at all
	Close     bool   // false: no profile fits well; the closest is shown
}

// None is the placement of answers no profile fits: a person in work
// with an income above the thresholds, say, is not "long time without
// work" for being of working age.
const None = ""

// Place scores the answers against the five profiles (documented in
// docs/architecture.md) and returns the best; ties go to the earlier
// profile in Archetypes.
func Place(a Answers) Placement {
	lowIncome := a.MonthlyIncome <= 1200*max(1, (a.HouseholdSize+1)/2)
	score := map[string]int{}
	if a.Dependent {
		score[DependentHousehold] += 3
	}
	if a.Minors >= 1 && a.HouseholdSize == a.Minors+1 {
		score[SingleParent] += 3
	}
	if a.Age >= 65 {
		score[OlderAlone]++
		if a.HouseholdSize == 1 {
			score[OlderAlone] += 2
		}
	}
	switch a.Work {
	case "unemployed-long":
		score[LongTermUnemployed] += 3
	case "unemployed-short":
		if a.Age >= 30 {
			score[LongTermUnemployed]++
		}
	}
	if a.Age < 30 {
		score[YoungAtRisk]++
		if a.Work == "unemployed-short" || a.Work == "unemployed-long" || a.Work == "studying" || a.Work == "other" {
			score[YoungAtRisk] += 2
		}
	}
	if lowIncome {
		for _, k := range Archetypes {
			if score[k] > 0 {
				score[k]++
			}
		}
	}
	best, top := Archetypes[0], -1
	for _, k := range Archetypes {
		if score[k] > top {
			best, top = k, score[k]
		}
	}
	if top == 0 {
		return Placement{Archetype: None}
	}
	return Placement{Archetype: best, Close: top >= 3}
}

// Package is the standard package of aids for an archetype: the aids valid
// today that the catalogue tags with it, of those with an area only the
// ones where the visitor lives (none if they did not say).
func (r *Recommender) Package(archetype string, where Area) []Aid {
	today := r.now().UTC().Format("2006-01-02")
	var out []Aid
	for _, a := range r.Aids() {
		if slices.Contains(a.Archetypes, archetype) && a.validOn(today) && a.Area.Covers(where) {
			out = append(out, a)
		}
	}
	return out
}

// Covers reports whether an aid with area a applies to someone living in
// where: everywhere for no area, else the same county or municipality.
func (a *Area) Covers(where Area) bool {
	switch {
	case a == nil:
		return true
	case a.Municipality != "":
		return a.Municipality == where.Municipality
	case a.County != "":
		return a.County == where.County
	}
	return true
}

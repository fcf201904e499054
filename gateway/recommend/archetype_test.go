package recommend_test

import (
	"testing"

	"github.com/obert-gov/obert/gateway/recommend"
)

func TestPlace(t *testing.T) {
	for _, c := range []struct {
		a     recommend.Answers
		want  string
		close bool
	}{
		{recommend.Answers{Age: 78, HouseholdSize: 1, Work: "retired", MonthlyIncome: 700}, recommend.OlderAlone, true},
		{recommend.Answers{Age: 34, HouseholdSize: 3, Minors: 2, Work: "working", MonthlyIncome: 1100}, recommend.SingleParent, true},
		{recommend.Answers{Age: 51, HouseholdSize: 2, Work: "unemployed-long", MonthlyIncome: 450}, recommend.LongTermUnemployed, true},
		{recommend.Answers{Age: 22, HouseholdSize: 2, Work: "unemployed-short", MonthlyIncome: 300}, recommend.YoungAtRisk, true},
		{recommend.Answers{Age: 55, HouseholdSize: 3, Dependent: true, Work: "working", MonthlyIncome: 2000}, recommend.DependentHousehold, true},
		// A dependent person at home outranks the rest on a tie.
		{recommend.Answers{Age: 40, HouseholdSize: 2, Minors: 1, Dependent: true, Work: "working", MonthlyIncome: 3000}, recommend.DependentHousehold, true},
		// Nothing fits: no profile, rather than "long time without work"
		// for someone in work on a good income.
		{recommend.Answers{Age: 45, HouseholdSize: 2, Work: "working", MonthlyIncome: 4000}, recommend.None, false},
		{recommend.Answers{Age: 38, HouseholdSize: 1, Work: "working", MonthlyIncome: 6000}, recommend.None, false},
		// One thing fits a little: the closest, said to be loose.
		{recommend.Answers{Age: 70, HouseholdSize: 2, Work: "retired", MonthlyIncome: 4000}, recommend.OlderAlone, false},
	} {
		if p := recommend.Place(c.a); p.Archetype != c.want || p.Close != c.close {
			t.Errorf("%+v: %+v, want %s close=%t", c.a, p, c.want, c.close)
		}
	}
}

func TestAnswersValidate(t *testing.T) {
	good := recommend.Answers{Age: 40, HouseholdSize: 2, Minors: 1, Work: "working", MonthlyIncome: 1000}
	if ps := good.Validate(); len(ps) != 0 {
		t.Fatalf("good answers refused: %v", ps)
	}
	for _, bad := range []recommend.Answers{
		{Age: 12, HouseholdSize: 2, Work: "working"},
		{Age: 40, HouseholdSize: 0, Work: "working"},
		{Age: 40, HouseholdSize: 2, Minors: 2, Work: "working"},
		{Age: 40, HouseholdSize: 2, Work: "astronaut"},
		{Age: 40, HouseholdSize: 2, Work: "working", MonthlyIncome: -5},
	} {
		if ps := bad.Validate(); len(ps) == 0 {
			t.Errorf("accepted %+v", bad)
		}
	}
}

func TestPackages(t *testing.T) {
	r := newRecommender(t)
	for _, k := range recommend.Archetypes {
		if n := len(r.Package(k, recommend.Area{})); n < 4 {
			t.Errorf("archetype %s has a package of %d aids", k, n)
		}
	}
	if n := len(r.Package("nobody", recommend.Area{})); n != 0 {
		t.Errorf("unknown archetype: %d aids", n)
	}
}

// TestPackagesByPlace: a package holds the county's and the city's aids of
// where the visitor lives, and no other place's.
func TestPackagesByPlace(t *testing.T) {
	r := newRecommender(t)
	ids := func(where recommend.Area) map[string]bool {
		m := map[string]bool{}
		for _, k := range recommend.Archetypes {
			for _, a := range r.Package(k, where) {
				m[a.ID] = true
			}
		}
		return m
	}
	nowhere := ids(recommend.Area{})
	lleida := ids(recommend.Area{County: "33", Municipality: "25120"})
	sabadell := ids(recommend.Area{County: "40", Municipality: "08187"})
	if nowhere["energia_lleida"] || nowhere["suport_families"] || sabadell["energia_lleida"] || sabadell["suport_families"] {
		t.Error("Lleida's or the Segrià's aids are in a package of a visitor elsewhere")
	}
	if !lleida["energia_lleida"] || !lleida["suport_families"] || !sabadell["escombraries_sabadell"] || !sabadell["ajuda_domicili_comarcal"] {
		t.Error("a visitor's own county's or city's aids are missing from their package")
	}
	if !nowhere["imv"] || !lleida["imv"] {
		t.Error("a state aid is missing")
	}
}

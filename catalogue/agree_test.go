package catalogue_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/obert-gov/obert/catalogue"
)

// agreeing builds, by hand, parts that say what s says.
func agreeing(s catalogue.Snapshot) catalogue.Parts {
	p := catalogue.Parts{
		Services:              map[string]catalogue.ServicePart{},
		Guard:                 map[string]map[string]catalogue.Use{},
		Exchange:              map[string]catalogue.ExchangePurpose{},
		LegalBases:            []string{"gdpr-6-1-a"},
		Translations:          map[string][]string{},
		SimArchetypes:         slices.Clone(s.Archetypes),
		RecommenderArchetypes: slices.Clone(s.Archetypes),
		Aids: []catalogue.AidPart{
			{ID: "bono_social", Level: "state", Categories: []string{"census", "tax"}, Archetypes: []string{"older-alone"},
				Administration: map[string]string{"ca": "Govern d'Espanya", "es": "Gobierno de España", "en": "Government of Spain"}},
			{ID: "family_card", Level: "city", Categories: []string{"census"},
				Administration: map[string]string{"ca": "Ajuntament de Barcelona", "es": "Ayuntamiento de Barcelona", "en": "Barcelona City Council"}},
		},
	}
	for _, pu := range s.Purposes {
		p.Exchange[pu.ID] = catalogue.ExchangePurpose{Finalidad: pu.Finalidad, Procedure: pu.Procedure, Reuses: pu.Reuses}
	}
	for _, c := range s.Categories {
		p.Services[c.ID] = catalogue.ServicePart{Code: c.Service, Fields: slices.Clone(c.Fields)}
		for pid, u := range c.Purposes {
			if p.Guard[pid] == nil {
				p.Guard[pid] = map[string]catalogue.Use{}
			}
			p.Guard[pid][c.ID] = catalogue.Use{MinLoA: u.MinLoA, Fields: slices.Clone(u.Fields)}
			p.Offers = append(p.Offers, catalogue.OfferPart{Category: c.ID, Purpose: pid, Source: c.Source,
				Fields: slices.Clone(u.Fields), Languages: []string{"ca", "es", "en"}})
		}
	}
	for _, l := range catalogue.Languages {
		p.Translations[l] = s.TranslationKeys()
	}
	return p
}

func TestAgreeNil(t *testing.T) {
	t.Parallel()
	s := testSnapshot(t)
	if err := catalogue.Agree(s, agreeing(s)); err != nil {
		t.Fatal(err)
	}
}

func offer(p *catalogue.Parts, category, purpose string) *catalogue.OfferPart {
	for i := range p.Offers {
		if p.Offers[i].Category == category && p.Offers[i].Purpose == purpose {
			return &p.Offers[i]
		}
	}
	panic("no offer " + category + "/" + purpose)
}

func without(list []string, x string) []string {
	return slices.DeleteFunc(slices.Clone(list), func(s string) bool { return s == x })
}

func TestAgreeNamesEachDisagreement(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		change func(p *catalogue.Parts)
		want   string
	}{
		{"service fields", func(p *catalogue.Parts) {
			p.Services["census"] = catalogue.ServicePart{Code: "PADRO", Fields: []string{"municipality", "gender"}}
		},
			"category census: fields differ between the catalogue (municipality, birth_date) and the SCSP service (municipality, gender): only in the catalogue: birth_date; only in the SCSP service: gender"},
		{"service code", func(p *catalogue.Parts) {
			p.Services["tax"] = catalogue.ServicePart{Code: "AEAT", Fields: []string{"income_annual"}}
		},
			"category tax: the service code differs between the catalogue (AEAT103I) and the SCSP service (AEAT)"},
		{"no service", func(p *catalogue.Parts) { delete(p.Services, "tax") },
			"category tax: no SCSP service AEAT103I for it"},
		{"service of an unknown category", func(p *catalogue.Parts) { p.Services["disability"] = catalogue.ServicePart{Code: "DEP"} },
			"category disability: the SCSP service DEP serves it, but it is not in the catalogue"},
		{"guard fields", func(p *catalogue.Parts) {
			p.Guard["proactive-alerts"]["census"] = catalogue.Use{MinLoA: "substantial", Fields: []string{"birth_date", "municipality"}}
		}, "category census, purpose proactive-alerts: fields differ between the catalogue (birth_date) and the guard's data (birth_date, municipality): only in the guard's data: municipality"},
		{"guard level", func(p *catalogue.Parts) {
			p.Guard["aid-recommendation"]["tax"] = catalogue.Use{MinLoA: "low", Fields: []string{"income_annual"}}
		},
			"category tax, purpose aid-recommendation: the minimum level of assurance differs between the catalogue (high) and the guard's data (low)"},
		{"guard lacks a category", func(p *catalogue.Parts) { delete(p.Guard["aid-recommendation"], "tax") },
			"category tax, purpose aid-recommendation: not in the guard's data"},
		{"guard has another category", func(p *catalogue.Parts) {
			p.Guard["proactive-alerts"]["tax"] = catalogue.Use{MinLoA: "high", Fields: []string{"income_annual"}}
		},
			"category tax, purpose proactive-alerts: in the guard's data, but not in the catalogue"},
		{"guard has another purpose", func(p *catalogue.Parts) { p.Guard["research"] = map[string]catalogue.Use{} },
			"purpose research: in the guard's data, but not in the catalogue"},
		{"no offer", func(p *catalogue.Parts) {
			p.Offers = slices.DeleteFunc(p.Offers, func(o catalogue.OfferPart) bool { return o.Category == "tax" })
		}, "category tax, purpose aid-recommendation: no consent offer"},
		{"two offers", func(p *catalogue.Parts) { p.Offers = append(p.Offers, *offer(p, "tax", "aid-recommendation")) },
			"category tax, purpose aid-recommendation: 2 consent offers, where one is expected"},
		{"offer of another pair", func(p *catalogue.Parts) {
			o := *offer(p, "tax", "aid-recommendation")
			o.Purpose = "proactive-alerts"
			p.Offers = append(p.Offers, o)
		}, "category tax, purpose proactive-alerts: a consent offer, but not in the catalogue"},
		{"offer source", func(p *catalogue.Parts) { offer(p, "census", "proactive-alerts").Source = "ine" },
			"category census, purpose proactive-alerts: the source differs between the catalogue (padro-municipal) and the consent offers (ine)"},
		{"offer fields", func(p *catalogue.Parts) { offer(p, "census", "aid-recommendation").Fields = []string{"municipality"} },
			"category census, purpose aid-recommendation: fields differ between the catalogue (municipality, birth_date) and the consent offers (municipality): only in the catalogue: birth_date"},
		{"offer text", func(p *catalogue.Parts) { offer(p, "tax", "aid-recommendation").Languages = []string{"ca", "en"} },
			"category tax, purpose aid-recommendation: the consent offer has no text in es"},
		{"exchange lacks a purpose", func(p *catalogue.Parts) { delete(p.Exchange, "proactive-alerts") },
			"purpose proactive-alerts: not in the exchange's purposes"},
		{"exchange has another purpose", func(p *catalogue.Parts) { p.Exchange["research"] = catalogue.ExchangePurpose{} },
			"purpose research: in the exchange's purposes, but not in the catalogue"},
		{"exchange finalidad", func(p *catalogue.Parts) {
			p.Exchange["aid-recommendation"] = catalogue.ExchangePurpose{Finalidad: "Ajuts", Procedure: "OBERT-AJUTS"}
		}, `purpose aid-recommendation: finalidad differs between the catalogue ("Recomanació") and the exchange's purposes ("Ajuts")`},
		{"exchange reuses", func(p *catalogue.Parts) {
			p.Exchange["proactive-alerts"] = catalogue.ExchangePurpose{Finalidad: "Avís", Procedure: "OBERT-AVISOS"}
		}, `purpose proactive-alerts: reuses differs between the catalogue ("aid-recommendation") and the exchange's purposes ("")`},
		{"legal basis", func(p *catalogue.Parts) { p.LegalBases = []string{"consent"} },
			`purpose aid-recommendation: legal basis "gdpr-6-1-a" is not one consent records (consent)`},
		{"translation of a purpose", func(p *catalogue.Parts) {
			p.Translations["es"] = without(p.Translations["es"], "purpose.proactive-alerts")
		},
			"purpose proactive-alerts: no translation purpose.proactive-alerts in es"},
		{"translation of a field", func(p *catalogue.Parts) { p.Translations["en"] = without(p.Translations["en"], "field.birth_date") },
			"category census: no translation field.birth_date in en"},
		{"translation of a source", func(p *catalogue.Parts) { p.Translations["es"] = without(p.Translations["es"], "org.padro-municipal") },
			"category census: no translation org.padro-municipal in es"},
		{"translation of an archetype", func(p *catalogue.Parts) {
			p.Translations["ca"] = without(p.Translations["ca"], "archetype.older-alone.text")
		},
			"archetype older-alone: no translation archetype.older-alone.text in ca"},
		{"no translations", func(p *catalogue.Parts) { delete(p.Translations, "en") },
			"translations: none in en"},
		{"simulator's archetypes", func(p *catalogue.Parts) { p.SimArchetypes = []string{"older-alone"} },
			"archetypes differ between the catalogue (older-alone, single-parent) and the simulator (older-alone): only in the catalogue: single-parent"},
		{"recommender's archetypes", func(p *catalogue.Parts) { p.RecommenderArchetypes = append(p.RecommenderArchetypes, "student") },
			"archetypes differ between the catalogue (older-alone, single-parent) and the recommender (older-alone, single-parent, student): only in the recommender: student"},
		{"aid's administration unknown", func(p *catalogue.Parts) { p.Aids[1].Administration["es"] = "Ayuntamiento de Madrid" },
			`aid family_card: administration "Ayuntamiento de Madrid" (es) is not in the register`},
		{"aid's administration names two entries", func(p *catalogue.Parts) { p.Aids[1].Administration["en"] = "Government of Spain" },
			"aid family_card: its administration's names are those of different entries of the register (ajbcn, age)"},
		{"aid's administration at another level", func(p *catalogue.Parts) { p.Aids[0].Level = "city" },
			"aid bono_social: administration age may not publish at level city (only state)"},
		{"aid's level", func(p *catalogue.Parts) { p.Aids[0].Level = "province" },
			`aid bono_social: level "province" is not one of state, generalitat, county, city`},
		{"aid's category", func(p *catalogue.Parts) { p.Aids[0].Categories = []string{"census", "disability"} },
			`aid bono_social: category "disability" is not a built-in category`},
		{"aid's archetype", func(p *catalogue.Parts) { p.Aids[0].Archetypes = []string{"student"} },
			`aid bono_social: archetype "student" is not one of older-alone, single-parent`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := testSnapshot(t)
			p := agreeing(s)
			tc.change(&p)
			err := catalogue.Agree(s, p)
			var d *catalogue.DisagreementError
			if !errors.As(err, &d) {
				t.Fatalf("Agree = %v, want a *DisagreementError", err)
			}
			if !slices.Contains(d.Problems, tc.want) {
				t.Fatalf("problems:\n\t%s\nwant:\n\t%s", strings.Join(d.Problems, "\n\t"), tc.want)
			}
		})
	}
}

func TestAgreeListsEveryProblem(t *testing.T) {
	t.Parallel()
	s := testSnapshot(t)
	p := agreeing(s)
	delete(p.Services, "tax")
	p.SimArchetypes = nil
	p.Translations["es"] = without(p.Translations["es"], "category.tax")
	err := catalogue.Agree(s, p)
	var d *catalogue.DisagreementError
	if !errors.As(err, &d) || len(d.Problems) != 3 {
		t.Fatalf("Agree = %v, want three problems", err)
	}
	if !strings.HasPrefix(err.Error(), "catalogue: the parts disagree:\n\tcategory tax: no SCSP service") {
		t.Fatalf("Error() = %q", err)
	}
}

func TestTranslationKeys(t *testing.T) {
	t.Parallel()
	keys := testSnapshot(t).TranslationKeys()
	for _, want := range []string{"purpose.proactive-alerts", "category.tax", "field.birth_date", "org.aeat",
		"archetype.single-parent.title", "archetype.single-parent.text", "aids.level.county"} {
		if !slices.Contains(keys, want) {
			t.Errorf("TranslationKeys() lacks %s: %v", want, keys)
		}
	}
}

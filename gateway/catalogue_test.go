package gateway

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/obert-gov/obert/catalogue"
)

func TestCatalogueAgrees(t *testing.T) {
	t.Parallel()
	if _, err := checkCatalogue(); err != nil {
		t.Fatal(err)
	}
}

// Each part altered alone is caught, and named.
func TestCatalogueDisagreementIsNamed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		change func(p *catalogue.Parts)
		want   string
	}{
		{"the SCSP service", func(p *catalogue.Parts) {
			s := p.Services["census"]
			s.Fields = slices.DeleteFunc(s.Fields, func(f string) bool { return f == "birth_date" })
			p.Services["census"] = s
		}, "category census: fields differ between the catalogue (municipality_code, municipality, county_code, county, registered_since, household_size, " +
			"minors_in_household, over_65_in_household, lives_alone, birth_date, over_65, resident_in_catalonia) and the SCSP service (municipality_code, " +
			"municipality, county_code, county, registered_since, household_size, minors_in_household, over_65_in_household, lives_alone, " +
			"over_65, resident_in_catalonia): only in the catalogue: birth_date"},
		{"the guard's data", func(p *catalogue.Parts) {
			u := p.Guard["proactive-alerts"]["tax"]
			u.Fields = append(u.Fields, "tax_year")
			p.Guard["proactive-alerts"]["tax"] = u
		}, "category tax, purpose proactive-alerts: fields differ between the catalogue (income_annual, tax_compliant) and " +
			"the guard's data (income_annual, tax_compliant, tax_year): only in the guard's data: tax_year"},
		{"the translations", func(p *catalogue.Parts) {
			p.Translations["es"] = slices.DeleteFunc(p.Translations["es"], func(k string) bool { return k == "purpose.proactive-alerts" })
		}, "purpose proactive-alerts: no translation purpose.proactive-alerts in es"},
		{"the exchange's purposes", func(p *catalogue.Parts) {
			e := p.Exchange["aid-recommendation"]
			e.Procedure = "OBERT-AJUDES"
			p.Exchange["aid-recommendation"] = e
		}, `purpose aid-recommendation: procedure differs between the catalogue ("OBERT-AJUTS") and the exchange's purposes ("OBERT-AJUDES")`},
		{"the simulator", func(p *catalogue.Parts) { p.SimArchetypes = p.SimArchetypes[1:] },
			"archetypes differ between the catalogue"},
		{"the shipped aids", func(p *catalogue.Parts) {
			i := slices.IndexFunc(p.Aids, func(a catalogue.AidPart) bool { return a.ID == "bcn_family_card" })
			p.Aids[i].Level = "state"
		},
			"aid bcn_family_card: administration ajbcn may not publish at level state (only city)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			snap, err := catalogue.Seed()
			if err != nil {
				t.Fatal(err)
			}
			p, err := shippedParts(snap)
			if err != nil {
				t.Fatal(err)
			}
			tc.change(&p)
			err = catalogue.Agree(snap, p)
			var d *catalogue.DisagreementError
			if !errors.As(err, &d) {
				t.Fatalf("Agree = %v, want a *DisagreementError", err)
			}
			if len(d.Problems) != 1 || !strings.HasPrefix(d.Problems[0], tc.want) {
				t.Fatalf("problems:\n\t%s\nwant only:\n\t%s", strings.Join(d.Problems, "\n\t"), tc.want)
			}
		})
	}
}

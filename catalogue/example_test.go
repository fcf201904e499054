package catalogue_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/obert-gov/obert/catalogue"
)

// The gateway collects what the other parts hold and asks whether they say
// what the catalogue says; here the simulator forgot an archetype.
func ExampleAgree() {
	s, err := catalogue.Seed()
	if err != nil {
		panic(err)
	}
	c, _ := s.Category("tax")
	fmt.Println(c.Service, c.Purposes["proactive-alerts"].Fields)

	err = catalogue.Agree(s, catalogue.Parts{SimArchetypes: s.Archetypes[1:]})
	var d *catalogue.DisagreementError
	if errors.As(err, &d) {
		for _, p := range d.Problems {
			if strings.HasPrefix(p, "archetypes") {
				fmt.Println(p)
			}
		}
	}
	// Output:
	// AEAT103I [income_annual tax_compliant]
	// archetypes differ between the catalogue (dependent-household, single-parent, older-alone, long-term-unemployed, young-at-risk) and the simulator (single-parent, older-alone, long-term-unemployed, young-at-risk): only in the catalogue: dependent-household
	// archetypes differ between the catalogue (dependent-household, single-parent, older-alone, long-term-unemployed, young-at-risk) and the recommender (): only in the catalogue: dependent-household, single-parent, older-alone, long-term-unemployed, young-at-risk
}

# Support for family carers (generalitat): Training and respite for those caring for an older person at home.
# Exemple: Llei 39/2006 de promoció de l'autonomia personal.
package obert.aids.cuidadors_familiars

import rego.v1

import data.obert.aids.lib

criteria["older-person-at-home"] := input.facts.census.over_65_in_household >= 1

criteria["household-of-2-or-more"] := input.facts.census.household_size >= 2

criteria["lives-in-catalonia"] := true if lib.catalan_municipality
criteria["lives-in-catalonia"] := false if {
	input.facts.census.municipality_code
	not lib.catalan_municipality
}

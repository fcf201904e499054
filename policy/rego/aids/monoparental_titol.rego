# Single-parent family card (generalitat): Recognition that brings discounts and priority.
# Exemple: Llei 18/2003 de suport a les famílies.
package obert.aids.monoparental_titol

import rego.v1

import data.obert.aids.lib

criteria["minors-at-home"] := input.facts.census.minors_in_household >= 1

criteria["single-adult-with-children"] := input.facts.census.household_size == input.facts.census.minors_in_household + 1

criteria["lives-in-catalonia"] := true if lib.catalan_municipality
criteria["lives-in-catalonia"] := false if {
	input.facts.census.municipality_code
	not lib.catalan_municipality
}

# Protection against energy poverty (generalitat): Your utilities cannot be cut off and help applies.
# Exemple: Llei 24/2015; llindar il·lustratiu.
package obert.aids.pobresa_energetica

import rego.v1

import data.obert.aids.lib

criteria["lives-in-catalonia"] := true if lib.catalan_municipality
criteria["lives-in-catalonia"] := false if {
	input.facts.census.municipality_code
	not lib.catalan_municipality
}

criteria["income-per-member-below-threshold"] := input.facts.tax.income_annual <= 8000 * input.facts.census.household_size

# Social water tariff (generalitat): A lower water levy for low-income households.
# Exemple: Decret legislatiu 3/2003; llindar il·lustratiu.
package obert.aids.tarifa_social_aigua

import rego.v1

import data.obert.aids.lib

criteria["lives-in-catalonia"] := true if lib.catalan_municipality
criteria["lives-in-catalonia"] := false if {
	input.facts.census.municipality_code
	not lib.catalan_municipality
}

criteria["income-per-member-below-threshold"] := input.facts.tax.income_annual <= 8400 * input.facts.census.household_size

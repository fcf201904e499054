# Urgent social assistance (generalitat): One-off help for urgent basic needs.
# Exemple: Llei 13/2006 de prestacions socials; llindar il·lustratiu.
package obert.aids.urgencia_social

import rego.v1

import data.obert.aids.lib

criteria["lives-in-catalonia"] := true if lib.catalan_municipality
criteria["lives-in-catalonia"] := false if {
	input.facts.census.municipality_code
	not lib.catalan_municipality
}

criteria["income-per-member-below-threshold"] := input.facts.tax.income_annual <= 6000 * input.facts.census.household_size

# Rent payment aid (generalitat): A grant towards the rent of your home.
# Exemple: convocatòria anual de l'Agència de l'Habitatge de Catalunya; llindar il·lustratiu.
package obert.aids.lloguer_generalitat

import rego.v1

import data.obert.aids.lib

criteria["aged-18-or-more"] := lib.age >= 18

criteria["lives-in-catalonia"] := true if lib.catalan_municipality
criteria["lives-in-catalonia"] := false if {
	input.facts.census.municipality_code
	not lib.catalan_municipality
}

criteria["income-per-member-below-threshold"] := input.facts.tax.income_annual <= 9000 * input.facts.census.household_size

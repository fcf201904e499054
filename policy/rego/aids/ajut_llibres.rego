# School books and materials grant (generalitat): Help buying books and materials for school.
# Exemple: convocatòria del Departament d'Educació; llindar il·lustratiu.
package obert.aids.ajut_llibres

import rego.v1

import data.obert.aids.lib

criteria["minors-at-home"] := input.facts.census.minors_in_household >= 1

criteria["lives-in-catalonia"] := true if lib.catalan_municipality
criteria["lives-in-catalonia"] := false if {
	input.facts.census.municipality_code
	not lib.catalan_municipality
}

criteria["income-per-member-below-threshold"] := input.facts.tax.income_annual <= 9000 * input.facts.census.household_size

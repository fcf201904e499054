# Feina amb Cor employment programme (generalitat): Job support for people over 45 long out of work.
# Exemple: programa del Servei Públic d'Ocupació de Catalunya.
package obert.aids.feina_amb_cor

import rego.v1

import data.obert.aids.lib

criteria["aged-45-or-more"] := lib.age >= 45

criteria["out-of-work-12-months"] := false if input.facts.employment.employed
criteria["out-of-work-12-months"] := lib.months_since(input.facts.employment.unemployed_since) >= 12 if {
	not input.facts.employment.employed
	input.facts.employment.unemployed_since != ""
}

criteria["lives-in-catalonia"] := true if lib.catalan_municipality
criteria["lives-in-catalonia"] := false if {
	input.facts.census.municipality_code
	not lib.catalan_municipality
}

# 30 Plus employment programme (generalitat): Subsidised hiring for unemployed people aged 30 or more.
# Exemple: programa del Servei Públic d'Ocupació de Catalunya.
package obert.aids.programa_30_plus

import rego.v1

import data.obert.aids.lib

criteria["aged-30-or-more"] := lib.age >= 30

criteria["out-of-work"] := input.facts.employment.employed == false

criteria["lives-in-catalonia"] := true if lib.catalan_municipality
criteria["lives-in-catalonia"] := false if {
	input.facts.census.municipality_code
	not lib.catalan_municipality
}

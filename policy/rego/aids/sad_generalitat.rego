# Home care service (generalitat): Help at home with daily tasks and personal care.
# Exemple: Cartera de serveis socials, Decret 142/2010.
package obert.aids.sad_generalitat

import rego.v1

import data.obert.aids.lib

criteria["aged-65-or-more"] := lib.age >= 65

criteria["lives-alone"] := input.facts.census.lives_alone

criteria["lives-in-catalonia"] := true if lib.catalan_municipality
criteria["lives-in-catalonia"] := false if {
	input.facts.census.municipality_code
	not lib.catalan_municipality
}

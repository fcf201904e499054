# School transport grant (county): Transport or a grant for pupils living far from school.
# Exemple: competència comarcal de transport escolar.
package obert.aids.transport_escolar

import rego.v1

import data.obert.aids.lib

criteria["minors-at-home"] := input.facts.census.minors_in_household >= 1

criteria["lives-in-catalonia"] := true if lib.catalan_municipality
criteria["lives-in-catalonia"] := false if {
	input.facts.census.municipality_code
	not lib.catalan_municipality
}

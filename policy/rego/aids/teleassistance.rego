# Generalitat: home tele-assistance for people over 65 living alone (example).
package obert.aids.teleassistance

import rego.v1

import data.obert.aids.lib

criteria["over-65"] := lib.age >= 65

criteria["lives-alone"] := input.facts.census.lives_alone

criteria["lives-in-catalonia"] := true if lib.catalan_municipality

criteria["lives-in-catalonia"] := false if {
	input.facts.census.municipality_code
	not lib.catalan_municipality
}

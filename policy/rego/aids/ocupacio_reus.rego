# Local employment plan (city): Temporary city jobs for unemployed people.
# Exemple: programa municipal d'ocupació.
package obert.aids.ocupacio_reus

import rego.v1

import data.obert.aids.lib

criteria["lives-in-reus"] := input.facts.census.municipality_code == "43123"

criteria["out-of-work-6-months"] := false if input.facts.employment.employed
criteria["out-of-work-6-months"] := lib.months_since(input.facts.employment.unemployed_since) >= 6 if {
	not input.facts.employment.employed
	input.facts.employment.unemployed_since != ""
}

# Barcelona City Council: family card for households with minors (example).
package obert.aids.bcn_family_card

import rego.v1

import data.obert.aids.lib

criteria["lives-in-barcelona"] := input.facts.census.municipality_code == "08019"

criteria["minors-at-home"] := input.facts.census.minors_in_household >= 1

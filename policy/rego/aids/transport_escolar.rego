# School transport grant (county): Transport or a grant for pupils living far from school.
# Exemple: competència comarcal de transport escolar.
package obert.aids.transport_escolar

import rego.v1

criteria["minors-at-home"] := input.facts.census.minors_in_household >= 1

criteria["lives-in-barcelones"] := input.facts.census.county_code == "13"

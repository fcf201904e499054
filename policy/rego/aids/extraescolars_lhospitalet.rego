# After-school activity grants (city): Grants for children's sport, music or leisure.
# Exemple: convocatòria municipal; llindar il·lustratiu.
package obert.aids.extraescolars_lhospitalet

import rego.v1

criteria["lives-in-lhospitalet-de-llobregat"] := input.facts.census.municipality_code == "08101"

criteria["minors-at-home"] := input.facts.census.minors_in_household >= 1

criteria["income-per-member-below-threshold"] := input.facts.tax.income_annual <= 9000 * input.facts.census.household_size

# Childhood fund (city): Help with the basic needs of children aged 0 to 16.
# Exemple: convocatòria municipal; llindar il·lustratiu.
package obert.aids.fons_infancia_bcn

import rego.v1

criteria["lives-in-barcelona"] := input.facts.census.municipality_code == "08019"

criteria["minors-at-home"] := input.facts.census.minors_in_household >= 1

criteria["income-per-member-below-threshold"] := input.facts.tax.income_annual <= 8000 * input.facts.census.household_size

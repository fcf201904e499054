# Waste tax reduction (city): A lower waste tax for low-income households.
# Exemple: ordenança fiscal municipal; llindar il·lustratiu.
package obert.aids.escombraries_sabadell

import rego.v1

criteria["lives-in-sabadell"] := input.facts.census.municipality_code == "08187"

criteria["income-per-member-below-threshold"] := input.facts.tax.income_annual <= 9000 * input.facts.census.household_size

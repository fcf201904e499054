# Child support supplement (state): A monthly amount for each child in low-income households.
# Exemple: Llei 19/2021, disposició addicional; llindar il·lustratiu.
package obert.aids.capi

import rego.v1

criteria["minors-at-home"] := input.facts.census.minors_in_household >= 1

criteria["income-per-member-below-threshold"] := input.facts.tax.income_annual <= 9000 * input.facts.census.household_size

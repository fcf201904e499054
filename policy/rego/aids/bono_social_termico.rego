# Thermal social bonus (state): Yearly help with heating and hot water.
# Exemple: Reial decret-llei 15/2018; llindar il·lustratiu.
package obert.aids.bono_social_termico

import rego.v1

criteria["income-per-member-below-threshold"] := input.facts.tax.income_annual <= 8400 * input.facts.census.household_size

criteria["tax-up-to-date"] := input.facts.tax.tax_compliant

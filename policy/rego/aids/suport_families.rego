# Family support programme (county): Support and grants for families with children.
# Exemple: serveis socials bàsics comarcals; llindar il·lustratiu.
package obert.aids.suport_families

import rego.v1

criteria["minors-at-home"] := input.facts.census.minors_in_household >= 1

criteria["income-per-member-below-threshold"] := input.facts.tax.income_annual <= 9500 * input.facts.census.household_size

criteria["lives-in-segria"] := input.facts.census.county_code == "33"

# County home help service (county): Support at home for households with older people.
# Exemple: serveis socials bàsics comarcals.
package obert.aids.ajuda_domicili_comarcal

import rego.v1

criteria["older-person-at-home"] := input.facts.census.over_65_in_household >= 1

criteria["lives-in-valles-occidental"] := input.facts.census.county_code == "40"

criteria["income-per-member-below-threshold"] := input.facts.tax.income_annual <= 12000 * input.facts.census.household_size

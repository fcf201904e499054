# County emergency social aid (county): Quick help with food, utilities or housing.
# Exemple: serveis socials bàsics comarcals; llindar il·lustratiu.
package obert.aids.urgencia_comarcal

import rego.v1

import data.obert.aids.lib

criteria["registered-1-years"] := lib.years_registered >= 1

criteria["lives-in-girones"] := input.facts.census.county_code == "20"

criteria["income-per-member-below-threshold"] := input.facts.tax.income_annual <= 6500 * input.facts.census.household_size

# City utilities aid (city): Help paying electricity, water and gas.
# Exemple: convocatòria municipal; llindar il·lustratiu.
package obert.aids.energia_lleida

import rego.v1

criteria["lives-in-lleida"] := input.facts.census.municipality_code == "25120"

criteria["income-per-member-below-threshold"] := input.facts.tax.income_annual <= 8000 * input.facts.census.household_size

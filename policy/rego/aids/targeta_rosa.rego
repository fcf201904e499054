# Pink transport card (city): Cheap or free public transport for older people on low income.
# Exemple: ordenança fiscal municipal; llindar il·lustratiu.
package obert.aids.targeta_rosa

import rego.v1

import data.obert.aids.lib

criteria["lives-in-barcelona"] := input.facts.census.municipality_code == "08019"

criteria["aged-60-or-more"] := lib.age >= 60

criteria["income-below-threshold"] := input.facts.tax.income_annual <= 12000

# Minimum living income (state): Monthly benefit for households on very low income.
# Exemple: Llei 19/2021 de l'ingrés mínim vital; llindar il·lustratiu per persona.
package obert.aids.imv

import rego.v1

import data.obert.aids.lib

criteria["aged-23-or-more"] := lib.age >= 23

criteria["registered-1-years"] := lib.years_registered >= 1

criteria["income-per-member-below-threshold"] := input.facts.tax.income_annual <= 7200 * input.facts.census.household_size

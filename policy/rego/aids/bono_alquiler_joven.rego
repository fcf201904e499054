# Youth rent bonus (state): Monthly rent help for people aged 18 to 35.
# Exemple: Reial decret 42/2022; llindar il·lustratiu.
package obert.aids.bono_alquiler_joven

import rego.v1

import data.obert.aids.lib

criteria["aged-18-or-more"] := lib.age >= 18

criteria["aged-35-or-less"] := lib.age <= 35

criteria["income-below-threshold"] := input.facts.tax.income_annual <= 25200

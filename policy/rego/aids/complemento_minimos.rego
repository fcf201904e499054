# Minimum pension supplement (state): A top-up for pensions below the legal minimum.
# Exemple: Llei de pressupostos generals de l'Estat; llindar il·lustratiu.
package obert.aids.complemento_minimos

import rego.v1

import data.obert.aids.lib

criteria["aged-65-or-more"] := lib.age >= 65

criteria["income-below-threshold"] := input.facts.tax.income_annual <= 9000

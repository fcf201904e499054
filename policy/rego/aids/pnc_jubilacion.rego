# Non-contributory retirement pension (state): A pension for older people without enough pension of their own.
# Exemple: Llei general de la Seguretat Social, art. 369; llindar il·lustratiu.
package obert.aids.pnc_jubilacion

import rego.v1

import data.obert.aids.lib

criteria["aged-65-or-more"] := lib.age >= 65

criteria["registered-10-years"] := lib.years_registered >= 10

criteria["income-below-threshold"] := input.facts.tax.income_annual <= 7900

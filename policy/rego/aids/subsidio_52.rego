# Unemployment allowance for people over 52 (state): Unemployment allowance until retirement for people over 52.
# Exemple: Llei general de la Seguretat Social, art. 274.
package obert.aids.subsidio_52

import rego.v1

import data.obert.aids.lib

criteria["aged-52-or-more"] := lib.age >= 52

criteria["out-of-work"] := input.facts.employment.employed == false

criteria["no-unemployment-benefit"] := input.facts.employment.receives_unemployment_benefit == false

criteria["worked-12-months"] := input.facts.employment.months_worked_last_5y >= 12

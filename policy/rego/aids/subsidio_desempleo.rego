# Unemployment assistance (state): An allowance for those whose benefit ended or who had none.
# Exemple: Llei general de la Seguretat Social, art. 274.
package obert.aids.subsidio_desempleo

import rego.v1

criteria["out-of-work"] := input.facts.employment.employed == false

criteria["no-unemployment-benefit"] := input.facts.employment.receives_unemployment_benefit == false

criteria["worked-3-months"] := input.facts.employment.months_worked_last_5y >= 3

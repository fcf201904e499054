# Youth Guarantee programme (generalitat): Training and jobs for unemployed people aged 16 to 29.
# Exemple: Recomanació del Consell de la UE de 2020.
package obert.aids.garantia_juvenil

import rego.v1

import data.obert.aids.lib

criteria["aged-16-or-more"] := lib.age >= 16

criteria["aged-29-or-less"] := lib.age <= 29

criteria["out-of-work"] := input.facts.employment.employed == false

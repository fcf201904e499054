# Youth rent aid (city): Help for young people renting in Girona.
# Exemple: convocatòria municipal; llindar il·lustratiu.
package obert.aids.lloguer_joves_girona

import rego.v1

import data.obert.aids.lib

criteria["lives-in-girona"] := input.facts.census.municipality_code == "17079"

criteria["aged-18-or-more"] := lib.age >= 18

criteria["aged-35-or-less"] := lib.age <= 35

# Meals at home (city): Meals at home for older people living alone.
# Exemple: servei municipal d'atenció a les persones.
package obert.aids.apats_domicili_terrassa

import rego.v1

import data.obert.aids.lib

criteria["lives-in-terrassa"] := input.facts.census.municipality_code == "08279"

criteria["aged-65-or-more"] := lib.age >= 65

criteria["lives-alone"] := input.facts.census.lives_alone

# City rent aid (city): Help to keep your rented home in Barcelona.
# Exemple: convocatòria del Consorci de l'Habitatge de Barcelona; llindar il·lustratiu.
package obert.aids.lloguer_bcn

import rego.v1

import data.obert.aids.lib

criteria["lives-in-barcelona"] := input.facts.census.municipality_code == "08019"

criteria["registered-2-years"] := lib.years_registered >= 2

criteria["income-per-member-below-threshold"] := input.facts.tax.income_annual <= 10000 * input.facts.census.household_size

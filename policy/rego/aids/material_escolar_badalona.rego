# School materials aid (city): Help buying school materials in Badalona.
# Exemple: convocatòria municipal; llindar il·lustratiu.
package obert.aids.material_escolar_badalona

import rego.v1

criteria["lives-in-badalona"] := input.facts.census.municipality_code == "08015"

criteria["minors-at-home"] := input.facts.census.minors_in_household >= 1

criteria["income-per-member-below-threshold"] := input.facts.tax.income_annual <= 9000 * input.facts.census.household_size

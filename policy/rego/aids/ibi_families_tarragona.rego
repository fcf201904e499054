# Property tax reduction for families (city): A property tax cut for households of three or more.
# Exemple: ordenança fiscal municipal.
package obert.aids.ibi_families_tarragona

import rego.v1

criteria["lives-in-tarragona"] := input.facts.census.municipality_code == "43148"

criteria["household-of-3-or-more"] := input.facts.census.household_size >= 3

criteria["tax-up-to-date"] := input.facts.tax.tax_compliant

# Generalitat: guaranteed citizenship income (renda garantida de ciutadania),
# example thresholds: 23 or older, two years registered in Catalonia, income
# below the yearly guaranteed amount.
package obert.aids.rgc

import rego.v1

import data.obert.aids.lib

criteria["aged-23-or-more"] := lib.age >= 23

criteria["two-years-in-catalonia"] := lib.years_registered >= 2 if lib.catalan_municipality

criteria["two-years-in-catalonia"] := false if {
	input.facts.census.municipality_code
	not lib.catalan_municipality
}

criteria["income-below-guarantee"] := input.facts.tax.income_annual < 8640

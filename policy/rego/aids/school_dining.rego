# County council: school dining grant for households with minors and low
# income (example threshold per member).
package obert.aids.school_dining

import rego.v1

criteria["minors-at-home"] := input.facts.census.minors_in_household >= 1

criteria["income-below-threshold"] := input.facts.tax.income_annual <= 10000 * input.facts.census.household_size

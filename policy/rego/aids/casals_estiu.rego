# Summer camp grant (generalitat): Help for children to attend summer activities.
# Exemple: programa de lleure educatiu; llindar il·lustratiu.
package obert.aids.casals_estiu

import rego.v1

criteria["minors-at-home"] := input.facts.census.minors_in_household >= 1

criteria["income-per-member-below-threshold"] := input.facts.tax.income_annual <= 9000 * input.facts.census.household_size

# State: electricity social bonus (bono social), income test (example
# threshold: 1.5 × IPREM 2025 for a single person, 12 pays, scaled per member).
package obert.aids.bono_social

import rego.v1

threshold := 8400 * 1.5 * (1 + 0.3 * (input.facts.census.household_size - 1))

criteria["income-below-threshold"] := input.facts.tax.income_annual <= threshold

criteria["tax-up-to-date"] := input.facts.tax.tax_compliant

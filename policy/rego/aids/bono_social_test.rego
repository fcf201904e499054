package obert.aids.bono_social_test

import rego.v1

import data.obert.aids.bono_social as aid

test_eligible_low_income if {
	c := aid.criteria with input as {"facts": {"census": {"household_size": 1}, "tax": {"income_annual": 9000, "tax_compliant": true}}}
	c["income-below-threshold"]
	c["tax-up-to-date"]
}

test_not_eligible_high_income if {
	c := aid.criteria with input as {"facts": {"census": {"household_size": 1}, "tax": {"income_annual": 40000, "tax_compliant": true}}}
	not c["income-below-threshold"]
}

test_maybe_without_tax if {
	c := aid.criteria with input as {"facts": {"census": {"household_size": 3}}}
	count(c) == 0
}

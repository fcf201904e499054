package obert.aids.school_dining_test

import rego.v1

import data.obert.aids.school_dining as aid

test_eligible if {
	c := aid.criteria with input as {"facts": {"census": {"minors_in_household": 1, "household_size": 2}, "tax": {"income_annual": 15000}}}
	c["minors-at-home"]
	c["income-below-threshold"]
}

test_no_minors if {
	c := aid.criteria with input as {"facts": {"census": {"minors_in_household": 0, "household_size": 2}}}
	not c["minors-at-home"]
}

package obert.aids.bcn_family_card_test

import rego.v1

import data.obert.aids.bcn_family_card as aid

test_eligible if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": {"census": {"municipality_code": "08019", "minors_in_household": 2}}}
	c["lives-in-barcelona"]
	c["minors-at-home"]
}

test_not_eligible_elsewhere if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": {"census": {"municipality_code": "17079", "minors_in_household": 2}}}
	not c["lives-in-barcelona"]
}

test_unknown_without_census if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": {}}
	not "lives-in-barcelona" in object.keys(c)
}

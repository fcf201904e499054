package obert.aids.teleassistance_test

import rego.v1

import data.obert.aids.teleassistance as aid

older := {"municipality_code": "25120", "birth_date": "1950-05-01", "lives_alone": true}

test_eligible if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": {"census": older}}
	c["over-65"]
	c["lives-alone"]
	c["lives-in-catalonia"]
}

test_too_young if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": {"census": object.union(older, {"birth_date": "1990-01-01"})}}
	not c["over-65"]
}

test_outside_catalonia if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": {"census": object.union(older, {"municipality_code": "28079"})}}
	c["lives-in-catalonia"] == false
}

package obert.aids.employment_plan_test

import rego.v1

import data.obert.aids.employment_plan as aid

test_eligible if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": {
		"census": {"birth_date": "1975-01-01"},
		"employment": {"employed": false, "unemployed_since": "2024-06-01"},
	}}
	c["unemployed-a-year"]
	c["working-age"]
}

test_employed if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": {"employment": {"employed": true}}}
	c["unemployed-a-year"] == false
}

test_retired_age if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": {"census": {"birth_date": "1950-01-01"}}}
	c["working-age"] == false
}

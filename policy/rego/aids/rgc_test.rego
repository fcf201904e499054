package obert.aids.rgc_test

import rego.v1

import data.obert.aids.rgc as aid

census := {"municipality_code": "08101", "birth_date": "1980-02-02", "registered_since": "2015-01-01"}

test_eligible if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": {"census": census, "tax": {"income_annual": 3000}}}
	c["aged-23-or-more"]
	c["two-years-in-catalonia"]
	c["income-below-guarantee"]
}

test_recently_registered if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": {"census": object.union(census, {"registered_since": "2026-01-01"})}}
	not c["two-years-in-catalonia"]
}

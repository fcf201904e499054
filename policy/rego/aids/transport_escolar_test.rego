package obert.aids.transport_escolar_test

import rego.v1

import data.obert.aids.transport_escolar as aid

eligible := {"census": {"municipality_code": "08019", "municipality": "Barcelona", "county_code": "13", "registered_since": "2010-01-01", "birth_date": "1986-05-01", "household_size": 3, "minors_in_household": 1, "over_65_in_household": 0, "lives_alone": false}, "tax": {"tax_year": 2025, "income_annual": 5000, "tax_compliant": true, "filed_last_year": true}, "employment": {"employed": false, "unemployed_since": "2023-01-01", "months_worked_last_5y": 24, "receives_unemployment_benefit": false}}

test_eligible if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": eligible}
	c["minors-at-home"] == true
	c["lives-in-barcelones"] == true
}

test_not_minors_at_home if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": {"census": {"municipality_code": "08019", "municipality": "Barcelona", "county_code": "13", "registered_since": "2010-01-01", "birth_date": "1986-05-01", "household_size": 3, "minors_in_household": 0, "over_65_in_household": 0, "lives_alone": false}, "tax": {"tax_year": 2025, "income_annual": 5000, "tax_compliant": true, "filed_last_year": true}, "employment": {"employed": false, "unemployed_since": "2023-01-01", "months_worked_last_5y": 24, "receives_unemployment_benefit": false}}}
	c["minors-at-home"] == false
}

test_not_lives_in_barcelones if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": json.patch(eligible, [{"op": "replace", "path": "/census/county_code", "value": "40"}, {"op": "replace", "path": "/census/municipality_code", "value": "08187"}])}
	c["lives-in-barcelones"] == false
}

test_undecided_without_census if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": object.remove(eligible, ["census"])}
	not c["minors-at-home"]
}

test_undecided_without_county if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": json.remove(eligible, ["/census/county_code"])}
	not "lives-in-barcelones" in object.keys(c)
}

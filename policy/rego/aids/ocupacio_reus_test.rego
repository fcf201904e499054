package obert.aids.ocupacio_reus_test

import rego.v1

import data.obert.aids.ocupacio_reus as aid

eligible := {"census": {"municipality_code": "43123", "municipality": "Reus", "registered_since": "2010-01-01", "birth_date": "1986-05-01", "household_size": 3, "minors_in_household": 1, "over_65_in_household": 0, "lives_alone": false}, "tax": {"tax_year": 2025, "income_annual": 5000, "tax_compliant": true, "filed_last_year": true}, "employment": {"employed": false, "unemployed_since": "2023-01-01", "months_worked_last_5y": 24, "receives_unemployment_benefit": false}}

test_eligible if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": eligible}
	c["lives-in-reus"] == true
	c["out-of-work-6-months"] == true
}

test_not_lives_in_reus if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": {"census": {"municipality_code": "25120", "municipality": "x", "registered_since": "2010-01-01", "birth_date": "1986-05-01", "household_size": 3, "minors_in_household": 1, "over_65_in_household": 0, "lives_alone": false}, "tax": {"tax_year": 2025, "income_annual": 5000, "tax_compliant": true, "filed_last_year": true}, "employment": {"employed": false, "unemployed_since": "2023-01-01", "months_worked_last_5y": 24, "receives_unemployment_benefit": false}}}
	c["lives-in-reus"] == false
}

test_not_out_of_work_6_months if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": {"census": {"municipality_code": "43123", "municipality": "Reus", "registered_since": "2010-01-01", "birth_date": "1986-05-01", "household_size": 3, "minors_in_household": 1, "over_65_in_household": 0, "lives_alone": false}, "tax": {"tax_year": 2025, "income_annual": 5000, "tax_compliant": true, "filed_last_year": true}, "employment": {"employed": false, "unemployed_since": "2026-10-31", "months_worked_last_5y": 24, "receives_unemployment_benefit": false}}}
	c["out-of-work-6-months"] == false
}

test_undecided_without_census if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": object.remove(eligible, ["census"])}
	not c["lives-in-reus"]
}

package obert.aids.pobresa_energetica_test

import rego.v1

import data.obert.aids.pobresa_energetica as aid

eligible := {"census": {"municipality_code": "08019", "municipality": "Barcelona", "registered_since": "2010-01-01", "birth_date": "1986-05-01", "household_size": 3, "minors_in_household": 1, "over_65_in_household": 0, "lives_alone": false}, "tax": {"tax_year": 2025, "income_annual": 5000, "tax_compliant": true, "filed_last_year": true}, "employment": {"employed": false, "unemployed_since": "2023-01-01", "months_worked_last_5y": 24, "receives_unemployment_benefit": false}}

test_eligible if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": eligible}
	c["lives-in-catalonia"] == true
	c["income-per-member-below-threshold"] == true
}

test_not_lives_in_catalonia if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": {"census": {"municipality_code": "28079", "municipality": "Madrid", "registered_since": "2010-01-01", "birth_date": "1986-05-01", "household_size": 3, "minors_in_household": 1, "over_65_in_household": 0, "lives_alone": false}, "tax": {"tax_year": 2025, "income_annual": 5000, "tax_compliant": true, "filed_last_year": true}, "employment": {"employed": false, "unemployed_since": "2023-01-01", "months_worked_last_5y": 24, "receives_unemployment_benefit": false}}}
	c["lives-in-catalonia"] == false
}

test_not_income_per_member_below_threshold if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": {"census": {"municipality_code": "08019", "municipality": "Barcelona", "registered_since": "2010-01-01", "birth_date": "1986-05-01", "household_size": 3, "minors_in_household": 1, "over_65_in_household": 0, "lives_alone": false}, "tax": {"tax_year": 2025, "income_annual": 24001, "tax_compliant": true, "filed_last_year": true}, "employment": {"employed": false, "unemployed_since": "2023-01-01", "months_worked_last_5y": 24, "receives_unemployment_benefit": false}}}
	c["income-per-member-below-threshold"] == false
}

test_undecided_without_census if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": object.remove(eligible, ["census"])}
	not c["lives-in-catalonia"]
}
